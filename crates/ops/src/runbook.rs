//! `backup runbook`: for each job, the commands that bring its data back
//! on a fresh host, whole datasets and single files, whether or not the
//! job has a drill. Built from the configuration and the repository's
//! snapshots; rendered as Markdown or as plain text (a shell script with
//! comments).

use std::fmt::Write;

use crate::drill::{sh, Access};

/// One dataset of a job as the repository has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunbookDataset {
    /// The dataset.
    pub dataset: String,
    /// Its newest shipped snapshot (after the `@`), if any.
    pub latest: Option<String>,
    /// How many of its snapshots the repository holds.
    pub snapshots: usize,
    /// Whether the newest has a file manifest (`ls`, `find`, `restore --path`).
    pub files: bool,
}

/// What a runbook says about one job.
#[derive(Clone, Debug)]
pub struct Runbook {
    /// The job.
    pub job: String,
    /// The repository's location.
    pub repository: String,
    /// How to reach it and its passphrase.
    pub access: Access,
    /// The job's datasets, as shipped (or as configured, when none is yet).
    pub datasets: Vec<RunbookDataset>,
    /// The last drill: when (RFC 3339) and its outcome, if any.
    pub last_drill: Option<(String, String)>,
}

/// The runbook as Markdown.
pub fn markdown(r: &Runbook) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Runbook: job `{}`\n", r.job);
    let _ = writeln!(
        s,
        "Repository `{}` (`{}` in `{}`); passphrase: {}. With the key slots lost, \
         add `--key-file FILE` (the key exported with `backup key export`) to every command.\n",
        r.repository, r.access.repository_name, r.access.config_file, r.access.password_source
    );
    match &r.last_drill {
        Some((when, outcome)) => {
            let _ = writeln!(s, "Last restore drill: {when}, **{outcome}**.\n");
        }
        None => {
            let _ = writeln!(
                s,
                "**No restore drill has run for this job**: `backup drill run {}` proves these commands.\n",
                r.job
            );
        }
    }
    let _ = writeln!(s, "## Reach the repository\n\n```sh\n{}```\n", setup(r));
    let _ = writeln!(s, "## Whole datasets\n");
    let _ = writeln!(
        s,
        "Each receives the whole chain into a dataset that must not exist yet \
         (change the name after `--to` to restore elsewhere):\n\n```sh"
    );
    for d in &r.datasets {
        let _ = writeln!(s, "{}", whole(d));
    }
    let _ = writeln!(s, "```\n\n## One file, one directory\n");
    let _ = writeln!(
        s,
        "Only the chunks holding the files are fetched (the fast path); the output \
         says which way each file came back. Replace the paths with yours:\n\n```sh"
    );
    for d in &r.datasets {
        s.push_str(&one_file(d));
    }
    let _ = writeln!(s, "```");
    s
}

/// The runbook as plain text: a commented shell script.
pub fn text(r: &Runbook) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Runbook for job {}: its data back on a fresh host",
        r.job
    );
    let _ = writeln!(
        s,
        "# repository {} ({} in {}); passphrase: {}",
        r.repository, r.access.repository_name, r.access.config_file, r.access.password_source
    );
    let _ = writeln!(
        s,
        "# key slots lost: add --key-file FILE (from `backup key export`) to each command"
    );
    match &r.last_drill {
        Some((when, outcome)) => {
            let _ = writeln!(s, "# last restore drill: {when}, {outcome}");
        }
        None => {
            let _ = writeln!(
                s,
                "# no restore drill has run: `backup drill run {}` proves these commands",
                r.job
            );
        }
    }
    s.push_str(&setup(r));
    let _ = writeln!(s, "\n# Whole datasets (the target must not exist yet):");
    for d in &r.datasets {
        let _ = writeln!(s, "{}", whole(d));
    }
    let _ = writeln!(
        s,
        "\n# One file or directory (only its blocks are fetched):"
    );
    for d in &r.datasets {
        s.push_str(&one_file(d));
    }
    s
}

fn setup(r: &Runbook) -> String {
    format!(
        "export BACKUP_REPOSITORY={}\n{}\nbackup check    # the repository opens and is whole\n",
        sh(&r.repository),
        r.access.password_env
    )
}

fn snapshot(d: &RunbookDataset) -> String {
    format!("{}@{}", d.dataset, d.latest.as_deref().unwrap_or("latest"))
}

fn whole(d: &RunbookDataset) -> String {
    match &d.latest {
        Some(_) => format!(
            "backup restore {} --to {}    # {} snapshot(s) shipped; `backup list --dataset {}` lists them",
            sh(&snapshot(d)),
            sh(&d.dataset),
            d.snapshots,
            sh(&d.dataset)
        ),
        None => format!("# {}: nothing shipped yet", d.dataset),
    }
}

fn one_file(d: &RunbookDataset) -> String {
    if d.latest.is_none() {
        return String::new();
    }
    if !d.files {
        return format!(
            "# {}: its newest snapshot has no file manifest: restore the whole dataset\n",
            d.dataset
        );
    }
    let snap = sh(&format!("{}@latest", d.dataset));
    format!(
        "backup ls {snap} etc --long                       # what a directory held\n\
         backup find 'nginx.conf' --dataset {ds}           # every snapshot holding a path\n\
         backup restore {snap} --path etc/nginx/nginx.conf --into /tmp/restore\n\
         backup mount {ds} /mnt/backup                      # browse every snapshot (Ctrl-C unmounts)\n",
        ds = sh(&d.dataset)
    )
}
