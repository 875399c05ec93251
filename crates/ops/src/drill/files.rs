//! Layer 3: the restored tree against the file manifest recorded at backup
//! time (or, for a volume, the restored device against its digest).

use std::path::Path;

use backup_zfs::{DatasetName, Zfs};

use backup_core::filelist::{self, VolumeDigest};
use backup_core::Manifest;
use backup_core::Repository;

use super::report::{Layer, Status};
use backup_core::filelist::Comparison;

/// Paths listed per kind of mismatch in a report; all are counted.
pub const LIST_CAP: usize = 20;

/// Layer 3 for one restored dataset mounted at `mountpoint` (`None` when
/// it is not mounted, e.g. a volume) restored as `restored`.
pub fn verify(
    repo: &Repository,
    zfs: &Zfs,
    m: &Manifest,
    restored: &DatasetName,
    mountpoint: Option<&Path>,
) -> (Layer, Option<Comparison>) {
    let name = m.full_name();
    if let Some(v) = &m.volume {
        return (verify_volume(zfs, v, restored), None);
    }
    let Some(r) = &m.files else {
        return (
            Layer::new(
                Status::Skipped,
                format!("no file manifest was recorded for {name} (file_manifest = false, or shipped by an older version)"),
            ),
            None,
        );
    };
    let Some(mnt) = mountpoint else {
        return (
            Layer::new(
                Status::Fail,
                format!("{restored} is not mounted: its files cannot be compared"),
            ),
            None,
        );
    };
    let expected =
        match backup_core::load_file_list(repo, r, &format!("the file manifest of {name}")) {
            Ok(l) => l,
            Err(e) => return (Layer::new(Status::Fail, e.to_string()), None),
        };
    let actual = match filelist::walk(mnt, None) {
        Ok(l) => l,
        Err(e) => {
            return (
                Layer::new(
                    Status::Fail,
                    format!("reading the restored tree of {restored}: {e}"),
                ),
                None,
            )
        }
    };
    let c = filelist::compare(&expected, &actual, LIST_CAP);
    let layer = if c.matches() {
        Layer::new(
            Status::Pass,
            format!(
                "{} paths ({} bytes in files) match the file manifest",
                c.expected, r.bytes
            ),
        )
    } else {
        Layer::new(
            Status::Fail,
            format!(
                "{} of {} paths differ from the file manifest of {name}: {} missing, {} extra, {} changed{}",
                c.missing + c.extra + c.changed,
                c.expected,
                c.missing,
                c.extra,
                c.changed,
                first_example(&c)
            ),
        )
    };
    (layer, Some(c))
}

fn first_example(c: &Comparison) -> String {
    if let Some((p, what)) = c.changed_paths.first() {
        return format!(" (e.g. {p}: {})", what.join(", "));
    }
    if let Some(p) = c.missing_paths.first() {
        return format!(" (e.g. {p} missing)");
    }
    c.extra_paths
        .first()
        .map_or(String::new(), |p| format!(" (e.g. {p} extra)"))
}

/// A restored volume's device against the digest recorded at backup time.
fn verify_volume(zfs: &Zfs, v: &VolumeDigest, restored: &DatasetName) -> Layer {
    let dev = match zfs.volume_device(restored) {
        Ok(Some(dev)) => dev,
        Ok(None) => {
            return Layer::new(
                Status::Skipped,
                format!("no device node /dev/zvol/{restored} to read"),
            )
        }
        Err(e) => return Layer::new(Status::Skipped, format!("the device of {restored}: {e}")),
    };
    match filelist::digest_device(&dev) {
        Err(e) => Layer::new(
            Status::Skipped,
            format!("no device node {} to read ({e})", dev.display()),
        ),
        Ok(d) if d.blake3 == v.blake3 && d.size == v.size => Layer::new(
            Status::Pass,
            format!(
                "the device's {} bytes match the digest recorded at backup time",
                d.size
            ),
        ),
        Ok(d) => Layer::new(
            Status::Fail,
            format!(
                "{}: {} bytes with BLAKE3 {}, but {} bytes with BLAKE3 {} were recorded",
                dev.display(),
                d.size,
                d.blake3,
                v.size,
                v.blake3
            ),
        ),
    }
}
