//! The Markdown report: what the drill found, and a runbook with the exact
//! commands that restore the same datasets for real on a fresh host.

use std::fmt::Write;

use super::report::{DatasetDrill, DrillReport, Layer, Target};

/// The report as Markdown.
pub fn markdown(r: &DrillReport) -> String {
    let mut s = String::new();
    let when = |t: i64| {
        jiff::Timestamp::from_second(t).map_or_else(
            |_| t.to_string(),
            |t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
    };
    let _ = writeln!(
        s,
        "# Restore drill {}: {}\n",
        r.id,
        r.outcome.as_str().to_uppercase()
    );
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| job | `{}` |", r.job);
    let _ = writeln!(
        s,
        "| repository | `{}` (id `{}`) |",
        r.repository, &r.repository_id
    );
    let _ = writeln!(
        s,
        "| host | `{}`, backup {}, {} |",
        r.host, r.tool_version, r.zfs
    );
    let _ = writeln!(s, "| started | {} |", when(r.started));
    let _ = writeln!(s, "| finished | {} |", when(r.finished));
    let _ = writeln!(s, "| snapshots | {} |", r.pick);
    if let Some(k) = &r.key_file {
        let _ = writeln!(s, "| key | opened with the exported key file `{k}` |");
    }
    let _ = writeln!(s, "| RTO | {} |", target(&r.rto, "s"));
    let _ = writeln!(s, "| RPO | {} |", target(&r.rpo, "s"));
    let _ = writeln!(s, "| restored | {} bytes |", r.restored_bytes);
    if let Some(reason) = &r.reason {
        let _ = writeln!(s, "\n**Why it did not pass:** {reason}");
    }

    let _ = writeln!(s, "\n## Layers\n");
    let _ = writeln!(
        s,
        "| dataset | snapshot | 1 data | 2 receive | 3 files | 4 one-file restores |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for d in &r.datasets {
        let _ = writeln!(
            s,
            "| `{}` | `{}` | {} | {} | {} | {} |",
            d.dataset,
            d.snapshot,
            d.data.status.as_str(),
            d.receive.status.as_str(),
            d.files.status.as_str(),
            d.sample.status.as_str()
        );
    }
    for d in &r.datasets {
        dataset_section(&mut s, d);
    }
    let _ = writeln!(s, "\n### 5 probes: {}\n", r.probe_layer.status.as_str());
    let _ = writeln!(s, "{}", r.probe_layer.summary);
    for p in &r.probes {
        let _ = writeln!(
            s,
            "\n- **{}** on `{}`: {} in {:.1}s{}{}\n\n  `{}`",
            p.name,
            p.dataset,
            p.status.as_str(),
            p.seconds,
            p.exit_code.map_or(String::new(), |c| format!(", exit {c}")),
            if p.timed_out { ", timed out" } else { "" },
            p.command
        );
        if !p.output.trim().is_empty() {
            let _ = writeln!(s, "\n  ```text");
            for line in p.output.trim_end().lines() {
                let _ = writeln!(s, "  {line}");
            }
            let _ = writeln!(s, "  ```");
        }
    }

    let _ = writeln!(s, "\n## Timings\n");
    let p = &r.phases;
    let _ = writeln!(s, "| phase | seconds |\n|---|---|");
    for (name, v) in [
        ("fetch and decrypt", p.fetch_decrypt),
        ("receive", p.receive),
        ("verify files", p.verify),
        ("probes", p.probes),
        ("whole drill", p.total),
    ] {
        let _ = writeln!(s, "| {name} | {v:.1} |");
    }
    let sc = &r.scratch;
    if !sc.kind.is_empty() {
        let _ = writeln!(
            s,
            "\nScratch space: {} `{}` mounted at `{}`{}.",
            sc.kind,
            sc.dataset,
            sc.mountpoint,
            if sc.kept {
                " — **kept for inspection**; the next drill removes it"
            } else {
                ", removed"
            }
        );
    }
    for l in &sc.leftovers_removed {
        let _ = writeln!(s, "Removed first, left by an earlier drill: {l}.");
    }
    runbook(&mut s, r);
    s
}

fn target(t: &Target, unit: &str) -> String {
    let achieved = format!("{:.1}{unit}", t.achieved_seconds);
    match (t.target_seconds, t.met) {
        (Some(limit), Some(true)) => format!("{achieved} (target {limit}{unit}: met)"),
        (Some(limit), _) => format!("{achieved} (target {limit}{unit}: **missed**)"),
        _ => format!("{achieved} (no target)"),
    }
}

fn layer(s: &mut String, n: u32, name: &str, l: &Layer) {
    let _ = writeln!(s, "- {n} {name}: **{}**: {}", l.status.as_str(), l.summary);
}

fn dataset_section(s: &mut String, d: &DatasetDrill) {
    let _ = writeln!(s, "\n### `{}@{}`\n", d.dataset, d.snapshot);
    let _ = writeln!(
        s,
        "Snapshot {} (guid {}), {}s old at drill time; chain of {} stream(s):\n",
        &d.manifest[..12.min(d.manifest.len())],
        d.guid,
        d.age_seconds,
        d.chain.len()
    );
    for l in &d.chain {
        let _ = writeln!(
            s,
            "- `{}` {} ({} bytes), id `{}`",
            l.snapshot,
            l.kind,
            l.stream_len,
            &l.id[..12.min(l.id.len())]
        );
    }
    let _ = writeln!(s);
    layer(s, 1, "data", &d.data);
    layer(s, 2, "receive", &d.receive);
    layer(s, 3, "files", &d.files);
    if let Some(c) = &d.comparison {
        for (what, paths) in [("missing", &c.missing_paths), ("extra", &c.extra_paths)] {
            for p in paths {
                let _ = writeln!(s, "  - {what}: `{p}`");
            }
        }
        for (p, how) in &c.changed_paths {
            let _ = writeln!(s, "  - changed: `{p}` ({})", how.join(", "));
        }
        let listed = c.missing_paths.len() + c.extra_paths.len() + c.changed_paths.len();
        let all = c.missing + c.extra + c.changed;
        if all > listed as u64 {
            let _ = writeln!(s, "  - … and {} more", all - listed as u64);
        }
    }
    layer(s, 4, "one-file restores", &d.sample);
    let _ = writeln!(
        s,
        "\nRestored {} bytes as `{}`: fetch and decrypt {:.1}s, receive {:.1}s, verify {:.1}s.",
        d.restored_bytes, d.restored_as, d.fetch_seconds, d.receive_seconds, d.verify_seconds
    );
}

/// A word for sh: as it is when it is plain, else single-quoted.
pub fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-@:=+,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The runbook: restoring the drilled snapshots for real.
fn runbook(s: &mut String, r: &DrillReport) {
    let a = &r.access;
    let _ = writeln!(s, "\n## Runbook: restore these datasets for real\n");
    let _ = writeln!(
        s,
        "On a fresh host: install ZFS and `backup`, make the repository reachable \
         (`{}`), and have its passphrase ({}). The key is in the repository; with an \
         exported key file, add `--key-file FILE` to a drill to prove it works. \
         Each `backup restore` receives the whole chain into a dataset that must not \
         exist yet: change the target after `--to` to restore elsewhere. The commands, \
         as a script:\n",
        r.repository, a.password_source
    );
    let _ = writeln!(s, "```sh");
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "export BACKUP_REPOSITORY={}", sh(&r.repository));
    let _ = writeln!(s, "{}", a.password_env);
    let _ = writeln!(
        s,
        "backup check            # the repository opens and is whole"
    );
    for d in &r.datasets {
        let _ = writeln!(s, "backup list --dataset {}", sh(&d.dataset));
        let _ = writeln!(
            s,
            "backup restore {} --to {}",
            sh(&format!("{}@{}", d.dataset, d.snapshot)),
            sh(&d.dataset)
        );
        let _ = writeln!(
            s,
            "# one file instead: backup restore {} --path PATH --into DIR",
            sh(&format!("{}@{}", d.dataset, d.snapshot))
        );
    }
    let _ = writeln!(s, "```");
    let _ = writeln!(
        s,
        "\nThe same snapshots by id, should a name be ambiguous: {}.",
        r.datasets
            .iter()
            .map(|d| format!("`{}`", &d.manifest[..16.min(d.manifest.len())]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "The configuration this drill ran with is `{}` (repository `{}`); on a rebuilt \
         host, `backup --config FILE run JOB` resumes the backups.",
        a.config_file, a.repository_name
    );
}
