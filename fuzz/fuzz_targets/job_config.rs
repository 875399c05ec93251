//! Fuzz target `job_config`: the configuration file (TOML) through
//! `backup_ops::config::parse`, which must report every mistake as a
//! `ConfigError`, never panic. Input that is not UTF-8 is what
//! `config::load` refuses before parsing, so it is skipped here.
#![no_main]

use std::path::Path;

fn job_config(data: &[u8]) -> bool {
    std::str::from_utf8(data)
        .is_ok_and(|text| backup_ops::config::parse(Path::new("fuzz.toml"), text).is_ok())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backup_fuzz::drive(job_config, data);
});
