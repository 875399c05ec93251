//! Snapshots: listing, inspecting, creating, destroying.

use crate::command::run;
use crate::error::ZfsError;
use crate::name::{DatasetName, SnapshotName};
use crate::parse::{
    parse_snapshot_list, parse_snapshot_names, parse_snapshot_props, sort_snapshots,
};
use crate::zfs::Zfs;

/// How many snapshots one `zfs get` asks about (keeps the argument list short).
const GET_BATCH: usize = 256;

/// A snapshot as ZFS identifies it: the guid is its identity, createtxg its
/// order; the name is for humans.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// Its full name, `pool/ds@snap`.
    pub name: SnapshotName,
    /// Its guid, the same on every pool it is sent to.
    pub guid: u64,
    /// The transaction group it was created in, which orders the snapshots
    /// of a dataset.
    pub createtxg: u64,
    /// Unix seconds.
    pub creation: i64,
}

const PROPS: &str = "guid,createtxg,creation";

impl Zfs {
    /// The snapshots of `ds` itself (not of its children), oldest first by
    /// createtxg. [`ZfsError::DatasetNotFound`] if `ds` does not exist.
    pub fn list_snapshots(&self, ds: &DatasetName) -> Result<Vec<Snapshot>, ZfsError> {
        let mut snaps = if self.features()?.parsable_list {
            let args = [
                "list",
                "-Hp",
                "-t",
                "snapshot",
                "-o",
                "name,guid,createtxg,creation",
                "-d",
                "1",
                ds.as_str(),
            ];
            let out = self.run_zfs(args, ds.as_str())?;
            parse_snapshot_list(self.zfs_line(args).display(), ds, &out)?
        } else {
            // zfs-fuse: `list` prints guids as "6.56E", so list names, then
            // ask `get -Hp` for the numbers.
            let args = [
                "list",
                "-H",
                "-t",
                "snapshot",
                "-o",
                "name",
                "-d",
                "1",
                ds.as_str(),
            ];
            let out = self.run_zfs(args, ds.as_str())?;
            let names = parse_snapshot_names(self.zfs_line(args).display(), ds, &out)?;
            let mut snaps = Vec::with_capacity(names.len());
            for batch in names.chunks(GET_BATCH) {
                snaps.extend(self.get_snapshot_props(batch, true)?);
            }
            snaps
        };
        sort_snapshots(&mut snaps);
        Ok(snaps)
    }

    /// guid, createtxg and creation of one snapshot;
    /// [`ZfsError::DatasetNotFound`] if it does not exist.
    pub fn snapshot_info(&self, snap: &SnapshotName) -> Result<Snapshot, ZfsError> {
        let mut found = self.get_snapshot_props(std::slice::from_ref(snap), false)?;
        match found.pop() {
            Some(s) if found.is_empty() && s.name == *snap => Ok(s),
            _ => Err(ZfsError::Parse {
                command: self
                    .get_line(std::slice::from_ref(snap))
                    .display()
                    .to_owned(),
                line: snap.to_string(),
                reason: "expected exactly this snapshot in the output".into(),
            }),
        }
    }

    fn get_line(&self, snaps: &[SnapshotName]) -> crate::command::CommandLine {
        let mut args = vec![
            "get".to_owned(),
            "-Hp".into(),
            "-o".into(),
            "name,property,value".into(),
            PROPS.into(),
        ];
        args.extend(snaps.iter().map(ToString::to_string));
        self.zfs_line(args)
    }

    /// `zfs get -Hp ... guid,createtxg,creation SNAP...`. With
    /// `tolerate_vanished`, snapshots destroyed since they were listed are
    /// skipped (zfs still prints the others and exits 1).
    fn get_snapshot_props(
        &self,
        snaps: &[SnapshotName],
        tolerate_vanished: bool,
    ) -> Result<Vec<Snapshot>, ZfsError> {
        let line = self.get_line(snaps);
        let object = snaps.first().map(ToString::to_string).unwrap_or_default();
        let out = run(&line, &object, self.timeout()).map_err(|e| self.after_timeout(e))?;
        let complaints: Vec<&str> = out.stderr.lines().filter(|l| !l.is_empty()).collect();
        let vanished_only = !complaints.is_empty()
            && complaints.iter().all(|l| {
                l.starts_with("cannot open '")
                    && l.contains('@')
                    && l.ends_with("': dataset does not exist")
            });
        let ok = out.status.success() || (tolerate_vanished && vanished_only);
        if !ok {
            let ctx = crate::classify::Context {
                command: line.display(),
                object: &object,
            };
            return Err(crate::classify::classify(
                ctx,
                &out.status.to_string(),
                &out.stderr,
            ));
        }
        parse_snapshot_props(line.display(), &out.stdout)
    }

    /// Takes all `snaps` in ONE `zfs snapshot [-r] a@x b@y ...`, so they are
    /// atomic: all or none, in one txg. With `recursive`, descendants too.
    /// Several snapshots need [`Features::multi_snapshot`](crate::Features)
    /// (zfs-fuse takes one; `-r` on a common parent is its only atomic group)
    /// and must share a pool. An empty slice does nothing.
    pub fn create_snapshots(
        &self,
        snaps: &[SnapshotName],
        recursive: bool,
    ) -> Result<(), ZfsError> {
        let Some(first) = snaps.first() else {
            return Ok(());
        };
        if snaps.len() > 1 && !self.features()?.multi_snapshot {
            return Err(self.unsupported("several snapshots in one atomic `zfs snapshot`"));
        }
        if let Some(other) = snaps
            .iter()
            .find(|s| s.dataset().pool() != first.dataset().pool())
        {
            return Err(ZfsError::InvalidArgument {
                argument: other.to_string(),
                reason: format!(
                    "an atomic snapshot must stay in one pool, and {first} is in another"
                ),
            });
        }
        let mut args = vec!["snapshot".to_owned()];
        if recursive {
            args.push("-r".into());
        }
        args.extend(snaps.iter().map(ToString::to_string));
        self.run_zfs(args, &first.to_string()).map(drop)
    }

    /// `zfs destroy DS@SNAP`.
    pub fn destroy_snapshot(&self, snap: &SnapshotName) -> Result<(), ZfsError> {
        let name = snap.to_string();
        self.run_zfs(["destroy", name.as_str()], &name).map(drop)
    }
}
