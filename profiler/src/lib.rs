//! An embeddable instrumentation profiler with Python cProfile's exact
//! semantics, and the output formats your tools already read.
//!
//! Put [`#[profile]`](macro@profile) on functions (or a
//! [`profile_scope!`] guard on a block), run the program, and read the
//! report:
//!
//! ```
//! use profiler::profile;
//!
//! #[profile]
//! fn fib(n: u32) -> u64 {
//!     if n < 2 { n as u64 } else { fib(n - 1) + fib(n - 2) }
//! }
//!
//! assert_eq!(fib(20), 6765);
//! let p = profiler::snapshot();
//! let stats = p.stats().sort_by(profiler::SortKey::Cumulative).limit(20);
//! print!("{stats}");
//! let fib_row = stats.function("fib").unwrap();
//! assert_eq!((fib_row.figures.ncalls, fib_row.figures.pcalls), (21891, 1));
//! assert_eq!(p.site(fib_row.site).unwrap().file, file!());
//! ```
//!
//! # What is recorded
//!
//! Each thread keeps a calling-context tree: one node per distinct call path,
//! with its call count and inclusive time. Memory grows with the number of
//! distinct paths, never with the number of calls. A [`snapshot`] reads every
//! thread's tree (from any thread, at any time) into a [`Profile`], whose
//! [`stats`](Profile::stats) are cProfile's: `ncalls`, primitive calls,
//! `tottime` and `cumtime` per function, and the same per caller->callee edge.
//!
//! # Sessions
//!
//! [`Session::from_env`] reads `PROFILER_OUT=dir`; when the session ends
//! every report is written into `dir`, as one set of files renamed into place
//! together. It ends however the program ends: the guard dropped (a return
//! or an unwinding panic), a panic under `panic = "abort"`,
//! `std::process::exit` from any thread, or SIGINT, SIGTERM, SIGHUP and
//! SIGQUIT (the signal is raised again after the write, so the exit status
//! stays the program's). `PROFILER_CHECKPOINT_S` and `PROFILER_DUMP_SIGNAL`
//! write the reports while a long run goes on. The README's "How a run ends"
//! has the details.
//!
//! # Features
//!
//! - `enable` (default): record. Without it `#[profile]` checks its arguments
//!   and returns the item unchanged, and guards are zero-sized no-ops.
//! - `mpi`: MPI programs on rsmpi (see the `mpi` module): rank-aware
//!   sessions gathered to rank 0 over MPI, MPI calls as rows, the MPI
//!   summary. Needs an MPI library and libclang to build.
#![deny(missing_docs)]
#![warn(unreachable_pub)]
// Without `enable` the recorder is still built (snapshots and reports work on
// saved profiles) but nothing calls into its hot path.
#![cfg_attr(
    not(feature = "enable"),
    allow(dead_code, unused_imports, unreachable_pub)
)]

pub mod analysis;
mod clock;
pub mod diff;
pub mod emit;
mod error;
mod fork;
mod fs;
mod hash;
pub mod load;
#[cfg(feature = "mpi")]
pub mod mpi;
mod output;
pub mod profile;
mod recorder;
mod sampler;
mod session;
mod site;
mod snapshot;
pub mod stats;
mod sys;

pub use error::Error;
pub use profile::{
    Children, Metadata, Node, ProbeCost, Profile, Sched, SchedSample, SiteId, SiteInfo, Span,
    ThreadProfile,
};
pub use recorder::{
    TimelineConfig, compensation, is_enabled, set_compensation, set_enabled, set_timeline, timeline,
};
pub use sampler::{
    DEFAULT_SAMPLE_INTERVAL, MAX_SAMPLES, sampler_running, start_sampler, stop_sampler,
};
pub use session::{ENV_OUT, Session, SessionGuard, write_reports};
pub use snapshot::snapshot;
pub use stats::{
    Figures, FunctionKey, FunctionStats, Limit, ParseLimitError, ParseSortKeyError, SortKey, Stats,
};

/// Instruments a function, a method, or every function of an `impl` block.
///
/// ```
/// use profiler::profile;
///
/// struct Grid(Vec<f64>);
///
/// #[profile]
/// impl Grid {
///     fn relax(&mut self) { for x in &mut self.0 { *x *= 0.5; } }
/// }
///
/// #[profile(name = "solve")]
/// fn solve_inner(g: &mut Grid) { g.relax(); }
///
/// let mut g = Grid(vec![1.0; 8]);
/// solve_inner(&mut g);
/// let p = profiler::snapshot();
/// assert!(p.sites.iter().any(|s| s.name == "Grid::relax"));
/// assert!(p.sites.iter().any(|s| s.name == "solve"));
/// ```
///
/// Arguments: `name = "..."` sets the row's name; `crate = path` names this
/// crate when it is re-exported under another path. Every call is one scope;
/// an `async fn` is instrumented per poll (busy time, one call per
/// invocation). A `const fn` or a non-function item is a compile error.
pub use profiler_macros::profile;

/// Profiles a whole program: put it on `main` and a session configured from
/// the environment ([`Session::from_env`]) starts at the top of `main` and
/// ends, writing its reports, when `main` returns (or however the program
/// ends, see [`Session`]). It expands to
/// `let _profiler_session = profiler::Session::from_env().start();` as the
/// first statement, so the session's guard cannot be dropped at once by
/// mistake, as `let _ = Session::from_env().start();` does.
///
/// ```
/// #[profiler::profile]
/// fn work() -> u64 {
///     (0..1000).sum()
/// }
///
/// #[profiler::main]
/// fn main() {
///     // PROFILER_OUT=dir writes the reports into dir when main returns.
///     assert_eq!(work(), 499_500);
/// }
/// ```
///
/// With `#[tokio::main]`, put `#[profiler::main]` below it. The only argument
/// is `crate = path`, for a re-exported `profiler`.
pub use profiler_macros::main;

/// The guard of an open profiled scope; the scope closes when it is dropped.
#[cfg(feature = "enable")]
pub use recorder::Guard;

/// The guard of an open profiled scope: zero-sized, as recording is compiled
/// out (the `enable` feature is off).
#[cfg(not(feature = "enable"))]
#[must_use]
#[derive(Debug)]
pub struct Guard(());

/// Opens a profiled scope named by a string literal; it closes when the
/// returned [`Guard`] is dropped.
///
/// ```
/// {
///     let _g = profiler::profile_scope!("setup");
///     // ... work ...
/// }
/// ```
#[cfg(feature = "enable")]
#[macro_export]
macro_rules! profile_scope {
    ($name:expr $(,)?) => {{
        static __PROFILER_SITE: $crate::__private::Site = $crate::__private::Site::new(
            $crate::__private::SiteName::Literal($name),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        );
        $crate::__private::enter(&__PROFILER_SITE)
    }};
}

/// Opens a profiled scope named by a string literal; compiled out (the
/// `enable` feature is off), it returns a zero-sized guard.
#[cfg(not(feature = "enable"))]
#[macro_export]
macro_rules! profile_scope {
    ($name:expr $(,)?) => {{
        let _: &'static str = $name;
        $crate::__private::noop_guard()
    }};
}

/// Support for the code that `#[profile]` and `profile_scope!` generate.
/// Not part of the public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::site::{Site, SiteName};

    #[cfg(feature = "enable")]
    pub use crate::recorder::{Instrumented, enter};

    /// A guard that records nothing (recording compiled out): what
    /// `profile_scope!` expands to without the `enable` feature.
    #[cfg(not(feature = "enable"))]
    #[inline(always)]
    pub fn noop_guard() -> crate::Guard {
        crate::Guard(())
    }
}
