//! Fuzz target `pack`: `backup_core::fuzzing::pack` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::pack, data);
});
