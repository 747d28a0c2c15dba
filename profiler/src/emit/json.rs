//! This tool's own format: the versioned `profile.json` that
//! [`Profile::save`] writes and [`load`](crate::load) reads back, every field
//! of the data model included (see the [`profile`](mod@crate::profile) module).

use std::io::{self, Write};

use crate::profile::Profile;

/// Writes `profile` as a versioned `profile.json` to `w`.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    crate::profile::write(profile, w)
}
