//! Before an incremental extends a chain, every link of that chain is read
//! back from the repository: a ship must never "succeed" onto a chain that
//! cannot be restored (a damaged or missing manifest anywhere below it).
//! Cheap: one manifest read per link, and chains stay short (`full_every`).

use std::collections::{HashMap, HashSet};

use crate::id::Id;
use crate::repository::Repository;

/// Reads the manifests of the chain ending at the snapshot with guid `base`,
/// down to its full stream. `shipped` maps guids to manifest ids (the
/// caller's catalog, which may be stale: the manifests themselves are read).
/// `Err` says what is broken, naming the link.
pub(crate) fn verify(
    repo: &Repository,
    shipped: &HashMap<u64, Id>,
    base: u64,
) -> std::result::Result<(), String> {
    let mut guid = base;
    let mut below: Option<String> = None;
    let mut seen = HashSet::new();
    loop {
        let Some(id) = shipped.get(&guid) else {
            return Err(match below {
                Some(upper) => format!(
                    "the base of {upper} (guid {guid}) is not in the repository, or its manifest cannot be read"
                ),
                None => format!("snapshot guid {guid} is not in the repository"),
            });
        };
        if !seen.insert(guid) {
            return Err(format!(
                "the bases below snapshot {} form a cycle",
                id.short()
            ));
        }
        let m = repo.read_manifest(id).map_err(|e| match &below {
            Some(upper) => format!(
                "the manifest of the base of {upper} ({}) cannot be read: {e}",
                id.short()
            ),
            None => format!("manifest {} cannot be read: {e}", id.short()),
        })?;
        if m.guid != guid {
            return Err(format!(
                "manifest {} of {} has guid {}, not the {guid} the catalog expects",
                id.short(),
                m.full_name(),
                m.guid
            ));
        }
        match &m.base {
            None => return Ok(()),
            Some(b) => {
                below = Some(m.full_name());
                guid = b.guid;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::backend::FileType;
    use crate::test_support::{fake_stream, pseudo_random, ship_test_stream, test_repo};

    use super::verify;

    #[test]
    fn every_link_is_read_and_a_damaged_or_missing_one_is_named() {
        let (backend, mut repo) = test_repo();
        let data = fake_stream(&pseudo_random(20_000, 3));
        let mut shipped = HashMap::new();
        for (name, guid, base) in [("s1", 1, None), ("s2", 2, Some(1)), ("s3", 3, Some(2))] {
            let id = ship_test_stream(&mut repo, &data, name, guid, base);
            shipped.insert(guid, id);
        }
        assert_eq!(verify(&repo, &shipped, 3), Ok(()));
        assert_eq!(verify(&repo, &shipped, 1), Ok(()));

        // A stale catalog still names s2, but its manifest is damaged.
        let s2 = shipped[&2];
        backend.tamper(FileType::Snapshot, &s2.to_hex(), |b| b[40] ^= 1);
        let e = verify(&repo, &shipped, 3).unwrap_err();
        assert!(
            e.contains("base of pool/ds@s3") && e.contains(&s2.short()),
            "{e}"
        );
        // A cold catalog leaves it out: the base is simply not there.
        shipped.remove(&2);
        let e = verify(&repo, &shipped, 3).unwrap_err();
        assert!(
            e.contains("base of pool/ds@s3 (guid 2) is not in the repository"),
            "{e}"
        );
        // The full below is not looked at from s1's side.
        assert_eq!(verify(&repo, &shipped, 1), Ok(()));
    }

    #[test]
    fn a_catalog_entry_pointing_at_another_snapshot_is_caught() {
        let (_backend, mut repo) = test_repo();
        let data = fake_stream(&pseudo_random(20_000, 4));
        let one = ship_test_stream(&mut repo, &data, "s1", 1, None);
        let shipped = HashMap::from([(7, one)]);
        let e = verify(&repo, &shipped, 7).unwrap_err();
        assert!(e.contains("has guid 1, not the 7"), "{e}");
    }
}
