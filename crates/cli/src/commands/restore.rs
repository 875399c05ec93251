//! `backup restore`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use backup_core::{
    find_snapshot, read_chain, resolve_chain, restore_stream, Id, Manifest, Repository,
};
use backup_zfs::{DatasetName, ReceiveArgs, Zfs};

use crate::cli::{GlobalArgs, RestoreArgs};
use crate::context;
use crate::exit::{ClosedStdout, ExitStatus, UsageError};
use crate::format::bytes;
use crate::progress::CliProgress;

pub fn run(g: &GlobalArgs, a: &RestoreArgs) -> Result<ExitStatus> {
    if let Some(into) = &a.into {
        return super::restore_paths::run(g, a, into);
    }
    let repo = context::open_repo(g)?;
    let _lock = context::read_lock(g, &repo, "restore")?;
    let cat = context::synced_catalog(g, &repo)?;
    let all: Vec<(Id, Manifest)> = cat
        .snapshots()?
        .into_iter()
        .map(|e| (e.id, e.manifest))
        .collect();
    let (target, _) = find_snapshot(&all, &a.snapshot)?;
    let chain: Vec<Id> = resolve_chain(&all, target)?
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let progress = CliProgress::new(g.quiet);
    if let Some(to) = &a.to {
        let ds = DatasetName::parse(to).map_err(|e| UsageError(e.to_string()))?;
        refuse_job_tree(g, &ds, a.force)?;
        receive_chain(&repo, &chain, &ds, a, &progress)?;
        eprintln!("restored {} stream(s) into {ds}", chain.len());
    } else if let Some(path) = &a.to_file {
        let m = repo.read_manifest(target)?;
        if let Some(b) = &m.base {
            eprintln!(
                "note: {} is an incremental stream; receiving it needs its base {} (guid {}) on the target",
                m.full_name(),
                b.snapshot,
                b.guid
            );
        }
        write_file(&repo, &m, path, a.force, &progress)?;
    }
    Ok(ExitStatus::Success)
}

/// Refuses a target that a job of the configuration would ship (a restore
/// inside a recursive job's tree would be shipped back by its next run),
/// unless `force`, which warns naming the jobs. Without a readable
/// configuration there is nothing to check: an incident must not wait for one.
fn refuse_job_tree(g: &GlobalArgs, ds: &DatasetName, force: bool) -> Result<()> {
    if !g.config.exists() {
        return Ok(());
    }
    let jobs = match context::config(g) {
        Ok(c) => c.jobs_shipping(ds),
        Err(e) => {
            crate::journal::warning!(
                "backup: warning: not checking whether a job ships {ds}: {e:#}"
            );
            return Ok(());
        }
    };
    if jobs.is_empty() {
        return Ok(());
    }
    let named = jobs.join(", ");
    if force {
        crate::journal::warning!(
            "backup: warning: {ds} is shipped by job(s) {named}: their next run ships what is restored here"
        );
        return Ok(());
    }
    Err(UsageError(format!(
        "restoring into {ds} would have job(s) {named} ship it with their next run (it is one of their datasets or in their tree); restore outside the jobs' datasets, or give --force to restore there anyway"
    ))
    .into())
}

/// Receives each stream of the chain, in order, into `ds`. Every link is
/// read and checked first (`read_chain`), so a damaged manifest or a missing
/// chunk stops the restore before the first receive. If a receive fails
/// later, the dataset this restore made is destroyed (unless
/// `--keep-partial`): a dataset at an older snapshot than the one asked for
/// must not pass for a restore.
fn receive_chain(
    repo: &Repository,
    chain: &[Id],
    ds: &DatasetName,
    a: &RestoreArgs,
    progress: &CliProgress,
) -> Result<()> {
    let manifests = read_chain(repo, chain)?;
    let zfs = Zfs::new();
    let existed = zfs.dataset_exists(ds)?;
    let mut received: Option<&Manifest> = None;
    for (i, m) in manifests.iter().enumerate() {
        if let Err(e) = receive_one(repo, &zfs, m, ds, a.force || i > 0, progress) {
            if received.is_some() || !existed {
                undo_partial(&zfs, ds, existed, received, a.keep_partial);
            }
            return Err(e);
        }
        received = Some(m);
    }
    Ok(())
}

/// Receives one stream of the chain into `ds`.
fn receive_one(
    repo: &Repository,
    zfs: &Zfs,
    m: &Manifest,
    ds: &DatasetName,
    force: bool,
    progress: &CliProgress,
) -> Result<()> {
    use backup_core::Progress;
    // Later streams go onto the dataset this restore just made: -F only
    // undoes changes made to it since (atime, a mount), never user data.
    let args = ReceiveArgs {
        target: ds.clone(),
        force,
        unmounted: false,
    };
    let mut sink = zfs.receive(&args)?;
    progress.begin(
        &format!("restore {} into {ds}", m.full_name()),
        Some(m.stream_len),
    );
    let r = restore_stream(repo, m, &mut sink, progress);
    progress.end();
    match r {
        Ok(()) => sink
            .finish()
            .with_context(|| format!("zfs receive of {} into {ds}", m.full_name())),
        Err(e) => {
            // A receive that died already reports its own error through
            // the sink's writes (backup_zfs::ReceiveSink).
            sink.abort();
            Err(anyhow::Error::new(e).context(format!("restoring {}", m.full_name())))
        }
    }
}

/// After a failed chain restore: destroys the dataset this restore created,
/// or says what is left. A dataset that existed before is never destroyed.
fn undo_partial(
    zfs: &Zfs,
    ds: &DatasetName,
    existed: bool,
    received: Option<&Manifest>,
    keep: bool,
) {
    let at = received.map_or_else(
        || "no snapshot".to_string(),
        |m| format!("{ds}@{}", m.snapshot),
    );
    if existed {
        eprintln!("backup: {ds} existed before this restore and is left as it is now, at {at}: it is not the snapshot asked for");
        return;
    }
    if !zfs.dataset_exists(ds).unwrap_or(true) {
        return;
    }
    if keep {
        eprintln!("backup: kept {ds} (--keep-partial) at {at}: it is NOT the snapshot asked for");
        return;
    }
    match zfs.destroy_dataset(ds, true) {
        Ok(()) => eprintln!("backup: removed {ds}, which this restore had made (it stood at {at}); --keep-partial keeps it"),
        Err(e) => crate::journal::warning!("backup: could not remove {ds}, which this restore had made (at {at}): {e}; destroy it by hand"),
    }
}

/// Writes one stream to stdout (`-`), to a device or pipe as it is, or to a
/// regular file atomically: a partial file is removed, never renamed into place.
/// An existing regular file is refused unless `force`.
fn write_file(
    repo: &Repository,
    m: &Manifest,
    path: &str,
    force: bool,
    progress: &CliProgress,
) -> Result<()> {
    use backup_core::Progress;
    let ctx = || format!("restoring {}", m.full_name());
    let final_path = PathBuf::from(path);
    // A device or a FIFO (/dev/null, /dev/stdout, a tape) is written in
    // place: renaming a temporary file over it would replace the device.
    let special =
        path == "-" || std::fs::metadata(&final_path).is_ok_and(|md| !md.is_file() && !md.is_dir());
    // Without --force a file's name is claimed at once with an empty file
    // made by create_new: an existing file is refused before anything is
    // restored, and one that appears meanwhile cannot be overwritten
    // either. The stream is renamed over our own claim when complete.
    let claim = if special || force {
        None
    } else {
        Some(claim(&final_path)?)
    };
    progress.begin(
        &format!("restore {} to {path}", m.full_name()),
        Some(m.stream_len),
    );
    if special {
        let out: Box<dyn Write> = if path == "-" {
            Box::new(std::io::stdout().lock())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&final_path)
                    .with_context(|| format!("opening {path}"))?,
            )
        };
        let mut w = BufWriter::with_capacity(1 << 20, out);
        let written = restore_stream(repo, m, &mut w, progress)
            .map_err(anyhow::Error::new)
            .and_then(|()| w.flush().map_err(anyhow::Error::new));
        if let Err(e) = written {
            let broken = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken && path == "-" {
                return Err(e.context(ClosedStdout));
            }
            return Err(e.context(format!("{}, writing to {path}", ctx())));
        }
    } else {
        let tmp = PathBuf::from(format!("{path}.partial"));
        let result = (|| -> Result<()> {
            let f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            restore_stream(repo, m, &mut w, progress).with_context(ctx)?;
            let f = w
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)
                .context("flushing")?;
            f.sync_all()
                .with_context(|| format!("fsync {}", tmp.display()))?;
            std::fs::rename(&tmp, &final_path)
                .with_context(|| format!("renaming to {}", final_path.display()))?;
            let dir = final_path.parent().filter(|d| !d.as_os_str().is_empty());
            File::open(dir.unwrap_or(Path::new(".")))
                .and_then(|d| d.sync_all())
                .with_context(|| format!("fsync the directory of {}", final_path.display()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
            if let Some(claim) = claim {
                claim.release(&final_path);
            }
        }
        result?;
        eprintln!(
            "wrote {} ({}) to {path}",
            m.full_name(),
            bytes(m.stream_len)
        );
    }
    progress.end();
    Ok(())
}

/// The empty file that reserves a `--to-file` name while its stream is
/// restored beside it; its device and inode tell it from a file that
/// replaced it.
struct Claim {
    dev: u64,
    ino: u64,
}

/// Creates `path` empty, refusing (as a usage error) if anything exists there.
fn claim(path: &Path) -> Result<Claim> {
    use std::os::unix::fs::MetadataExt;
    let f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(UsageError(format!(
                "{} exists: restore --to-file does not overwrite a file unless --force is given",
                path.display()
            ))
            .into())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    let md = f
        .metadata()
        .with_context(|| format!("reading the metadata of {}", path.display()))?;
    Ok(Claim {
        dev: md.dev(),
        ino: md.ino(),
    })
}

impl Claim {
    /// Removes the claim after a failed restore, if it is still ours.
    fn release(self, path: &Path) {
        use std::os::unix::fs::MetadataExt;
        let ours = std::fs::symlink_metadata(path)
            .is_ok_and(|md| md.dev() == self.dev && md.ino() == self.ino && md.len() == 0);
        if ours {
            let _ = std::fs::remove_file(path);
        }
    }
}
