//! Where an output named on a command line really goes, and writing it there
//! without replacing what is not ours to replace.
//!
//! [`crate::fs::write_atomic`] renames a new file over its destination: right
//! for a report file, wrong for `/dev/full`, a FIFO or a symlink (the rename
//! would turn each into a plain file). [`resolve`] says what the name stands
//! for, and [`write`] writes accordingly:
//!
//! - `-`: standard output;
//! - a character device, a FIFO or a socket: opened and written in place;
//! - a symlink: its final target is replaced atomically, the link kept;
//! - a regular file: replaced atomically, keeping its permission bits (and
//!   its owner, where the process may set it), which the new file has before
//!   it is renamed into place (it is written in a directory of its own that
//!   only this user may enter);
//! - nothing yet: created atomically.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Symlinks followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// What an output name stands for.
#[derive(Debug)]
pub(crate) enum Target {
    /// `-`: standard output.
    Stdout,
    /// A character device, FIFO or socket: written in place.
    Stream(PathBuf),
    /// A regular file at this path (symlinks followed), and its metadata if
    /// it exists.
    File(PathBuf, Option<fs::Metadata>),
}

/// Resolves `path` (see the module docs). A directory or a block device is
/// an error, as is a loop of symlinks.
pub(crate) fn resolve(path: &Path) -> io::Result<Target> {
    if path.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::File(p, None)),
            Err(e) => return Err(e),
            Ok(m) => m,
        };
        let ty = meta.file_type();
        if ty.is_symlink() {
            let to = fs::read_link(&p)?;
            p = match p.parent() {
                Some(dir) if to.is_relative() => dir.join(to),
                _ => to,
            };
            continue;
        }
        if ty.is_file() {
            return Ok(Target::File(p, Some(meta)));
        }
        if ty.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory: give a file name",
            ));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ty.is_char_device() || ty.is_fifo() || ty.is_socket() {
                return Ok(Target::Stream(p));
            }
        }
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a block device or another special file: refusing to write to it",
        ));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("more than {MAX_LINKS} symlinks to follow (a loop?)"),
    ))
}

/// Writes an output named `path` (see the module docs). Errors name `path`
/// as given.
pub(crate) fn write(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    let rename = |e: Error| match e {
        Error::Io { source, .. } => Error::io(path, source),
        e => e,
    };
    match resolve(path).map_err(|e| Error::io(path, e))? {
        Target::Stdout => {
            let mut out = BufWriter::new(io::stdout().lock());
            match write(&mut out).and_then(|()| out.flush()) {
                // A closed pipe (`| head`) is the reader's choice.
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::io(path, e)),
                _ => Ok(()),
            }
        }
        Target::Stream(p) => {
            let file = fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .map_err(|e| Error::io(path, e))?;
            let mut out = BufWriter::new(file);
            write(&mut out)
                .and_then(|()| out.flush())
                .map_err(|e| Error::io(path, e))
        }
        Target::File(p, None) => crate::fs::write_atomic(&p, write).map_err(rename),
        Target::File(p, Some(old)) => replace_keeping_mode(&p, &old, write).map_err(rename),
    }
}

/// Replaces the regular file `p` atomically, the new file getting `old`'s
/// permission bits (and owner, where allowed) before it is renamed into
/// place. It is written inside a new directory of its own next to `p`, that
/// only this user may enter, so that no one can open it while its mode is
/// still the default one.
fn replace_keeping_mode(
    p: &Path,
    old: &fs::Metadata,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    let dir = private_dir(p).map_err(|e| Error::io(p, e))?;
    let staged = dir.join(p.file_name().unwrap_or("out".as_ref()));
    let result = crate::fs::write_atomic(&staged, write)
        .and_then(|()| keep_owner_and_mode(&staged, old).map_err(|e| Error::io(p, e)))
        .and_then(|()| fs::rename(&staged, p).map_err(|e| Error::io(p, e)));
    let _ = fs::remove_file(&staged);
    let _ = fs::remove_dir(&dir);
    result.map_err(|e| match e {
        Error::Io { source, .. } => Error::io(p, source),
        e => e,
    })
}

/// Creates `.<name>.out.<pid>.<n>/` next to `p`, mode 0700.
fn private_dir(p: &Path) -> io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    loop {
        let mut name = std::ffi::OsString::from(".");
        name.push(p.file_name().unwrap_or("out".as_ref()));
        name.push(format!(
            ".out.{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let dir = parent.join(name);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Gives the file at `p` the replaced file's permission bits, and its owner
/// where the process may (as root).
fn keep_owner_and_mode(p: &Path, old: &fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let new = fs::metadata(p)?;
        if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
            // Only root may give a file away; anyone else keeps it.
            let _ = std::os::unix::fs::chown(p, Some(old.uid()), Some(old.gid()));
        }
    }
    fs::set_permissions(p, old.permissions())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_what_they_stand_for() {
        assert!(matches!(resolve(Path::new("-")), Ok(Target::Stdout)));
        let dir = std::env::temp_dir().join(format!("profiler-output-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let new = dir.join("new.txt");
        assert!(matches!(resolve(&new), Ok(Target::File(p, None)) if p == new));
        assert!(resolve(&dir).is_err());
        #[cfg(unix)]
        {
            assert!(matches!(
                resolve(Path::new("/dev/null")),
                Ok(Target::Stream(_))
            ));
            let link = dir.join("link");
            std::os::unix::fs::symlink("new.txt", &link).unwrap();
            assert!(matches!(resolve(&link), Ok(Target::File(p, None)) if p == new));
            let a = dir.join("a");
            std::os::unix::fs::symlink("b", &a).unwrap();
            std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
            assert!(resolve(&a).is_err());
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
