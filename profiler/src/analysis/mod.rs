//! Parallel analysis: how well a multi-threaded run used its threads and
//! cores.
//!
//! [`Profile::parallel_summary`](crate::Profile::parallel_summary) computes a
//! [`ParallelSummary`]: each thread's useful (busy) time, and the POP Centre
//! of Excellence's efficiency metrics for the whole run and for each
//! parallel region (a call of a profiled function that forks and joins work
//! on other threads):
//!
//! - load balance = mean useful time / maximum useful time;
//! - communication (synchronization) efficiency = maximum useful time /
//!   runtime;
//! - parallel efficiency = load balance x communication efficiency;
//!
//! values of 0.8 and above being acceptable. With a timeline it also counts
//! the threads busy at each instant against the cores actually available
//! ([`available_cores`], cgroup-aware) and warns when they oversubscribe
//! them. Its `Display` is the "Parallel summary" text section.
//!
//! ```
//! use profiler::profile::NO_PARENT;
//! use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};
//!
//! let mut meta = Metadata::default();
//! meta.duration_ns = 1_000;
//! meta.available_cores = 4;
//! let sites = vec![SiteInfo::new("chunk", "app", "app.rs", 7)];
//! let worker = |id, busy| ThreadProfile::new(id, format!("w{id}"), 1, vec![Node::new(0, NO_PARENT, 1, busy)]);
//! let p = Profile::new(meta, sites, vec![worker(1, 900), worker(2, 300)]);
//! let s = p.parallel_summary();
//! let e = s.efficiency.unwrap();
//! assert!((e.load_balance - 600.0 / 900.0).abs() < 1e-12);
//! assert!((e.communication - 0.9).abs() < 1e-12);
//! assert!(!s.oversubscribed);
//! ```

mod cores;
mod intervals;
mod parallel;
mod text;

pub use cores::available_cores;
pub(crate) use cores::parse_cpu_list as parse_cpu_list_count;
pub use parallel::{
    ACCEPTABLE_EFFICIENCY, Concurrency, Efficiency, MAX_REGION_CALLS, MAX_REGIONS,
    OVERSUBSCRIPTION_MIN_FRACTION, ParallelSummary, Region, RegionBusy, RegionCall, RuntimeSource,
    ThreadBusy, summarize,
};
