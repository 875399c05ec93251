//! `forget` and `prune` on real ZFS: a prune killed with SIGKILL at each of
//! its steps leaves a repository that `check` accepts and that restores
//! every kept snapshot; the next prune finishes the work. A ship during a
//! prune waits for (or is refused by) the prune's exclusive lock.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::harness::{assert_ok, assert_same_tree, noise, run_ok, stderr, Env};

struct PruneEnv {
    env: Env,
    config: PathBuf,
}

const RUNS: [&str; 4] = [
    "2026-11-02T10:00:00Z",
    "2026-11-02T11:00:00Z",
    "2026-11-02T12:00:00Z",
    "2026-11-02T13:00:00Z",
];

/// One dataset, a job keeping only the newest snapshot (and its chain),
/// a full after every incremental; between runs one of two files changes.
/// After four runs the repository holds garbage: the first full and
/// incremental are forgotten.
fn prune_env() -> PruneEnv {
    let env = Env::new();
    let ds = env.dataset("data");
    let dir = env.mountpoint(&ds);
    fs::write(dir.join("constant"), noise(2 << 20, 1)).unwrap();
    let config = env.job_config(
        "data",
        &ds,
        "full_every = 1\nkeep_repository = { keep_last = 1 }\n",
    );
    let p = PruneEnv { env, config };
    for (i, now) in RUNS.iter().enumerate() {
        fs::write(dir.join("changing"), noise(1 << 20, 10 + i as u64)).unwrap();
        let out = p.backup(&p.env.repo, ["run", "data", "--now", now]);
        assert_ok(&out, &format!("run {i}"));
    }
    p
}

impl PruneEnv {
    /// `backup` on a repository copy, with its own catalog.
    fn command<const N: usize>(&self, repo: &Path, args: [&str; N]) -> Command {
        let mut c = self.env.command(args);
        c.arg("--config")
            .arg(&self.config)
            .env("BACKUP_REPOSITORY", repo)
            .env(
                "BACKUP_CATALOG",
                repo.with_extension("sqlite").to_str().unwrap(),
            );
        c
    }

    fn backup<const N: usize>(&self, repo: &Path, args: [&str; N]) -> std::process::Output {
        self.command(repo, args).output().unwrap()
    }

    /// Starts a prune that stops at `point` and waits there; returns once
    /// it is there.
    fn prune_paused_at(&self, repo: &Path, point: &str) -> Child {
        let marker = repo.with_extension("paused");
        let mut child = self
            .command(repo, ["prune", "--repack-unused", "0"])
            .env("BACKUP_TEST_PAUSE_AT", point)
            .env("BACKUP_TEST_PAUSE_MARKER", &marker)
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !marker.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("prune ended ({status}) before reaching {point}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "prune never reached {point}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// The newest snapshot restores, chain and all, and matches the source.
    fn assert_restores(&self, repo: &Path, tag: &str) {
        let ds = self.env.pool.root().child("data").unwrap();
        let snap = format!("{ds}@job-20261102T130000Z");
        let target = self.env.pool.root().child(&format!("r-{tag}")).unwrap();
        let out = self.backup(repo, ["restore", &snap, "--to", target.as_str()]);
        assert_ok(&out, &format!("{tag}: restore"));
        let source = self.env.clone_of(
            &backup_zfs::SnapshotName::new(ds, "job-20261102T130000Z").unwrap(),
            &format!("c-{tag}"),
        );
        assert_same_tree(&source, &self.env.mountpoint(&target));
    }

    fn assert_check(&self, repo: &Path, tag: &str, warnings_allowed: bool) {
        let out = self.backup(repo, ["check", "--read-data"]);
        assert_ok(&out, &format!("{tag}: check"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            warnings_allowed || !text.contains("warning"),
            "{tag}: {text}"
        );
    }

    fn copy_repo(&self, tag: &str) -> PathBuf {
        let copy = self.env.tmp.path().join(format!("repo-{tag}"));
        run_ok(
            "cp",
            [
                "-a",
                self.env.repo.to_str().unwrap(),
                copy.to_str().unwrap(),
            ],
        );
        copy
    }
}

#[test]
fn forget_by_job_then_prune_frees_space_and_keeps_what_is_needed() {
    let p = prune_env();
    let list = p.env.list();
    let names: Vec<&str> = list
        .iter()
        .map(|e| e["snapshot"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["job-20261102T120000Z", "job-20261102T130000Z"],
        "keep_last = 1 keeps the newest and its base"
    );
    let repo = p.env.repo.clone();
    // Regression (issue 17): forget had no --json.
    let out = p.backup(
        &repo,
        ["forget", "data", "--dry-run", "--json", "--now", RUNS[3]],
    );
    assert_ok(&out, "forget --dry-run --json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["repositories"][0];
    assert_eq!(
        (&v["dry_run"], &r["repository"]),
        (&true.into(), &"nas".into()),
        "{v:#}"
    );
    assert_eq!(r["jobs"][0]["job"], "data", "{v:#}");
    let kept = r["jobs"][0]["snapshots"].as_array().unwrap();
    assert_eq!(kept.len(), 2, "{v:#}");
    assert!(
        kept.iter()
            .all(|d| d["keep"] == true && d["reasons"][0].is_string()),
        "{v:#}"
    );
    assert_eq!(r["remove"], serde_json::json!([]));
    let dry = p.backup(&repo, ["prune", "--dry-run"]);
    assert_ok(&dry, "prune --dry-run");
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(text.contains("would remove"), "{text}");
    let size = |d: &Path| -> u64 {
        crate::harness::files_under(d)
            .iter()
            .map(|f| f.metadata().unwrap().len())
            .sum()
    };
    let before = size(&repo);
    assert_eq!(size(&repo), before, "a dry run changes nothing");
    assert_ok(&p.backup(&repo, ["prune"]), "prune");
    let after = size(&repo);
    assert!(after + (1 << 20) < before, "{before} -> {after}");
    p.assert_check(&repo, "after prune", false);
    p.assert_restores(&repo, "pruned");
    let again = p.backup(&repo, ["prune"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to prune"));
}

#[test]
fn a_prune_killed_at_any_step_loses_nothing() {
    let p = prune_env();
    for point in [
        "prune:repacked",
        "prune:indexed",
        "prune:old-index-removed",
        "prune:half-removed",
    ] {
        let tag = point.trim_start_matches("prune:");
        let repo = p.copy_repo(tag);
        let mut child = p.prune_paused_at(&repo, point);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Its lock is left behind; the dead process's lock is taken over.
        p.assert_check(&repo, tag, true);
        p.assert_restores(&repo, tag);
        assert_ok(&p.backup(&repo, ["prune"]), &format!("{tag}: prune again"));
        p.assert_check(&repo, &format!("{tag}, pruned again"), false);
    }
}

#[test]
fn a_ship_during_a_prune_waits_for_its_lock_or_is_refused() {
    let p = prune_env();
    let repo = p.env.repo.clone();
    let mut prune = p.prune_paused_at(&repo, "prune:indexed");
    let ds = p.env.pool.root().child("data").unwrap();
    let out = p.backup(&repo, ["send", ds.as_str(), "--lock-wait", "0"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("exclusive lock for prune by pid {}", prune.id())),
        "{}",
        stderr(&out)
    );
    // A waiting ship goes on once the prune is gone (here: killed, so its
    // lock is stale), and nothing is lost.
    let waiting = p
        .command(&repo, ["send", ds.as_str(), "--lock-wait", "2m"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    prune.kill().unwrap();
    prune.wait().unwrap();
    let out = waiting.wait_with_output().unwrap();
    assert_ok(&out, "send after waiting");
    assert!(
        stderr(&out).contains("removed a stale lock"),
        "{}",
        stderr(&out)
    );
    assert_ok(&p.backup(&repo, ["prune"]), "prune after");
    p.assert_check(&repo, "after", false);
    p.assert_restores(&repo, "after");
}
