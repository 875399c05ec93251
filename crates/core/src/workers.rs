//! How many threads a CPU-bound stage (sealing, opening blobs) gets.

use std::thread;

/// Number of worker threads for CPU-bound stages: the machine's
/// parallelism clamped to 1..=8, 2 if unknown.
pub(crate) fn workers() -> usize {
    thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .clamp(1, 8)
}
