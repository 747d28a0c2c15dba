//! Reading files with a bound, and writing them so that nothing is ever
//! half-written or mixed.
//!
//! Every file is first written under a temporary name of its own in the
//! destination's directory (`.<name>.tmp.<pid>.<n>`, created exclusively,
//! `n` unique in the process), then renamed over the destination. A
//! [`FileSet`] writes several files that way and renames them only once all
//! were written, so a set of reports is replaced whole or not at all.
//!
//! Every temporary file that exists is listed in a process-wide register, so
//! that [`abandon`] (a second Ctrl-C during the write) can remove them all
//! and stop any rename from starting before the process dies.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::fork::Lock;

use crate::error::Error;

/// Temporary files that exist now.
static IN_FLIGHT: Lock<Vec<PathBuf>> = Lock::new(Vec::new());
/// Held while a set is renamed into place, and forever once abandoned.
static RENAMING: Lock<()> = Lock::new(());
/// Set by [`abandon`]: no temporary file may be created any more.
static ABANDONED: AtomicBool = AtomicBool::new(false);
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The directory a file `path` goes into (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates a fresh temporary file next to `path`, registered in
/// `IN_FLIGHT`; refused once the process abandoned its writes.
fn create_temp(path: &Path) -> io::Result<(PathBuf, fs::File)> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let dir = parent_dir(path);
    crate::fork::register(crate::fork::Part::Fs, &FS_FORK);
    let mut in_flight = IN_FLIGHT.lock();
    if ABANDONED.load(Ordering::SeqCst) {
        return Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "interrupted: the process is ending",
        ));
    }
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp.{}.{n}", std::process::id()));
        let tmp = dir.join(name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => {
                in_flight.push(tmp.clone());
                return Ok((tmp, file));
            }
            // Left by a process that was killed, or by a forked twin: pick
            // another number.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Removes a temporary file and its register entry.
fn remove_temp(tmp: &Path) {
    let _ = fs::remove_file(tmp);
    IN_FLIGHT.lock().retain(|p| p != tmp);
}

/// Writes `write`'s output to a new temporary file next to `path`, flushed
/// to disk; returns the temporary file's path. On failure it is removed.
fn write_temp(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<PathBuf, Error> {
    let (tmp, file) = create_temp(path).map_err(|e| Error::io(path, e))?;
    let result = (|| {
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            remove_temp(&tmp);
            Err(Error::io(path, e))
        }
    }
}

/// Writes a file atomically: the content goes to a temporary file in the same
/// directory, which is renamed over `path` only once it is complete. On any
/// failure the temporary file is removed and nothing appears under `path`.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    let mut set = FileSet::new();
    set.add(path, write)?;
    set.commit().map(drop)
}

/// Files written under temporary names, renamed into place together by
/// [`FileSet::commit`]; dropped without a commit, it removes them.
#[derive(Debug, Default)]
pub(crate) struct FileSet {
    /// (temporary file, destination), in the order they were added.
    staged: Vec<(PathBuf, PathBuf)>,
}

impl FileSet {
    pub(crate) fn new() -> FileSet {
        FileSet::default()
    }

    /// Writes the file that will go to `path`, under a temporary name.
    pub(crate) fn add(
        &mut self,
        path: &Path,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Error> {
        let tmp = write_temp(path, write)?;
        self.staged.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Renames every file into place, in the order added, and returns the
    /// destinations. Renames are not interrupted by [`abandon`], which waits
    /// for them. If one fails, the files not yet renamed are removed.
    pub(crate) fn commit(self) -> Result<Vec<PathBuf>, Error> {
        self.commit_then(|_| ())
    }

    /// [`commit`](Self::commit), then `then` with the destinations, all
    /// while holding the destination directory's [`DirLock`]: another
    /// process committing a set into the same directory waits, so two
    /// processes ending together leave one whole set, never a mix.
    pub(crate) fn commit_then(
        mut self,
        then: impl FnOnce(&[PathBuf]),
    ) -> Result<Vec<PathBuf>, Error> {
        let _renaming = RENAMING.lock();
        let _dir = self
            .staged
            .first()
            .map(|(_, path)| DirLock::acquire(&parent_dir(path)));
        if ABANDONED.load(Ordering::SeqCst) {
            return Err(Error::io(
                self.staged.first().map_or(Path::new("."), |(_, p)| p),
                io::Error::new(
                    io::ErrorKind::Interrupted,
                    "interrupted: the process is ending",
                ),
            ));
        }
        let staged = std::mem::take(&mut self.staged);
        let mut done = Vec::with_capacity(staged.len());
        let mut rest = staged.into_iter();
        for (tmp, path) in rest.by_ref() {
            if let Err(e) = fs::rename(&tmp, &path) {
                remove_temp(&tmp);
                for (tmp, _) in rest {
                    remove_temp(&tmp);
                }
                return Err(Error::io(&path, e));
            }
            IN_FLIGHT.lock().retain(|p| p != &tmp);
            done.push(path);
        }
        then(&done);
        Ok(done)
    }
}

/// The most a commit waits for another process's [`DirLock`] on the same
/// directory: a holder renames a few files, so this is ample; past it the
/// commit goes ahead unlocked (an ending must not hang on a stuck process).
const DIR_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// An exclusive advisory lock (`flock`) on a directory, held while a set
/// is renamed into it; released when dropped (the descriptor closes). No
/// file is created. Without `flock` (not Unix, or a file system that
/// refuses it) it locks nothing.
struct DirLock {
    #[cfg(unix)]
    _dir: Option<fs::File>,
}

impl DirLock {
    fn acquire(dir: &Path) -> DirLock {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let Ok(file) = fs::File::open(dir) else {
                return DirLock { _dir: None };
            };
            let deadline = std::time::Instant::now() + DIR_LOCK_WAIT;
            loop {
                // SAFETY: `flock` on a descriptor that `file` owns and keeps
                // open for the call.
                let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if r == 0 {
                    return DirLock { _dir: Some(file) };
                }
                let e = io::Error::last_os_error();
                let busy = e.raw_os_error() == Some(libc::EWOULDBLOCK)
                    || e.kind() == io::ErrorKind::Interrupted;
                if !busy || std::time::Instant::now() >= deadline {
                    return DirLock { _dir: None };
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            DirLock {}
        }
    }
}

impl Drop for FileSet {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            remove_temp(tmp);
        }
    }
}

/// Removes the temporary files that writers killed outright (SIGKILL, power
/// loss) left in `dir`: `.<name>.tmp.<pid>.<n>` of a process that no longer
/// runs. Files of live processes, and every other file, are left alone.
pub(crate) fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let pid = name
            .strip_prefix('.')
            .and_then(|n| n.rsplit_once(".tmp."))
            .and_then(|(_, tail)| tail.split_once('.'))
            .filter(|(_, n)| n.parse::<u64>().is_ok())
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && !process_runs(pid)) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Whether a process with this id runs (or may: unknown counts as running).
fn process_runs(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Holds the file locks across a `fork` (see [`crate::fork`]).
fn fork_prepare() {
    crate::fork::hold(&RENAMING);
    crate::fork::hold(&IN_FLIGHT);
}

/// In the child, the register of temporary files starts empty: those listed
/// are the parent's.
fn fork_child() {
    IN_FLIGHT.lock().clear();
}

/// Stops every write of this process for good: waits for a set being
/// renamed to finish, removes every temporary file, and makes later writes
/// fail. Called just before the process ends at once (a second Ctrl-C).
pub(crate) fn abandon() {
    ABANDONED.store(true, Ordering::SeqCst);
    std::mem::forget(RENAMING.lock());
    let in_flight = std::mem::take(&mut *IN_FLIGHT.lock());
    for tmp in in_flight {
        let _ = fs::remove_file(tmp);
    }
}

/// Reads at most `limit` bytes of `path` (a file, a pipe or a device); a
/// file with more is refused, naming the limit. After the first 64 KiB,
/// reading goes on only if `keep_reading` says the first block may be the
/// start of a valid input: an input that cannot be (`/dev/zero`) is
/// returned as read so far, for its parser to say what is wrong with it.
pub(crate) fn read_bounded(
    path: &Path,
    limit: u64,
    keep_reading: fn(&[u8]) -> bool,
) -> Result<Vec<u8>, Error> {
    const BLOCK: u64 = 64 << 10;
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // A regular file says its size: refuse a large one before reading it.
    let known = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(len) = known.filter(|&len| len > limit) {
        return Err(too_large(path, Some(len), limit));
    }
    let mut bytes = Vec::with_capacity(known.map_or(BLOCK, |n| n.min(limit)) as usize);
    let mut reader = file.take(limit.saturating_add(1));
    (&mut reader)
        .take(BLOCK)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 == BLOCK && keep_reading(&bytes) {
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
    }
    if bytes.len() as u64 > limit {
        return Err(too_large(path, None, limit));
    }
    Ok(bytes)
}

fn too_large(path: &Path, len: Option<u64>, limit: u64) -> Error {
    let size = match len {
        Some(len) => format!("{len} bytes"),
        None => "more than that".to_owned(),
    };
    Error::format(
        path,
        format!(
            "too large: the limit on an input is {limit} bytes{}, the file holds {size}",
            in_units(limit)
        ),
    )
}

/// ` (1 GiB)`: `n` in the largest binary unit that divides it, if any.
fn in_units(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n % (1 << shift) == 0 {
            return format!(" ({} {unit})", n >> shift);
        }
    }
    String::new()
}

/// What the fs does around a `fork` (see [`crate::fork`]).
static FS_FORK: crate::fork::Hooks = crate::fork::Hooks {
    prepare: fork_prepare,
    child: fork_child,
};
