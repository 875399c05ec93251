//! Priorities for the journal. When stderr is a journal stream (systemd
//! sets `JOURNAL_STREAM=DEV:INODE` to the stream it connects, so a child
//! whose stderr was redirected elsewhere sees a mismatch), error lines are
//! prefixed `<3>` and warning lines `<4>`, the sd-daemon(3) convention that
//! journald turns into the record's priority; everything else keeps the
//! unit's default (info). On a terminal, a pipe or a file nothing changes.

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

/// A syslog priority, as sd-daemon(3) writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// `<3>`: an error.
    Error = 3,
    /// `<4>`: a warning.
    Warning = 4,
}

/// Writes `text` to stderr, each of its lines prefixed with `priority` when
/// stderr is the journal.
pub fn eprint(priority: Priority, text: &str) {
    eprintln!("{}", prefixed(priority, text, stderr_is_journal()));
}

/// `text` with every line prefixed `<N>` if `journal`, else unchanged.
pub fn prefixed(priority: Priority, text: &str, journal: bool) -> String {
    if !journal {
        return text.to_string();
    }
    let p = priority as u8;
    text.lines()
        .map(|l| format!("<{p}>{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether our stderr is the stream `JOURNAL_STREAM` names (checked once).
pub fn stderr_is_journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| {
        let Ok(var) = std::env::var("JOURNAL_STREAM") else {
            return false;
        };
        let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
            return false;
        };
        match std::fs::File::from(fd).metadata() {
            Ok(m) => names_stream(&var, m.dev(), m.ino()),
            Err(_) => false,
        }
    })
}

/// Whether `JOURNAL_STREAM`'s value (`DEV:INODE`, decimal) names the file
/// with `dev` and `ino`.
fn names_stream(var: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = var.split_once(':') else {
        return false;
    };
    d.parse() == Ok(dev) && i.parse() == Ok(ino)
}

/// `eprintln!` for a warning: `<4>` on each line in the journal.
macro_rules! warning {
    ($($arg:tt)*) => {
        $crate::journal::eprint($crate::journal::Priority::Warning, &format!($($arg)*))
    };
}

/// `eprintln!` for an error: `<3>` on each line in the journal.
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::journal::eprint($crate::journal::Priority::Error, &format!($($arg)*))
    };
}

pub(crate) use {error, warning};

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 17): no journal priorities. Errors are `<3>`,
    /// warnings `<4>`, on every line, only in the journal.
    #[test]
    fn lines_get_the_priority_only_in_the_journal() {
        assert_eq!(
            prefixed(Priority::Error, "backup: error: boom\n  caused by x", true),
            "<3>backup: error: boom\n<3>  caused by x"
        );
        assert_eq!(
            prefixed(Priority::Warning, "warning: removed a stale lock: l", true),
            "<4>warning: removed a stale lock: l"
        );
        assert_eq!(
            prefixed(Priority::Error, "backup: error: boom", false),
            "backup: error: boom"
        );
    }

    #[test]
    fn journal_stream_must_name_our_stderr() {
        assert!(names_stream("64769:1234", 64769, 1234));
        assert!(!names_stream("64769:1234", 64769, 1235));
        assert!(!names_stream("64769", 64769, 1234));
        assert!(!names_stream("", 0, 0));
    }
}
