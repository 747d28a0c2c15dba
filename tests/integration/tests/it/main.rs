//! The integration tests: one test binary (`cargo test -p integration --test
//! it`), a module per area, with the fixtures they share in the crate's
//! library (`src/lib.rs`).
//!
//! The modules' tests run as threads of one process. Those that change the
//! profiler's process-wide state, count what the whole process did or check
//! a snapshot of all of it run in a process of their own
//! (`integration::ran_in_own_process`); the others read only their own
//! threads and call sites.

mod calibration;
mod callgrind_readers;
mod compensation;
mod compensation_tiny;
mod cprofile_twin;
mod endings;
mod flamegraph_svg;
mod fork;
mod gprof2dot_pstats;
mod late_destructors;
mod macro_shapes;
mod many_threads;
#[cfg(feature = "mpi")]
mod mpi;
mod parallel_summary;
mod prof_roots;
mod pstats_python;
mod recorder;
mod runtime_switch;
mod saved_profiles;
mod session_guard;
mod signal_handler;
mod test_command;
mod timeline;
mod tracing_bridge;
mod ui;
mod waiting_is_not_work;
