//! The library's error type. Every variant names the object it is about.

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A backend could not read, write, list or remove an object.
    #[error("storage: {op} {path}")]
    Backend {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An object that should exist is absent.
    #[error("{kind} {name} is missing from the repository")]
    Missing { kind: &'static str, name: String },
    /// No key slot opens with the given passphrase.
    #[error(
        "wrong passphrase: none of the {slots} key slot(s) of repository {repo} opens with it"
    )]
    WrongPassphrase { repo: String, slots: usize },
    /// The repository has no key slot at all.
    #[error("repository at {location} has no key slots (keys/ is empty)")]
    NoKeys { location: String },
    /// There is no repository at this location.
    #[error("no repository at {location}: {reason}")]
    NotARepository { location: String, reason: String },
    /// A repository already exists where `init` was asked to make one.
    #[error("a repository already exists at {location}")]
    AlreadyExists { location: String },
    /// A format version or feature flag this build does not understand.
    #[error("{object}: unsupported {what} {value} (this build of backup knows {known})")]
    Unsupported {
        object: String,
        what: &'static str,
        value: String,
        known: String,
    },
    /// Stored bytes failed authentication or decoding: damage or tampering.
    #[error("{object} is corrupt: {reason}")]
    Corrupt { object: String, reason: String },
    /// A restored stream does not match the digest recorded when it was shipped.
    #[error("stream of {snapshot} does not match its recorded digest (expected {expected}, got {actual})")]
    StreamDigest {
        snapshot: String,
        expected: String,
        actual: String,
    },
    /// A `zfs send` stream was refused before it was recorded.
    #[error("stream of {snapshot} is not a complete zfs send stream: {reason}")]
    BadStream { snapshot: String, reason: String },
    /// A snapshot in the repository cannot be found by the given text.
    #[error("no snapshot in the repository matches {query:?}")]
    SnapshotNotFound { query: String },
    /// The text names several snapshots.
    #[error("{query:?} matches {count} snapshots in the repository; give a longer id")]
    Ambiguous { query: String, count: usize },
    /// An incremental's base is not in the repository.
    #[error("chain of {snapshot} is broken: base snapshot with guid {base_guid} is not in the repository")]
    BrokenChain { snapshot: String, base_guid: u64 },
    /// Invalid parameters given by the caller.
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    /// A zfs command failed.
    #[error(transparent)]
    Zfs(#[from] backup_zfs::ZfsError),
    /// Reading the stream or writing the restored stream failed.
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Another process holds a conflicting repository lock.
    #[error("repository {location} is locked: {holder}")]
    RepositoryLocked { location: String, holder: String },
    /// Our own repository lock could not be refreshed in time: others may
    /// have taken it over, so nothing destructive may follow.
    #[error("lost the lock on repository {location}: {reason}")]
    LockLost { location: String, reason: String },
    /// The operation was interrupted by the caller.
    #[error("interrupted")]
    Interrupted,
    /// A storage operation kept failing with transient errors (a reset
    /// connection, a timeout, a 5xx, throttling) until the retries ran out.
    #[error("storage: {op} {object}: gave up after {attempts} attempts over {}s; last error: {last}", elapsed.as_secs())]
    GaveUp {
        op: &'static str,
        object: String,
        attempts: u32,
        elapsed: std::time::Duration,
        last: Box<Error>,
    },
    /// An SSH server's host key is not the one known for it (or none is).
    #[error("host key of {host} {problem}: the server offers {fingerprint}. {advice}")]
    HostKey {
        host: String,
        problem: &'static str,
        fingerprint: String,
        advice: String,
    },
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
