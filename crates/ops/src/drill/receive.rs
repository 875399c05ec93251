//! Layers 1 and 2: each stream of a chain fetched, decrypted and verified
//! (layer 1) and received by `zfs receive` into the scratch space, with the
//! restored snapshot's guid checked (layer 2). The time writes spend
//! blocked on `zfs receive` is counted as receive time; the rest of the
//! restore is fetching and decrypting.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backup_zfs::{DatasetName, ReceiveArgs, ReceiveSink, SnapshotName, Zfs};

use backup_core::restore_stream;
use backup_core::Id;
use backup_core::Manifest;
use backup_core::Progress;
use backup_core::Repository;

use super::report::{Layer, Status};

/// What restoring one chain found.
#[derive(Debug)]
pub struct Received {
    /// Layer 1.
    pub data: Layer,
    /// Layer 2.
    pub receive: Layer,
    /// Stream bytes restored.
    pub bytes: u64,
    /// Seconds not spent waiting on `zfs receive`.
    pub fetch_seconds: f64,
    /// Seconds spent waiting on `zfs receive`.
    pub receive_seconds: f64,
}

/// Passes writes to `zfs receive`, timing them, and stops the restore when
/// the drill is interrupted.
struct TimedSink<'a> {
    sink: &'a mut ReceiveSink,
    blocked: Duration,
    failed: bool,
    stop: &'a AtomicBool,
}

impl Write for TimedSink<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "the drill was interrupted",
            ));
        }
        let t = Instant::now();
        let r = self.sink.write(b);
        self.blocked += t.elapsed();
        self.failed |= r.is_err();
        r
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.flush()
    }
}

/// Restores `chain` (full first) into `target`, stopping at the first
/// failure. The repository's verification of every blob and digest is
/// layer 1; `zfs receive`'s verdict and the guid check are layer 2.
pub fn receive_chain(
    repo: &Repository,
    zfs: &Zfs,
    chain: &[(Id, Manifest)],
    target: &DatasetName,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> Received {
    let started = Instant::now();
    let mut blocked = Duration::ZERO;
    let mut bytes = 0;
    let outcome = |data: Layer, receive: Layer, bytes, blocked: Duration| {
        let total = started.elapsed();
        Received {
            data,
            receive,
            bytes,
            fetch_seconds: total.saturating_sub(blocked).as_secs_f64(),
            receive_seconds: blocked.as_secs_f64(),
        }
    };
    for (i, (_, m)) in chain.iter().enumerate() {
        let name = m.full_name();
        let args = ReceiveArgs {
            target: target.clone(),
            force: i > 0,
            unmounted: false,
        };
        let mut sink = match zfs.receive(&args) {
            Ok(s) => s,
            Err(e) => {
                return outcome(
                    Layer::new(Status::NotReached, format!("stopped before {name}")),
                    Layer::new(Status::Fail, format!("zfs receive into {target}: {e}")),
                    bytes,
                    blocked,
                )
            }
        };
        progress.begin(
            &format!("drill: restore {name} into {target}"),
            Some(m.stream_len),
        );
        let mut timed = TimedSink {
            sink: &mut sink,
            blocked: Duration::ZERO,
            failed: false,
            stop,
        };
        let r = restore_stream(repo, m, &mut timed, progress);
        progress.end();
        let (sink_failed, waited) = (timed.failed, timed.blocked);
        blocked += waited;
        if let Err(e) = r {
            if sink_failed {
                // zfs receive stopped reading: its own error says why.
                let why = match sink.finish() {
                    Err(z) => z.to_string(),
                    Ok(()) => e.to_string(),
                };
                return outcome(
                    Layer::new(
                        Status::NotReached,
                        format!("zfs receive stopped during {name}"),
                    ),
                    Layer::new(
                        Status::Fail,
                        format!("zfs receive of {name} into {target}: {why}"),
                    ),
                    bytes,
                    blocked,
                );
            }
            sink.abort();
            let status = if stop.load(Ordering::Relaxed) {
                Status::NotReached
            } else {
                Status::Fail
            };
            return outcome(
                Layer::new(status, format!("{name}: {e}")),
                Layer::new(Status::NotReached, format!("{name} was not received whole")),
                bytes,
                blocked,
            );
        }
        bytes += m.stream_len;
        let t = Instant::now();
        let finished = sink.finish();
        blocked += t.elapsed();
        let wrong = match finished {
            Err(e) => Some(format!("zfs receive of {name} into {target}: {e}")),
            Ok(()) => wrong_guid(zfs, target, m),
        };
        if let Some(why) = wrong {
            return outcome(
                Layer::new(
                    Status::Pass,
                    format!("{} of {} stream(s) verified", i + 1, chain.len()),
                ),
                Layer::new(Status::Fail, why),
                bytes,
                blocked,
            );
        }
    }
    let chunks: usize = chain
        .iter()
        .map(|(_, m)| m.meta_chunks.len() + m.data_chunks.len())
        .sum();
    let last = &chain.last().expect("a chain has a stream").1;
    outcome(
        Layer::new(
            Status::Pass,
            format!(
                "{} stream(s), {bytes} bytes, {chunks} chunks: every blob authenticated, every stream digest matches",
                chain.len()
            ),
        ),
        Layer::new(
            Status::Pass,
            format!(
                "zfs receive accepted {} stream(s); {target}@{} has guid {}",
                chain.len(),
                last.snapshot,
                last.guid
            ),
        ),
        bytes,
        blocked,
    )
}

/// Why the snapshot `zfs receive` made is not the one shipped, if it is not.
fn wrong_guid(zfs: &Zfs, target: &DatasetName, m: &Manifest) -> Option<String> {
    let name = m.full_name();
    let guid = SnapshotName::new(target.clone(), &m.snapshot)
        .map_err(|e| e.to_string())
        .and_then(|s| zfs.snapshot_info(&s).map_err(|e| e.to_string()))
        .map(|s| s.guid);
    match guid {
        Ok(g) if g == m.guid => None,
        Ok(g) => Some(format!(
            "{target}@{} has guid {g}, but {name} was shipped with guid {}",
            m.snapshot, m.guid
        )),
        Err(e) => Some(format!(
            "{target}@{} after receiving {name}: {e}",
            m.snapshot
        )),
    }
}
