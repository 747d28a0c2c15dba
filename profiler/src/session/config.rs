//! What a session is asked to do: where its reports go, what it records,
//! and which endings and checkpoints write them.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable naming the output directory (see
/// [`ENV_OUT`](crate::ENV_OUT)).
pub(crate) const OUT: &str = "PROFILER_OUT";

/// Configuration of a profiling session; [`Session::start`] begins it.
///
/// ```no_run
/// let _session = profiler::Session::from_env().start(); // PROFILER_OUT=dir
/// // ... the program ...
/// // when `_session` is dropped, the reports are written to `dir`; also when
/// // the program calls `process::exit`, panics, or gets SIGINT or SIGTERM.
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Session {
    /// Where the reports go when the session ends. Default is none (nothing
    /// is written). A relative path is resolved when the session starts;
    /// `%p` becomes the writing process's id and `%%` a `%`.
    pub output_dir: Option<PathBuf>,
    /// Print the pstats table to standard error when the session ends.
    /// Default is false.
    pub print_report: bool,
    /// Also write one callgrind file per thread (`threads/callgrind.out.<pid>-<n>`,
    /// in a subfolder because KCacheGrind loads every file that starts with the
    /// name it opens). Default is false; `PROFILER_CALLGRIND_THREADS=1` sets it.
    pub callgrind_per_thread: bool,
    /// Record a timeline of scopes for the trace formats. Default is none
    /// (off); `PROFILER_TIMELINE=1` turns it on with the default settings and
    /// `PROFILER_TIMELINE_MIN_NS=n` sets the minimum scope duration.
    pub timeline: Option<crate::TimelineConfig>,
    /// Subtract the probe's measured cost per call from tottime and cumtime
    /// (see [`Profile::compensate`](crate::Profile::compensate)). Default is false;
    /// `PROFILER_COMPENSATE=1` sets it. The cost is measured at the start of
    /// every session and recorded in the profile either way.
    pub compensate: bool,
    /// Write the reports when SIGINT, SIGTERM, SIGHUP or SIGQUIT ends the
    /// program, then end it as the signal would have. Only signals whose
    /// action is the default when the first session starts are watched: a
    /// program that handles a signal itself keeps it. Default is true;
    /// `PROFILER_SIGNALS=0` turns it off.
    pub signals: bool,
    /// Write the reports every this often while the program runs, so that a
    /// run killed outright (SIGKILL at a batch system's wall-time limit)
    /// keeps the last checkpoint. Default is none; `PROFILER_CHECKPOINT_S=n`
    /// sets it in seconds.
    pub checkpoint_every: Option<Duration>,
    /// Write the reports, and keep running, when this signal arrives
    /// (SIGUSR1 or SIGUSR2, as a number). Default is none;
    /// `PROFILER_DUMP_SIGNAL=USR1` sets it.
    pub dump_signal: Option<i32>,
    /// Problems found in the environment, printed when the session starts.
    pub(super) problems: Vec<String>,
    /// Whether `output_dir` came from `PROFILER_OUT` (for messages).
    pub(super) output_from_env: bool,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            output_dir: None,
            print_report: false,
            callgrind_per_thread: false,
            timeline: None,
            compensate: false,
            signals: true,
            checkpoint_every: None,
            dump_signal: None,
            problems: Vec::new(),
            output_from_env: false,
        }
    }
}

impl Session {
    /// A session that writes nothing unless told to.
    pub fn new() -> Self {
        Session::default()
    }

    /// Subtracts the probe's cost from the times (see [`Session::compensate`]).
    pub fn compensate(mut self, on: bool) -> Self {
        self.compensate = on;
        self
    }

    /// Records a timeline with `config` (see [`TimelineConfig`](crate::TimelineConfig)).
    pub fn timeline(mut self, config: crate::TimelineConfig) -> Self {
        self.timeline = Some(config);
        self
    }

    /// Writes the reports into `dir` when the session ends.
    pub fn output_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.output_dir = Some(dir.into());
        self.output_from_env = false;
        self
    }

    /// Whether signals write the reports (see [`Session::signals`]).
    pub fn signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// Writes checkpoints every `every` (see [`Session::checkpoint_every`]).
    pub fn checkpoint_every(mut self, every: Duration) -> Self {
        self.checkpoint_every = Some(every.max(Duration::from_millis(10)));
        self
    }

    /// Writes the reports when `signal` arrives (see [`Session::dump_signal`]).
    pub fn dump_signal(mut self, signal: i32) -> Self {
        self.dump_signal = Some(signal);
        self
    }

    /// The name of the output setting, for messages.
    pub(super) fn output_setting(&self, dir: &Path) -> String {
        if self.output_from_env {
            format!("{OUT}={}", dir.display())
        } else {
            format!("output directory {}", dir.display())
        }
    }
}
