//! The slow path, always correct: the chain received into a throwaway
//! pool this tool owns (the drills' scratch space, in a work directory of
//! its own), the files copied out and checked, the pool destroyed. A
//! killed restore's pool is removed by the next one (the lock and the
//! scratch marks, as drills do).

use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use backup_core::filelist::Entry;
use backup_core::{Id, Manifest, Progress, Repository};
use backup_zfs::Zfs;

use super::below;
use super::place::Stage;
use crate::config::Scratch;
use crate::drill::receive::receive_chain;
use crate::drill::{remove_leftovers, ScratchSpace, Status};
use crate::error::{Error, Result};
use crate::job::JobLock;

/// Smallest scratch pool (sparse: only what is received costs).
const MIN_POOL_BYTES: u64 = 1 << 30;

/// Receives `chain` into scratch space under `work_dir` and copies `files`
/// into the stage, checking each against its manifest digest. Returns the
/// stream bytes received. The scratch space is destroyed whatever happens.
pub fn restore(
    repo: &Repository,
    zfs: &Zfs,
    chain: &[(Id, Manifest)],
    files: &[(&Entry, String)],
    work_dir: &Path,
    stage: &Stage,
    progress: &dyn Progress,
) -> Result<u64> {
    if let Some((_, m)) = chain
        .iter()
        .find(|(_, m)| m.send_flags.iter().any(|f| f == "-w"))
    {
        return Err(Error::Invalid {
            what: format!("restore --path from {}", m.full_name()),
            reason: "it was shipped raw (-w): its files are encrypted with the dataset's own key, \
                     which backup does not hold; restore the dataset with --to, then `zfs load-key` and mount it"
                .into(),
        });
    }
    let _lock = JobLock::acquire_file(
        work_dir,
        "scratch.lock",
        "the scratch space of restore --path on this host",
    )?;
    let scratch = Scratch::PoolIn(None);
    remove_leftovers(zfs, &scratch, work_dir)?;
    let size: u64 = chain.iter().map(|(_, m)| m.stream_len).sum();
    let id = format!("restore-{}", std::process::id());
    let space = ScratchSpace::create(
        zfs,
        &scratch,
        work_dir,
        &id,
        size.saturating_mul(3).max(MIN_POOL_BYTES),
    )?;
    let r = receive_and_copy(repo, zfs, chain, files, &space, stage, progress);
    let destroyed = space.destroy(zfs);
    let bytes = r?;
    destroyed?;
    Ok(bytes)
}

fn receive_and_copy(
    repo: &Repository,
    zfs: &Zfs,
    chain: &[(Id, Manifest)],
    files: &[(&Entry, String)],
    space: &ScratchSpace,
    stage: &Stage,
    progress: &dyn Progress,
) -> Result<u64> {
    let target = space
        .root
        .child("restore")
        .map_err(backup_zfs::ZfsError::from)?;
    let got = receive_chain(repo, zfs, chain, &target, &AtomicBool::new(false), progress);
    for layer in [&got.data, &got.receive] {
        if layer.status != Status::Pass {
            return Err(Error::Invalid {
                what: format!("the slow path's receive into {target}"),
                reason: layer.summary.clone(),
            });
        }
    }
    let mnt = zfs.mountpoint(&target)?.ok_or_else(|| Error::Invalid {
        what: format!("the slow path's receive into {target}"),
        reason: "the received dataset is not mounted".into(),
    })?;
    for (e, _) in files {
        let from = below(&mnt, e);
        let (to, mut file) = stage.new_file(e)?;
        let mut src = std::fs::File::open(&from)
            .map_err(|err| Error::io(format!("opening {}", from.display()), err))?;
        let digest = copy_hashing(&mut src, &mut file).map_err(|err| {
            Error::io(
                format!("copying {} to {}", from.display(), to.display()),
                err,
            )
        })?;
        if Some(digest) != e.blake3 && e.blake3.is_some() {
            // The repository's stream and its file manifest disagree: damage
            // (exit 3), not bad input.
            return Err(Error::Restore {
                path: e.display_path(),
                object: e.ino,
                source: Box::new(Error::Core(backup_core::Error::Corrupt {
                    object: format!("{} as received from the repository", e.display_path()),
                    reason: "its BLAKE3 is not the file manifest's: the stream and the \
                             manifest disagree"
                        .into(),
                })),
            });
        }
    }
    Ok(got.bytes)
}

/// Copies `src` to `dst`, keeping runs of zero blocks as holes, and returns
/// the BLAKE3 of what was copied.
fn copy_hashing(src: &mut std::fs::File, dst: &mut std::fs::File) -> std::io::Result<[u8; 32]> {
    use std::io::{Seek, SeekFrom, Write};
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 128 * 1024];
    let mut len = 0u64;
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        if buf[..n].iter().all(|&b| b == 0) {
            dst.seek(SeekFrom::Current(n as i64))?;
        } else {
            dst.write_all(&buf[..n])?;
        }
        len += n as u64;
    }
    dst.set_len(len)?;
    Ok(*h.finalize().as_bytes())
}
