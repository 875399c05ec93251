//! `backup completions SHELL` and the hidden `backup manpages DIR`: shell
//! completions and man pages generated from the clap definitions of
//! `cli.rs` (clap_complete, clap_mangen), so they never drift from
//! `--help`. scripts/package.sh ships both in the Debian package.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManpagesArgs};
use crate::exit::{ClosedStdout, ExitStatus};

/// The name the completions complete and the man pages are named after.
const BIN: &str = "backup";

/// Prints the completion script for `a.shell` to stdout. Hidden
/// subcommands (`manpages`, for packaging) are not offered: some of
/// clap_complete's shells (fish, zsh) would list them.
pub fn completions(a: &CompletionsArgs) -> Result<ExitStatus> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut visible(&Cli::command()), BIN, &mut script);
    let mut out = io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitStatus::Success),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context(ClosedStdout))
        }
        Err(e) => Err(anyhow::Error::new(e).context("writing the completion script to stdout")),
    }
}

/// `cmd` without its hidden subcommands (clap has no way to remove one:
/// the rest are copied into a command of the same name and arguments).
fn visible(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(BIN).args(cmd.get_arguments().cloned());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(sub.clone());
    }
    out
}

/// Writes `backup.1` and one page per visible subcommand, nested ones
/// included (`backup-send.1`, `backup-drill-run.1`), into `a.dir`.
pub fn manpages(a: &ManpagesArgs) -> Result<ExitStatus> {
    fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, &a.dir, &a.date, &mut written)?;
    for name in &written {
        println!("{}", a.dir.join(name).display());
    }
    Ok(ExitStatus::Success)
}

/// The page of `cmd`, then those of its visible subcommands, recursively.
/// Each page's header names the version of the whole tool (clap gives
/// subcommands none of their own).
fn write_pages(
    cmd: &clap::Command,
    dir: &Path,
    date: &str,
    written: &mut Vec<String>,
) -> Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .date(date)
        .source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
        .manual("backup manual");
    let name = man.get_filename();
    let path = dir.join(&name);
    let mut page = Vec::new();
    man.render(&mut page)
        .with_context(|| format!("rendering the man page {name}"))?;
    fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
    written.push(name);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, date, written)?;
    }
    Ok(())
}
