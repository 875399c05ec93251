//! A drill killed with SIGKILL at seeded moments of its run (receiving,
//! comparing, removing its scratch space), with a scratch dataset or a
//! throwaway pool: the next drill removes what it left and passes.

use std::fs;
use std::time::Instant;

use super::{kill_at, Ended, Knobs, Moment, Rng};
use crate::harness::{assert_ok, noise, run_ok, stderr, Env};

#[test]
fn a_drill_killed_at_seeded_moments_is_cleaned_up_and_the_next_passes() {
    let k = Knobs::from_env("crash::drill", 0, 2);
    let mut rng = Rng::new(k.seed);
    let env = Env::new();
    let app = env.dataset("app");
    let scratch = env.dataset("drills");
    let m = env.mountpoint(&app);
    for i in 0..4 {
        fs::write(m.join(format!("file {i}")), noise(2 << 20, i)).unwrap();
    }
    let state = env.tmp.path().join("state");
    let config = env.tmp.path().join("backup.toml");
    let set_drill = |table: &str| {
        let text = format!(
            "state_dir = {state:?}\n\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
             [jobs.app]\nrepository = \"nas\"\ndatasets = [\"{app}\"]\nprefix = \"job\"\n{table}",
            env.repo,
            env.tmp.path().join("pass"),
        );
        fs::write(&config, text).unwrap();
    };
    let command = |args: &[&str]| {
        let mut c = env.command(["--config", config.to_str().unwrap()]);
        c.args(args);
        c
    };
    let scratch_table = |kind: &str| match kind {
        "dataset" => format!("[jobs.app.drill]\nscratch_parent = \"{scratch}\"\n"),
        _ => String::new(),
    };
    set_drill(&scratch_table("dataset"));
    assert_ok(&command(&["run", "app"]).output().unwrap(), "run");
    let drill = |what: &str| {
        let out = command(&["drill", "run", "app", "--json"])
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: no report ({e}): {}", stderr(&out)));
        assert_eq!(out.status.code(), Some(0), "{what}: {r:#}");
        r
    };
    let t = Instant::now();
    drill("reference drill");
    let whole = t.elapsed();

    let log = env.tmp.path().join("drill.log");
    let marker = env.tmp.path().join("no-marker");
    for i in 0..k.kills {
        let kind = if rng.next_u64().is_multiple_of(3) {
            "pool"
        } else {
            "dataset"
        };
        set_drill(&scratch_table(kind));
        // A throwaway pool takes longer to make and destroy than a dataset.
        let scale = if kind == "pool" { 2.0 } else { 1.0 };
        let moment = Moment::After(whole.mul_f64(rng.between(0.05, 0.95) * scale));
        let child = command(&["drill", "run", "app", "--json"])
            .stdout(fs::File::create(&log).unwrap())
            .stderr(fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap();
        let ended = kill_at(
            child,
            &moment,
            &marker,
            &env.repo,
            &log.with_extension("err"),
        );
        eprintln!("crash::drill: kill {i} ({kind} scratch): {moment:?}: {ended:?}");
        let r = drill(&format!("the drill after kill {i}"));
        assert_eq!(r["outcome"], "pass", "{r:#}");
        if ended == Ended::Killed {
            eprintln!(
                "crash::drill: leftovers removed: {}",
                r["scratch"]["leftovers_removed"]
            );
        }
        // Nothing of a drill is left in the scratch parent.
        let out = run_ok("zfs", ["list", "-H", "-o", "name", "-r", scratch.as_str()]);
        let left: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| *l != scratch.as_str())
            .map(str::to_string)
            .collect();
        assert!(left.is_empty(), "kill {i}: {left:?}");
    }
}
