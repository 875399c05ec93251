//! The uploader of a ship: packs written `transfers()` at a time, and an
//! index checkpoint after every [`CHECKPOINT_PACKS`] durable packs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::{bounded, Receiver};

use super::{PackStore, SealedPack, CHECKPOINT_PACKS};
use crate::error::{Error, Result};
use crate::format::index::PackBlobs;
use crate::progress::Progress;

impl PackStore {
    /// Writes the packer's packs, `transfers()` at a time, and indexes them:
    /// after every `CHECKPOINT_PACKS` durable packs, and once at the end, a
    /// segment lists packs whose writes have returned. When one write fails
    /// the others finish what they hold and take nothing new, and the packs
    /// already durable are still indexed, so a later ship does not upload
    /// them again. The in-memory index is not changed: the caller records
    /// the packs returned.
    /// Each pack's stored bytes are reported to `progress` as sent once its
    /// write returned.
    pub(crate) fn upload(
        &self,
        pack_rx: Receiver<SealedPack>,
        progress: &dyn Progress,
    ) -> Result<Vec<PackBlobs>> {
        let transfers = self.backend.transfers().max(1);
        let failed = AtomicBool::new(false);
        let (durable_tx, durable_rx) = bounded::<PackBlobs>(transfers);
        // Under an upload limit, what it lets out is reported as it goes
        // (a meter thread), not each pack once written.
        let metered = self.backend.uploaded();
        let (meter_stop_tx, meter_stop_rx) = bounded::<()>(0);
        thread::scope(|s| {
            let meter = metered.map(|start| {
                let (backend, rx) = (&self.backend, meter_stop_rx.clone());
                s.spawn(move || {
                    let mut reported = start;
                    let mut report = || {
                        let now = backend.uploaded().unwrap_or(reported);
                        if now > reported {
                            progress.sent(now - reported);
                            reported = now;
                        }
                    };
                    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                        rx.recv_timeout(std::time::Duration::from_millis(200))
                    {
                        report();
                    }
                    report();
                })
            });
            let mut writers = Vec::new();
            for _ in 0..transfers {
                let (pack_rx, durable_tx, failed) = (pack_rx.clone(), durable_tx.clone(), &failed);
                writers.push(s.spawn(move || -> Result<()> {
                    for pack in pack_rx {
                        if failed.load(Ordering::SeqCst) {
                            return Err(Error::Interrupted);
                        }
                        let len = pack.bytes.len() as u64;
                        let durable = match self.write_pack(pack) {
                            Ok(d) => {
                                if metered.is_none() {
                                    progress.sent(len);
                                }
                                d
                            }
                            Err(e) => {
                                failed.store(true, Ordering::SeqCst);
                                return Err(e);
                            }
                        };
                        if durable_tx.send(durable).is_err() {
                            return Err(Error::Interrupted);
                        }
                    }
                    Ok(())
                }));
            }
            drop((pack_rx, durable_tx));
            let mut all = Vec::new();
            let mut unindexed = 0;
            let mut indexed = Ok(());
            for p in durable_rx {
                all.push(p);
                // Test hook: the fault tests stop the server here.
                crate::pause::pause_until_released(&format!("pack-written-{}", all.len()), "");
                unindexed += 1;
                if unindexed == CHECKPOINT_PACKS && indexed.is_ok() {
                    indexed = self
                        .write_index_segment(&all[all.len() - unindexed..])
                        .map(|_| ());
                    if indexed.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    unindexed = 0;
                }
            }
            if unindexed > 0 && indexed.is_ok() {
                indexed = self
                    .write_index_segment(&all[all.len() - unindexed..])
                    .map(|_| ());
            }
            // The first real failure: a write's, else the index's.
            let mut first = None;
            for w in writers {
                match w.join().expect("pack writer panicked") {
                    Err(Error::Interrupted) | Ok(()) => {}
                    Err(e) => {
                        first.get_or_insert(e);
                    }
                }
            }
            drop(meter_stop_tx);
            if let Some(m) = meter {
                m.join().expect("upload meter panicked");
            }
            match (first, indexed) {
                (Some(e), _) => Err(e),
                (None, Err(e)) => Err(e),
                (None, Ok(())) if failed.load(Ordering::SeqCst) => Err(Error::Interrupted),
                (None, Ok(())) => Ok(all),
            }
        })
    }
}
