//! Callgrind profile files for KCacheGrind, QCacheGrind and callgrind_annotate.
//!
//! PLACEHOLDER: being written.

use std::io::{self, Write};
use std::path::Path;

use crate::error::Error;
use crate::profile::Profile;

/// Writes `profile` (all threads merged, or one thread) in callgrind format to `w`.
pub fn write(profile: &Profile, thread: Option<usize>, w: &mut dyn Write) -> io::Result<()> {
    let _ = (profile, thread, w);
    Err(io::Error::other("callgrind output is not written yet"))
}

impl Profile {
    /// Writes the merged callgrind file to `path`, atomically.
    pub fn write_callgrind(&self, path: &Path) -> Result<(), Error> {
        crate::emit::write_atomic(path, |w| write(self, None, w))
    }
}
