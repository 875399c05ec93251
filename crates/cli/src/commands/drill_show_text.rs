//! A drill report for people (`backup drill show ID`, `backup drill run`): the verdict, targets, phases and
//! scratch space, every layer of every dataset, the probes, and where the
//! reports are.

use std::path::Path;

use backup_ops::drill::{DatasetDrill, DrillReport, Layer, ProbeResult, Target};
use backup_ops::status::human_age;

use crate::format::{bytes, local_time, seconds};

/// The whole report for people (`drill show`, and `drill run`'s summary).
pub fn print(r: &DrillReport) {
    let why = r
        .reason
        .as_deref()
        .map(|w| format!(": {w}"))
        .unwrap_or_default();
    println!("drill {}: {}{why}", r.id, r.outcome.as_str().to_uppercase());
    println!("  job           {}", r.job);
    println!("  repository    {} (id {})", r.repository, r.repository_id);
    if let Some(k) = &r.key_file {
        println!("  opened with   exported key file {k}");
    }
    println!(
        "  host          {} (backup {}, {})",
        r.host, r.tool_version, r.zfs
    );
    println!(
        "  started       {} (took {})",
        local_time(r.started),
        human_age(r.finished - r.started)
    );
    println!("  finished      {}", local_time(r.finished));
    println!("  snapshots     {}", r.pick);
    println!("  RTO           {}", target_text(&r.rto));
    println!("  RPO           {}", target_text(&r.rpo));
    let p = &r.phases;
    println!(
        "  phases        fetch and decrypt {}, receive {}, verify {}, probes {}, total {}",
        seconds(p.fetch_decrypt),
        seconds(p.receive),
        seconds(p.verify),
        seconds(p.probes),
        seconds(p.total)
    );
    println!(
        "  restored      {} of streams, {} mismatching path(s)",
        bytes(r.restored_bytes),
        r.mismatches
    );
    let s = &r.scratch;
    let file = s
        .file
        .as_deref()
        .map(|f| format!(" on {f}"))
        .unwrap_or_default();
    let fate = if s.kept {
        "KEPT for inspection"
    } else {
        "destroyed"
    };
    println!(
        "  scratch       {} {}{file}, mounted at {}; {fate}",
        s.kind, s.dataset, s.mountpoint
    );
    for l in &s.leftovers_removed {
        println!("                removed leftover {l}");
    }
    for d in &r.datasets {
        println!();
        dataset(d);
    }
    println!();
    layer_line("probes", &r.probe_layer);
    for p in &r.probes {
        probe(p);
    }
}

/// Where the reports of `r` are, after [`print()`] in `drill show`.
pub fn print_report_places(r: &DrillReport, report_dir: &Path) {
    println!();
    println!(
        "reports: `drill run` writes its JSON and Markdown reports to {} \
         (unless given --report-dir);",
        report_dir.display()
    );
    println!(
        "         from the catalog: backup drill show {} --json | --markdown",
        r.id
    );
}

/// "5m/2h 00m", "5m/-" without a target, a trailing "!" when missed.
pub fn target(t: &Target) -> String {
    let achieved = human_age(t.achieved_seconds.round() as i64);
    let target = t.target_seconds.map_or("-".to_string(), human_age);
    let missed = if t.met == Some(false) { "!" } else { "" };
    format!("{achieved}/{target}{missed}")
}

fn target_text(t: &Target) -> String {
    let verdict = match t.met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "no target",
    };
    format!(
        "{} ({verdict})",
        target(t)
            .trim_end_matches('!')
            .replacen('/', " achieved, target ", 1)
    )
}

fn dataset(d: &DatasetDrill) {
    println!(
        "dataset {}@{} (manifest {}, guid {})",
        d.dataset, d.snapshot, d.manifest, d.guid
    );
    println!(
        "  taken         {} ({} old at the drill)",
        local_time(d.snapshot_time),
        human_age(d.age_seconds)
    );
    for (i, link) in d.chain.iter().enumerate() {
        let label = if i == 0 { "chain" } else { "" };
        println!(
            "  {label:<13} {} {} ({}, {})",
            link.kind,
            link.snapshot,
            bytes(link.stream_len),
            link.id
        );
    }
    let at = match d.mountpoint.as_str() {
        "" => String::new(),
        m => format!(" at {m}"),
    };
    println!("  restored as   {}{at}", d.restored_as);
    layer_line("data", &d.data);
    layer_line("receive", &d.receive);
    layer_line("files", &d.files);
    if let Some(c) = &d.comparison {
        println!(
            "                {} expected, {} restored: {} missing, {} extra, {} changed",
            c.expected, c.actual, c.missing, c.extra, c.changed
        );
        for p in &c.missing_paths {
            println!("                  missing {p}");
        }
        for p in &c.extra_paths {
            println!("                  extra   {p}");
        }
        for (p, what) in &c.changed_paths {
            println!("                  changed {p} ({})", what.join(", "));
        }
    }
    layer_line("one-file", &d.sample);
    println!(
        "  timings       fetch {}, receive {}, verify {}; {} restored",
        seconds(d.fetch_seconds),
        seconds(d.receive_seconds),
        seconds(d.verify_seconds),
        bytes(d.restored_bytes)
    );
}

fn layer_line(name: &str, l: &Layer) {
    println!("  {name:<13} {:<11} {}", l.status.as_str(), l.summary);
}

fn probe(p: &ProbeResult) {
    let how = match (p.timed_out, p.exit_code) {
        (true, _) => "timed out".to_string(),
        (false, Some(c)) => format!("exit {c}"),
        (false, None) => "no exit code".to_string(),
    };
    println!(
        "    {:<11} {} in {} ({how}, {}): {}",
        p.status.as_str(),
        p.name,
        p.dataset,
        seconds(p.seconds),
        p.command
    );
    for line in p.output.lines() {
        println!("                {line}");
    }
}
