//! `workloads list`: the workloads, their modes, and whether this build is
//! instrumented.

use workloads::{INSTRUMENTED, Workload};

/// Prints the list.
pub(crate) fn list() {
    println!(
        "instrumented: {INSTRUMENTED} (profiler {})",
        if INSTRUMENTED {
            "enabled: #[profile] records"
        } else {
            "compiled out: built with --no-default-features"
        }
    );
    for w in Workload::ALL {
        let modes: Vec<&str> = w.modes().iter().map(|m| m.name()).collect();
        println!("{:<10} {:<32} {}", w.name(), modes.join(" "), w.describe());
    }
}
