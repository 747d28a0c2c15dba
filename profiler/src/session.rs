//! Profiling sessions: start recording, and write the configured reports when
//! the session ends.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::profile::Profile;

/// The environment variable naming the output directory. `%p` in it is
/// replaced by the process id (`PROFILER_OUT=out/%p`), so that every process
/// of a multi-process run writes its own reports.
pub const ENV_OUT: &str = "PROFILER_OUT";

/// `dir` with every `%p` replaced by this process's id.
fn with_pid(dir: PathBuf) -> PathBuf {
    match dir.to_str() {
        Some(s) if s.contains("%p") => {
            PathBuf::from(s.replace("%p", &std::process::id().to_string()))
        }
        _ => dir,
    }
}

/// Configuration of a profiling session; [`Session::start`] begins it.
///
/// ```no_run
/// let _session = profiler::Session::from_env().start(); // PROFILER_OUT=dir
/// // ... the program ...
/// // when `_session` is dropped, the reports are written to `dir`.
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Session {
    /// Where the reports go when the session ends. Default is none (nothing is written).
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
    /// (see [`Profile::compensate`]). Default is false;
    /// `PROFILER_COMPENSATE=1` sets it. The cost is measured at the start of
    /// every session and recorded in the profile either way.
    pub compensate: bool,
}

impl Session {
    /// A session that writes nothing unless told to.
    pub fn new() -> Self {
        Session::default()
    }

    /// A session configured from the environment: `PROFILER_OUT=dir` writes
    /// every report into `dir` when the session ends (`%p` in `dir` becomes
    /// the process id).
    pub fn from_env() -> Self {
        let mut s = Session::new();
        if let Some(dir) = std::env::var_os(ENV_OUT).filter(|d| !d.is_empty()) {
            s.output_dir = Some(with_pid(PathBuf::from(dir)));
        }
        s.callgrind_per_thread =
            std::env::var_os("PROFILER_CALLGRIND_THREADS").is_some_and(|v| v == "1");
        let min_ns = std::env::var("PROFILER_TIMELINE_MIN_NS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        if std::env::var_os("PROFILER_TIMELINE").is_some_and(|v| v == "1") || min_ns.is_some() {
            let mut cfg = crate::TimelineConfig::default();
            if let Some(ns) = min_ns {
                cfg = cfg.min_duration(std::time::Duration::from_nanos(ns));
            }
            s.timeline = Some(cfg);
        }
        s.compensate = std::env::var_os("PROFILER_COMPENSATE").is_some_and(|v| v == "1");
        s
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
        self
    }

    /// Starts recording (it is on unless [`set_enabled`](crate::set_enabled)
    /// turned it off) and returns the guard that ends the session.
    pub fn start(self) -> SessionGuard {
        crate::snapshot::mark_start();
        crate::set_enabled(true);
        if let Some(cfg) = &self.timeline {
            crate::set_timeline(Some(cfg.clone()));
        }
        crate::recorder::calibrate_now();
        crate::set_compensation(self.compensate);
        // Runnable threads and CPU time over the run, for the parallel summary.
        crate::start_sampler(crate::DEFAULT_SAMPLE_INTERVAL);
        SessionGuard { config: Some(self) }
    }
}

/// A running session. Dropping it ends the session and writes the reports
/// (errors go to standard error as one line); [`SessionGuard::finish`] does
/// the same and returns the profile or the error.
#[must_use = "the session ends, and its reports are written, when this guard is dropped"]
#[derive(Debug)]
pub struct SessionGuard {
    config: Option<Session>,
}

impl SessionGuard {
    /// Ends the session: takes a snapshot, writes the configured reports and
    /// returns the profile.
    pub fn finish(mut self) -> Result<Profile, Error> {
        match self.config.take() {
            Some(cfg) => end(&cfg),
            None => Ok(crate::snapshot()),
        }
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(cfg) = self.config.take() {
            if let Err(e) = end(&cfg) {
                eprintln!("profiler: {e}");
            }
        }
    }
}

fn end(cfg: &Session) -> Result<Profile, Error> {
    crate::stop_sampler();
    let mut profile = crate::snapshot();
    profile.parallel = Some(profile.parallel_summary());
    if cfg.print_report {
        eprint!("{}", profile.stats().sort_by(crate::SortKey::Cumulative));
        if let Some(section) = profile.parallel_section() {
            eprint!("{section}");
        }
    }
    if let Some(dir) = &cfg.output_dir {
        write_reports(&profile, dir)?;
        if cfg.callgrind_per_thread {
            let threads = dir.join("threads");
            std::fs::create_dir_all(&threads).map_err(|e| Error::io(&threads, e))?;
            profile.write_callgrind_per_thread(&threads)?;
        }
    }
    Ok(profile)
}

/// Writes every report of `profile` into `dir` (created if needed), each file
/// atomically: `profile.json` (the profile itself, for [`Profile::load`] and
/// the `profiler` command), `pstats.txt`, `profile.prof`, `callgrind.out` and
/// `flamegraph.svg`; when a timeline was recorded, also `trace.json`
/// (Chrome trace events), `speedscope.json`, `flamechart.svg` and
/// `trace.prv`/`trace.pcf`/`trace.row` (Paraver). Returns the paths written.
pub fn write_reports(profile: &Profile, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    type Writer = fn(&Profile, &Path) -> Result<(), Error>;
    let mut outputs: Vec<(&str, Writer)> = vec![
        ("profile.json", |p, path| p.save(path)),
        ("pstats.txt", Profile::write_pstats_text),
        ("profile.prof", Profile::write_prof),
        ("callgrind.out", Profile::write_callgrind),
        ("flamegraph.svg", Profile::write_flamegraph),
    ];
    let timeline = profile.threads.iter().any(|t| !t.timeline.is_empty());
    if timeline {
        outputs.extend([
            ("trace.json", Profile::write_chrome_trace as Writer),
            ("speedscope.json", Profile::write_speedscope),
            ("flamechart.svg", Profile::write_flame_chart),
        ]);
    }
    let mut written = Vec::new();
    for (name, write) in outputs {
        let path = dir.join(name);
        write(profile, &path)?;
        written.push(path);
    }
    if timeline {
        profile.write_paraver(dir)?;
        written.extend(crate::emit::paraver::paths(dir));
    }
    Ok(written)
}

impl Profile {
    /// Writes the pstats text report (sorted by cumulative time, then the
    /// "Parallel summary" when more than one thread worked or a timeline was
    /// recorded, then the callers and callees) to `path`, atomically.
    pub fn write_pstats_text(&self, path: &Path) -> Result<(), Error> {
        let stats = self
            .stats()
            .sort_by(crate::SortKey::Cumulative)
            .time_note(true);
        let section = self
            .parallel_section()
            .map(|s| format!("{s}\n"))
            .unwrap_or_default();
        crate::emit::write_atomic(path, |w| {
            write!(w, "{stats}{section}{}{}", stats.callers(), stats.callees())?;
            Ok(())
        })
    }

    /// The parallel summary (the stored one, or computed now) when it has
    /// something to say: more than one thread did work, or a timeline exists.
    pub fn parallel_section(&self) -> Option<crate::analysis::ParallelSummary> {
        let summary = self
            .parallel
            .clone()
            .unwrap_or_else(|| self.parallel_summary());
        (summary.is_parallel() || summary.concurrency.from_timeline).then_some(summary)
    }
}
