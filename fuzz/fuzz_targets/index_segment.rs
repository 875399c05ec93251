//! Fuzz target `index_segment`: `backup_core::fuzzing::index_segment` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::index_segment, data);
});
