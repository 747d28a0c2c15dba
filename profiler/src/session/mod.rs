//! Profiling sessions: start recording, and write the configured reports
//! however the run ends (see [`endings`] and the README's "How a run ends").

mod endings;
mod env;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::Error;
use crate::fs::FileSet;
use crate::profile::Profile;
use crate::snapshot::Baseline;

pub(crate) use endings::{Ending, fork_child, fork_prepare};

/// The environment variable naming the output directory. `%p` in it is
/// replaced by the id of the process that writes the reports, and `%%` by
/// `%` (`PROFILER_OUT=out/%p`), so that every process of a multi-process run
/// writes its own reports. A relative path is taken from the directory the
/// program was in when the session started.
pub const ENV_OUT: &str = env::OUT;

/// `dir` with every `%p` replaced by this process's id and `%%` by `%`.
fn expand_pid(dir: &Path) -> PathBuf {
    let pid = std::process::id().to_string();
    let bytes = dir.as_os_str().as_encoded_bytes();
    if !bytes.contains(&b'%') {
        return dir.to_path_buf();
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'%', Some(b'p')) => {
                out.extend_from_slice(pid.as_bytes());
                i += 2;
            }
            (b'%', Some(b'%')) => {
                out.push(b'%');
                i += 2;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    // SAFETY-free: the bytes are the original encoded bytes with ASCII
    // substitutions at ASCII boundaries, which keeps them a valid encoding.
    PathBuf::from(os_string_from(out, dir))
}

#[cfg(unix)]
fn os_string_from(bytes: Vec<u8>, _original: &Path) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(bytes)
}

#[cfg(not(unix))]
fn os_string_from(bytes: Vec<u8>, original: &Path) -> std::ffi::OsString {
    String::from_utf8(bytes)
        .map(Into::into)
        .unwrap_or_else(|_| original.as_os_str().to_owned())
}

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
    /// (see [`Profile::compensate`]). Default is false;
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
    problems: Vec<String>,
    /// Whether `output_dir` came from `PROFILER_OUT` (for messages).
    output_from_env: bool,
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

    /// A session configured from the environment: `PROFILER_OUT=dir` writes
    /// every report into `dir` when the session ends (`%p` in `dir` becomes
    /// the process id); the README lists the other `PROFILER_*` variables.
    /// A value that cannot be used is reported, one line naming the variable
    /// and the fix, when the session starts.
    pub fn from_env() -> Self {
        env::from_env()
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
    fn output_setting(&self, dir: &Path) -> String {
        if self.output_from_env {
            format!("{ENV_OUT}={}", dir.display())
        } else {
            format!("output directory {}", dir.display())
        }
    }

    /// Starts the session and returns the guard that ends it.
    ///
    /// The session reports only what runs from now on (counters are taken
    /// now and subtracted at the end, so a second session does not repeat the
    /// first one's calls). Recording stays off if
    /// [`set_enabled(false)`](crate::set_enabled) turned it off. A relative
    /// output directory is resolved now, and problems with the settings are
    /// printed now, one line each.
    pub fn start(mut self) -> SessionGuard {
        for p in std::mem::take(&mut self.problems) {
            eprintln!("profiler: {p}");
        }
        let mut out_problem = None;
        if let Some(dir) = self.output_dir.take() {
            let dir = if dir.is_relative() {
                std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(&dir))
            } else {
                dir
            };
            let now = expand_pid(&dir);
            if now.exists() && !now.is_dir() {
                let problem = format!(
                    "{}: names a file, not a directory; point it at a directory (created if missing)",
                    self.output_setting(&now)
                );
                eprintln!("profiler: {problem}; no reports will be written");
                out_problem = Some(problem);
            }
            self.output_dir = Some(dir);
        }
        crate::snapshot::mark_start();
        if let Some(cfg) = &self.timeline {
            crate::set_timeline(Some(cfg.clone()));
        }
        crate::recorder::calibrate_now();
        crate::set_compensation(self.compensate);
        // Runnable threads and CPU time over the run, for the parallel summary.
        crate::start_sampler(crate::DEFAULT_SAMPLE_INTERVAL);
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        crate::fork::install();
        if self.output_dir.is_some() || self.print_report {
            endings::install(&self);
        }
        let active = Active {
            id,
            config: self,
            out_problem,
            baseline: Arc::new(crate::snapshot::baseline()),
        };
        endings::ACTIVE.lock().push(active);
        SessionGuard { id, ended: false }
    }
}

/// A running session, as the endings see it.
#[derive(Clone, Debug)]
pub(crate) struct Active {
    id: u64,
    config: Session,
    /// Why the reports cannot be written (checked at the start).
    out_problem: Option<String>,
    baseline: Arc<Baseline>,
}

impl Active {
    /// In a forked child: the session counts from the fork (the recorder
    /// already subtracts the parent's calls).
    fn restart_in_fork_child(&mut self) {
        self.baseline = Arc::new(Baseline::empty_now());
    }

    /// Takes the session's profile and writes its reports: at an `ending`,
    /// or while the program still runs (`still_running` says why).
    fn write(
        &self,
        ending: Option<&Ending>,
        still_running: Option<&str>,
    ) -> Result<Profile, Error> {
        // A second calibration, at the end of the run, for the lowest probe
        // cost (see `calibrate`). Not at an exit or a signal, where no new
        // thread should be started.
        if crate::recorder::compensation() && matches!(ending, None | Some(Ending::Return)) {
            crate::recorder::calibrate_now();
        }
        if ending.is_some() {
            crate::stop_sampler();
        }
        let mut profile = crate::snapshot::snapshot_since(&self.baseline);
        profile.meta.ended_by = ending.and_then(Ending::describe);
        profile.meta.still_running = still_running.map(str::to_owned);
        profile.parallel = Some(profile.parallel_summary());
        if self.config.print_report && still_running.is_none() {
            eprint!("{}", pstats_report(&profile));
        }
        if let Some(dir) = &self.config.output_dir {
            if let Some(problem) = &self.out_problem {
                return Err(Error::Config {
                    setting: "profiler".to_owned(),
                    message: format!("reports not written: {problem}"),
                });
            }
            write_set(&profile, &expand_pid(dir), self.config.callgrind_per_thread)?;
        }
        Ok(profile)
    }
}

/// A running session. Dropping it ends the session and writes the reports
/// (errors go to standard error as one line); [`SessionGuard::finish`] does
/// the same and returns the profile or the error. Other endings (a signal,
/// `process::exit`, a panic under `panic = "abort"`) write the reports too.
#[must_use = "the session ends, and its reports are written, when this guard is dropped"]
#[derive(Debug)]
pub struct SessionGuard {
    id: u64,
    ended: bool,
}

impl SessionGuard {
    /// Ends the session: takes a snapshot, writes the configured reports and
    /// returns the profile. If another ending already wrote them, returns a
    /// snapshot of everything recorded.
    pub fn finish(mut self) -> Result<Profile, Error> {
        self.ended = true;
        endings::end_one(self.id, &Ending::Return).unwrap_or_else(|| Ok(crate::snapshot()))
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        if let Some(Err(e)) = endings::end_one(self.id, &endings::ending_of_drop()) {
            eprintln!("profiler: {e}");
        }
    }
}

/// A report writer: the profile to any `io::Write`.
type Writer = fn(&Profile, &mut dyn Write) -> std::io::Result<()>;

/// The reports of every profile, by file name.
const REPORTS: [(&str, Writer); 5] = [
    ("profile.json", crate::profile::file::write),
    ("pstats.txt", |p, w| {
        w.write_all(pstats_report(p).as_bytes())
    }),
    ("profile.prof", crate::emit::pstats_file::write),
    ("callgrind.out", |p, w| {
        crate::emit::callgrind::write(p, None, w)
    }),
    ("flamegraph.svg", crate::emit::flamegraph::write_svg),
];

/// The reports of a profile with a timeline, by file name (and Paraver's three).
const TIMELINE_REPORTS: [(&str, Writer); 3] = [
    ("trace.json", crate::emit::chrome::write),
    ("speedscope.json", crate::emit::speedscope::write),
    ("flamechart.svg", crate::emit::flamegraph::write_flame_chart),
];
const PARAVER: [&str; 3] = ["trace.prv", "trace.pcf", "trace.row"];

/// Writes every report of `profile` into `dir` (created if needed), each file
/// atomically: `profile.json` (the profile itself, for [`Profile::load`] and
/// the `profiler` command), `pstats.txt`, `profile.prof`, `callgrind.out` and
/// `flamegraph.svg`; when a timeline was recorded, also `trace.json`
/// (Chrome trace events), `speedscope.json`, `flamechart.svg` and
/// `trace.prv`/`trace.pcf`/`trace.row` (Paraver). Returns the paths written.
///
/// The files are written as one set: all under temporary names first, then
/// renamed into place, so on any failure none of the files already in `dir`
/// is replaced and no temporary file is left. Reports of an earlier run that
/// this one does not write (a trace, when this run has no timeline) are
/// removed, so the folder never mixes two runs.
pub fn write_reports(profile: &Profile, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    write_set(profile, dir, false)
}

fn write_set(profile: &Profile, dir: &Path, per_thread: bool) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut set = FileSet::new();
    for (name, write) in REPORTS {
        set.add(&dir.join(name), |w| write(profile, w))?;
    }
    let timeline = profile.threads.iter().any(|t| !t.timeline.is_empty());
    if timeline {
        for (name, write) in TIMELINE_REPORTS {
            set.add(&dir.join(name), |w| write(profile, w))?;
        }
        let (mut prv, mut pcf, mut row) = (Vec::new(), Vec::new(), Vec::new());
        crate::emit::paraver::write(profile, &mut prv, &mut pcf, &mut row)
            .map_err(|e| Error::io(&dir.join(PARAVER[0]), e))?;
        // The `.prv` (the file Paraver opens) last, as a whole trace is there
        // only once it is.
        for (name, bytes) in [(PARAVER[1], pcf), (PARAVER[2], row), (PARAVER[0], prv)] {
            set.add(&dir.join(name), |w| w.write_all(&bytes))?;
        }
    }
    let threads_dir = dir.join("threads");
    if per_thread {
        std::fs::create_dir_all(&threads_dir).map_err(|e| Error::io(&threads_dir, e))?;
        for i in 0..profile.threads.len() {
            let name = crate::emit::callgrind::per_thread_file_name(profile.meta.pid, i);
            set.add(&threads_dir.join(name), |w| {
                crate::emit::callgrind::write(profile, Some(i), w)
            })?;
        }
    }
    let written = set.commit()?;
    remove_stale(dir, &threads_dir, &written);
    crate::fs::remove_stale_temps(dir);
    crate::fs::remove_stale_temps(&threads_dir);
    Ok(written)
}

/// Removes the reports of an earlier run that this run did not write.
fn remove_stale(dir: &Path, threads_dir: &Path, written: &[PathBuf]) {
    let names = TIMELINE_REPORTS.iter().map(|(n, _)| *n).chain(PARAVER);
    for path in names.map(|n| dir.join(n)) {
        if !written.contains(&path) {
            let _ = std::fs::remove_file(path);
        }
    }
    if let Ok(entries) = std::fs::read_dir(threads_dir) {
        for e in entries.flatten() {
            let path = e.path();
            let ours = e
                .file_name()
                .to_string_lossy()
                .starts_with("callgrind.out.");
            if ours && !written.contains(&path) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// The pstats text report: how the run ended (when it did not return
/// normally) and the calls still running, then the table sorted by
/// cumulative time, the parallel summary when there is one, and the callers
/// and callees.
fn pstats_report(profile: &Profile) -> String {
    let stats = profile
        .stats()
        .sort_by(crate::SortKey::Cumulative)
        .time_note(true);
    let section = profile
        .parallel_section()
        .map(|s| format!("{s}\n"))
        .unwrap_or_default();
    let mut head = String::new();
    if let Some(why) = &profile.meta.ended_by {
        head.push_str(&format!(
            "Ended by {why}: the figures are the calls made up to then.\n"
        ));
    }
    if let Some(why) = &profile.meta.still_running {
        head.push_str(&format!(
            "Written while the program was still running ({why}).\n"
        ));
    }
    if profile.meta.compensated {
        let (inner, outer) = profile
            .meta
            .probe_cost
            .map_or((0.0, 0.0), |c| (c.inner_ns, c.outer_ns));
        head.push_str(&format!(
            "Compensated: {:.6} seconds of probe cost subtracted ({inner:.1} ns per call inside the call, {outer:.1} ns in all).\n",
            profile.meta.compensated_ns as f64 / 1e9
        ));
        for w in &profile.meta.compensation_warnings {
            head.push_str(&format!(
                "WARNING: compensation removed more than half of the time of {w}\n"
            ));
        }
    }
    let open: usize = profile.threads.iter().map(|t| t.open.len()).sum();
    if open > 0 {
        head.push_str(&format!(
            "{open} call(s) were still running: each counts as one call, with its time so far.\n"
        ));
    }
    if !head.is_empty() {
        head.push('\n');
    }
    format!(
        "{head}{stats}{section}{}{}",
        stats.callers(),
        stats.callees()
    )
}

impl Profile {
    /// Writes the pstats text report (sorted by cumulative time, then the
    /// "Parallel summary" when more than one thread worked or a timeline was
    /// recorded, then the callers and callees) to `path`, atomically.
    pub fn write_pstats_text(&self, path: &Path) -> Result<(), Error> {
        crate::fs::write_atomic(path, |w| w.write_all(pstats_report(self).as_bytes()))
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
