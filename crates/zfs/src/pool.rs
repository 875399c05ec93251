//! Pools on files (the restore drills' throwaway pools) and user
//! properties: what a program needs to make scratch space, mark it as its
//! own, and find it again.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::command::CommandLine;
use crate::error::ZfsError;
use crate::name::DatasetName;
use crate::zfs::Zfs;

/// How long a destroy is retried while the pool is busy (zfs-fuse says so
/// for a few seconds after its datasets were unmounted or a receive failed).
const BUSY_PATIENCE: Duration = Duration::from_secs(20);

impl Zfs {
    /// Runs `zpool ARGS`; stdout on success, a classified error about `object`.
    fn run_zpool(&self, args: &[&str], object: &str) -> Result<String, ZfsError> {
        let line = CommandLine::new(self.zpool_binary(), args.iter().copied());
        self.run_classified(&line, object)
    }

    /// `zpool create -m MOUNTPOINT [-O k=v]... NAME FILE`: a pool on one file
    /// vdev (which must exist; a sparse file is fine), its root dataset
    /// mounted at `mountpoint` and carrying `props`. On zfs-fuse it is
    /// serialised and returns once the root's mount answers (`mounts.rs`).
    pub fn create_file_pool(
        &self,
        name: &str,
        file: &Path,
        mountpoint: &Path,
        props: &[(&str, &str)],
    ) -> Result<DatasetName, ZfsError> {
        let root = DatasetName::parse(name)?;
        if root.as_str().contains('/') {
            return Err(ZfsError::InvalidArgument {
                argument: name.to_owned(),
                reason: "a pool name has no '/'".to_owned(),
            });
        }
        let mnt = mountpoint.to_string_lossy().into_owned();
        let vdev = file.to_string_lossy().into_owned();
        let pairs: Vec<String> = props.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["create", "-m", mnt.as_str()];
        for p in &pairs {
            args.push("-O");
            args.push(p);
        }
        args.push(name);
        args.push(vdev.as_str());
        let serial = self.mounting()?;
        self.run_zpool(&args, name)?;
        if serial.is_some() {
            self.await_mount(&root)?;
        }
        Ok(root)
    }

    /// `zpool destroy -f NAME`, retried while it is busy.
    pub fn destroy_pool(&self, name: &str) -> Result<(), ZfsError> {
        let deadline = Instant::now() + BUSY_PATIENCE;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.run_zpool(&["destroy", "-f", name], name) {
                Err(ZfsError::Busy { .. }) if Instant::now() < deadline => {}
                Err(ZfsError::Command { ref stderr, .. })
                    if stderr.contains("busy") && Instant::now() < deadline => {}
                other => return other.map(drop),
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// The names of the imported pools.
    pub fn list_pools(&self) -> Result<Vec<String>, ZfsError> {
        let out = self.run_zpool(&["list", "-H", "-o", "name"], "pools")?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// `zfs set PROP=VALUE NAME`.
    pub fn set_property(&self, ds: &DatasetName, prop: &str, value: &str) -> Result<(), ZfsError> {
        if prop.is_empty() || prop.contains(['=', ' ', ',']) || prop.starts_with('-') {
            return Err(ZfsError::InvalidArgument {
                argument: prop.to_owned(),
                reason: format!("not a property name to set on {ds}"),
            });
        }
        let assignment = format!("{prop}={value}");
        self.run_zfs(["set", assignment.as_str(), ds.as_str()], ds.as_str())
            .map(drop)
    }

    /// Every filesystem and volume at and (with `recursive`) below `root`
    /// with the value of `prop` on it (`None` for `-`: not set).
    pub fn list_with_property(
        &self,
        root: &DatasetName,
        prop: &str,
        recursive: bool,
    ) -> Result<Vec<(DatasetName, Option<String>)>, ZfsError> {
        let columns = format!("name,{prop}");
        let mut args = vec![
            "list",
            "-H",
            "-o",
            columns.as_str(),
            "-t",
            "filesystem,volume",
        ];
        if recursive {
            args.push("-r");
        }
        args.push(root.as_str());
        let out = self.run_zfs(args.clone(), root.as_str())?;
        let mut rows = Vec::new();
        for line in out.lines().filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once('\t').ok_or_else(|| ZfsError::Parse {
                command: self.zfs_line(args.clone()).display().to_owned(),
                line: line.to_owned(),
                reason: "expected two tab-separated columns".to_owned(),
            })?;
            let name = DatasetName::parse(name)?;
            let value = (value != "-").then(|| value.to_owned());
            rows.push((name, value));
        }
        Ok(rows)
    }
}
