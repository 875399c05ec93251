//! A simulated month of unattended operation: `run --due` every hour of an
//! injected clock, two jobs (one on a recursive set with an exclude), a
//! two-day outage in the middle. At the end the source and the repository
//! hold exactly the snapshots the policies say, and the newest snapshot of
//! every dataset restores and matches the source.
//!
//! The expectation is computed by a model of its own: which ticks run which
//! job (catch-up once after the outage), which runs are fulls (`full_every
//! = "7d"`), and which snapshots the retention rules then keep
//! (`backup_ops::retention::plan`, whose semantics have their own tests).

use std::collections::BTreeMap;
use std::fs;

use backup_ops::retention::{plan, Item, Rules};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::harness::{assert_ok, assert_same_tree, Env};

/// Simulated days; the outage covers the middle.
const DAYS: i64 = 31;
const OUTAGE: (&str, &str) = ("2026-11-10T12:30:00Z", "2026-11-12T05:30:00Z");
const START: &str = "2026-11-01T00:00:00Z";

struct Run {
    at: Timestamp,
    full: bool,
}

/// The model of one job: the ticks at which it runs, and which are fulls.
fn model(ticks: &[Timestamp], due_at: impl Fn(Timestamp, Timestamp) -> bool) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut last_full: Option<Timestamp> = None;
    for &t in ticks {
        let due = match runs.last() {
            None => true,
            Some(last) => due_at(last.at, t),
        };
        if !due {
            continue;
        }
        let full = last_full.is_none_or(|f| t.as_second() - f.as_second() >= 7 * 86400);
        if full {
            last_full = Some(t);
        }
        runs.push(Run { at: t, full });
    }
    runs
}

fn name(prefix: &str, t: Timestamp) -> String {
    format!("{prefix}-{}", t.strftime("%Y%m%dT%H%M%SZ"))
}

/// The snapshot names `rules` keep among `runs` of `ds` at `now`; with
/// `chains`, incrementals keep their bases.
fn kept(
    ds: &str,
    prefix: &str,
    runs: &[Run],
    rules: &Rules,
    now: Timestamp,
    chains: bool,
) -> Vec<String> {
    let items: Vec<Item> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Item {
            key: format!("{i:06}"),
            name: name(prefix, r.at),
            group: ds.into(),
            time: r.at,
            guid: i as u64 + 1,
            base_guid: (chains && !r.full).then_some(i as u64),
        })
        .collect();
    let mut names: Vec<String> = plan(&items, rules, now, &TimeZone::UTC)
        .kept()
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names
}

#[test]
fn a_simulated_month_of_run_due_ends_with_what_the_policies_say() {
    let env = Env::new();
    let root = env.pool.root();
    for d in ["www", "vm", "vm/a", "vm/b", "vm/scratch"] {
        env.dataset(d);
    }
    let www = env.mountpoint(&root.child("www").unwrap());
    let vm_a = env.mountpoint(&root.child("vm/a").unwrap());
    fs::write(www.join("index.html"), "hello").unwrap();
    fs::write(vm_a.join("disk"), crate::harness::noise(256 << 10, 1)).unwrap();
    let config = env.tmp.path().join("backup.toml");
    fs::write(
        &config,
        format!(
            "state_dir = {state:?}\n\n[repositories.nas]\nlocation = {repo:?}\npassword_file = {pass:?}\n\n\
             [jobs.web]\nrepository = \"nas\"\ndatasets = [\"{root}/www\"]\nprefix = \"web\"\n\
             schedule = \"hourly\"\nfull_every = \"7d\"\nkeep_source = {{ keep_last = 6 }}\n\
             keep_repository = {{ keep_hourly = 12, keep_daily = 7 }}\nprune_every = \"7d\"\n\n\
             [jobs.vms]\nrepository = \"nas\"\ndatasets = [\"{root}/vm\"]\nrecursive = true\n\
             exclude = [\"{root}/vm/scratch\"]\nprefix = \"vms\"\nschedule = \"*-*-* 02:30\"\n\
             full_every = \"7d\"\nkeep_source = {{ keep_daily = 3 }}\n\
             keep_repository = {{ keep_daily = 7, keep_weekly = 4 }}\n",
            state = env.tmp.path().join("state"),
            repo = env.repo,
            pass = env.tmp.path().join("pass"),
        ),
    )
    .unwrap();

    let start: Timestamp = START.parse().unwrap();
    let (down, up): (Timestamp, Timestamp) = (OUTAGE.0.parse().unwrap(), OUTAGE.1.parse().unwrap());
    let ticks: Vec<Timestamp> = (0..DAYS * 24)
        .map(|h| start.checked_add(h.hours()).unwrap())
        .filter(|t| !(down..up).contains(t))
        .collect();
    let mut prunes = 0;
    for (i, t) in ticks.iter().enumerate() {
        fs::write(www.join("counter"), format!("{i}\n")).unwrap();
        if i % 24 == 5 {
            fs::write(vm_a.join(format!("day-{i}")), format!("{i}")).unwrap();
        }
        let out = env
            .command([
                "run",
                "--due",
                "--config",
                config.to_str().unwrap(),
                "--now",
                &t.to_string(),
            ])
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert_ok(&out, &format!("run --due at {t}"));
        prunes += String::from_utf8_lossy(&out.stdout)
            .matches("  pruned: ")
            .count();
    }
    assert_eq!(
        prunes, 5,
        "prune_every = 7d over 31 days (the first run prunes too)"
    );
    let now = *ticks.last().unwrap();

    // The model.
    let web = model(&ticks, |_, _| true);
    let vms = model(&ticks, |last, t| {
        // A 02:30 in (last, t].
        let mut day = last.to_zoned(TimeZone::UTC).date();
        loop {
            let at = day
                .at(2, 30, 0, 0)
                .to_zoned(TimeZone::UTC)
                .unwrap()
                .timestamp();
            if at > t {
                return false;
            }
            if at > last {
                return true;
            }
            day = day.tomorrow().unwrap();
        }
    });
    assert!(
        web.len() > 600 && vms.len() > 25,
        "{} {}",
        web.len(),
        vms.len()
    );
    assert_eq!(web.iter().filter(|r| r.full).count(), 5);
    let rules = |text: &str| -> Rules { serde_json::from_str(text).unwrap() };
    let web_src = rules(r#"{"keep_last": 6}"#);
    let web_repo = rules(r#"{"keep_hourly": 12, "keep_daily": 7}"#);
    let vms_src = rules(r#"{"keep_daily": 3}"#);
    let vms_repo = rules(r#"{"keep_daily": 7, "keep_weekly": 4}"#);
    let mut expect_src: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut expect_repo: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let ds = |d: &str| format!("{root}/{d}");
    expect_src.insert(
        ds("www"),
        kept(&ds("www"), "web", &web, &web_src, now, false),
    );
    expect_repo.insert(
        ds("www"),
        kept(&ds("www"), "web", &web, &web_repo, now, true),
    );
    for d in ["vm", "vm/a", "vm/b", "vm/scratch"] {
        expect_src.insert(ds(d), kept(&ds(d), "vms", &vms, &vms_src, now, false));
        if d != "vm/scratch" {
            expect_repo.insert(ds(d), kept(&ds(d), "vms", &vms, &vms_repo, now, true));
        }
    }

    // The source.
    let zfs = env.pool.zfs();
    for (d, want) in &expect_src {
        let mut have: Vec<String> = zfs
            .list_snapshots(&backup_zfs::DatasetName::parse(d).unwrap())
            .unwrap()
            .iter()
            .map(|s| s.name.snap().to_string())
            .collect();
        have.sort();
        assert_eq!(&have, want, "source snapshots of {d}");
    }
    // The repository.
    let list = env.list();
    let mut have: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &list {
        have.entry(e["dataset"].as_str().unwrap().into())
            .or_default()
            .push(e["snapshot"].as_str().unwrap().into());
    }
    for v in have.values_mut() {
        v.sort();
    }
    assert_eq!(have, expect_repo, "repository snapshots");
    // The repository is whole (pruned weekly by the web job, and once more
    // now), and the newest
    // snapshot of every dataset restores (its whole chain) and matches the
    // source.
    let check = env.backup(["check", "--read-data"]);
    assert_ok(&check, "check --read-data");
    let pruned = env.backup(["prune"]);
    assert_ok(&pruned, "prune");
    assert_ok(&env.backup(["check", "--read-data"]), "check after prune");
    for (d, names) in &expect_repo {
        let newest = names.last().unwrap();
        let tag = d.replace('/', "-");
        let target = root.child(&format!("restored-{tag}")).unwrap();
        let out = env.backup(["restore", &format!("{d}@{newest}"), "--to", target.as_str()]);
        assert_ok(&out, &format!("restore {d}@{newest}"));
        let snap =
            backup_zfs::SnapshotName::new(backup_zfs::DatasetName::parse(d).unwrap(), newest)
                .unwrap();
        assert_same_tree(
            &env.clone_of(&snap, &format!("source-{tag}")),
            &env.mountpoint(&target),
        );
    }
}
