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
        ["backup.toml:28:1: jobs.vms.retention: unknown key `retention`; known keys here: repository, datasets, recursive, exclude, prefix, schedule, full_every, keep_source, keep_repository, pre_hook, post_hook, limit_upload, prune_every, check_every, check_read_data, file_manifest, drill, notify"]
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
            // The table's header, not its location line.
            "backup.toml:2:1: repositories.nas: no passphrase source: set one of password_file, password_command, password_credential",
            "backup.toml:6:14: jobs.home.repository: no repository named \"nass\" (defined: nas); did you mean \"nas\"?",
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

/// The operator's file of issue 17: three mistakes took three rounds.
const PORTAL: &str = r#"[repositories.nas]
location = "/mnt/nas"
password_file = "/etc/backup/nas.pass"

[jobs.portal]
repository = "nas"
datasets = ["tank/portal"]
recursive = true
exclude = ["tank/portal/cache"]
full_every = "soon"
keep_source = { keep_last = 5, keep_witin = "2d" }
shedule = "hourly"

[jobs.portal.drill]
scratch_parent = "tank/drills"
rpo = 2
"#;

/// Regression (issue 17): an unknown key stopped every value check, the
/// key path dropped its table (`jobs.portal.keep_witin`), no "did you
/// mean", and `rpo = 2` was reported as `jobs.portal.drill.2`.
#[test]
fn every_mistake_in_one_pass_with_full_key_paths_and_suggestions() {
    assert_eq!(
        errors(PORTAL),
        [
            "backup.toml:10:14: jobs.portal.full_every: \"soon\" is not a duration (examples: \"90s\", \"15m\", \"12h\", \"7d\", \"2w\")",
            "backup.toml:11:32: jobs.portal.keep_source.keep_witin: unknown key `keep_witin`; did you mean `keep_within`?",
            "backup.toml:12:1: jobs.portal.shedule: unknown key `shedule`; did you mean `schedule`?",
            "backup.toml:16:7: jobs.portal.drill.rpo: expected a string, found integer `2`",
        ]
    );
    let found = parse(Path::new("backup.toml"), PORTAL).unwrap_err();
    assert_eq!(
        found[1].hint.as_deref(),
        Some("did you mean `keep_within`?")
    );
    assert!(found.iter().all(ConfigError::is_error));
}

/// Unknown keys and wrong types anywhere: a dotted key, an inline table's
/// first entry, a whole unknown table, a list of probes, a wrong element of
/// a list, a missing key; the rest of each table is still checked.
#[test]
fn structure_mistakes_everywhere_are_all_reported_and_the_rest_still_checked() {
    let text = r#"state_dri = "/x"
[repositories.nas]
password_file = "/p"
limit_upload = "fast"

[jobs.a]
repository = "nas"
datasets = ["tank/a", 7]
keep_repository.keep_dayly = 3
pre_hook = { comand = "true", timeout = "never" }
prefix = "bad prefix"

[jobs.a.retention]
keep_last = 3

[[jobs.a.drill.probes]]
name = "p"
command = "true"
timout = "1m"
"#;
    assert_eq!(
        errors(text),
        [
            "backup.toml:1:1: state_dri: unknown key `state_dri`; did you mean `state_dir`?",
            "backup.toml:2:1: repositories.nas.location: missing key `location` in repositories.nas",
            "backup.toml:4:16: repositories.nas.limit_upload: \"fast\" is not a rate (examples: \"512KiB/s\", \"2MiB/s\", \"10MB/s\")",
            "backup.toml:8:23: jobs.a.datasets[1]: expected a string, found integer `7`",
            "backup.toml:9:17: jobs.a.keep_repository.keep_dayly: unknown key `keep_dayly`; did you mean `keep_daily`?",
            "backup.toml:10:12: jobs.a.pre_hook.command: missing key `command` in jobs.a.pre_hook",
            "backup.toml:10:14: jobs.a.pre_hook.comand: unknown key `comand`; did you mean `command`?",
            "backup.toml:10:41: jobs.a.pre_hook.timeout: \"never\" is not a duration (examples: \"90s\", \"15m\", \"12h\", \"7d\", \"2w\")",
            "backup.toml:11:10: jobs.a.prefix: \"bad prefix\" is not a snapshot name prefix (letters, digits, '_', '-', '.', ':'; at most 64)",
            "backup.toml:13:9: jobs.a.retention: unknown key `retention`; known keys here: repository, datasets, recursive, exclude, prefix, schedule, full_every, keep_source, keep_repository, pre_hook, post_hook, limit_upload, prune_every, check_every, check_read_data, file_manifest, drill, notify",
            "backup.toml:19:1: jobs.a.drill.probes[0].timout: unknown key `timout`; did you mean `timeout`?",
        ]
    );
}

/// Every table of the model (what serde accepts) has the keys the schema
/// walk knows, so neither refuses what the other accepts.
#[test]
fn the_schema_knows_exactly_the_models_keys() {
    use super::model::*;
    use super::schema;
    fn model_keys<T: serde::de::DeserializeOwned>() -> Vec<String> {
        let e = toml::from_str::<T>("zz_not_a_key = 1").err().unwrap();
        let m = e.message();
        let tail = &m[m.find("expected").expect(m)..];
        tail.split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }
    let names =
        |f: &[schema::Field]| -> Vec<String> { f.iter().map(|f| f.name.to_string()).collect() };
    assert_eq!(model_keys::<ConfigFile>(), names(schema::FILE));
    assert_eq!(model_keys::<RepositoryConf>(), names(schema::REPOSITORY));
    assert_eq!(model_keys::<S3Conf>(), names(schema::S3));
    assert_eq!(model_keys::<SftpConf>(), names(schema::SFTP));
    assert_eq!(model_keys::<JobConf>(), names(schema::JOB));
    assert_eq!(model_keys::<DrillConf>(), names(schema::DRILL));
    assert_eq!(model_keys::<ProbeConf>(), names(schema::PROBE));
    assert_eq!(model_keys::<RetentionConf>(), names(schema::RETENTION));
    assert_eq!(model_keys::<HookConf>(), names(schema::HOOK));
}

/// A fake ZFS: these datasets exist.
struct Pool(&'static [&'static str]);

impl Lookup for Pool {
    fn dataset_exists(&self, ds: &DatasetName) -> Result<bool, String> {
        Ok(self.0.contains(&ds.as_str()))
    }
}

/// Regression (issue 17): a bad duration stopped the ZFS checks; an
/// exclude that matches nothing and a scratch parent that does not exist
/// passed silently; a missing password file was pointed at the `location`
/// line.
#[test]
fn checks_against_the_system_run_despite_mistakes_in_the_file_each_on_its_key() {
    let checked = check(Path::new("backup.toml"), PORTAL);
    let config = checked.config.expect("read as far as it goes");
    assert_eq!(checked.findings.len(), 4);
    let found: Vec<String> = check_system(&config, &Pool(&["tank/portal"]))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            "backup.toml:3:17: repositories.nas.password_file: cannot read the passphrase file /etc/backup/nas.pass: No such file or directory (os error 2)",
            "backup.toml:9:12: warning: jobs.portal.exclude[0]: dataset tank/portal/cache does not exist: the exclude matches nothing; check the name against `zfs list -r`",
            "backup.toml:15:18: jobs.portal.drill.scratch_parent: dataset tank/drills does not exist: the drill cannot make its scratch dataset under it; create it (zfs create tank/drills) or leave scratch_parent out for a throwaway pool",
        ]
    );
    let all = check_system(&config, &Pool(&[]));
    assert!(all
        .iter()
        .any(|f| f.key == "jobs.portal.datasets[0]" && f.line == 7 && f.is_error()));
    assert!(check_system(
        &config,
        &Pool(&["tank/portal", "tank/portal/cache", "tank/drills"])
    )
    .iter()
    .all(|f| f.key.ends_with("password_file")));
}

/// What `config check --json` prints for each finding.
#[test]
fn a_finding_serialises_with_severity_place_key_message_and_hint() {
    let f = check(Path::new("backup.toml"), PORTAL).findings.remove(2);
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        serde_json::json!({
            "severity": "error",
            "file": "backup.toml",
            "line": 12,
            "column": 1,
            "key": "jobs.portal.shedule",
            "message": "unknown key `shedule`",
            "hint": "did you mean `schedule`?",
        })
    );
}

/// The walk and the blanking never panic and never leave serde a file it
/// refuses while the walk found nothing: every file made from the example
/// by cutting it short or dropping one character.
#[test]
fn cut_and_damaged_files_never_panic() {
    for text in [PORTAL] {
        let cuts = text.char_indices().map(|(i, _)| text[..i].to_string());
        let drops = text
            .char_indices()
            .map(|(i, c)| format!("{}{}", &text[..i], &text[i + c.len_utf8()..]));
        for t in cuts.chain(drops) {
            let checked = check(Path::new("t.toml"), &t);
            // Only a syntax error stops the reading.
            let toml = toml_edit::ImDocument::parse(t.as_str()).is_ok();
            assert_eq!(
                checked.config.is_some(),
                toml,
                "{t}\n{:?}",
                checked.findings
            );
        }
    }
}
