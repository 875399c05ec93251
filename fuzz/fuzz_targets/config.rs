//! Fuzz target `config`: `backup_core::fuzzing::config` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::config, data);
});
