//! `backup config check` and repositories named in the configuration file.

use std::fs;

use crate::harness::{assert_ok, Env};

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
            "{path}:8:1: jobs.home.shedule: unknown field `shedule`"
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
