#![doc = include_str!("../../README.md")]
//!
//! ## The API at a glance
//!
//! The crate's front page is the README, above; these are its entry points:
//!
//! - [`#[profile]`](macro@profile) instruments a function, a method or an
//!   `impl` block, [`profile_scope!`] a block (its [`Guard`] closes the
//!   scope), and [`#[profiler::main]`](macro@main) starts a session for the
//!   whole of `main`.
//! - [`Session`] ([`Session::from_env`] for the `PROFILER_*` variables)
//!   writes every report when it ends, however the program ends;
//!   [`write_reports`] writes them from any [`Profile`].
//! - [`snapshot`] reads every thread's calling-context tree, from any thread
//!   at any time, into a [`Profile`]; [`Profile::stats`] gives cProfile's
//!   figures per function and per caller->callee edge ([`Stats`], sorted by
//!   [`SortKey`]); [`Profile::save`] and [`Profile::load`] keep it as a file.
//! - [`emit::Format`] lists every output format, [`analysis`] the parallel
//!   and MPI summaries, [`diff`] the comparison of two profiles; the `mpi`
//!   module (feature `mpi`) the MPI sessions.
//!
//! The quickstart's `fib`, checked (it runs with `cargo test --doc`):
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
#[cfg(feature = "tracing")]
pub mod tracing;

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

// The re-export's docs are the struct's own (rustdoc would put a doc comment
// here in front of them).
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
        )
        .in_crate(::core::option_env!("CARGO_MANIFEST_DIR"));
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
