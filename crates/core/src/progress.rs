//! Progress reporting: the library calls this trait, the CLI draws it.

/// Receives progress of a long operation. Implementations must be cheap and
/// thread-safe: pipeline threads call [`advance`](Progress::advance).
pub trait Progress: Sync {
    /// A phase starts; `total` bytes if known.
    fn begin(&self, _label: &str, _total: Option<u64>) {}
    /// `bytes` more were processed.
    fn advance(&self, _bytes: u64) {}
    /// The phase ended.
    fn end(&self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
