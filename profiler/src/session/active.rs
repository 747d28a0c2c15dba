//! A running session: its settings, where it counts from, and how it takes
//! its profile and writes its reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::Session;
use super::ending::Ending;
use super::reports::write_set;
use crate::error::Error;
use crate::profile::Profile;
use crate::snapshot::Baseline;

/// A running session, as the endings see it.
#[derive(Clone, Debug)]
pub(crate) struct Active {
    pub(super) id: u64,
    pub(super) config: Session,
    /// Why the reports cannot be written (checked at the start).
    pub(super) out_problem: Option<String>,
    pub(super) baseline: Arc<Baseline>,
}

impl Active {
    /// In a forked child: the session counts from the fork (the recorder
    /// already subtracts the parent's calls).
    pub(super) fn restart_in_fork_child(&mut self) {
        self.baseline = Arc::new(Baseline::empty_now());
    }

    /// Takes the session's profile and writes its reports: at an `ending`,
    /// or while the program still runs (`still_running` says why).
    pub(super) fn write(
        &self,
        ending: Option<&Ending>,
        still_running: Option<&str>,
    ) -> Result<Profile, Error> {
        let profile = self.profile(ending, still_running);
        if let Some(dir) = &self.config.output_dir {
            if let Some(problem) = &self.out_problem {
                return Err(Error::Config {
                    setting: "profiler".to_owned(),
                    message: format!("reports not written: {problem}"),
                });
            }
            write_set(&profile, &expand_pid(dir), self.config.callgrind_per_thread)?;
        }
        let reports = self.config.output_dir.is_some() || self.config.print_report;
        if reports && still_running.is_none() && recorded_nothing(&profile) {
            eprintln!("profiler: warning: {}", nothing_recorded_hint());
        }
        Ok(profile)
    }

    /// Takes the session's profile (see [`Active::write`]), printing the
    /// report if asked to, without writing the reports.
    pub(super) fn profile(&self, ending: Option<&Ending>, still_running: Option<&str>) -> Profile {
        // Subtracted, the probe's cost is measured a second time at the end
        // of the run, for the lowest (see `calibrate`). Only reported, it is
        // measured once, when the reports are written at the end: not at a
        // checkpoint (it would disturb the run), not with recording compiled
        // out or turned off (there is no probe to measure). Never at an exit
        // or a signal, where no new thread should be started.
        let returned = matches!(ending, None | Some(Ending::Return));
        let subtracted = crate::recorder::compensation();
        let reported_only = still_running.is_none()
            && cfg!(feature = "enable")
            && crate::is_enabled()
            && crate::recorder::measured_probe_ticks().is_none();
        if returned && (subtracted || reported_only) {
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
            eprint!("{}", crate::emit::pstats::report(&profile));
        }
        profile
    }
}

/// This process's MPI rank, once an MPI session set it (for `%r`).
static RANK: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets what `%r` in an output directory becomes: this process's MPI rank.
#[cfg(feature = "mpi")]
pub(crate) fn set_rank(rank: u32) {
    let _ = RANK.set(rank.to_string());
}

/// `dir` with every `%p` replaced by this process's id, `%r` by its MPI rank
/// (when an MPI session set it; otherwise `%r` stays) and `%%` by `%`.
pub(super) fn expand_pid(dir: &Path) -> PathBuf {
    expand(dir, RANK.get().map(String::as_str))
}

/// [`expand_pid`], with `rank` for `%r`.
pub(crate) fn expand(dir: &Path, rank: Option<&str>) -> PathBuf {
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
            (b'%', Some(b'r')) if rank.is_some() => {
                out.extend_from_slice(rank.unwrap_or_default().as_bytes());
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

/// Whether a profile holds no call at all.
fn recorded_nothing(profile: &Profile) -> bool {
    profile
        .threads
        .iter()
        .all(|t| t.nodes.iter().all(|n| n.calls == 0))
}

/// Why a session may have recorded nothing, and what to do, in one line.
pub(super) fn nothing_recorded_hint() -> &'static str {
    if !cfg!(feature = "enable") {
        "the session recorded no calls: recording was compiled out (the `enable` feature is off)"
    } else if !crate::is_enabled() {
        "the session recorded no calls: recording is off (`set_enabled(false)`)"
    } else {
        "the session recorded no calls: no #[profile] function or scope ran while it was open; \
         if its guard was dropped at once (`let _ = Session::from_env().start();` ends it on \
         that line), keep it in a variable (`let _session = ...`) or put #[profiler::main] on main"
    }
}
