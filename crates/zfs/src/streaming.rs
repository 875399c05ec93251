//! A running streaming child (`zfs send`, `zfs receive`): its stderr
//! drained on its own thread, the time a call stays blocked on it bounded by
//! a [`Watchdog`], reaped once, and its end turned into a typed error.

use std::process::{Child, ChildStdin, ChildStdout, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::classify::{classify, Context};
use crate::command::{kill_and_reap, status_text, wait_until, CommandLine, StderrDrain};
use crate::error::ZfsError;
use crate::watchdog::Watchdog;

#[derive(Debug)]
pub(crate) struct Streaming {
    child: Option<Child>,
    stderr: StderrDrain,
    watchdog: Watchdog,
    line: CommandLine,
    /// The dataset or snapshot the command is about, for messages.
    object: String,
    exit: Option<(ExitStatus, String)>,
    timed_out: bool,
}

impl Streaming {
    /// Spawns `line` with stdin and stdout as given; a call blocked on it
    /// for `limit` kills it.
    pub(crate) fn spawn(
        line: CommandLine,
        object: String,
        stdin: Stdio,
        stdout: Stdio,
        limit: Duration,
    ) -> Result<Streaming, ZfsError> {
        let (mut child, stderr) = line.spawn_streaming(stdin, stdout)?;
        let watchdog = match Watchdog::spawn(child.id(), limit) {
            Ok(w) => w,
            Err(e) => {
                kill_and_reap(&mut child);
                return Err(line.spawn_error(e));
            }
        };
        Ok(Streaming {
            child: Some(child),
            stderr,
            watchdog,
            line,
            object,
            exit: None,
            timed_out: false,
        })
    }

    pub(crate) fn line(&self) -> &CommandLine {
        &self.line
    }

    pub(crate) fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.as_mut().and_then(|c| c.stdin.take())
    }

    pub(crate) fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// Runs `call`, which blocks on the child, under the watchdog.
    pub(crate) fn blocked<T>(&self, call: impl FnOnce() -> T) -> T {
        self.watchdog.blocked(call)
    }

    /// Waits for the child once (for at most the time limit, then kills it)
    /// and keeps its status and stderr.
    pub(crate) fn reap(&mut self) -> std::io::Result<()> {
        self.watchdog.stop();
        self.timed_out |= self.watchdog.fired();
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + self.watchdog.limit();
            let Some(status) = wait_until(&mut child, deadline)? else {
                self.timed_out = true;
                kill_and_reap(&mut child);
                return Ok(());
            };
            self.exit = Some((status, self.stderr.join_until(deadline)));
        }
        Ok(())
    }

    /// Kills the child (before its stdin is closed, so zfs never sees a
    /// clean end of stream) and reaps it.
    pub(crate) fn kill(&mut self) {
        self.watchdog.stop();
        if let Some(mut child) = self.child.take() {
            if kill_and_reap(&mut child).is_some() {
                self.stderr.join();
            }
        }
    }

    /// How the reaped child ended: a timeout, a classified failure, or fine
    /// (also while it was not reaped yet).
    pub(crate) fn outcome(&self) -> Result<(), ZfsError> {
        if self.timed_out {
            return Err(ZfsError::Timeout {
                command: self.line.display().to_owned(),
                object: self.object.clone(),
                limit: self.watchdog.limit(),
                stderr: self.exit.as_ref().map(|e| e.1.clone()).unwrap_or_default(),
            });
        }
        match &self.exit {
            Some((status, stderr)) if !status.success() => {
                let ctx = Context {
                    command: self.line.display(),
                    object: &self.object,
                };
                Err(classify(ctx, &status_text(*status), stderr))
            }
            _ => Ok(()),
        }
    }
}
