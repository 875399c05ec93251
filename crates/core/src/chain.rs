//! Chains: a full stream followed by incrementals, each naming its base by
//! guid. Pure functions over manifests.

use crate::error::{Error, Result};
use crate::format::manifest::Manifest;
use crate::id::Id;

/// The streams to apply, in order, to restore `target`: the full stream
/// first, `target` last. A base is found by guid, preferring a manifest of
/// the same dataset.
pub fn resolve<'a>(all: &'a [(Id, Manifest)], target: &Id) -> Result<Vec<&'a (Id, Manifest)>> {
    let mut cur =
        all.iter()
            .find(|(id, _)| id == target)
            .ok_or_else(|| Error::SnapshotNotFound {
                query: target.to_hex(),
            })?;
    let mut chain = vec![cur];
    while let Some(base) = &cur.1.base {
        let candidates = all.iter().filter(|(_, m)| m.guid == base.guid);
        let next = candidates
            .clone()
            .find(|(_, m)| m.dataset == cur.1.dataset)
            .or_else(|| candidates.clone().next())
            .ok_or_else(|| Error::BrokenChain {
                snapshot: cur.1.full_name(),
                base_guid: base.guid,
            })?;
        if chain.len() > all.len() {
            return Err(Error::corrupt(
                format!("chain of {}", chain[0].1.full_name()),
                "bases form a cycle",
            ));
        }
        chain.push(next);
        cur = next;
    }
    chain.reverse();
    Ok(chain)
}

/// Finds a snapshot by id, unique id prefix (at least 4 hex digits), or
/// `dataset@snapshot` name (the newest such manifest if shipped twice);
/// `dataset@latest`, unless a snapshot is literally named `latest`, is the
/// dataset's newest (by `createtxg`). A name that matches snapshots of
/// several hosts is [`Error::Ambiguous`]: ids tell them apart.
pub fn find<'a>(all: &'a [(Id, Manifest)], query: &str) -> Result<&'a (Id, Manifest)> {
    if query.contains('@') {
        let named: Vec<_> = all.iter().filter(|(_, m)| m.full_name() == query).collect();
        let latest = query
            .strip_suffix("@latest")
            .filter(|_| named.is_empty())
            .map(|ds| {
                all.iter()
                    .filter(|(_, m)| m.dataset == ds)
                    .collect::<Vec<_>>()
            });
        let is_latest = latest.is_some();
        let hits = latest.unwrap_or(named);
        // Two hosts may ship the same dataset and snapshot names: a name is
        // then ambiguous (an id says which), never silently one of them.
        let mut hosts: Vec<&str> = hits.iter().map(|(_, m)| m.host.as_str()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        if hosts.len() > 1 {
            return Err(Error::Ambiguous {
                query: query.into(),
                count: hits.len(),
            });
        }
        let pick = hits.into_iter().max_by_key(|(_, m)| {
            if is_latest {
                (m.createtxg, m.shipped_at)
            } else {
                (0, m.shipped_at)
            }
        });
        return pick.ok_or_else(|| Error::SnapshotNotFound {
            query: query.into(),
        });
    }
    let q = query.to_ascii_lowercase();
    if q.len() < 4 || !q.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::SnapshotNotFound {
            query: query.into(),
        });
    }
    let hits: Vec<_> = all
        .iter()
        .filter(|(id, _)| id.to_hex().starts_with(&q))
        .collect();
    match hits.len() {
        0 => Err(Error::SnapshotNotFound {
            query: query.into(),
        }),
        1 => Ok(hits[0]),
        count => Err(Error::Ambiguous {
            query: query.into(),
            count,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(ds: &str, snap: &str, guid: u64, base: Option<u64>) -> Manifest {
        crate::test_support::manifest(ds, snap, guid, base)
    }

    #[test]
    fn resolves_in_order_and_detects_breaks() {
        let all = vec![
            (Id([3; 32]), m("p/a", "s3", 30, Some(20))),
            (Id([1; 32]), m("p/a", "s1", 10, None)),
            (Id([2; 32]), m("p/a", "s2", 20, Some(10))),
            (Id([4; 32]), m("p/a", "s4", 40, Some(99))),
        ];
        let c = resolve(&all, &Id([3; 32])).unwrap();
        let names: Vec<_> = c.iter().map(|(_, m)| m.snapshot.as_str()).collect();
        assert_eq!(names, ["s1", "s2", "s3"]);
        assert!(matches!(
            resolve(&all, &Id([4; 32])),
            Err(Error::BrokenChain { base_guid: 99, .. })
        ));
        assert_eq!(find(&all, "p/a@s2").unwrap().0, Id([2; 32]));
        assert_eq!(find(&all, "p/a@latest").unwrap().0, Id([4; 32]));
        assert!(find(&all, "p/b@latest").is_err());
        let mut other = all.clone();
        let mut m2 = m("p/a", "s2", 21, None);
        m2.host = "elsewhere".into();
        other.push((Id([5; 32]), m2));
        assert!(matches!(
            find(&other, "p/a@s2"),
            Err(Error::Ambiguous { count: 2, .. })
        ));
        assert!(matches!(
            find(&other, "p/a@latest"),
            Err(Error::Ambiguous { .. })
        ));
        assert_eq!(find(&all, "0303").unwrap().0, Id([3; 32]));
        assert!(find(&all, "p/a@nope").is_err());
        assert!(find(&all, "zz").is_err());
    }

    #[test]
    fn a_cycle_is_an_error_not_a_hang() {
        let all = vec![
            (Id([1; 32]), m("p/a", "s1", 10, Some(20))),
            (Id([2; 32]), m("p/a", "s2", 20, Some(10))),
        ];
        assert!(resolve(&all, &Id([1; 32])).is_err());
    }
}
