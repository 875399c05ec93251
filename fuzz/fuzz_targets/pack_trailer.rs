//! Fuzz target `pack_trailer`: `backup_core::fuzzing::pack_trailer` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::pack_trailer, data);
});
