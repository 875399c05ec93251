//! Fills a repository with synthetic file manifests, for measuring `backup
//! ls`, `find` and `diff` on big trees without making a million files on a
//! pool (docs/BENCHMARKS.md, "Browsing a million entries";
//! scripts/bench/browse.sh runs it, then times the real binary).
//!
//! ```text
//! file_list_scale REPO ENTRIES SNAPSHOTS CHANGED
//! ```
//!
//! REPO is an existing repository (`backup init`), opened with
//! `BACKUP_PASSWORD`. It ships SNAPSHOTS snapshots `bench/files@s01`,
//! `@s02`, ... each with a tiny synthetic stream and a file manifest of
//! about ENTRIES entries: `dirNNNN/subNN/fileNNNNN` (1000 files a
//! subdirectory, 10 subdirectories a directory). Between consecutive
//! snapshots CHANGED files change, in three of the directories (as real
//! changes cluster): a quarter each get new content, a new mtime only, are
//! deleted, or get a new neighbour. Seeded: the same arguments give the
//! same lists.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use backup_core::filelist::{Entry, FileList, Kind};
use backup_core::test_support::{fake_stream, manifest};
use backup_core::{ship_stream, store_file_list, BackendOptions, NoProgress, Repository};

const FILES_PER_SUB: usize = 1000;
const SUBS_PER_DIR: usize = 10;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo_dir, entries, snapshots, changed] = args.as_slice() else {
        bail!("usage: file_list_scale REPO ENTRIES SNAPSHOTS CHANGED");
    };
    let entries: usize = entries.parse().context("ENTRIES")?;
    let snapshots: u64 = snapshots.parse().context("SNAPSHOTS")?;
    let changed: usize = changed.parse().context("CHANGED")?;
    let pass = std::env::var("BACKUP_PASSWORD").context("BACKUP_PASSWORD")?;
    let backend = backup_core::open(repo_dir, &BackendOptions::default(), None)?;
    let mut repo = Repository::open(Arc::from(backend), pass.as_bytes())?;

    let mut rng = Rng(0x5eed_f11e);
    let mut list = tree(entries.div_ceil(FILES_PER_SUB * SUBS_PER_DIR));
    for s in 1..=snapshots {
        if s > 1 {
            change(&mut list, changed, s, &mut rng);
        }
        let started = std::time::Instant::now();
        let files = store_file_list(&mut repo, &list, "snapdir", 0.0)?;
        let mut m = manifest(
            "bench/files",
            &format!("s{s:02}"),
            s,
            (s > 1).then(|| s - 1),
        );
        m.creation = 1_700_000_000 + i64::try_from(s)? * 86_400;
        m.shipped_at = m.creation;
        m.files = Some(files);
        let payload = format!("synthetic stream of bench/files@s{s:02}");
        let id = ship_stream(
            &mut repo,
            fake_stream(payload.as_bytes()).as_slice(),
            m,
            &NoProgress,
        )?;
        println!(
            "bench/files@s{s:02} {} : {} entries, {:.1} s",
            id.short(),
            list.entries.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// xorshift64: repeatable, good enough to pick entries.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn entry(path: String, kind: Kind, ino: u64) -> Entry {
    let file = kind == Kind::File;
    Entry {
        path: path.into_bytes(),
        kind,
        size: if file { ino * 37 % 100_000 } else { 0 },
        mode: if file { 0o644 } else { 0o755 },
        uid: 1000,
        gid: 1000,
        mtime: 1_690_000_000 + i64::try_from(ino % 1_000_000).expect("small"),
        mtime_nsec: 0,
        ctime: 1_690_000_000,
        ctime_nsec: 0,
        ino,
        target: None,
        rdev: None,
        blake3: file.then(|| *blake3::hash(&ino.to_le_bytes()).as_bytes()),
    }
}

/// The first snapshot's tree: `dirs` directories of 10 x 1000 files.
fn tree(dirs: usize) -> FileList {
    let mut entries = vec![entry(String::new(), Kind::Dir, 1)];
    let mut ino = 2;
    for d in 0..dirs {
        entries.push(entry(format!("dir{d:04}"), Kind::Dir, ino));
        ino += 1;
        for s in 0..SUBS_PER_DIR {
            entries.push(entry(format!("dir{d:04}/sub{s:02}"), Kind::Dir, ino));
            ino += 1;
            for f in 0..FILES_PER_SUB {
                entries.push(entry(
                    format!("dir{d:04}/sub{s:02}/file{f:05}"),
                    Kind::File,
                    ino,
                ));
                ino += 1;
            }
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    FileList { entries }
}

/// Changes `n` files of three random directories (see the header).
fn change(list: &mut FileList, n: usize, snapshot: u64, rng: &mut Rng) {
    let dirs = list.entries.len() / (FILES_PER_SUB * SUBS_PER_DIR);
    let picked: Vec<String> = (0..3)
        .map(|_| format!("dir{:04}/", rng.below(dirs.max(1))))
        .collect();
    let candidates: Vec<usize> = (0..list.entries.len())
        .filter(|&i| {
            let e = &list.entries[i];
            e.kind == Kind::File && picked.iter().any(|p| e.path.starts_with(p.as_bytes()))
        })
        .collect();
    let mut deleted = vec![false; list.entries.len()];
    let mut added = Vec::new();
    let next_ino = list.entries.iter().map(|e| e.ino).max().unwrap_or(1) + 1;
    for k in 0..n.min(candidates.len()) {
        let i = candidates[rng.below(candidates.len())];
        let e = &mut list.entries[i];
        match k % 4 {
            0 => {
                e.size += 1;
                e.blake3 = Some(*blake3::hash(&rng.next().to_le_bytes()).as_bytes());
                e.mtime += 60;
            }
            1 => e.mtime += 60,
            2 => deleted[i] = true,
            _ => {
                let parent = &e.path[..e.path.iter().rposition(|&b| b == b'/').unwrap_or(0)];
                let name = format!(
                    "{}/added-s{snapshot:02}-{k:05}",
                    String::from_utf8_lossy(parent)
                );
                added.push(entry(name, Kind::File, next_ino + k as u64));
            }
        }
    }
    let mut i = 0;
    list.entries.retain(|_| {
        i += 1;
        !deleted[i - 1]
    });
    list.entries.extend(added);
    list.entries.sort_by(|a, b| a.path.cmp(&b.path));
    list.entries.dedup_by(|a, b| a.path == b.path);
}
