//! Fuzz target `key_slot`: `backup_core::fuzzing::key_slot` says what the input is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(backup_core::fuzzing::key_slot, data);
});
