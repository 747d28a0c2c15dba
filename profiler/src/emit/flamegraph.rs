//! Folded stacks and flamegraph SVGs (through inferno).
//!
//! PLACEHOLDER: being written.

use std::io::{self, Write};
use std::path::Path;

use crate::error::Error;
use crate::profile::Profile;

/// Writes the flamegraph SVG of `profile` (all threads merged) to `w`.
pub fn write_svg(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let _ = (profile, w);
    Err(io::Error::other("flamegraph output is not written yet"))
}

impl Profile {
    /// Writes the merged flamegraph SVG to `path`, atomically.
    pub fn write_flamegraph(&self, path: &Path) -> Result<(), Error> {
        crate::emit::write_atomic(path, |w| write_svg(self, w))
    }
}
