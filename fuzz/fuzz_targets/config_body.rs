//! Fuzz target `config_body`: `backup_core::fuzzing::config_body` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::config_body, data);
});
