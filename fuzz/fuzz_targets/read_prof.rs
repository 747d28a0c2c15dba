//! Fuzzes the `.prof` (marshal) reader and the pstats-to-tree import, then
//! every report of whatever imports.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(import) = profiler::emit::prof::from_bytes(data, Path::new("fuzz.prof")) {
        import
            .profile
            .validate()
            .expect("an imported profile is valid");
        common::exercise(&import.profile);
    }
});
