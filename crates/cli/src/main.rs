//! `backup`: ship ZFS snapshots to an encrypted, deduplicated repository.

mod cli;
mod commands;
mod context;
mod exit;
mod format;
mod password;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

fn main() -> ExitCode {
    // SAFETY: restoring the default SIGPIPE action before any thread starts,
    // so `backup restore --to-file - | head` ends quietly (ripgrep does the same).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("backup: error: {e:#}");
            ExitStatus::of(&e).into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let g = &cli.global;
    match &cli.command {
        Command::Init(a) => commands::init::run(g, a),
        Command::Send(a) => commands::send::run(g, a),
        Command::List(a) => commands::list::run(g, a),
        Command::Restore(a) => commands::restore::run(g, a),
        Command::Check(a) => commands::check::run(g, a),
        Command::Catalog(c) => commands::catalog::run(g, c),
        Command::Run(a) => commands::run::run(g, a),
        Command::Config(c) => commands::config::run(g, c),
        Command::Schedule(c) => commands::schedule::run(g, c),
    }
}
