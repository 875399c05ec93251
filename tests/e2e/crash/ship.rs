//! A ship killed again and again: each run resumes the last, and is itself
//! killed at the next moment of a seeded plan spread over the whole run
//! (a byte count of packs reached, just before and just after an index
//! checkpoint, a delay, the file manifest's view open before the stream,
//! the commit). After each kill: `check` clean, no manifest. In the end the repository holds each
//! blob once (the resumes uploaded only what was missing: measured), and
//! the snapshot restores identically.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use backup_zfs::SnapshotName;

use super::{
    assert_check_clean, assert_pruned_clean, kill_at, manifests, packs, Ended, Knobs, Moment, Rng,
};
use crate::harness::{assert_ok, assert_same_tree, noise, Env};

const MIB: u64 = 1 << 20;

/// A kill in the plan, resolved into a [`Moment`] when its run starts.
#[derive(Clone, Copy, Debug)]
enum Planned {
    /// Once the packs reach this fraction of the data.
    Bytes(f64),
    /// Around the index checkpoint nearest this fraction: just before the
    /// segment is written (`after` false) or just after.
    Checkpoint { at: f64, after: bool },
    /// After a fraction of the previous run's wall time.
    Delay(f64),
    /// With the file manifest's view open, before its walk and the stream.
    FileManifest,
    /// At the commit point, just before the manifest is written.
    Commit,
}

/// `kills` moments: the stream's in increasing order, each kind in turn
/// (shuffled), then the file manifest's view and the commit.
fn plan(rng: &mut Rng, kills: usize) -> Vec<Planned> {
    let ends = if kills >= 3 { 2 } else { 0 };
    let n = kills - ends;
    let mut at: Vec<f64> = (0..n).map(|_| rng.between(0.03, 0.92)).collect();
    at.sort_by(f64::total_cmp);
    let mut kinds: Vec<usize> = (0..n).map(|i| i % 4).collect();
    rng.shuffle(&mut kinds);
    let mut out: Vec<Planned> = at
        .into_iter()
        .zip(kinds)
        .map(|(at, kind)| match kind {
            0 => Planned::Bytes(at),
            1 | 2 => Planned::Checkpoint {
                at,
                after: kind == 2,
            },
            _ => Planned::Delay(rng.between(0.1, 1.0)),
        })
        .collect();
    let mut end = vec![Planned::FileManifest, Planned::Commit];
    rng.shuffle(&mut end);
    out.extend(end.into_iter().take(ends));
    out
}

/// CHECKPOINT_PACKS of the pack store: a segment after every 8 packs.
const CHECKPOINT: u64 = 8;

fn resolve(p: Planned, data: u64, pack: u64, repo: &Path, previous: Duration) -> Moment {
    let (present, present_packs) = packs(repo);
    let by_bytes = |at: f64| Moment::PackBytes(((at * data as f64) as u64).max(present + pack));
    match p {
        Planned::Bytes(at) => by_bytes(at),
        Planned::Checkpoint { at, after } => {
            // Packs come out a little over their target: count in the
            // average seen so far.
            let avg = if present_packs > 0 {
                present / present_packs as u64
            } else {
                pack
            };
            let total = data / avg.max(1);
            let target = (at * total as f64).ceil() as u64;
            let new = target.saturating_sub(present_packs as u64);
            let k = CHECKPOINT * ((new + CHECKPOINT / 2) / CHECKPOINT).max(1) + u64::from(after);
            if present_packs as u64 + k + 2 > total {
                by_bytes(at)
            } else {
                Moment::Pause(format!("pack-written-{k}"))
            }
        }
        Planned::Delay(f) => Moment::After(previous.mul_f64(f)),
        Planned::FileManifest => Moment::Pause("file-manifest".into()),
        Planned::Commit => Moment::Pause("ship:commit".into()),
    }
}

/// A dataset of `bytes` of incompressible files, plus a small tree for the
/// walk (names with spaces, a symlink).
fn fill(env: &Env, bytes: u64, seed: u64) -> SnapshotName {
    let ds = env.dataset("big");
    let dir = env.mountpoint(&ds);
    let file = (bytes / 16).clamp(MIB, 64 * MIB);
    for i in 0..bytes.div_ceil(file) {
        let len = file.min(bytes - i * file);
        fs::write(
            dir.join(format!("part {i:04}")),
            noise(len as usize, seed ^ i),
        )
        .unwrap();
    }
    fs::create_dir(dir.join("small files")).unwrap();
    for i in 0..50 {
        fs::write(dir.join(format!("small files/f {i}")), format!("{i}\n")).unwrap();
    }
    std::os::unix::fs::symlink("part 0000", dir.join("link")).unwrap();
    env.snapshot(&ds, "s")
}

struct Attempt {
    planned: String,
    ended: Ended,
    seconds: f64,
    before: u64,
    uploaded: u64,
}

#[test]
fn a_ship_killed_at_seeded_moments_resumes_and_restores_identically() {
    let k = Knobs::from_env("crash::ship", 12 * MIB, 6);
    let mut rng = Rng::new(k.seed);
    // Pack size: 1 MiB for small runs (several checkpoints), up to 16 MiB.
    let pack_mib = (k.bytes / (256 * MIB)).clamp(1, 16);
    let pack = pack_mib * MIB;
    let env = Env::without_repo_sized((2 * k.bytes + 768 * MIB).max(1 << 30));
    let init = [
        "init",
        "--kdf-memory",
        "1024",
        "--kdf-iterations",
        "1",
        "--pack-size",
        &pack_mib.to_string(),
        "--chunk-avg",
        if pack_mib == 1 { "64" } else { "1024" },
    ];
    assert_ok(&env.backup(init), "init");
    let snap = fill(&env, k.bytes, k.seed);
    let plan = plan(&mut rng, k.kills);
    let marker = env.tmp.path().join("paused");
    let started = Instant::now();
    let mut previous = Duration::from_secs(1);
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut finished = false;
    for (i, planned) in plan.iter().enumerate() {
        let moment = resolve(*planned, k.bytes, pack, &env.repo, previous);
        let log_path = env.tmp.path().join(format!("attempt-{i}.log"));
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = env.command(["send", &snap.to_string()]);
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        if let Moment::Pause(point) = &moment {
            cmd.env("BACKUP_TEST_PAUSE_AT", point)
                .env("BACKUP_TEST_PAUSE_MARKER", &marker);
        }
        let before = packs(&env.repo).0;
        let t = Instant::now();
        let ended = kill_at(cmd.spawn().unwrap(), &moment, &marker, &env.repo, &log_path);
        previous = t.elapsed();
        let uploaded = packs(&env.repo).0 - before;
        eprintln!(
            "crash::ship: run {i}: {planned:?} -> {moment:?}: {ended:?} after {:.1} s, {before} bytes of packs before, {uploaded} uploaded",
            previous.as_secs_f64()
        );
        attempts.push(Attempt {
            planned: format!("{moment:?}"),
            ended,
            seconds: previous.as_secs_f64(),
            before,
            uploaded,
        });
        if attempts.last().unwrap().ended == Ended::Finished {
            finished = true;
            break;
        }
        assert!(
            manifests(&env.repo).is_empty(),
            "run {i}: a manifest after a kill"
        );
        assert_check_clean(&env.backup(["check"]), &format!("run {i}: check"));
    }
    if !finished {
        let before = packs(&env.repo).0;
        let t = Instant::now();
        let out = env.backup(["send", &snap.to_string()]);
        assert_ok(&out, "the last resume");
        attempts.push(Attempt {
            planned: "none".into(),
            ended: Ended::Finished,
            seconds: t.elapsed().as_secs_f64(),
            before,
            uploaded: packs(&env.repo).0 - before,
        });
    }
    assert_eq!(manifests(&env.repo).len(), 1, "one manifest");
    let stream_len = env.list()[0]["stream_len"].as_u64().unwrap();
    let ship_seconds = started.elapsed().as_secs_f64();

    // Each blob once: the resumes uploaded only what was missing. The
    // slack covers the packs' framing and the file lists of killed runs.
    let total = packs(&env.repo).0;
    let slack = stream_len / 100 + 4 * pack + 2 * MIB;
    report(&attempts, stream_len, total);
    for (i, a) in attempts.iter().enumerate() {
        let missing = (stream_len + slack).saturating_sub(a.before);
        assert!(
            a.uploaded <= missing,
            "run {i} ({}) uploaded {} bytes, {missing} were missing",
            a.planned,
            a.uploaded
        );
    }
    assert!(
        total <= stream_len + slack,
        "{total} bytes of packs for a {stream_len}-byte stream"
    );

    assert_check_clean(&env.backup(["check", "--read-data"]), "check --read-data");
    assert_ok(&env.backup(["prune"]), "prune");
    assert_pruned_clean(&env.backup(["check"]), &env.repo, "check after prune");
    let target = env.pool.root().child("restored").unwrap();
    let t = Instant::now();
    let out = env.backup(["restore", &snap.to_string(), "--to", target.as_str()]);
    assert_ok(&out, "restore");
    let restore_seconds = t.elapsed().as_secs_f64();
    assert_same_tree(&env.clone_of(&snap, "source"), &env.mountpoint(&target));
    eprintln!(
        "crash::ship: seed {}, {} bytes of data, stream {stream_len} bytes, {} kills, ship runs {ship_seconds:.0} s in all, restore {restore_seconds:.0} s, packs {total} bytes",
        k.seed,
        k.bytes,
        attempts.iter().filter(|a| a.ended == Ended::Killed).count()
    );
}

fn report(attempts: &[Attempt], stream_len: u64, total: u64) {
    eprintln!("crash::ship: run | kill | seconds | packs before | uploaded | missing at start");
    for (i, a) in attempts.iter().enumerate() {
        eprintln!(
            "crash::ship: {i} | {} | {:.1} | {} | {} | {}",
            a.planned,
            a.seconds,
            a.before,
            a.uploaded,
            total.saturating_sub(a.before)
        );
    }
    eprintln!("crash::ship: stream {stream_len} bytes, packs {total} bytes in the end");
}
