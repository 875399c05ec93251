//! Broken configuration files and the messages they give. What people read
//! is pinned here.

use std::path::Path;

use super::*;

const GOOD: &str = r#"
metrics_file = "/var/lib/node_exporter/backup.prom"

[repositories.nas]
location = "/mnt/nas/backup"
password_file = "/etc/backup/nas.pass"

[repositories.garage]
location = "/srv/other"
password_credential = "backup-garage"

[jobs.home]
repository = "nas"
datasets = ["tank/home", "tank/www"]
schedule = "hourly"
full_every = "7d"
keep_source = { keep_last = 48 }
keep_repository = { keep_hourly = 24, keep_daily = 7, keep_weekly = 4, keep_monthly = 12, keep_within = "2d" }
pre_hook = { command = "sqlite3 /srv/app.db 'PRAGMA wal_checkpoint'", timeout = "2m" }
limit_upload = "2MiB/s"

[jobs.vms]
repository = "garage"
datasets = ["tank/vm"]
recursive = true
exclude = ["tank/vm/scratch"]
prefix = "nightly"
full_every = 24
"#;

fn errors(text: &str) -> Vec<String> {
    parse(Path::new("backup.toml"), text)
        .map(|_| ())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_good_file_gives_typed_jobs() {
    let c = parse(Path::new("backup.toml"), GOOD).unwrap();
    let home = &c.jobs["home"];
    assert_eq!(home.datasets.len(), 2);
    assert_eq!(
        home.full_every,
        Some(FullEvery::Age(SignedDuration::from_hours(168)))
    );
    assert_eq!(home.keep_repository.keep_daily, Some(7));
    assert_eq!(
        home.keep_repository.keep_within.map(|s| s.to_string()),
        Some("P2D".to_string())
    );
    assert_eq!(
        home.pre_hook.as_ref().unwrap().timeout,
        SignedDuration::from_mins(2)
    );
    assert_eq!(home.limit_upload, Some(2 * 1024 * 1024));
    assert_eq!(home.prefix, "backup");
    let vms = &c.jobs["vms"];
    assert_eq!(vms.full_every, Some(FullEvery::Incrementals(24)));
    assert_eq!(vms.exclude[0].as_str(), "tank/vm/scratch");
    assert_eq!(
        c.repositories["garage"].password,
        PasswordSource::Credential("backup-garage".into())
    );
    assert_eq!(
        c.error_at("jobs.home.datasets[1]", "does not exist")
            .to_string(),
        "backup.toml:14:26: jobs.home.datasets[1]: does not exist"
    );
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let text = GOOD.replace(
        "prefix = \"nightly\"",
        "prefix = \"nightly\"\nretention = 3",
    );
    assert_eq!(
        errors(&text),
        ["backup.toml:28:1: jobs.vms.retention: unknown field `retention`, expected one of `repository`, `datasets`, `recursive`, `exclude`, `prefix`, `schedule`, `full_every`, `keep_source`, `keep_repository`, `pre_hook`, `post_hook`, `limit_upload`, `prune_every`, `check_every`, `check_read_data`, `file_manifest`, `drill`, `notify`"]
    );
}

#[test]
fn syntax_error_is_placed() {
    let e = errors("[jobs.home\nrepository = 1\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("backup.toml:1:"), "{e:?}");
}

#[test]
fn every_semantic_mistake_is_reported_at_once() {
    let text = r#"
[repositories.nas]
location = "/mnt/nas"

[jobs.home]
repository = "nass"
datasets = ["tank/home", "bad@name", "tank/home"]
exclude = ["tank/home/tmp"]
full_every = "weekly-ish"
keep_repository = { keep_daily = -1, keep_within = "forever" }
pre_hook = { command = "", timeout = "5 parsecs" }
limit_upload = "fast"
prefix = "my prefix"
"#;
    assert_eq!(
        errors(text),
        [
            "backup.toml:3:12: repositories.nas: no passphrase source: set one of password_file, password_command, password_credential",
            "backup.toml:6:14: jobs.home.repository: no repository named \"nass\" (defined: nas)",
            "backup.toml:7:26: jobs.home.datasets[1]: invalid ZFS name \"bad@name\": character '@' is not allowed",
            "backup.toml:7:38: jobs.home.datasets[2]: tank/home is listed twice",
            "backup.toml:8:12: jobs.home.exclude[0]: exclude needs recursive = true",
            "backup.toml:9:14: jobs.home.full_every: \"weekly-ish\" is not a duration (examples: \"90s\", \"15m\", \"12h\", \"7d\", \"2w\")",
            "backup.toml:10:34: jobs.home.keep_repository.keep_daily: -1 is not a count (0 or more)",
            "backup.toml:10:52: jobs.home.keep_repository.keep_within: \"forever\" is not a duration (examples: \"90s\", \"15m\", \"12h\", \"7d\", \"2w\")",
            "backup.toml:11:24: jobs.home.pre_hook.command: the command is empty",
            "backup.toml:11:38: jobs.home.pre_hook.timeout: \"5 parsecs\" is not a duration (examples: \"90s\", \"15m\", \"12h\", \"7d\", \"2w\")",
            "backup.toml:12:16: jobs.home.limit_upload: \"fast\" is not a rate (examples: \"512KiB/s\", \"2MiB/s\", \"10MB/s\")",
            "backup.toml:13:10: jobs.home.prefix: \"my prefix\" is not a snapshot name prefix (letters, digits, '_', '-', '.', ':'; at most 64)",
        ]
    );
}

#[test]
fn bad_schedule_and_count_are_reported() {
    let text = GOOD
        .replace("schedule = \"hourly\"", "schedule = \"*-*-* 25:00\"")
        .replace("full_every = 24", "full_every = 0");
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        e[0],
        "backup.toml:15:12: jobs.home.schedule: invalid hour \"25\" in \"*-*-* 25:00\": expected 0..23"
    );
    assert_eq!(
        e[1],
        "backup.toml:28:14: jobs.vms.full_every: 0 is not a number of incrementals (1 or more)"
    );
}

#[test]
fn missing_file_is_named() {
    let e = load(Path::new("/nonexistent/backup.toml")).unwrap_err();
    assert!(e[0]
        .to_string()
        .starts_with("/nonexistent/backup.toml: cannot read the configuration file"));
}

#[test]
fn the_annotated_example_in_schedules_is_valid() {
    let text = include_str!("../../../../schedules/backup.toml");
    let c = parse(Path::new("schedules/backup.toml"), text).unwrap();
    assert_eq!(c.jobs.len(), 3);
    assert!(c.jobs["vms"].recursive);
    assert_eq!(
        c.jobs["databases"].schedule.as_deref(),
        Some("15 1 * * mon-fri")
    );
}

#[test]
fn the_example_drill_definitions_parse() {
    let base = "[repositories.nas]\nlocation = \"/mnt/nas\"\npassword_file = \"/p\"\n\
        [jobs.home]\nrepository = \"nas\"\ndatasets = [\"tank/home\"]\n\
        [jobs.wiki]\nrepository = \"nas\"\ndatasets = [\"tank/wiki\"]\nrecursive = true\n\
        [jobs.mail]\nrepository = \"nas\"\ndatasets = [\"tank/mail\"]\n";
    for (name, text) in [
        (
            "plain-dataset",
            include_str!("../../../../restore-drills/plain-dataset.toml"),
        ),
        (
            "sqlite-probe",
            include_str!("../../../../restore-drills/sqlite-probe.toml"),
        ),
        (
            "targets",
            include_str!("../../../../restore-drills/targets.toml"),
        ),
    ] {
        let c = parse(name.as_ref(), &format!("{base}\n{text}"))
            .unwrap_or_else(|e| panic!("restore-drills/{name}.toml: {e:?}"));
        assert!(c.jobs.values().any(|j| j.drill.is_some()), "{name}");
    }
    let c = parse(
        "t".as_ref(),
        &format!(
            "{base}\n{}",
            include_str!("../../../../restore-drills/targets.toml")
        ),
    )
    .unwrap();
    let d = c.jobs["mail"].drill.as_ref().unwrap();
    assert_eq!(d.rto, Some(jiff::SignedDuration::from_hours(4)));
    assert_eq!(d.probes.len(), 2);
}

#[test]
fn drill_mistakes_are_named() {
    let text = "[repositories.nas]\nlocation = \"/mnt/nas\"\npassword_file = \"/p\"\n\
        [jobs.home]\nrepository = \"nas\"\ndatasets = [\"tank/home\"]\n\
        [jobs.home.drill]\nscratch_parent = \"tank/home/drills\"\nsnapshot = \"oldest\"\n\
        datasets = [\"tank/other\"]\nrpo = \"soon\"\n\
        [[jobs.home.drill.probes]]\nname = \"a\"\ncommand = \" \"\n";
    let errors = parse("t".as_ref(), text).unwrap_err();
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    for k in [
        "jobs.home.drill.scratch_parent",
        "jobs.home.drill.snapshot",
        "jobs.home.drill.datasets[0]",
        "jobs.home.drill.rpo",
        "jobs.home.drill.probes[0].command",
    ] {
        assert!(keys.contains(&k), "{k} not in {keys:?}");
    }
}

#[test]
fn remote_repositories_take_their_settings() {
    let text = r#"
[repositories.nas]
location = "sftp://backup@nas:2222/srv/backup"
password_file = "/p"
limit_upload = "2MiB/s"
limit_download = "10MiB/s"
transfers = 3
retries = 5
[repositories.nas.sftp]
identity_file = "/etc/backup/id"
known_hosts_file = "/etc/backup/known_hosts"
ssh_options = ["ProxyJump=gw"]
timeout = "20s"

[repositories.s3]
location = "s3://backups/host-a"
password_file = "/p"
[repositories.s3.s3]
endpoint = "http://127.0.0.1:3900"
region = "garage"
access_key_id = "GK1"
secret_access_key_file = "/etc/backup/secret"
"#;
    let c = parse(Path::new("backup.toml"), text).unwrap();
    let nas = &c.repositories["nas"].backend;
    assert_eq!(nas.limit_upload, Some(2 << 20));
    assert_eq!(nas.limit_download, Some(10 << 20));
    assert_eq!(nas.transfers, Some(3));
    assert_eq!(nas.retry.attempts, 5);
    assert_eq!(
        nas.sftp.identity_file.as_deref(),
        Some(Path::new("/etc/backup/id"))
    );
    assert_eq!(nas.sftp.ssh_options, ["ProxyJump=gw"]);
    assert_eq!(nas.sftp.timeout, Some(std::time::Duration::from_secs(20)));
    let s3 = &c.repositories["s3"];
    assert_eq!(
        s3.backend.s3.endpoint.as_deref(),
        Some("http://127.0.0.1:3900")
    );
    assert_eq!(s3.backend.s3.access_key_id.as_deref(), Some("GK1"));
    assert_eq!(
        s3.s3_secret_file.as_deref(),
        Some(Path::new("/etc/backup/secret"))
    );
}

#[test]
fn remote_settings_mistakes_are_named() {
    let text = r#"
[repositories.a]
location = "sftp://nas"
password_file = "/p"

[repositories.b]
location = "sftp://nas/x"
password_file = "/p"
transfers = 0
[repositories.b.s3]
endpoint = "garage:3900"
secret_access_key = "x"
secret_access_key_file = "/s"

[repositories.c]
location = "s3://bucket/x"
password_file = "/p"
limit_download = "fast"
[repositories.c.sftp]
ssh_options = ["-v"]
"#;
    let e = errors(text);
    let want = [
        "repositories.a.location: no path",
        "repositories.b.transfers: transfers must be from 1 to 64",
        "repositories.b.s3: an [s3] table, but the location is not s3://",
        "repositories.b.s3.endpoint: \"garage:3900\" must start with http:// or https://",
        "repositories.b.s3.secret_access_key: set only one of",
        "repositories.c.limit_download: \"fast\" is not a rate",
        "repositories.c.sftp: an [sftp] table, but the location is not sftp://",
        "repositories.c.sftp.ssh_options: \"-v\" is not an ssh option",
    ];
    for w in want {
        assert!(e.iter().any(|l| l.contains(w)), "{w} in {e:#?}");
    }
}

#[test]
fn verification_keys_are_typed_and_bad_values_name_their_key() {
    let text = format!("{GOOD}check_every = \"7d\"\ncheck_read_data = \"5%\"\n");
    let c = parse(Path::new("backup.toml"), &text).unwrap();
    let vms = &c.jobs["vms"];
    assert_eq!(vms.check_every, Some(SignedDuration::from_hours(168)));
    assert_eq!(
        vms.check_read_data,
        Some(backup_core::Portion::Percent(5.0))
    );
    let text = format!("{GOOD}check_read_data = \"2GiB\"\n");
    let c = parse(Path::new("backup.toml"), &text).unwrap();
    assert_eq!(
        c.jobs["vms"].check_read_data,
        Some(backup_core::Portion::Bytes(2 << 30))
    );
    assert_eq!(c.jobs["home"].check_every, None);
    let bad = format!("{GOOD}check_every = \"often\"\ncheck_read_data = \"150%\"\n");
    assert_eq!(
        errors(&bad),
        [
            "backup.toml:29:15: jobs.vms.check_every: \"often\" is not a duration (examples: \"90s\", \"15m\", \"12h\", \"7d\", \"2w\")",
            "backup.toml:30:19: jobs.vms.check_read_data: \"150%\": a percentage must be more than 0 and at most 100",
        ]
    );
    let bad = format!("{GOOD}check_read_data = \"a bit\"\n");
    assert_eq!(
        errors(&bad),
        ["backup.toml:29:19: jobs.vms.check_read_data: \"a bit\" is neither a percentage of the packs (\"5%\") nor a size (\"2GiB\")"]
    );
}

/// `[notify]` for every job, `[jobs.NAME.notify]` over it key by key.
#[test]
fn notify_keys_global_and_per_job() {
    use crate::config::{HealthcheckStyle, DEFAULT_NOTIFY_TIMEOUT};
    let text = format!(
        "{GOOD}\n[notify]\non_failure = {{ command = \"mail -s failed root\" }}\n\
         healthcheck_url = \"https://hc-ping.com/all\"\n\
         [jobs.vms.notify]\non_success = {{ command = \"true\", timeout = \"10s\" }}\n\
         healthcheck_url = \"https://kuma.example/api/push/t\"\nhealthcheck_style = \"uptime-kuma\"\n"
    );
    let c = parse(Path::new("backup.toml"), &text).unwrap();
    let (home, vms) = (&c.jobs["home"].notify, &c.jobs["vms"].notify);
    let failure = home.on_failure.as_ref().unwrap();
    assert_eq!(failure.command, "mail -s failed root");
    assert_eq!(failure.timeout, DEFAULT_NOTIFY_TIMEOUT);
    assert!(home.on_success.is_none());
    assert_eq!(
        home.healthcheck.as_ref().unwrap().url,
        "https://hc-ping.com/all"
    );
    assert_eq!(
        home.healthcheck.as_ref().unwrap().style,
        HealthcheckStyle::Healthchecks
    );
    assert_eq!(vms.on_failure, home.on_failure, "inherited");
    assert_eq!(
        vms.on_success.as_ref().unwrap().timeout,
        jiff::SignedDuration::from_secs(10)
    );
    let hc = vms.healthcheck.as_ref().unwrap();
    assert_eq!(
        (hc.url.as_str(), hc.style),
        (
            "https://kuma.example/api/push/t",
            HealthcheckStyle::UptimeKuma
        )
    );
}

#[test]
fn bad_notify_keys_are_reported_with_their_place() {
    let text = format!(
        "{GOOD}\n[jobs.vms.notify]\nhealthcheck_url = \"hc-ping.com/x\"\n\
         healthcheck_style = \"nagios\"\non_failure = {{ command = \" \" }}\n"
    );
    let e = errors(&text);
    assert_eq!(
        e,
        [
            "backup.toml:31:19: jobs.vms.notify.healthcheck_url: \"hc-ping.com/x\" is not an http:// or https:// URL",
            "backup.toml:32:21: jobs.vms.notify.healthcheck_style: \"nagios\" is neither \"healthchecks\" nor \"uptime-kuma\"",
            "backup.toml:33:26: jobs.vms.notify.on_failure.command: the command is empty",
        ]
    );
    let text = format!("{GOOD}\n[notify]\nhealthcheck_style = \"uptime-kuma\"\n");
    let e = errors(&text);
    assert!(
        e[0].contains("notify.healthcheck_style: healthcheck_style without healthcheck_url"),
        "{e:?}"
    );
}
