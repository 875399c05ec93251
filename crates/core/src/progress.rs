//! Progress reporting: the library calls this trait, the CLI draws it.

/// Receives progress of a long operation. Implementations must be cheap and
/// thread-safe: pipeline threads call [`advance`](Progress::advance).
///
/// A phase counts bytes ([`begin`](Progress::begin)) or items of one kind
/// ([`begin_items`](Progress::begin_items): packs, files); `advance` and
/// `end` count in the unit the phase began with.
pub trait Progress: Sync {
    /// A phase counting bytes starts; `total` bytes if known.
    fn begin(&self, _label: &str, _total: Option<u64>) {}
    /// A phase counting items starts: `total` of them if known, `noun` their
    /// plural ("packs"), for the reader.
    fn begin_items(&self, _label: &str, _total: Option<u64>, _noun: &'static str) {}
    /// `n` more bytes (or items) were processed.
    fn advance(&self, _n: u64) {}
    /// `n` more bytes left for the repository (a pack written, as stored).
    /// A ship reads the stream ([`advance`](Progress::advance)) ahead of
    /// its uploads; this is the rate a bandwidth limit holds to.
    fn sent(&self, _n: u64) {}
    /// The phase ended.
    fn end(&self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
