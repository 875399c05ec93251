//! Pre and post hooks: `sh -c COMMAND` with a timeout.

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::config::Hook;
use crate::error::{Error, Result};

/// Runs a hook; its output goes where ours goes (the journal). `env` is
/// added to its environment. Killed when it outlives its timeout.
pub fn run_hook(job: &str, which: &'static str, hook: &Hook, env: &[(&str, &str)]) -> Result<()> {
    let fail = |reason: String| Error::Hook {
        job: job.to_string(),
        which,
        command: hook.command.clone(),
        reason,
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&hook.command)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot start sh: {e}")))?;
    let limit = Duration::try_from(hook.timeout).unwrap_or(Duration::MAX);
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(fail(format!("it exited with {status}"))),
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "it was killed after its timeout of {:#}",
                    hook.timeout
                )));
            }
            Ok(None) => sleep(Duration::from_millis(50)),
            Err(e) => return Err(fail(format!("waiting for it failed: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn hook(cmd: &str, ms: i64) -> Hook {
        Hook {
            command: cmd.into(),
            timeout: SignedDuration::from_millis(ms),
        }
    }

    #[test]
    fn success_failure_timeout_and_env() {
        assert!(run_hook(
            "j",
            "pre",
            &hook("test \"$BACKUP_JOB\" = j", 5000),
            &[("BACKUP_JOB", "j")]
        )
        .is_ok());
        let e = run_hook("j", "pre", &hook("exit 3", 5000), &[]).unwrap_err();
        assert!(e.to_string().contains("exit status: 3"), "{e}");
        let t = Instant::now();
        let e = run_hook("j", "post", &hook("sleep 5", 200), &[]).unwrap_err();
        assert!(e.to_string().contains("timeout"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
