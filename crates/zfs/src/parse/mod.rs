//! Parsers for scripted (`-H`, `-p`) `zfs` output. Pure functions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::ZfsError;
use crate::name::{DatasetName, SnapshotName};
use crate::snapshot::Snapshot;

fn parse_err(command: &str, line: &str, reason: impl Into<String>) -> ZfsError {
    ZfsError::Parse {
        command: command.to_owned(),
        line: line.to_owned(),
        reason: reason.into(),
    }
}

fn number<T: std::str::FromStr>(
    command: &str,
    line: &str,
    field: &str,
    v: &str,
) -> Result<T, ZfsError> {
    v.parse().map_err(|_| {
        parse_err(
            command,
            line,
            format!("{field} is not an exact number (missing -p?)"),
        )
    })
}

/// Snapshot names from `zfs list -H -t snapshot -o name -d 1 DS`, keeping
/// only `DS`'s own (`DS@...`).
pub(crate) fn parse_snapshot_names(
    command: &str,
    ds: &DatasetName,
    stdout: &str,
) -> Result<Vec<SnapshotName>, ZfsError> {
    let mut names = Vec::new();
    for line in stdout.lines().filter(|l| !l.is_empty()) {
        let name =
            SnapshotName::parse(line).map_err(|e| parse_err(command, line, e.to_string()))?;
        if name.dataset() == ds {
            names.push(name);
        }
    }
    Ok(names)
}

/// Snapshots from `zfs get -Hp -o name,property,value guid,createtxg,creation
/// SNAP...`: three lines per snapshot, in whatever order zfs prints them.
pub(crate) fn parse_snapshot_props(command: &str, stdout: &str) -> Result<Vec<Snapshot>, ZfsError> {
    #[derive(Default)]
    struct Partial {
        guid: Option<u64>,
        createtxg: Option<u64>,
        creation: Option<i64>,
    }
    let mut by_name: BTreeMap<String, Partial> = BTreeMap::new();
    for line in stdout.lines().filter(|l| !l.is_empty()) {
        let mut cols = line.splitn(3, '\t');
        let (Some(name), Some(prop), Some(value)) = (cols.next(), cols.next(), cols.next()) else {
            return Err(parse_err(
                command,
                line,
                "expected name<TAB>property<TAB>value",
            ));
        };
        let p = by_name.entry(name.to_owned()).or_default();
        match prop {
            "guid" => p.guid = Some(number(command, line, prop, value)?),
            "createtxg" => p.createtxg = Some(number(command, line, prop, value)?),
            "creation" => p.creation = Some(number(command, line, prop, value)?),
            _ => {
                return Err(parse_err(
                    command,
                    line,
                    format!("unexpected property {prop:?}"),
                ))
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, p)| {
            let snap =
                SnapshotName::parse(&name).map_err(|e| parse_err(command, &name, e.to_string()))?;
            match (p.guid, p.createtxg, p.creation) {
                (Some(guid), Some(createtxg), Some(creation)) => Ok(Snapshot {
                    name: snap,
                    guid,
                    createtxg,
                    creation,
                }),
                _ => Err(parse_err(
                    command,
                    &name,
                    "guid, createtxg or creation missing",
                )),
            }
        })
        .collect()
}

/// Snapshots from `zfs list -Hp -t snapshot -o name,guid,createtxg,creation
/// -d 1 DS` (OpenZFS), keeping only `DS`'s own.
pub(crate) fn parse_snapshot_list(
    command: &str,
    ds: &DatasetName,
    stdout: &str,
) -> Result<Vec<Snapshot>, ZfsError> {
    let mut out = Vec::new();
    for line in stdout.lines().filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, guid, createtxg, creation] = cols[..] else {
            return Err(parse_err(command, line, "expected 4 tab-separated columns"));
        };
        let name =
            SnapshotName::parse(name).map_err(|e| parse_err(command, line, e.to_string()))?;
        if name.dataset() != ds {
            continue;
        }
        out.push(Snapshot {
            name,
            guid: number(command, line, "guid", guid)?,
            createtxg: number(command, line, "createtxg", createtxg)?,
            creation: number(command, line, "creation", creation)?,
        });
    }
    Ok(out)
}

/// Sorts by createtxg (then name, for snapshots taken in one txg).
pub(crate) fn sort_snapshots(snaps: &mut [Snapshot]) {
    snaps.sort_by(|a, b| (a.createtxg, &a.name).cmp(&(b.createtxg, &b.name)));
}

/// The value of `zfs get -Hp -o value PROP NAME`; `-` means none.
pub(crate) fn parse_value(stdout: &str) -> Option<String> {
    let value = stdout.strip_suffix('\n').unwrap_or(stdout);
    (value != "-").then(|| value.to_owned())
}

/// The mountpoint from `zfs get -Hp -o property,value mountpoint,mounted DS`,
/// or `None` if the dataset is not mounted or has no path of its own.
pub(crate) fn parse_mountpoint(command: &str, stdout: &str) -> Result<Option<PathBuf>, ZfsError> {
    let (mut mountpoint, mut mounted) = (None, None);
    for line in stdout.lines().filter(|l| !l.is_empty()) {
        match line.split_once('\t') {
            Some(("mountpoint", v)) => mountpoint = Some(v),
            Some(("mounted", v)) => mounted = Some(v),
            _ => return Err(parse_err(command, line, "expected mountpoint or mounted")),
        }
    }
    let (Some(mountpoint), Some(mounted)) = (mountpoint, mounted) else {
        return Err(parse_err(command, stdout, "mountpoint or mounted missing"));
    };
    let usable = mounted == "yes" && mountpoint.starts_with('/');
    Ok(usable.then(|| PathBuf::from(mountpoint)))
}

#[cfg(test)]
mod tests;
