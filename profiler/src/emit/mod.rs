//! Output formats: one module per format, each reading only the data model.

use std::io::{self, Write};
use std::path::Path;

use crate::error::Error;

pub mod callgrind;
pub mod chrome;
pub mod flamegraph;
pub mod paraver;
pub mod pstats_file;
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
