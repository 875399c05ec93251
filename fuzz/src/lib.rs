//! What every fuzz target shares: an allocator that refuses any single
//! allocation above [`MAX_ALLOCATION`], so that a decoder sizing a buffer
//! from a length it has not checked fails the run (libFuzzer sees the
//! abort and keeps the input) even without a sanitizer, whose malloc
//! limit needs nightly.
//!
//! Every target passes its input through [`drive`], which links this
//! crate, and with it the allocator, into the target.

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation a decoder may make from a fuzz input
/// (inputs are at most 16 KiB, which zstd inflates to at most 512 MiB):
/// a length read from the input and not checked, typically a u32 or u64
/// near its maximum, asks for more.
pub const MAX_ALLOCATION: usize = 1 << 30;

/// The system allocator, failing allocations above [`MAX_ALLOCATION`]
/// (Rust then aborts with "memory allocation of N bytes failed").
struct Capped;

// SAFETY: forwards to `System` unchanged, or returns null, which
// `GlobalAlloc` allows for a failed allocation.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

/// Runs one target's driver on one input.
pub fn drive(driver: fn(&[u8]) -> bool, data: &[u8]) {
    driver(data);
}
