//! How many threads a CPU-bound stage (sealing, opening blobs) gets.

use std::thread;

/// Number of worker threads for CPU-bound stages: the machine's
/// parallelism clamped to 1..=8, 2 if unknown.
pub(crate) fn workers() -> usize {
    thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .clamp(1, 8)
}

/// Applies `f` to every item, up to `threads` at a time (for I/O-bound
/// work: as many as the backend's transfers), and returns the results in
/// the items' order.
pub(crate) fn map_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    thread::scope(|s| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { return };
                let r = f(item);
                results
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_parallel_keeps_the_order_of_the_items() {
        let items: Vec<u64> = (0..1000).collect();
        let out = super::map_parallel(&items, 7, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(super::map_parallel(&[] as &[u8], 4, |x| *x).is_empty());
    }
}
