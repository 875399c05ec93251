//! The output of a job's hooks and notifiers, which the application hands
//! over line by line: on stderr, each line labelled with the job and the
//! hook (`web pre_hook: checkpoint done`), so the journal and a terminal
//! say which command wrote it; nothing with `-q`. Never on stdout, which
//! `--json` keeps for its document.

use backup_ops::job::CommandOutput;

/// Prints hook lines on stderr unless quiet.
pub struct HookLines {
    /// `-q`: print nothing.
    pub quiet: bool,
}

impl CommandOutput for HookLines {
    fn line(&self, job: &str, source: &str, _stderr: bool, text: &str) {
        if !self.quiet {
            eprintln!("{}", labelled(job, source, text));
        }
    }
}

/// Prints what the notifiers warn of (`notify::started`, `notify::finished`:
/// a failed command or ping, which never changes the outcome).
pub fn notifier_warnings(warnings: Vec<String>) {
    for w in warnings {
        crate::journal::warning!("backup: warning: {w}");
    }
}

/// `web pre_hook: text`.
fn labelled(job: &str, source: &str, text: &str) -> String {
    format!("{job} {source}: {text}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_line_names_the_job_and_the_hook() {
        assert_eq!(
            super::labelled("web", "pre_hook", "checkpoint done"),
            "web pre_hook: checkpoint done"
        );
    }
}
