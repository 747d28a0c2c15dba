//! The reports a session writes, as one set of files.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fs::FileSet;
use crate::profile::Profile;

/// A report writer: the profile to any `io::Write`.
type Writer = fn(&Profile, &mut dyn Write) -> std::io::Result<()>;

/// The reports of every profile, by file name.
const REPORTS: [(&str, Writer); 5] = [
    ("profile.json", crate::profile::write),
    ("pstats.txt", |p, w| {
        w.write_all(pstats_report(p).as_bytes())
    }),
    ("profile.prof", crate::emit::prof::write),
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

pub(super) fn write_set(
    profile: &Profile,
    dir: &Path,
    per_thread: bool,
) -> Result<Vec<PathBuf>, Error> {
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
pub(super) fn pstats_report(profile: &Profile) -> String {
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
