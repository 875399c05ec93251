//! Scheduled verification (issue 14): a job's `check_every` and
//! `check_read_data`, run by `backup run JOB`, `backup run --due` and
//! `backup check --job JOB`, rotating so every pack is read; a damaged pack
//! turns the job red in `status`, Nagios and the metrics until a later
//! verification passes. `--now` drives the clock.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::harness::{assert_ok, noise, pack_files, stderr, Env};

const EXIT_DAMAGED: i32 = 3;
const NAGIOS_OK: i32 = 0;
const NAGIOS_CRITICAL: i32 = 2;

/// A repository of small packs (1 MiB) and a dataset holding `mib` MiB of
/// noise, and a configuration whose job `web` ships it and has `extra`.
fn setup(mib: usize, extra: &str) -> (Env, PathBuf, PathBuf) {
    let env = Env::without_repo();
    let out = env.backup([
        "init",
        "--kdf-memory",
        "1024",
        "--kdf-iterations",
        "1",
        "--pack-size",
        "1",
    ]);
    assert_ok(&out, "init");
    let ds = env.dataset("www");
    fs::write(env.mountpoint(&ds).join("f"), noise(mib << 20, 14)).unwrap();
    let metrics = env.tmp.path().join("backup.prom");
    let config = env.job_config("web", &ds, extra);
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("metrics_file = {metrics:?}\n{text}")).unwrap();
    (env, config, metrics)
}

fn run(env: &Env, config: &Path, args: &[&str]) -> Output {
    env.command(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `status --json` at `now`: the job's `verify` object.
fn verify_status(env: &Env, config: &Path, now: &str) -> serde_json::Value {
    let out = run(env, config, &["status", "--json", "--now", now]);
    assert_ok(&out, "status --json");
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    st["jobs"][0]["verify"].clone()
}

/// `status --nagios` at `now` with thresholds far away: (code, line).
fn nagios(env: &Env, config: &Path, now: &str) -> (i32, String) {
    let out = run(
        env,
        config,
        &[
            "status", "--nagios", "--warn", "30d", "--crit", "60d", "--now", now,
        ],
    );
    (out.status.code().unwrap(), stdout(&out))
}

#[test]
fn run_and_run_due_verify_when_check_every_is_due_rotating_through_every_pack() {
    let (env, config, metrics) = setup(6, "check_every = \"7d\"\ncheck_read_data = \"34%\"\n");
    // `run JOB` (what the systemd service runs): the job, then its first
    // verification, due because there was none.
    let out = run(
        &env,
        &config,
        &["run", "web", "--now", "2026-11-02T10:00:00Z"],
    );
    assert_ok(&out, "run web");
    let text = stdout(&out);
    assert!(text.contains("verification of job web: due"), "{text}");
    assert!(
        text.contains("verification of job web: ok: read")
            && text.contains("check_read_data 34%")
            && text.contains("every pack is read within 3 verification(s), 21d 00h"),
        "{text}"
    );
    let packs = pack_files(&env).len() as u64;
    assert!(packs >= 3, "{packs} packs");
    // Each verification reads ceil(34 % of the packs): a pass takes at
    // most ceil(100 / 34) = 3 of them.
    let per_run = (packs * 34).div_ceil(100);
    let pass_runs = packs.div_ceil(per_run);
    assert!(pass_runs <= 3);
    let v = verify_status(&env, &config, "2026-11-02T11:00:00Z");
    assert_eq!(v["last"]["packs"], packs);
    let mut read = v["last"]["packs_read"].as_u64().unwrap();
    assert_eq!(read, per_run);
    assert_eq!(v["coverage"]["runs"], 3);
    assert_eq!(v["coverage"]["period_seconds"], 21 * 86_400);
    assert_eq!(v["failed"], false);

    // A day later: not due.
    let out = run(
        &env,
        &config,
        &["run", "--due", "--now", "2026-11-03T10:00:00Z"],
    );
    assert_ok(&out, "run --due");
    assert!(
        stdout(&out).contains("verification of job web: not due"),
        "{}",
        stdout(&out)
    );
    // A week, and two weeks later: due, and the rotation goes on where it
    // stopped, so by the third verification a pass over every pack is
    // complete.
    for (i, now) in [(2, "2026-11-09T10:00:00Z"), (3, "2026-11-16T10:00:00Z")] {
        let out = run(&env, &config, &["run", "--due", "--now", now]);
        assert_ok(&out, "run --due");
        let text = stdout(&out);
        assert!(text.contains("verification of job web: due"), "{text}");
        let v = verify_status(&env, &config, now);
        if i <= pass_runs {
            read += v["last"]["packs_read"].as_u64().unwrap();
        }
        assert_eq!(v["last"]["completed_pass"], i == pass_runs, "{v}");
        if i == pass_runs {
            assert!(
                text.contains("a pass over every pack is complete"),
                "{text}"
            );
        }
    }
    assert!(
        read >= packs,
        "{read} of {packs} packs read in {pass_runs} verifications"
    );
    let text = fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("backup_verify_last_success{backup_job=\"web\",repository=\"nas\"} 1\n")
            && text.contains(&format!(
                "backup_verify_coverage_period_seconds{{backup_job=\"web\",repository=\"nas\"}} {}\n",
                21 * 86_400
            )),
        "{text}"
    );
    // The text status states the period and when the next one is due.
    let out = run(&env, &config, &["status", "--now", "2026-11-16T11:00:00Z"]);
    let text = stdout(&out);
    assert!(
        text.contains("verification  every 7d 00h, check_read_data 34%: every pack read within 3 verification(s), 21d 00h")
            && text.contains("next verify   2026-11-23"),
        "{text}"
    );
}

#[test]
fn a_damaged_pack_turns_the_verification_red_until_a_later_one_passes() {
    let (env, config, metrics) = setup(2, "check_every = \"1d\"\ncheck_read_data = \"100%\"\n");
    let out = run(
        &env,
        &config,
        &["run", "web", "--now", "2026-11-02T10:00:00Z"],
    );
    assert_ok(&out, "run web");
    let (code, line) = nagios(&env, &config, "2026-11-02T10:30:00Z");
    assert_eq!(code, NAGIOS_OK, "{line}");

    // One byte of the largest pack flipped.
    let pack = pack_files(&env).pop().unwrap();
    let name = pack.file_name().unwrap().to_str().unwrap().to_string();
    let good = fs::read(&pack).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x20;
    fs::write(&pack, &bad).unwrap();

    // The next day's `run --due` verifies, finds it, exits 3.
    let out = run(
        &env,
        &config,
        &["run", "--due", "--now", "2026-11-03T10:00:00Z"],
    );
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("verification of job web found"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains(&name), "{}", stdout(&out));
    let (code, line) = nagios(&env, &config, "2026-11-03T10:30:00Z");
    assert_eq!(code, NAGIOS_CRITICAL, "{line}");
    assert!(
        line.starts_with("BACKUP CRITICAL") && line.contains("verification: last verification"),
        "{line}"
    );
    let text = fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("backup_verify_last_success{backup_job=\"web\",repository=\"nas\"} 0\n"),
        "{text}"
    );
    let out = run(&env, &config, &["status", "--now", "2026-11-03T10:30:00Z"]);
    assert_ok(&out, "status");
    assert!(
        stdout(&out).contains("CRITICAL      verification:"),
        "{}",
        stdout(&out)
    );
    // Red it stays, verification or not, until one passes.
    let (code, _) = nagios(&env, &config, "2026-11-03T18:00:00Z");
    assert_eq!(code, NAGIOS_CRITICAL);

    // Repaired, and verified at once by hand: green again.
    fs::write(&pack, &good).unwrap();
    let out = run(
        &env,
        &config,
        &["check", "--job", "web", "--now", "2026-11-03T19:00:00Z"],
    );
    assert_ok(&out, "check --job web");
    assert!(
        stdout(&out).contains("verification of job web: ok"),
        "{}",
        stdout(&out)
    );
    let (code, line) = nagios(&env, &config, "2026-11-03T19:30:00Z");
    assert_eq!(code, NAGIOS_OK, "{line}");
    let text = fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("backup_verify_last_success{backup_job=\"web\",repository=\"nas\"} 1\n")
            && text
                .contains("backup_verify_last_problems{backup_job=\"web\",repository=\"nas\"} 0\n"),
        "{text}"
    );
    // `check --job` honours the job's portion; --read-data with it is refused.
    let out = run(&env, &config, &["check", "--job", "web", "--read-data=5%"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_bad_check_read_data_is_a_configuration_error_naming_the_key() {
    let (env, config, _) = setup(1, "check_every = \"7d\"\ncheck_read_data = \"150%\"\n");
    let out = run(&env, &config, &["config", "check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("jobs.web.check_read_data") && all.contains("at most 100"),
        "{all}"
    );
}
