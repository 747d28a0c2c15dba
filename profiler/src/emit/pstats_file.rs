//! The `.prof` file that Python's `pstats` reads (marshal of cProfile's stats dict).
//!
//! PLACEHOLDER: being written.

use std::io::{self, Write};
use std::path::Path;

use crate::error::Error;
use crate::profile::Profile;

/// Writes `profile` as a `.prof` (marshal) to `w`.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let _ = (profile, w);
    Err(io::Error::other(".prof output is not written yet"))
}

impl Profile {
    /// Writes the `.prof` file that Python's `pstats.Stats` loads, atomically.
    pub fn write_prof(&self, path: &Path) -> Result<(), Error> {
        crate::emit::write_atomic(path, |w| write(self, w))
    }
}
