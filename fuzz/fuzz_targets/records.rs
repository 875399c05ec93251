//! Fuzz target `records`: `backup_core::fuzzing::records` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::records, data);
});
