//! `backup status` (table, --json, --nagios) and the metrics textfile that
//! `backup run` writes, with `--now` driving the clock.

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use crate::harness::{assert_ok, stderr, Env};

struct StatusEnv {
    env: Env,
    config: PathBuf,
    metrics: PathBuf,
}

fn status_env() -> StatusEnv {
    let env = Env::new();
    let root = env.pool.root();
    let www = env.dataset("www");
    fs::write(env.mountpoint(&www).join("index.html"), "hello").unwrap();
    let metrics_dir = env.tmp.path().join("textfiles");
    fs::create_dir(&metrics_dir).unwrap();
    let metrics = metrics_dir.join("backup.prom");
    let config = env.tmp.path().join("backup.toml");
    let text = format!(
        "metrics_file = {metrics:?}\n\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
         [jobs.web]\nrepository = \"nas\"\ndatasets = [\"{root}/www\"]\nprefix = \"job\"\nschedule = \"hourly\"\n\n\
         [jobs.broken]\nrepository = \"nas\"\ndatasets = [\"{root}/www\"]\nprefix = \"job\"\n\
         pre_hook = {{ command = \"echo no checkpoint >&2; false\" }}\n",
        env.repo,
        env.tmp.path().join("pass"),
    );
    fs::write(&config, text).unwrap();
    StatusEnv {
        env,
        config,
        metrics,
    }
}

impl StatusEnv {
    fn backup(&self, args: &[&str]) -> Output {
        self.env
            .command(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("BACKUP_PASSWORD_FILE")
            .output()
            .unwrap()
    }

    fn run(&self, job: &str, now: &str) -> Output {
        self.backup(&["run", job, "--now", now])
    }

    fn json(&self, now: &str) -> serde_json::Value {
        let out = self.backup(&["status", "--json", "--now", now]);
        assert_ok(&out, "status --json");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `status --nagios --warn 2h --crit 1d`: (exit code, line).
    fn nagios(&self, job: &str, now: &str) -> (i32, String) {
        let out = self.backup(&[
            "status", job, "--nagios", "--warn", "2h", "--crit", "1d", "--now", now,
        ]);
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            line.lines().count(),
            1,
            "not one line: {line:?} {}",
            stderr(&out)
        );
        (out.status.code().unwrap(), line.trim_end().to_string())
    }
}

fn job<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .unwrap()
}

#[test]
fn status_shows_successes_failures_and_ages_against_now() {
    let s = status_env();
    let www = format!("{}/www", s.env.pool.root());
    assert_ok(&s.run("web", "2026-11-02T10:00:00Z"), "run 1");
    assert_ok(&s.run("web", "2026-11-02T11:00:00Z"), "run 2");

    let v = s.json("2026-11-02T11:30:00Z");
    let web = job(&v, "web");
    assert_eq!(web["runs"], 2);
    assert_eq!(web["never_run"], false);
    assert!(web["last_success"]["time"].as_i64().unwrap() > 0, "{web}");
    assert!(web["last_failure"].is_null());
    assert_eq!(web["snapshot_age_seconds"], 1800);
    assert_eq!(web["snapshots"][0]["dataset"], www.as_str());
    assert_eq!(web["snapshots"][0]["snapshot"], "job-20261102T110000Z");
    let repo = &v["repositories"][0];
    assert_eq!(repo["reachable"], true);
    assert_eq!(repo["snapshots"], 2);
    assert!(repo["size_bytes"].as_u64().unwrap() > 0);
    assert!(repo["dedup_ratio"].as_f64().unwrap() > 0.0);
    assert!(job(&v, "broken")["never_run"].as_bool().unwrap());

    let (code, line) = s.nagios("web", "2026-11-02T11:30:00Z");
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with("BACKUP OK - web: snapshot 30m old | web_snapshot_age=1800s;7200;86400;0"),
        "{line}"
    );
    let (code, line) = s.nagios("web", "2026-11-02T14:00:00Z");
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("BACKUP WARNING - web: snapshot 3h 00m old"),
        "{line}"
    );
    let (code, line) = s.nagios("web", "2026-11-04T00:00:00Z");
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("BACKUP CRITICAL - "), "{line}");

    // A failing run: its error is the last failure, and Nagios warns even
    // though the snapshot is fresh.
    let out = s.run("broken", "2026-11-02T11:10:00Z");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = s.json("2026-11-02T11:30:00Z");
    let broken = job(&v, "broken");
    assert_eq!(broken["consecutive_failures"], 1);
    let error = broken["last_failure"]["error"].as_str().unwrap();
    assert!(error.contains("pre hook of job broken failed"), "{error}");
    let (code, line) = s.nagios("broken", "2026-11-02T11:30:00Z");
    assert_eq!(code, 1, "{line}");
    assert!(
        line.contains("last run failed (1 in a row): pre hook of job broken failed"),
        "{line}"
    );

    let out = s.backup(&["status", "--now", "2026-11-02T11:30:00Z"]);
    assert_ok(&out, "status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("job web (repository nas, hourly)"), "{text}");
    assert!(text.contains("snapshot age  30m"), "{text}");
    assert!(text.contains("pre hook of job broken failed"), "{text}");
}

#[test]
fn every_run_writes_the_metrics_textfile_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let s = status_env();
    let www = format!("{}/www", s.env.pool.root());
    assert_ok(&s.run("web", "2026-11-02T10:00:00Z"), "run");
    let text = fs::read_to_string(&s.metrics).expect("metrics file after a run");
    let web = r#"{backup_job="web",repository="nas"}"#;
    for line in [
        format!("backup_job_last_run_success{web} 1"),
        format!("backup_job_failures_total{web} 0"),
        format!("backup_job_snapshot_age_seconds{web} 0"),
        format!("backup_snapshot_age_seconds{{backup_job=\"web\",repository=\"nas\",dataset=\"{www}\"}} 0"),
        format!(
            "backup_snapshot_newest_timestamp_seconds{{backup_job=\"web\",repository=\"nas\",dataset=\"{www}\"}} 1793613600"
        ),
        r#"backup_repository_up{repository="nas"} 1"#.to_string(),
        "# TYPE backup_job_last_success_timestamp_seconds gauge".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(text.contains("backup_job_last_stream_bytes{backup_job=\"web\",repository=\"nas\"} "));
    assert!(text.contains("backup_repository_size_bytes{repository=\"nas\"} "));

    // A failed run writes it too.
    assert_eq!(
        s.run("broken", "2026-11-02T10:30:00Z").status.code(),
        Some(1)
    );
    let text = fs::read_to_string(&s.metrics).unwrap();
    let broken = r#"{backup_job="broken",repository="nas"}"#;
    assert!(
        text.contains(&format!("backup_job_last_run_success{broken} 0\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("backup_job_failures_total{broken} 1\n")),
        "{text}"
    );

    let mode = fs::metadata(&s.metrics).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let names: Vec<_> = fs::read_dir(s.metrics.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["backup.prom"], "temporary files left behind");
}

#[test]
fn an_unreachable_repository_is_unknown_to_nagios() {
    let s = status_env();
    assert_ok(&s.run("web", "2026-11-02T10:00:00Z"), "run");
    fs::rename(&s.env.repo, s.env.tmp.path().join("gone")).unwrap();
    let (code, line) = s.nagios("web", "2026-11-02T10:30:00Z");
    assert_eq!(code, 3, "{line}");
    assert!(line.starts_with("BACKUP UNKNOWN - "), "{line}");
    assert!(line.contains("repository nas unreachable"), "{line}");
    let out = s.backup(&["status", "--now", "2026-11-02T10:30:00Z"]);
    assert_ok(&out, "status with the repository gone");
    assert!(String::from_utf8_lossy(&out.stdout).contains("repository nas: UNREACHABLE"));
}

/// The catalog files of a directory (`*.sqlite`).
fn catalogs_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .collect()
}

/// Regression (issue 17, two histories): the timer's history sat in the
/// cache directory and a shell's `status` said "never" for a job the timer
/// ran. Now a catalog left in the cache directory is moved to the state
/// directory once, with a note, and status shows its runs; a catalog with
/// no runs while the repository holds the job's snapshots is warned of.
#[test]
fn status_adopts_a_catalog_from_the_cache_directory_and_warns_of_history_elsewhere() {
    let s = status_env();
    let now = "2026-11-02T10:30:00Z";
    assert_ok(&s.run("web", "2026-11-02T10:00:00Z"), "run");
    let (state, cache) = (
        s.env.tmp.path().join("state"),
        s.env.tmp.path().join("cache"),
    );
    let [catalog] = catalogs_in(&state).try_into().unwrap();
    let old = cache.join(catalog.file_name().unwrap());
    fs::create_dir_all(&cache).unwrap();
    fs::rename(&catalog, &old).unwrap();

    let out = s.backup(&["status", "--json", "--now", now]);
    assert_ok(&out, "status after the move");
    assert!(
        stderr(&out).contains(&format!(
            "note: moved the catalog {} to {}",
            old.display(),
            catalog.display()
        )),
        "{}",
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job(&v, "web")["runs"], 1, "{v}");
    assert_eq!(job(&v, "web")["warnings"], serde_json::json!([]));
    assert!(!old.exists() && catalog.exists());

    // History elsewhere: a catalog that knows the snapshots, no runs.
    fs::rename(&catalog, s.env.tmp.path().join("elsewhere.sqlite")).unwrap();
    let v = s.json(now);
    let web = job(&v, "web");
    assert_eq!(web["never_run"], true);
    let warning = web["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("records no run of job web, yet the repository holds its snapshots"),
        "{web}"
    );
    let out = s.backup(&["status", "web", "--now", now]);
    assert_ok(&out, "status");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("  warning       the catalog "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
