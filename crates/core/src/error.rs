//! The library's error type. Every variant names the object it is about.

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A backend could not read, write, list or remove an object.
    #[error("storage: {op} {path}")]
    Backend {
        /// The operation, e.g. `read`, `write`, `list`, `connect`.
        op: &'static str,
        /// The object's path or the repository's location.
        path: String,
        /// What the storage reported.
        #[source]
        source: std::io::Error,
    },
    /// An object that should exist is absent.
    #[error("{kind} {name} is missing from the repository")]
    Missing {
        /// The kind of object, e.g. `pack` or `snapshot manifest`.
        kind: &'static str,
        /// Its name in the repository.
        name: String,
    },
    /// No key slot opens with the given passphrase.
    #[error(
        "wrong passphrase: none of the {slots} key slot(s) of repository {repo} opens with it{}",
        unusable_note(unusable)
    )]
    WrongPassphrase {
        /// The repository's location.
        repo: String,
        /// How many key slots were tried.
        slots: usize,
        /// Slots that could not be tried at all (damaged, of another
        /// version or repository), each with why: the slot for this
        /// passphrase may be among them.
        unusable: Vec<String>,
    },
    /// The only key slots that might open with the passphrase ask for more
    /// Argon2id work than the caller accepts from storage.
    #[error("no key slot of repository {repo} opens with this passphrase within the Argon2id limits; not tried: {skipped}. A slot made with --allow-expensive-kdf needs that flag; otherwise the slot was tampered with")]
    KdfTooCostly {
        /// The repository's location.
        repo: String,
        /// Each slot not tried, with the costs over the limit.
        skipped: String,
    },
    /// The repository has no key slot at all.
    #[error("repository at {location} has no key slots (keys/ is empty)")]
    NoKeys {
        /// The repository's location.
        location: String,
    },
    /// There is no repository at this location.
    #[error("no repository at {location}: {reason}")]
    NotARepository {
        /// The location that was opened.
        location: String,
        /// Why it is not a repository, e.g. `it has no config`.
        reason: String,
    },
    /// A repository already exists where `init` was asked to make one.
    #[error("a repository already exists at {location}")]
    AlreadyExists {
        /// The repository's location.
        location: String,
    },
    /// A format version or feature flag this build does not understand.
    #[error("{object}: unsupported {what} {value} (this build of backup knows {known})")]
    Unsupported {
        /// The object that carries it, e.g. `config`.
        object: String,
        /// What kind of value it is, e.g. `feature flag`.
        what: &'static str,
        /// The value found.
        value: String,
        /// The value or values this build knows.
        known: String,
    },
    /// Stored bytes failed authentication or decoding: damage or tampering.
    #[error("{object} is corrupt: {reason}")]
    Corrupt {
        /// The damaged object.
        object: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A restored stream does not match the digest recorded when it was shipped.
    #[error("stream of {snapshot} does not match its recorded digest (expected {expected}, got {actual})")]
    StreamDigest {
        /// The snapshot restored, `pool/ds@snap`.
        snapshot: String,
        /// The recorded digest and length, e.g. `<hex> (<n> bytes)`.
        expected: String,
        /// The digest and length of the stream restored, in the same form.
        actual: String,
    },
    /// A `zfs send` stream was refused before it was recorded.
    #[error("stream of {snapshot} is not a complete zfs send stream: {reason}")]
    BadStream {
        /// The snapshot whose stream it was.
        snapshot: String,
        /// What is wrong with the stream.
        reason: String,
    },
    /// A snapshot in the repository cannot be found by the given text.
    #[error("no snapshot in the repository matches {query:?}")]
    SnapshotNotFound {
        /// The text given.
        query: String,
    },
    /// The text names several snapshots.
    #[error("{query:?} matches {count} snapshots in the repository; give a longer id")]
    Ambiguous {
        /// The text given.
        query: String,
        /// How many snapshots it matches.
        count: usize,
    },
    /// An incremental's base is not in the repository.
    #[error("chain of {snapshot} is broken: base snapshot with guid {base_guid} is not in the repository")]
    BrokenChain {
        /// The snapshot whose chain was followed.
        snapshot: String,
        /// The zfs guid of the missing base snapshot.
        base_guid: u64,
    },
    /// Invalid parameters given by the caller.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was given, e.g. `chunker parameters`.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// A zfs command failed.
    #[error(transparent)]
    Zfs(#[from] backup_zfs::ZfsError),
    /// Reading the stream or writing the restored stream failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The failed read or write.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds a conflicting repository lock.
    #[error("repository {location} is locked: {holder}")]
    RepositoryLocked {
        /// The repository's location.
        location: String,
        /// Who holds the lock, as its lock describes it.
        holder: String,
    },
    /// Our own repository lock could not be refreshed in time: others may
    /// have taken it over, so nothing destructive may follow.
    #[error("lost the lock on repository {location}: {reason}")]
    LockLost {
        /// The repository's location.
        location: String,
        /// Why the lock could not be refreshed.
        reason: String,
    },
    /// The operation was interrupted by the caller.
    #[error("interrupted")]
    Interrupted,
    /// A storage operation kept failing with transient errors (a reset
    /// connection, a timeout, a 5xx, throttling) until the retries ran out.
    ///
    /// The last error is shown with its causes (what the server said, e.g.
    /// Garage's "Could not reach quorum"): it is not this error's `source`,
    /// so `{:#}` would otherwise stop at its first line.
    #[error("storage: {op} {object}: gave up after {attempts} attempts over {}s; last error: {}", elapsed.as_secs(), with_causes(last))]
    GaveUp {
        /// The operation, e.g. `write`.
        op: &'static str,
        /// The object and the repository, `<path> on <location>`.
        object: String,
        /// How many attempts were made.
        attempts: u32,
        /// The time from the first attempt to giving up.
        elapsed: std::time::Duration,
        /// The error of the last attempt.
        last: Box<Error>,
    },
    /// An SSH server's host key is not the one known for it (or none is).
    #[error("host key of {host} {problem}: the server offers {fingerprint}. {advice}")]
    HostKey {
        /// The server as `known_hosts` names it: `host`, or `[host]:port`.
        host: String,
        /// What is wrong: `has CHANGED since it was recorded` or `is not known`.
        problem: &'static str,
        /// The fingerprint(s) of the key the server offers.
        fingerprint: String,
        /// What the user can do about it.
        advice: String,
    },
}

/// The tail of a wrong-passphrase message naming the slots not tried.
fn unusable_note(unusable: &[String]) -> String {
    if unusable.is_empty() {
        String::new()
    } else {
        format!(
            ", or the slot for it is damaged: {} could not be tried ({})",
            unusable.len(),
            unusable.join("; ")
        )
    }
}

/// An error and its causes on one line, `: ` between them (as `anyhow`'s
/// `{:#}` prints a chain).
fn with_causes(e: &Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Shorthand for the library's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn corrupt(object: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Corrupt {
            object: object.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// True if the same operation may succeed when tried again: a storage
    /// error whose cause is the connection, a timeout, an overloaded or
    /// throttling server, never a refusal or a missing object.
    pub fn is_transient(&self) -> bool {
        use std::io::ErrorKind as K;
        match self {
            Error::Backend { source, .. } => matches!(
                source.kind(),
                K::ConnectionReset
                    | K::ConnectionAborted
                    | K::ConnectionRefused
                    | K::NotConnected
                    | K::BrokenPipe
                    | K::TimedOut
                    | K::UnexpectedEof
                    | K::Interrupted
                    | K::WouldBlock
                    | K::ResourceBusy
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::NetworkDown
            ),
            _ => false,
        }
    }

    /// True if the storage refused a write because the location cannot be
    /// written at all: a read-only file system (a NAS mounted read-only, a
    /// snapshot of it) or no permission (a read-only account or key). Such
    /// errors are never retried, so they are never inside a
    /// [`Error::GaveUp`].
    pub fn is_unwritable(&self) -> bool {
        use std::io::ErrorKind as K;
        matches!(
            self,
            Error::Backend { source, .. }
                if matches!(source.kind(), K::ReadOnlyFilesystem | K::PermissionDenied)
        )
    }

    /// True if the error means the repository's data is damaged (as opposed
    /// to a missing service, a wrong argument or a wrong passphrase).
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            Error::Corrupt { .. }
                | Error::StreamDigest { .. }
                | Error::BrokenChain { .. }
                | Error::Missing { .. }
        )
    }
}
