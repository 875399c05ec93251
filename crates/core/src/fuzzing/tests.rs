//! The seeds decode through their targets' drivers, and the committed
//! seed corpus is what the drivers accept.

use std::path::PathBuf;

use super::*;

/// The driver of each target.
fn driver(target: &str) -> fn(&[u8]) -> bool {
    match target {
        "blob" => blob,
        "blob_opened" => blob_opened,
        "pack" => pack,
        "pack_trailer" => pack_trailer,
        "index_segment" => index_segment,
        "index_segment_opened" => index_segment_opened,
        "manifest" => manifest,
        "manifest_opened" => manifest_opened,
        "file_list" => file_list,
        "key_slot" => key_slot,
        "config" => config,
        "config_body" => config_body,
        "records" => records,
        other => panic!("no driver for target {other}"),
    }
}

fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds")
}

#[test]
fn every_seed_decodes_through_its_driver() {
    for (target, name, bytes) in seeds() {
        assert!(
            driver(target)(&bytes),
            "seed {target}/{name} does not decode"
        );
    }
}

#[test]
fn every_committed_seed_decodes_through_its_driver() {
    for (target, name, _) in seeds() {
        let path = seed_dir().join(target).join(&name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(driver(target)(&bytes), "{} does not decode", path.display());
    }
}

/// Writes the seed corpus again:
/// `cargo nextest run -p backup-core --run-ignored only write_seeds`.
#[test]
#[ignore = "writes fuzz/seeds/"]
fn write_seeds() {
    for (target, name, bytes) in seeds() {
        let dir = seed_dir().join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// CI's smoke of the drivers (the libFuzzer runs are `scripts/fuzz.sh`):
/// seeded mutations of every seed (bit flips, truncations, insertions,
/// overwrites) go through every driver, which must return, never panic.
#[test]
fn seeded_mutations_of_every_seed_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (target, _, seed) in seeds() {
        let f = driver(target);
        for _ in 0..300 {
            let mut b = seed.clone();
            let r = next();
            let at = if b.is_empty() {
                0
            } else {
                (r >> 8) as usize % b.len()
            };
            match r % 4 {
                0 if !b.is_empty() => b[at] ^= 1 << ((r >> 40) % 8),
                1 => b.truncate(at),
                2 => b.insert(at, (r >> 16) as u8),
                _ => {
                    for (i, byte) in (r >> 24).to_le_bytes().iter().take(4).enumerate() {
                        if let Some(x) = b.get_mut(at + i) {
                            *x = *byte;
                        }
                    }
                }
            }
            let _ = f(&b);
        }
    }
}
