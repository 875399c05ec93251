//! A prune killed in each of its phases and after seeded delays, and the
//! prune after it killed too (seeded order): after each kill `check` finds
//! no error, and the next prune completes, leaving nothing for `check` to
//! warn about (but the young temporary files of `locks/`, which prune keeps
//! by design) and the kept snapshot restoring identically.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use backup_zfs::SnapshotName;

use super::{assert_check_clean, assert_pruned_clean, kill_at, Ended, Knobs, Moment, Rng};
use crate::harness::{assert_ok, assert_same_tree, noise, run_ok, Env};

const RUNS: [&str; 3] = [
    "2026-11-02T10:00:00Z",
    "2026-11-02T11:00:00Z",
    "2026-11-02T12:00:00Z",
];

const PHASES: [&str; 4] = [
    "prune:repacked",
    "prune:indexed",
    "prune:old-index-removed",
    "prune:half-removed",
];

#[test]
fn a_prune_killed_in_each_phase_and_at_seeded_moments_finishes_on_the_next() {
    let k = Knobs::from_env("crash::prune", 0, 2);
    let mut rng = Rng::new(k.seed);
    let env = Env::new();
    let ds = env.dataset("data");
    let dir = env.mountpoint(&ds);
    for i in 0..4 {
        fs::write(dir.join(format!("constant {i}")), noise(512 << 10, i)).unwrap();
    }
    // Every run a full, only the newest kept: the older fulls are garbage,
    // some of their blobs shared with the newest (repacked), some not.
    let config = env.job_config(
        "data",
        &ds,
        "full_every = 1\nkeep_repository = { keep_last = 1 }\n",
    );
    let backup = |repo: &Path, args: &[&str]| {
        let mut c = env.command(["--config", config.to_str().unwrap()]);
        c.args(args)
            .env("BACKUP_REPOSITORY", repo)
            .env("BACKUP_CATALOG", repo.with_extension("sqlite"));
        c
    };
    for (i, now) in RUNS.iter().enumerate() {
        fs::write(dir.join("changing"), noise(3 << 19, 10 + i as u64)).unwrap();
        let out = backup(&env.repo, &["run", "data", "--now", now])
            .output()
            .unwrap();
        assert_ok(&out, &format!("run {i}"));
    }
    // A whole prune's wall time, on a copy, for the delays.
    let copy = |tag: &str| -> PathBuf {
        let to = env.tmp.path().join(format!("repo-{tag}"));
        run_ok(
            "cp",
            ["-a", env.repo.to_str().unwrap(), to.to_str().unwrap()],
        );
        to
    };
    let reference = copy("reference");
    let t = Instant::now();
    assert_ok(
        &backup(&reference, &["prune", "--repack-unused", "0"])
            .output()
            .unwrap(),
        "reference prune",
    );
    let whole = t.elapsed();

    // Each phase and `kills` delays, shuffled, two to a copy: a prune
    // killed, then the prune after it killed too.
    let mut moments: Vec<Moment> = PHASES.iter().map(|p| Moment::Pause((*p).into())).collect();
    for _ in 0..k.kills {
        moments.push(Moment::After(whole.mul_f64(rng.between(0.05, 0.6))));
    }
    rng.shuffle(&mut moments);
    let snap = SnapshotName::new(ds.clone(), "job-20261102T120000Z").unwrap();
    let source = env.clone_of(&snap, "source");
    for (i, pair) in moments.chunks(2).enumerate() {
        let repo = copy(&i.to_string());
        for (j, m) in pair.iter().enumerate() {
            let ended = prune_killed_at(&backup(&repo, &[]), &repo, m);
            eprintln!("crash::prune: copy {i}, prune {j}: {m:?}: {ended:?}");
            let out = backup(&repo, &["check"]).output().unwrap();
            assert_check_clean(&out, &format!("copy {i}, after {m:?}"));
        }
        assert_ok(
            &backup(&repo, &["prune", "--repack-unused", "0"])
                .output()
                .unwrap(),
            &format!("copy {i}: prune to the end"),
        );
        let out = backup(&repo, &["check", "--read-data"]).output().unwrap();
        assert_pruned_clean(&out, &repo, &format!("copy {i}: check after"));
        let target = env.pool.root().child(&format!("r{i}")).unwrap();
        assert_ok(
            &backup(
                &repo,
                &["restore", &snap.to_string(), "--to", target.as_str()],
            )
            .output()
            .unwrap(),
            &format!("copy {i}: restore"),
        );
        assert_same_tree(&source, &env.mountpoint(&target));
        env.pool.zfs().destroy_dataset(&target, true).unwrap();
    }
}

/// Runs `prune --repack-unused 0` with the base command `base` and kills it
/// at `moment` (it may also finish first: a phase it no longer has).
fn prune_killed_at(base: &std::process::Command, repo: &Path, moment: &Moment) -> Ended {
    let marker = repo.with_extension("paused");
    let log = repo.with_extension("log");
    let mut cmd = std::process::Command::new(base.get_program());
    cmd.args(base.get_args())
        .args(["prune", "--repack-unused", "0"])
        .env_clear()
        .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(std::process::Stdio::null())
        .stdout(fs::File::create(&log).unwrap())
        .stderr(fs::File::create(log.with_extension("err")).unwrap());
    if let Moment::Pause(point) = moment {
        cmd.env("BACKUP_TEST_PAUSE_AT", point)
            .env("BACKUP_TEST_PAUSE_MARKER", &marker);
    }
    kill_at(
        cmd.spawn().unwrap(),
        moment,
        &marker,
        repo,
        &log.with_extension("err"),
    )
}
