//! A fabricated [`DrillReport`] for the tests of what surrounds drills
//! (their history in the catalog, status, metrics): plausible in every
//! field, so a test changes only what it is about.

use super::report::{
    Access, DatasetDrill, DrillReport, Layer, Link, Outcome, Phases, ProbeResult, ScratchInfo,
    Status, Target, REPORT_VERSION,
};

/// A drill of `job` started at `started` (Unix seconds) that ended with
/// `outcome`: one dataset `tank/www`, one probe, a 2 h RTO target (met,
/// 300 s) and a 26 h RPO target (met, 1 h). Its id is
/// `<job>-<UTC time>-<4 hex>`, like the engine's.
pub fn report(job: &str, started: i64, outcome: Outcome) -> DrillReport {
    let pass = outcome == Outcome::Pass;
    let verdict = if pass { Status::Pass } else { Status::Fail };
    let time = jiff::Timestamp::from_second(started)
        .unwrap()
        .strftime("%Y%m%dT%H%M%SZ");
    let snapshot_time = started - 3600;
    DrillReport {
        version: REPORT_VERSION,
        id: format!("{job}-{time}-{:04x}", started % 0x10000),
        job: job.to_string(),
        repository: "/mnt/nas/backup".into(),
        repository_id: "ab".repeat(32),
        host: "source".into(),
        tool_version: "0.1.0".into(),
        zfs: "zfs-fuse".into(),
        started,
        finished: started + 420,
        outcome,
        reason: (!pass).then(|| "probe app-health failed (exit 1)".to_string()),
        key_file: None,
        pick: "latest".into(),
        scratch: ScratchInfo {
            kind: "pool".into(),
            dataset: "drill-1234".into(),
            file: Some("/var/lib/backup/drill/drill-1234.img".into()),
            mountpoint: "/var/lib/backup/drill/mnt".into(),
            kept: false,
            leftovers_removed: Vec::new(),
            cleanup_error: None,
        },
        datasets: vec![DatasetDrill {
            dataset: "tank/www".into(),
            snapshot: "backup-20261121T091500Z".into(),
            manifest: "cd".repeat(32),
            guid: 42,
            snapshot_time,
            age_seconds: 3600,
            chain: vec![Link {
                id: "cd".repeat(32),
                snapshot: "tank/www@backup-20261121T091500Z".into(),
                kind: "full".into(),
                stream_len: 1 << 20,
            }],
            restored_as: "drill-1234/tank/www".into(),
            mountpoint: "/var/lib/backup/drill/mnt/tank/www".into(),
            data: Layer::new(Status::Pass, "every blob authenticated, digest matches"),
            receive: Layer::new(Status::Pass, "received, guid matches"),
            files: Layer::new(Status::Pass, "1234 paths match the manifest"),
            comparison: None,
            sample: Layer::new(Status::Pass, "24 file(s) rebuilt by the fast path"),
            sample_detail: None,
            restored_bytes: 1 << 20,
            fetch_seconds: 200.0,
            receive_seconds: 100.0,
            verify_seconds: 60.0,
        }],
        probes: vec![ProbeResult {
            name: "app-health".into(),
            command: "test -s index.html".into(),
            dataset: "tank/www".into(),
            status: verdict,
            exit_code: Some(i32::from(!pass)),
            timed_out: false,
            seconds: 1.5,
            output: String::new(),
        }],
        probe_layer: Layer::new(verdict, "1 probe"),
        phases: Phases {
            fetch_decrypt: 200.0,
            receive: 100.0,
            verify: 60.0,
            probes: 1.5,
            total: 420.0,
        },
        rto: Target::new(300.0, Some(jiff::SignedDuration::from_hours(2))),
        rpo: Target::new(3600.0, Some(jiff::SignedDuration::from_hours(26))),
        restored_bytes: 1 << 20,
        mismatches: 0,
        access: Access::default(),
    }
}
