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
//!   its owner, where the process may set it);
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
        Target::File(p, old) => {
            crate::fs::write_atomic(&p, write).map_err(rename)?;
            if let Some(old) = old {
                keep_owner_and_mode(&p, &old).map_err(|e| Error::io(path, e))?;
            }
            Ok(())
        }
    }
}

/// Gives the new file at `p` the replaced file's permission bits, and its
/// owner where the process may (as root).
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
