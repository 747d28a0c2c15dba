//! Fuzzes `load::from_bytes` on JSON (what `Profile::load` and the CLI use on a
//! `profile.json`), then every report of whatever loads.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = profiler::load::from_bytes(data, Path::new("fuzz.json")).map(|l| l.profile) {
        common::exercise(&p);
    }
});
