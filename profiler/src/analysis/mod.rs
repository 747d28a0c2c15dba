//! Parallel analysis: how well a multi-threaded run used its threads and
//! cores.
//!
//! [`Profile::parallel_summary`](crate::Profile::parallel_summary) computes a
//! [`ParallelSummary`]: each thread's profiled time and, where the operating
//! system tells it, its time on a CPU, and the POP Centre of Excellence's
//! efficiency metrics for each parallel region (a call of a profiled
//! function that hands work to other threads and waits for it) and for the
//! whole run over the regions' workers:
//!
//! - load balance = mean useful time / maximum useful time;
//! - communication (synchronization) efficiency = maximum useful time /
//!   runtime;
//! - parallel efficiency = load balance x communication efficiency;
//!
//! values of 0.8 and above being acceptable. Useful time is time on a CPU
//! inside profiled scopes: a thread blocked in `join` waits, it does not
//! work. A sampler thread ([`start_sampler`](crate::start_sampler), started
//! by a session) counts the runnable threads of the process and of the
//! machine against the cores ([`available_cores`], cgroup-aware), and the
//! summary warns of each kind of oversubscription with its evidence. Its
//! `Display` is the "Parallel summary" text section.
//!
//! ```
//! use profiler::profile::NO_PARENT;
//! use profiler::{Metadata, Node, Profile, SiteInfo, Span, ThreadProfile};
//!
//! let mut meta = Metadata::default();
//! meta.duration_ns = 1_000;
//! meta.available_cores = 4;
//! let sites = vec![SiteInfo::new("run", "app", "app.rs", 3), SiteInfo::new("chunk", "app", "app.rs", 7)];
//! // `main` calls `run` for 1000 ns, which forks two workers and waits.
//! let main = ThreadProfile::new(1, "main", 1, vec![Node::new(0, NO_PARENT, 1, 1_000)])
//!     .with_timeline(vec![Span::new(0, 0, 1_000)], 0);
//! let worker = |id, busy| {
//!     ThreadProfile::new(id, format!("w{id}"), 1, vec![Node::new(1, NO_PARENT, 1, busy)])
//!         .with_timeline(vec![Span::new(1, 50, busy)], 0)
//! };
//! let p = Profile::new(meta, sites, vec![main, worker(2, 900), worker(3, 300)]);
//! let s = p.parallel_summary();
//! assert_eq!(s.regions[0].name, "run");
//! let e = s.efficiency.unwrap();
//! assert_eq!(e.workers, 2);
//! assert!((e.load_balance - 600.0 / 900.0).abs() < 1e-12);
//! assert!((e.communication - 0.9).abs() < 1e-12);
//! assert!(!s.oversubscribed);
//! ```

pub mod bounds;
mod cpu;
mod intervals;
mod mpi;
mod parallel;
mod text;

pub use crate::profile::{
    Concurrency, Efficiency, Oversubscription, OversubscriptionKind, ParallelSummary, Region,
    RegionBusy, RegionCall, RuntimeSource, SchedSummary, ThreadBusy,
};
pub use crate::sys::available_cores;
pub use bounds::{BoundFunction, Bounds, Finding, FindingKind};
pub use cpu::{MIN_SCHED_SAMPLES, OVERSUBSCRIBED_SAMPLE_FRACTION, WAITING_BLOCKED_FRACTION};
pub use mpi::{CallSite, CommMatrix, HybridEfficiency, LateSender, MPI_TOP, MpiSummary, RankTimes};
pub use parallel::{
    ACCEPTABLE_EFFICIENCY, MAX_REGION_CALLS, MAX_REGIONS, OVERSUBSCRIPTION_MIN_FRACTION, summarize,
};

/// A duration for people: `1.234 s`, `5.678 ms`, `9.012 us` or `345 ns`, as
/// the text reports print it.
pub fn duration_text(ns: u64) -> String {
    text::duration(ns)
}
