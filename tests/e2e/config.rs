//! `backup config check` and repositories named in the configuration file.

use std::fs;

use crate::harness::{assert_ok, stderr, Env};

#[test]
fn config_check_explains_every_mistake_and_accepts_a_good_file() {
    let env = Env::new();
    let ds = env.dataset("home");
    let pass = env.tmp.path().join("pass");
    let good = format!(
        "[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
         [jobs.home]\nrepository = \"nas\"\ndatasets = [{:?}]\nschedule = \"hourly\"\n",
        env.repo,
        pass,
        ds.as_str()
    );
    let file = env.tmp.path().join("backup.toml");
    fs::write(&file, &good).unwrap();
    let out = env.backup(["config", "check", "--config", file.to_str().unwrap()]);
    assert_ok(&out, "config check of a good file");
    assert!(String::from_utf8_lossy(&out.stdout).contains("no mistakes"));

    // A repository named in the file: no passphrase in the environment needed.
    let out = env
        .command(["list", "--config", file.to_str().unwrap(), "--repo", "nas"])
        .env_remove("BACKUP_PASSWORD_FILE")
        .env_remove("BACKUP_REPOSITORY")
        .output()
        .unwrap();
    assert_ok(&out, "list --repo nas");

    // A dataset that does not exist, a repository that does not open.
    let missing = format!("{}/nope", env.pool.name());
    let broken = good
        .replace(ds.as_str(), &missing)
        .replace(env.repo.to_str().unwrap(), "/nonexistent/repo");
    fs::write(&file, broken).unwrap();
    let out = env.backup(["config", "check", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let path = file.display();
    assert!(
        text.contains(&format!(
            "{path}:7:13: jobs.home.datasets[0]: dataset {missing} does not exist"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{path}:2:12: repositories.nas.location: cannot open repository /nonexistent/repo"
        )),
        "{text}"
    );
    assert!(
        text.contains("; to make a new repository there, run `backup init --repo nas`"),
        "{text}"
    );
    assert!(text.contains("2 mistake(s)"), "{text}");

    // Offline: only the file itself, which is fine.
    let out = env.backup([
        "config",
        "check",
        "--offline",
        "--config",
        file.to_str().unwrap(),
    ]);
    assert_ok(&out, "config check --offline");

    // An unknown key.
    fs::write(&file, good.replace("schedule", "shedule")).unwrap();
    let out = env.backup(["config", "check", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "{path}:8:1: jobs.home.shedule: unknown key `shedule`; did you mean `schedule`?"
        )),
        "{text}"
    );
}

#[test]
fn with_one_repository_in_the_file_no_repo_is_needed() {
    let env = Env::new();
    let ds = env.dataset("d");
    let config = env.job_config("j", &ds, "");
    let out = env
        .command(["list", "--config", config.to_str().unwrap()])
        .env_remove("BACKUP_REPOSITORY")
        .output()
        .unwrap();
    assert_ok(&out, "list with the file's only repository");
    let out = env
        .command(["list"])
        .env_remove("BACKUP_REPOSITORY")
        .env("BACKUP_CONFIG", env.tmp.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("names exactly one repository"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Regression (issue 17): `config check` needed a round per mistake. Now
/// one pass reports the file's mistakes and the system's (a bad duration no
/// longer stops the ZFS checks), each on its own key, as JSON too; an
/// exclude that matches nothing is a warning, which alone exits 0.
#[test]
fn config_check_json_lists_every_finding_of_the_file_and_the_system() {
    let env = Env::new();
    let ds = env.dataset("portal");
    let file = env.tmp.path().join("backup.toml");
    let text = format!(
        "[repositories.nas]\nlocation = {:?}\npassword_file = \"/nonexistent/nas.pass\"\n\n\
         [repositories.fresh]\nlocation = {:?}\npassword_file = {:?}\n\n\
         [jobs.portal]\nrepository = \"nas\"\ndatasets = [{:?}]\nrecursive = true\n\
         exclude = [\"{ds}/cache\"]\nfull_every = \"soon\"\nkeep_source = {{ keep_witin = \"2d\" }}\n\n\
         [jobs.portal.drill]\nscratch_parent = \"{}/drills\"\nrpo = 2\n",
        env.repo,
        env.tmp.path().join("fresh"),
        env.tmp.path().join("pass"),
        ds.as_str(),
        env.pool.root(),
    );
    fs::write(&file, &text).unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec!["config", "check", "--config", file.to_str().unwrap()];
        args.extend(extra);
        env.backup(args)
    };
    let out = check(&["--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let found: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let summary: Vec<(String, String, u64)> = found
        .iter()
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["key"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("error", "repositories.nas.password_file", 3),
        ("error", "repositories.fresh.location", 6),
        ("warning", "jobs.portal.exclude[0]", 13),
        ("error", "jobs.portal.full_every", 14),
        ("error", "jobs.portal.keep_source.keep_witin", 15),
        ("error", "jobs.portal.drill.scratch_parent", 18),
        ("error", "jobs.portal.drill.rpo", 19),
    ]
    .map(|(s, k, l)| (s.to_string(), k.to_string(), l));
    assert_eq!(summary, want, "{found:#?}");
    let by_key = |k: &str| found.iter().find(|f| f["key"] == k).unwrap();
    assert_eq!(
        by_key("repositories.fresh.location")["hint"],
        "to make a new repository there, run `backup init --repo fresh`"
    );
    assert_eq!(
        by_key("jobs.portal.keep_source.keep_witin")["hint"],
        "did you mean `keep_within`?"
    );
    assert_eq!(by_key("jobs.portal.drill.rpo")["column"], 7);
    assert_eq!(
        by_key("jobs.portal.drill.rpo")["file"],
        file.to_str().unwrap()
    );

    // Text: the same findings, one line each, and a count.
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(2));
    let text_out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text_out.lines().count(), want.len() + 1, "{text_out}");
    assert!(
        text_out.ends_with(&format!(
            "6 mistake(s), 1 warning(s) in {}\n",
            file.display()
        )),
        "{text_out}"
    );

    // A warning alone: exit 0.
    let only_warning = format!(
        "[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
         [jobs.portal]\nrepository = \"nas\"\ndatasets = [{:?}]\nrecursive = true\n\
         exclude = [\"{ds}/cache\"]\n",
        env.repo,
        env.tmp.path().join("pass"),
        ds.as_str(),
    );
    fs::write(&file, only_warning).unwrap();
    let out = check(&[]);
    assert_ok(&out, "config check with a warning");
    let text_out = String::from_utf8_lossy(&out.stdout);
    assert!(
        text_out.contains("warning: jobs.portal.exclude[0]: dataset")
            && text_out.contains("no mistakes, 1 warning(s)"),
        "{text_out}"
    );
}
