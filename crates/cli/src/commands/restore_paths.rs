//! `backup restore SNAPSHOT --path P... --into DIR`: files and subtrees of
//! one snapshot into a directory (backup_ops::restore_files).

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::Result;
use backup_core::filelist::FileList;
use backup_core::read_chain;
use backup_ops::restore_files::{concerns, restore_paths, How, Method, PathRequest, Restored};
use backup_zfs::Zfs;

use super::browse::Browse;
use crate::cli::{GlobalArgs, RestoreArgs};
use crate::context;
use crate::exit::ExitStatus;
use crate::format::bytes;
use crate::progress::CliProgress;

/// Paths listed one per line up to this many; beyond, the summary only.
const LISTED: usize = 20;

pub fn run(g: &GlobalArgs, a: &RestoreArgs, into: &std::path::Path) -> Result<ExitStatus> {
    let b = Browse::open(g, "restore --path")?;
    let (id, m) = b.find(&a.snapshot)?;
    let paths: Vec<Vec<u8>> = a.paths.iter().map(|p| p.as_bytes().to_vec()).collect();
    // Streamed, keeping only the entries the paths concern: a million-entry
    // manifest is never held for one file. All of it is checked first.
    let mut entries = Vec::new();
    for e in b.entries(&id, &m)? {
        let e = e?;
        if concerns(&e, &paths) {
            entries.push(e);
        }
    }
    let list = FileList { entries };
    let ids: Vec<_> = backup_core::resolve_chain(&b.all, &id)?
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let manifests = read_chain(&b.repo, &ids)?;
    let chain: Vec<_> = ids.into_iter().zip(manifests).collect();
    let req = PathRequest {
        paths,
        into: into.to_path_buf(),
        overwrite: a.overwrite,
        method: if a.slow_path {
            Method::Slow
        } else if a.fast_only {
            Method::Fast
        } else {
            Method::Auto
        },
        work_dir: work_dir(g),
    };
    let progress = CliProgress::new(g.quiet || a.json);
    let done = restore_paths(&b.repo, &chain, &list, &req, &Zfs::new(), &progress)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        print_summary(&done);
    }
    Ok(ExitStatus::Success)
}

/// The slow path's scratch pool: below the state directory.
fn work_dir(g: &GlobalArgs) -> PathBuf {
    context::state_dir_anyway(g).join("restore")
}

fn print_summary(r: &Restored) {
    if r.paths.len() <= LISTED {
        for p in &r.paths {
            let how = match p.how {
                How::Fast => "fast path",
                How::Slow => "slow path",
                How::Link => "hard link",
                How::Manifest => "from the manifest",
            };
            println!("{}  {}  {how}", p.path, bytes(p.size));
        }
    }
    let files = r
        .paths
        .iter()
        .filter(|p| p.kind == backup_core::filelist::Kind::File)
        .count();
    println!(
        "restored {} path(s) of {} into {} ({files} file(s)) in {:.1} s: {} by the fast path, {} by the slow path, {} hard link(s), {} from the manifest alone",
        r.paths.len(),
        r.snapshot,
        r.into,
        r.seconds,
        r.count(How::Fast),
        r.count(How::Slow),
        r.count(How::Link),
        r.count(How::Manifest),
    );
    println!(
        "fetched {} of the repository ({} for the chain's record headers, {} of file blocks); every file checked against its recorded BLAKE3",
        bytes(r.meta_fetched + r.data_fetched),
        bytes(r.meta_fetched),
        bytes(r.data_fetched),
    );
    if r.slow_stream_bytes > 0 {
        println!(
            "the slow path received {} of streams into a scratch pool, since removed",
            bytes(r.slow_stream_bytes)
        );
    }
    for p in r.paths.iter().filter(|p| p.how == How::Slow) {
        if let Some(why) = &p.why_slow {
            eprintln!("note: {} took the slow path: {why}", p.path);
        }
    }
    for s in &r.skipped {
        eprintln!("note: not made: {s}");
    }
    if !r.owners {
        eprintln!("note: owners were not restored: that needs root");
    }
}
