//! `backup`: ship ZFS snapshots to an encrypted, deduplicated repository.

// The doc comments of cli.rs are clap's `--help` texts, written for a
// terminal (`<state dir>`, `sftp://[user@]host`), not for rustdoc.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod cli;
mod commands;
mod context;
mod exit;
mod format;
mod hook_output;
mod journal;
mod password;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::{ClosedStdout, ExitStatus};

fn main() -> ExitCode {
    // SIGPIPE stays ignored (Rust's default): a `zfs receive` that dies must
    // surface as its own error, not kill us silently. A closed stdout
    // (`backup restore --to-file - | head`) is a quiet exit instead.
    quiet_on_closed_stdout();
    let mut cli = Cli::parse();
    // Before anything starts a thread or a child: the passphrase variables
    // leave the environment here, so no child inherits them.
    cli.global.password.take_from_environment();
    match cli.global.password.check().and_then(|()| run(&cli)) {
        Ok(status) => status.into(),
        Err(e) if e.is::<ClosedStdout>() => ExitStatus::of(&e).into(),
        Err(e) => {
            crate::journal::error!("backup: error: {e:#}");
            ExitStatus::of(&e).into()
        }
    }
}

/// `backup list | head`: printing to a stdout whose reader is gone panics
/// in `println!`; instead the process ends quietly and successfully, as
/// for a [`ClosedStdout`] error (what it had done stays done; every write
/// the commands make is crash-safe). Any other panic goes to the default
/// hook.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(exit::CLOSED_STDOUT_CODE);
        }
        default(info);
    }));
}

fn run(cli: &Cli) -> anyhow::Result<ExitStatus> {
    let g = &cli.global;
    match &cli.command {
        Command::Init(a) => commands::init::run(g, a),
        Command::Send(a) => commands::send::run(g, a),
        Command::List(a) => commands::list::run(g, a),
        Command::Restore(a) => commands::restore::run(g, a),
        Command::Mount(a) => commands::mount::run(g, a),
        Command::Check(a) => commands::check::run(g, a),
        Command::Catalog(c) => commands::catalog::run(g, c),
        Command::Run(a) => commands::run::run(g, a),
        Command::Forget(a) => commands::forget::run(g, a),
        Command::Prune(a) => commands::prune::run(g, a),
        Command::Ls(a) => commands::ls::run(g, a),
        Command::Find(a) => commands::find::run(g, a),
        Command::Diff(a) => commands::diff::run(g, a),
        Command::Repair(c) => commands::repair::run(g, c),
        Command::Unlock(a) => commands::unlock::run(g, a),
        Command::Config(c) => commands::config::run(g, c),
        Command::Schedule(c) => commands::schedule::run(g, c),
        Command::Status(a) => commands::status::run(g, a),
        Command::Drill(c) => commands::drill::run(g, c),
        Command::Key(c) => commands::key::run(g, c),
        Command::Runbook(a) => commands::runbook::run(g, a),
        Command::Completions(a) => commands::generate::completions(a),
        Command::Manpages(a) => commands::generate::manpages(a),
    }
}
