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
    if cfg!(feature = "mpi") {
        println!("\nMPI modes (under mpiexec: mpiexec -n 2 workloads run NAME --mode MODE):");
        for w in Workload::ALL
            .into_iter()
            .filter(|w| !w.mpi_modes().is_empty())
        {
            let modes: Vec<&str> = w.mpi_modes().iter().map(|m| m.name()).collect();
            println!("{:<10} {}", w.name(), modes.join(" "));
        }
    }
}
