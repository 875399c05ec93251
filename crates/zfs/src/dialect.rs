//! Which `zfs` we are talking to, and what it can do.
//!
//! Detection runs `zfs version` once: OpenZFS 0.8 and later answer with their
//! version; zfs-fuse 0.7 answers "unrecognized command 'version'". An old
//! OpenZFS (0.6/0.7) answers the same way, so `zpool upgrade -v` then tells
//! the two apart: only OpenZFS speaks of "feature flags". Old OpenZFS is
//! refused rather than guessed at.

use std::fmt;

use crate::command::{run, status_text, CommandLine};
use crate::error::ZfsError;

/// The family and version of the installed `zfs`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// zfs-fuse 0.7, pool version 23: the userspace ZFS used in tests.
    ZfsFuse,
    /// OpenZFS 0.8 or later; `version` is its userland version, e.g. `2.1.11-1`.
    OpenZfs {
        /// The userland version `zfs version` printed, e.g. `2.1.11-1`.
        version: String,
    },
}

impl Dialect {
    /// A name for messages, e.g. `zfs-fuse` or `OpenZFS 2.1.11-1`.
    pub fn name(&self) -> String {
        match self {
            Dialect::ZfsFuse => "zfs-fuse".to_owned(),
            Dialect::OpenZfs { version } => format!("OpenZFS {version}"),
        }
    }

    /// What this dialect supports.
    pub fn features(&self) -> Features {
        match self {
            Dialect::ZfsFuse => Features::none(),
            // Everything below arrived by OpenZFS 0.8, the first with `zfs version`.
            Dialect::OpenZfs { .. } => Features {
                parsable_list: true,
                holds: true,
                bookmarks: true,
                raw_send: true,
                compressed_send: true,
                large_blocks: true,
                embedded_data: true,
                resume_tokens: true,
                snapshot_dir: true,
                multi_snapshot: true,
                volume_devices: true,
            },
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Capabilities that differ between dialects.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// `zfs list -p` (exact numbers).
    pub parsable_list: bool,
    /// `zfs hold`/`holds`/`release` all work (zfs-fuse: `holds` is broken).
    pub holds: bool,
    /// `zfs bookmark`: bookmarks of snapshots.
    pub bookmarks: bool,
    /// `zfs send -w`.
    pub raw_send: bool,
    /// `zfs send -c`.
    pub compressed_send: bool,
    /// `zfs send -L`.
    pub large_blocks: bool,
    /// `zfs send -e`.
    pub embedded_data: bool,
    /// `zfs receive -s` and `zfs send -t`.
    pub resume_tokens: bool,
    /// `<mountpoint>/.zfs/snapshot`.
    pub snapshot_dir: bool,
    /// `zfs snapshot a@x b@x`: several snapshots, atomically, in one call
    /// (zfs-fuse takes exactly one argument: "too many arguments").
    pub multi_snapshot: bool,
    /// Volumes appear as block devices under `/dev/zvol/` (zfs-fuse cannot
    /// even create volumes: "internal error: Function not implemented").
    pub volume_devices: bool,
}

impl Features {
    fn none() -> Features {
        Features::default()
    }
}

/// The userland version from `zfs version` output, e.g. `2.1.11-1` from
/// `zfs-2.1.11-1\nzfs-kmod-2.1.11-1`.
pub(crate) fn parse_zfs_version(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("zfs-kmod-"))
        .find_map(|l| l.strip_prefix("zfs-"))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// True if `zfs version` failed because the command does not exist.
pub(crate) fn is_unknown_version_command(stderr: &str) -> bool {
    stderr.contains("unrecognized command 'version'")
}

/// True if `zpool upgrade -v` output comes from a pool with feature flags
/// (OpenZFS), rather than zfs-fuse's "pool version 23" list.
pub(crate) fn has_feature_flags(upgrade_v: &str) -> bool {
    upgrade_v.contains("feature flags")
}

/// Runs the detection commands.
pub(crate) fn detect(
    zfs: &std::path::Path,
    zpool: &std::path::Path,
    limit: std::time::Duration,
) -> Result<Dialect, ZfsError> {
    let line = CommandLine::new(zfs, ["version"]);
    let out = run(&line, "the zfs dialect", limit)?;
    if out.status.success() {
        return parse_zfs_version(&out.stdout)
            .ok_or_else(|| ZfsError::Parse {
                command: line.display().to_owned(),
                line: out.stdout.lines().next().unwrap_or("").to_owned(),
                reason: "expected a line `zfs-<version>`".into(),
            })
            .map(|version| Dialect::OpenZfs { version });
    }
    if !is_unknown_version_command(&out.stderr) {
        let ctx = crate::classify::Context {
            command: line.display(),
            object: "",
        };
        return Err(crate::classify::classify(
            ctx,
            &status_text(out.status),
            &out.stderr,
        ));
    }
    let line = CommandLine::new(zpool, ["upgrade", "-v"]);
    let out = run(&line, "the zfs dialect", limit)?;
    if has_feature_flags(&out.stdout) {
        return Err(ZfsError::Unsupported {
            feature: "a zfs without `zfs version`",
            dialect: "OpenZFS older than 0.8".to_owned(),
        });
    }
    Ok(Dialect::ZfsFuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openzfs_version_output() {
        // $ zfs version   (verified against OpenZFS 2.1.11, Debian 12, openzfs-vm lane)
        assert_eq!(
            parse_zfs_version("zfs-2.1.11-1+deb12u1\nzfs-kmod-2.1.11-1+deb12u1\n").as_deref(),
            Some("2.1.11-1+deb12u1")
        );
        assert_eq!(
            parse_zfs_version("zfs-2.1.11-1\nzfs-kmod-2.1.11-1\n").as_deref(),
            Some("2.1.11-1")
        );
        // FreeBSD 13.2 style (from OpenZFS source, not yet captured)
        assert_eq!(
            parse_zfs_version("zfs-2.1.9-FreeBSD_g92e0d9d18\nzfs-kmod-2.1.9-FreeBSD_g92e0d9d18\n")
                .as_deref(),
            Some("2.1.9-FreeBSD_g92e0d9d18")
        );
        // kernel module missing: only the userland line
        assert_eq!(
            parse_zfs_version("zfs-2.2.2-1\n").as_deref(),
            Some("2.2.2-1")
        );
        assert_eq!(parse_zfs_version(""), None);
        assert_eq!(parse_zfs_version("zfs-kmod-2.1.11-1\n"), None);
    }

    #[test]
    fn zfs_fuse_has_no_version_command() {
        // $ zfs version   (verified against zfs-fuse 0.7, exit status 2, stderr head)
        let stderr = "unrecognized command 'version'\nusage: zfs command args ...\n";
        assert!(is_unknown_version_command(stderr));
        // $ zpool upgrade -v   (verified against zfs-fuse 0.7, head)
        let upgrade = "This system is currently running ZFS pool version 23.\n\n\
                       The following versions are supported:\n";
        assert!(!has_feature_flags(upgrade));
        // $ zpool upgrade -v   (verified against OpenZFS 2.1.11, head; 0.6/0.7 print the same line)
        assert!(has_feature_flags(
            "This system supports ZFS pool feature flags.\n\nThe following features are supported:\n"
        ));
    }

    #[test]
    fn names_and_features() {
        assert_eq!(Dialect::ZfsFuse.name(), "zfs-fuse");
        let oz = Dialect::OpenZfs {
            version: "2.1.11-1".into(),
        };
        assert_eq!(oz.to_string(), "OpenZFS 2.1.11-1");
        assert_eq!(Dialect::ZfsFuse.features(), Features::default());
        assert!(oz.features().raw_send && oz.features().multi_snapshot);
    }
}
