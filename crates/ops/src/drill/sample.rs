//! The one-file layer: a sample of the snapshot's files restored straight
//! from the repository by the fast path of `restore --path`
//! ([`backup_core::extract`]) and compared with the file manifest, so a
//! drill proves the path an operator takes for one file, not only the
//! whole-dataset restore. The sample always holds the largest file whose
//! content changed in the newest incremental (or the largest file, for a
//! full), then random others, up to the configured count.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use backup_core::extract::{map_chain, Plan};
use backup_core::filelist::{Entry, FileList, Kind};
use backup_core::{load_file_list, Id, Manifest, Repository};
use serde::{Deserialize, Serialize};

use super::report::{Layer, Status};

/// What the sample found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Files rebuilt and compared.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Stored bytes fetched (record headers and blocks).
    pub fetched: u64,
    /// Files the fast path cannot rebuild (a `restore --path` of them takes
    /// the slow path; the whole-tree layer checked them).
    pub slow: u64,
    /// The largest changed file, always in the sample.
    pub largest_changed: Option<String>,
    /// Seconds it took.
    pub seconds: f64,
}

/// Restores up to `count` files of the chain's last snapshot by the fast
/// path into `work_dir` (removed after) and compares each with its BLAKE3.
/// `pick(n)` chooses an index below `n` (random in drills).
pub fn sample(
    repo: &Repository,
    chain: &[(Id, Manifest)],
    count: usize,
    work_dir: &Path,
    mut pick: impl FnMut(usize) -> usize,
) -> (Layer, Option<Sample>) {
    let started = Instant::now();
    let m = &chain.last().expect("a chain has a stream").1;
    let Some(files_ref) = &m.files else {
        return (
            Layer::new(Status::Skipped, "no file manifest was recorded"),
            None,
        );
    };
    if count == 0 {
        return (Layer::new(Status::Skipped, "sample_files = 0"), None);
    }
    let list = match load_file_list(repo, files_ref, &m.full_name()) {
        Ok(l) => l,
        Err(e) => return (Layer::new(Status::Fail, e.to_string()), None),
    };
    let previous = chain
        .len()
        .checked_sub(2)
        .and_then(|i| chain[i].1.files.as_ref().map(|f| (f, &chain[i].1)))
        .and_then(|(f, pm)| load_file_list(repo, f, &pm.full_name()).ok());
    let chosen = choose(&list, previous.as_ref(), count, &mut pick);
    let Some(first) = chosen.first() else {
        return (
            Layer::new(
                Status::Skipped,
                "the snapshot has no non-empty regular file",
            ),
            None,
        );
    };
    let mut s = Sample {
        largest_changed: Some(first.display_path()),
        ..Sample::default()
    };
    let layer = match rebuild_all(repo, chain, &chosen, work_dir, &mut s) {
        Ok(()) => {
            let slow = if s.slow > 0 {
                format!("; {} the fast path cannot rebuild (restore --path takes the slow path for them)", s.slow)
            } else {
                String::new()
            };
            Layer::new(
                Status::Pass,
                format!(
                    "{} file(s), {} bytes, rebuilt from the repository by the fast path of restore --path, each matching its recorded BLAKE3 ({} bytes fetched; always including {}){slow}",
                    s.files,
                    s.bytes,
                    s.fetched,
                    first.display_path()
                ),
            )
        }
        Err(why) => Layer::new(Status::Fail, why),
    };
    s.seconds = started.elapsed().as_secs_f64();
    (layer, Some(s))
}

/// The largest file whose content changed since `previous` (all files
/// count as changed without one), then random other files, `count` in all.
fn choose<'a>(
    list: &'a FileList,
    previous: Option<&FileList>,
    count: usize,
    pick: &mut impl FnMut(usize) -> usize,
) -> Vec<&'a Entry> {
    let mut files: Vec<&Entry> = list
        .entries
        .iter()
        .filter(|e| e.kind == Kind::File && e.size > 0 && e.blake3.is_some())
        .collect();
    let changed =
        |e: &Entry| previous.is_none_or(|p| p.get(&e.path).is_none_or(|o| o.blake3 != e.blake3));
    let largest = files
        .iter()
        .enumerate()
        .filter(|(_, e)| changed(e))
        .max_by_key(|(_, e)| e.size)
        .or_else(|| files.iter().enumerate().max_by_key(|(_, e)| e.size))
        .map(|(i, _)| i);
    let mut chosen = Vec::new();
    if let Some(i) = largest {
        chosen.push(files.swap_remove(i));
    }
    while chosen.len() < count && !files.is_empty() {
        let i = pick(files.len());
        chosen.push(files.swap_remove(i));
    }
    chosen
}

fn rebuild_all(
    repo: &Repository,
    chain: &[(Id, Manifest)],
    chosen: &[&Entry],
    work_dir: &Path,
    s: &mut Sample,
) -> Result<(), String> {
    let wanted: HashSet<u64> = chosen.iter().map(|e| e.ino).collect();
    let map = map_chain(repo, chain.iter().map(|(_, m)| m), &wanted).map_err(|e| e.to_string())?;
    s.fetched += map.meta_fetched;
    std::fs::create_dir_all(work_dir)
        .map_err(|e| format!("creating {}: {e}", work_dir.display()))?;
    // Named like the probes' output files, which the next drill removes
    // if this one is killed (scratch::remove_leftovers).
    let path = work_dir.join(format!(
        "backupdrill-sample-{}.out",
        &Id::random().to_hex()[..8]
    ));
    let r = rebuild_each(repo, &map, chosen, &path, s);
    let _ = std::fs::remove_file(&path);
    r
}

fn rebuild_each(
    repo: &Repository,
    map: &backup_core::extract::ChainMap,
    chosen: &[&Entry],
    path: &Path,
    s: &mut Sample,
) -> Result<(), String> {
    for e in chosen {
        let pieces = match map.plan(e.ino, e.size) {
            Plan::Pieces(p) => p,
            Plan::Unsupported(_) => {
                s.slow += 1;
                continue;
            }
        };
        let file = std::fs::File::create(path)
            .map_err(|err| format!("creating {}: {err}", path.display()))?;
        let what = format!("{} (object {})", e.display_path(), e.ino);
        let x = map
            .extract(repo, &pieces, e.size, &file, &what)
            .map_err(|err| format!("restoring {what}: {err}"))?;
        drop(file);
        s.fetched += x.fetched;
        if Some(x.blake3) != e.blake3 {
            return Err(format!(
                "{what}: the fast path rebuilt it with another BLAKE3 than the manifest's"
            ));
        }
        s.files += 1;
        s.bytes += e.size;
    }
    Ok(())
}
