//! Output formats: one module per format, each reading only the data model.

use std::io::{self, Write};
use std::path::Path;

use crate::error::Error;

pub mod callgrind;
pub mod chrome;
pub mod flamegraph;
pub mod json;
mod names;
pub mod paraver;
pub mod prof;
pub mod pstats_text;
pub mod speedscope;
pub mod timeline;

/// Writes a file atomically: the content goes to a temporary file in the same
/// directory, which is renamed over `path` only once it is complete. On any
/// failure the temporary file is removed and nothing appears under `path`.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    crate::fs::write_atomic(path, write)
}

/// Writes an output named on a command line: like [`write_atomic`] for a
/// file, but it replaces only what it should.
///
/// - `-` is standard output (a reader that closes the pipe early is not an
///   error);
/// - a character device, a FIFO or a socket is opened and written in place,
///   never replaced (a write error, such as `/dev/full`'s, is returned);
/// - a symlink's final target is replaced atomically and the link kept;
/// - an existing file is replaced atomically and keeps its permission bits
///   (the new file has them before it is renamed into place);
/// - a directory or a block device is refused.
///
/// Errors name `path` as given.
///
/// ```
/// # fn main() -> Result<(), profiler::Error> {
/// use std::io::Write;
/// let path = std::env::temp_dir().join(format!("doc-out-{}.txt", std::process::id()));
/// profiler::emit::write_output(&path, |w| w.write_all(b"hello\n"))?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello\n");
/// profiler::emit::write_output(std::path::Path::new("/dev/null"), |w| w.write_all(b"gone"))?;
/// # std::fs::remove_file(&path).ok();
/// # Ok(())
/// # }
/// ```
pub fn write_output(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    crate::output::write(path, write)
}
