//! The reports a session writes, as one set of files.

use std::path::{Path, PathBuf};

use crate::emit::{Format, Needs};
use crate::error::Error;
use crate::fs::FileSet;
use crate::profile::Profile;

/// Writes every report of `profile` into `dir` (created if needed): each
/// [`Format`] that sessions write, in the list's order, under its file name
/// (`profile.json`, `pstats.txt`, `profile.prof`, `callgrind.out`,
/// `flamegraph.svg`, `report.html`; when a timeline was recorded, also `trace.json`,
/// `speedscope.json`, `flamechart.svg` and Paraver's
/// `trace.pcf`/`trace.row`/`trace.prv`). Returns the paths written.
///
/// The files are written as one set: all under temporary names first, then
/// renamed into place, so on any failure none of the files already in `dir`
/// is replaced and no temporary file is left. Reports of an earlier run that
/// this one does not write (a trace, when this run has no timeline) are
/// removed, so the folder never mixes two runs. The renames and removals
/// hold an advisory lock (`flock`) on `dir`, so two processes writing into
/// one folder at once leave one whole set.
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
    for format in session_formats() {
        if format.needs().met_by(profile) {
            for file in format.files() {
                set.add(&dir.join(file.file_name), |w| (file.write)(profile, w))?;
            }
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
    // The stale reports go under the same directory lock as the renames, so
    // that another process's set never loses a file to this one.
    let written = set.commit_then(|written| remove_stale(dir, &threads_dir, written))?;
    crate::fs::remove_stale_temps(dir);
    crate::fs::remove_stale_temps(&threads_dir);
    Ok(written)
}

/// The formats a session writes, in order.
fn session_formats() -> impl Iterator<Item = Format> {
    Format::ALL.iter().copied().filter(|f| f.in_session())
}

/// Removes the reports of an earlier run that this run did not write.
fn remove_stale(dir: &Path, threads_dir: &Path, written: &[PathBuf]) {
    let names = session_formats()
        .filter(|f| f.needs() != Needs::Nothing)
        .flat_map(|f| f.files().iter().map(|file| file.file_name));
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
