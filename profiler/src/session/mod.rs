//! Profiling sessions: start recording, and write the configured reports
//! however the run ends (see [`endings`] and the README's "How a run ends").

mod active;
mod config;
mod ending;
mod endings;
mod env;
mod reports;
mod signals;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::Error;
use crate::profile::Profile;

pub use config::Session;
pub(crate) use ending::Ending;
pub use reports::write_reports;

use active::{Active, expand_pid};
#[cfg(feature = "mpi")]
pub(crate) use active::{expand, set_rank};

/// The environment variable naming the output directory. `%p` in it is
/// replaced by the id of the process that writes the reports, and `%%` by
/// `%` (`PROFILER_OUT=out/%p`), so that every process of a multi-process run
/// writes its own reports. A relative path is taken from the directory the
/// program was in when the session started.
pub const ENV_OUT: &str = config::OUT;

impl Session {
    /// Starts the session and returns the guard that ends it.
    ///
    /// The session reports only what runs from now on (counters are taken
    /// now and subtracted at the end, so a second session does not repeat the
    /// first one's calls). Recording stays off if
    /// [`set_enabled(false)`](crate::set_enabled) turned it off. A relative
    /// output directory is resolved now, and problems with the settings are
    /// printed now, one line each.
    pub fn start(mut self) -> SessionGuard {
        SESSION_STARTED.store(true, Ordering::Relaxed);
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
        // The probe's cost: measured before the run only when it is to be
        // subtracted; when it is only reported, at the end (see
        // `Active::profile`).
        if cfg!(feature = "enable") && self.compensate {
            crate::recorder::calibrate_now();
        }
        crate::set_compensation(self.compensate);
        // Runnable threads and CPU time over the run, for the parallel summary.
        crate::start_sampler(crate::DEFAULT_SAMPLE_INTERVAL);
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        crate::fork::register(crate::fork::Part::Session, &SESSION_FORK);
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

impl SessionGuard {
    /// The clock tick the session's timelines count from (`None` once it
    /// ended).
    #[cfg(feature = "mpi")]
    pub(crate) fn epoch_tick(&self) -> Option<u64> {
        endings::ACTIVE
            .lock()
            .iter()
            .find(|a| a.id == self.id)
            .map(|a| a.baseline.tick())
    }

    /// Ends the session without writing its reports and returns its
    /// profile, for a caller that writes them itself (an MPI session
    /// gathers every rank's first); `None` when another ending already
    /// wrote them.
    #[cfg(feature = "mpi")]
    pub(crate) fn take(mut self) -> Option<Profile> {
        self.ended = true;
        endings::take_one(self.id)
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

/// What the session does around a `fork` (see [`crate::fork`]).
static SESSION_FORK: crate::fork::Hooks = crate::fork::Hooks {
    prepare: endings::fork_prepare,
    child: endings::fork_child,
};

/// Set when any session starts (see [`warn_unused_out`]).
static SESSION_STARTED: AtomicBool = AtomicBool::new(false);

/// Run by the loader before `main` (an `.init_array` entry): when
/// `PROFILER_OUT` is set, registers [`warn_unused_out`] to run at exit.
/// Before `main` the process has one thread, so reading the environment and
/// `atexit` are safe here.
#[cfg(all(target_os = "linux", not(loom)))]
#[used]
#[unsafe(link_section = ".init_array")]
static WATCH_UNUSED_OUT: extern "C" fn() = watch_unused_out;

#[cfg(all(target_os = "linux", not(loom)))]
extern "C" fn watch_unused_out() {
    if std::env::var_os(ENV_OUT).is_some() {
        // SAFETY: `warn_unused_out` is a plain `extern "C"` function that
        // lives for the whole program.
        unsafe { libc::atexit(warn_unused_out) };
    }
}

/// At exit: `PROFILER_OUT` was set and profiled code ran, but no session
/// ever started, so no report was written. Says so, and how to start one.
#[cfg(all(target_os = "linux", not(loom)))]
extern "C" fn warn_unused_out() {
    if !SESSION_STARTED.load(Ordering::Relaxed) && crate::recorder::any_thread_recorded() {
        eprintln!(
            "profiler: warning: {ENV_OUT} is set but no session started, so no report was \
             written; start one (`let _session = profiler::Session::from_env().start();`) or \
             put #[profiler::main] on main"
        );
    }
}
