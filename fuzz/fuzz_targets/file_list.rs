//! Fuzz target `file_list`: `backup_core::fuzzing::file_list` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::file_list, data);
});
