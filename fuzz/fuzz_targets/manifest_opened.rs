//! Fuzz target `manifest_opened`: `backup_core::fuzzing::manifest_opened` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::manifest_opened, data);
});
