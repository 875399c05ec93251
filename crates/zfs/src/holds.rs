//! User holds (`zfs hold`, `holds`, `release`): a held snapshot cannot be
//! destroyed, by us or anyone. Only where [`Features::holds`] is true
//! (OpenZFS); zfs-fuse's `zfs holds` does not work.
//!
//! [`Features::holds`]: crate::Features::holds

use crate::error::ZfsError;
use crate::name::SnapshotName;
use crate::zfs::Zfs;

impl Zfs {
    /// `zfs hold TAG SNAP`; a tag already there is not an error.
    pub fn hold(&self, snap: &SnapshotName, tag: &str) -> Result<(), ZfsError> {
        let name = snap.to_string();
        match self.run_zfs(["hold", tag, name.as_str()], &name) {
            // OpenZFS 2.x: "cannot hold snapshot 'P@S': tag already exists on this dataset"
            Err(ZfsError::Command { ref stderr, .. }) if stderr.contains("tag already exists") => {
                Ok(())
            }
            other => other.map(drop),
        }
    }

    /// `zfs release TAG SNAP`; a tag not there is not an error.
    pub fn release(&self, snap: &SnapshotName, tag: &str) -> Result<(), ZfsError> {
        let name = snap.to_string();
        match self.run_zfs(["release", tag, name.as_str()], &name) {
            // OpenZFS 2.x: "cannot release hold from snapshot 'P@S': no such tag on this dataset"
            Err(ZfsError::Command { ref stderr, .. }) if stderr.contains("no such tag") => Ok(()),
            other => other.map(drop),
        }
    }

    /// The snapshots among `snaps` that carry `tag` (`zfs holds -H`).
    pub fn held_with(
        &self,
        snaps: &[SnapshotName],
        tag: &str,
    ) -> Result<Vec<SnapshotName>, ZfsError> {
        let Some(first) = snaps.first() else {
            return Ok(Vec::new());
        };
        let mut args = vec!["holds".to_owned(), "-H".to_owned()];
        args.extend(snaps.iter().map(ToString::to_string));
        let out = self.run_zfs(args, &first.to_string())?;
        Ok(parse_holds(&out, tag)
            .into_iter()
            .filter_map(|n| snaps.iter().find(|s| s.to_string() == n).cloned())
            .collect())
    }
}

/// Names of the snapshots holding `tag` in `zfs holds -H` output
/// (`NAME<TAB>TAG<TAB>TIMESTAMP`).
pub(crate) fn parse_holds(out: &str, tag: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, t) = (f.next()?, f.next()?);
            (t == tag).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn holds_output_is_parsed_by_tag() {
        // $ zfs holds -H p/d@a p/d@b   (OpenZFS 2.1.11, in the VM lane)
        let out = "p/d@a\tbackup-web\tSat Nov 21 10:00 2026\np/d@a\tother\tSat Nov 21 10:01 2026\np/d@b\tother\tSat Nov 21 10:02 2026\n";
        assert_eq!(super::parse_holds(out, "backup-web"), ["p/d@a"]);
        assert_eq!(super::parse_holds(out, "other"), ["p/d@a", "p/d@b"]);
        assert!(super::parse_holds("", "x").is_empty());
    }
}
