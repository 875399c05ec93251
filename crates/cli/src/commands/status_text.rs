//! `backup status` for people: a compact block per job, then repositories.

use backup_ops::drill::Outcome;
use backup_ops::status::{human_age, DrillSummary, JobStatus, RepositoryStatus, Status};

use crate::format::{bytes, time};

pub fn print(st: &Status) {
    for j in &st.jobs {
        job(j);
    }
    for r in &st.repositories {
        repository(r);
    }
}

fn job(j: &JobStatus) {
    let schedule = j.schedule.as_deref().unwrap_or("no schedule");
    println!("job {} (repository {}, {schedule})", j.name, j.repository);
    if !j.history {
        println!("  history       unknown: no catalog");
    } else if j.never_run {
        println!("  last run      never");
    }
    for w in &j.warnings {
        println!("  warning       {w}");
    }
    if let Some(r) = &j.last_run {
        let how = if r.ok { "ok" } else { "FAILED" };
        println!("  last run      {}  {how}", time(r.finished));
    }
    match &j.last_success {
        Some(s) => println!(
            "  last success  {}  took {}, {} of streams, {} newly stored",
            time(s.time),
            human_age(s.duration_seconds),
            bytes(s.stream_bytes),
            bytes(s.stored_bytes)
        ),
        None if j.history => println!("  last success  never"),
        None => {}
    }
    if let Some(f) = &j.last_failure {
        let streak = match j.consecutive_failures {
            0 => String::new(),
            n => format!(" ({n} failed run(s) since the last success)"),
        };
        println!("  last failure  {}{streak}", time(f.time));
        for line in f.error.lines() {
            println!("                {line}");
        }
    }
    match (j.snapshot_age_seconds, &j.oldest_dataset) {
        (Some(age), Some(ds)) => println!("  snapshot age  {} (oldest: {ds})", human_age(age)),
        _ if !j.missing.is_empty() => println!(
            "  snapshot age  unknown: nothing shipped of {}",
            j.missing.join(", ")
        ),
        _ => println!("  snapshot age  unknown"),
    }
    drill(j);
    verification(j);
    if !j.snapshots.is_empty() {
        let w = j
            .snapshots
            .iter()
            .map(|s| s.dataset.len())
            .max()
            .unwrap_or(0)
            .max(7);
        let sw = j
            .snapshots
            .iter()
            .map(|s| s.snapshot.len())
            .max()
            .unwrap_or(0)
            .max(8);
        println!("  {:<w$}  {:<sw$}  {:>8}", "DATASET", "SNAPSHOT", "AGE");
        for s in &j.snapshots {
            println!(
                "  {:<w$}  {:<sw$}  {:>8}",
                s.dataset,
                s.snapshot,
                human_age(s.age_seconds)
            );
        }
    }
    println!();
}

fn drill(j: &JobStatus) {
    let d = &j.drill;
    match (&d.schedule, &d.last_pass) {
        (None, _) => println!("  drill         no drill defined"),
        (Some(s), None) => println!("  drill         {s}; never passed"),
        (Some(s), Some(p)) => {
            let due = d
                .due
                .map(|t| format!(", next due {}", time(t)))
                .unwrap_or_default();
            println!(
                "  drill         {s}; last pass {} ({} ago, {}){due}",
                time(p.started),
                human_age(p.age_seconds),
                p.id
            );
        }
    }
    let pass_id = d.last_pass.as_ref().map(|p| p.id.as_str());
    if let Some(last) = d.last.as_ref().filter(|l| Some(l.id.as_str()) != pass_id) {
        last_drill(last);
    }
    if let Some(w) = &d.warning {
        let level = if d.critical { "CRITICAL" } else { "WARNING" };
        println!("  {level:<13} drill: {w}");
    }
}

fn verification(j: &JobStatus) {
    let v = &j.verify;
    if !v.defined && v.last.is_none() {
        return;
    }
    let every = v.every_seconds.map_or_else(
        || "no check_every".to_string(),
        |e| format!("every {}", human_age(e)),
    );
    let data = match (&v.read_data, &v.coverage) {
        (Some(p), Some(c)) => format!(
            "check_read_data {p}: every pack read within {} verification(s), {}",
            c.runs,
            human_age(c.period_seconds)
        ),
        (Some(p), None) => format!("check_read_data {p}"),
        (None, _) => "structure only (no check_read_data)".to_string(),
    };
    println!("  verification  {every}, {data}");
    if let Some(last) = &v.last {
        let how = if last.ok { "ok" } else { "FAILED" };
        let read = match &last.portion {
            Some(_) => format!(
                "read {} of {} pack(s), {}",
                last.packs_read,
                last.packs,
                bytes(last.bytes_read)
            ),
            None => "structure only".to_string(),
        };
        println!("  last verified {}  {how}  {read}", time(last.started));
        for p in last.problems.iter().take(5) {
            println!("                {p}");
        }
        if last.problems.len() > 5 {
            println!("                ... {} more", last.problems.len() - 5);
        }
    }
    if let Some(due) = v.next_due.filter(|_| v.defined) {
        match v.last {
            Some(_) => println!("  next verify   {}", time(due)),
            None => println!("  next verify   now (never verified)"),
        }
    }
    if let Some(w) = &v.warning {
        let level = if v.failed { "CRITICAL" } else { "WARNING" };
        println!("  {level:<13} verification: {w}");
    }
}

fn last_drill(last: &DrillSummary) {
    let how = match last.outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAILED",
        Outcome::Error => "ERROR (could not run)",
    };
    let why = last
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    println!(
        "  last drill    {}  {how}  {}{why}",
        time(last.started),
        last.id
    );
}

fn repository(r: &RepositoryStatus) {
    match (&r.error, r.size_bytes) {
        (_, Some(size)) => {
            let ratio = r
                .dedup_ratio
                .map_or_else(|| "-".to_string(), |x| format!("{x:.2}x"));
            println!(
                "repository {}: {} in {} pack(s); {} snapshot(s), {} of streams; deduplication and compression {ratio}",
                r.name,
                bytes(size),
                r.packs.unwrap_or(0),
                r.snapshots,
                bytes(r.stream_bytes)
            );
        }
        (Some(e), None) => println!("repository {}: UNREACHABLE: {e}", r.name),
        (None, None) => println!("repository {}: size unknown", r.name),
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
}
