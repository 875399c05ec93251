//! Notifications for collectives without a monitoring stack: a job's
//! `on_success` / `on_failure` commands and its ping URL
//! ([`crate::config::Notify`]), run around `backup run JOB`.
//!
//! - [`started`] pings the start (Healthchecks' `URL/start`; an Uptime
//!   Kuma push monitor has no start signal).
//! - [`finished`] runs `on_success` or `on_failure` (`sh -c`, with
//!   `BACKUP_JOB`, `BACKUP_REPOSITORY`, `BACKUP_OUTCOME` = `success` or
//!   `failure`, `BACKUP_ERROR` (empty on success) and `BACKUP_SNAPSHOT`
//!   in its environment; killed after its timeout, default
//!   [`DEFAULT_NOTIFY_TIMEOUT`](crate::config::DEFAULT_NOTIFY_TIMEOUT)),
//!   then pings the outcome (`URL` or `URL/fail` with the error as the
//!   body; Kuma: `?status=up|down&msg=...`).
//!
//! A drill ([`Event::Drill`]) notifies only when it does not pass: its
//! job's `on_failure` runs (`BACKUP_EVENT=drill`) and the ping URL gets
//! the failure; a passing drill pings nothing, so it never stands in for a
//! job's run on a monitor that expects one per period. A run refused
//! because the job is already running is a failure too.
//!
//! A notifier that fails (a command exiting non-zero, a ping that does not
//! answer) is a warning, returned for the caller to print: it never
//! changes the job's outcome or exit code. A ping is bounded: at most
//! [`PING_ATTEMPTS`] attempts of [`PING_TIMEOUT`] each, so a dead monitor
//! delays a run by seconds, never more. The library prints nothing: the
//! commands' output goes to the [`CommandOutput`] given.

mod ping;

use std::time::Duration;

use crate::config::Job;
use crate::job::hook::run_sh;
use crate::job::CommandOutput;

pub use ping::{ping_request, PingRequest, Signal};

/// Time one ping attempt may take (connection and answer).
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per ping, [`PING_PAUSE`] apart.
pub const PING_ATTEMPTS: u32 = 2;
/// The wait between two attempts.
pub const PING_PAUSE: Duration = Duration::from_secs(1);

/// What ended: a job's run or a drill of it (`BACKUP_EVENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `backup run JOB` (or a due run).
    Run,
    /// `backup drill run JOB` (or a due drill).
    Drill,
}

impl Event {
    /// `run` or `drill`.
    pub fn name(self) -> &'static str {
        match self {
            Event::Run => "run",
            Event::Drill => "drill",
        }
    }

    /// The command the messages name: `backup run web`, `backup drill run web`.
    fn command(self, job: &str) -> String {
        match self {
            Event::Run => format!("backup run {job}"),
            Event::Drill => format!("backup drill run {job}"),
        }
    }
}

/// How a run ended, for [`finished`].
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// A run or a drill.
    pub event: Event,
    /// `None`: success; else the error, as the operator should read it.
    pub error: Option<&'a str>,
    /// The snapshot the run took, if it got that far.
    pub snapshot: Option<&'a str>,
}

/// Pings the start of a run of `job`. Returns warnings (one per failed
/// notifier), for the caller to show.
pub fn started(job: &Job) -> Vec<String> {
    started_with(job, Limits::DEFAULT)
}

/// Runs the command for `outcome` and pings it. Returns warnings.
pub fn finished(job: &Job, outcome: &Outcome<'_>, output: &dyn CommandOutput) -> Vec<String> {
    finished_with(job, outcome, output, Limits::DEFAULT)
}

/// A ping's timeout per attempt and pause between attempts (shorter in
/// tests).
#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    pause: Duration,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        timeout: PING_TIMEOUT,
        pause: PING_PAUSE,
    };
}

fn started_with(job: &Job, limits: Limits) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(h) = &job.notify.healthcheck {
        if let Some(req) = ping_request(h, Signal::Start, &format!("backup run {}", job.name)) {
            ping_or_warn(&job.name, &req, limits, &mut warnings);
        }
    }
    warnings
}

fn finished_with(
    job: &Job,
    outcome: &Outcome<'_>,
    output: &dyn CommandOutput,
    limits: Limits,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if outcome.event == Event::Drill && outcome.error.is_none() {
        return warnings;
    }
    let (which, hook, signal) = match outcome.error {
        None => ("on_success", &job.notify.on_success, Signal::Success),
        Some(_) => ("on_failure", &job.notify.on_failure, Signal::Failure),
    };
    if let Some(h) = hook {
        let env = [
            ("BACKUP_JOB", job.name.as_str()),
            ("BACKUP_EVENT", outcome.event.name()),
            ("BACKUP_REPOSITORY", job.repository.as_str()),
            (
                "BACKUP_OUTCOME",
                if outcome.error.is_some() {
                    "failure"
                } else {
                    "success"
                },
            ),
            ("BACKUP_ERROR", outcome.error.unwrap_or("")),
            ("BACKUP_SNAPSHOT", outcome.snapshot.unwrap_or("")),
        ];
        if let Err(why) = run_sh(&h.command, &env, h.timeout, &|stderr, text| {
            output.line(&job.name, which, stderr, text);
        }) {
            warnings.push(format!(
                "{which} of job {} failed: {why} (command: {}); the {}'s outcome stands",
                job.name,
                h.command,
                outcome.event.name()
            ));
        }
    }
    if let Some(h) = &job.notify.healthcheck {
        let command = outcome.event.command(&job.name);
        let message = match outcome.error {
            None => match outcome.snapshot {
                Some(s) => format!("{command}: ok, snapshot {s}"),
                None => format!("{command}: ok"),
            },
            Some(e) => format!("{command} failed: {e}"),
        };
        if let Some(req) = ping_request(h, signal, &message) {
            ping_or_warn(&job.name, &req, limits, &mut warnings);
        }
    }
    warnings
}

fn ping_or_warn(job: &str, req: &PingRequest, limits: Limits, warnings: &mut Vec<String>) {
    if let Err(why) = ping::send(req, limits.timeout, PING_ATTEMPTS, limits.pause) {
        warnings.push(format!(
            "healthcheck ping of job {job} to {} failed after {PING_ATTEMPTS} attempt(s): {why}; the job's outcome stands",
            ping::redacted(&req.url)
        ));
    }
}

#[cfg(test)]
mod tests;
