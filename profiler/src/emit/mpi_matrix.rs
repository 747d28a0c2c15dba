//! The communication matrix of an MPI program as CSV (`mpi_matrix.csv`):
//! point-to-point traffic, one row per sender and receiver that exchanged
//! messages (see [`CommMatrix`](crate::analysis::CommMatrix)), rows ending
//! in CRLF:
//!
//! ```text
//! from,to,bytes,messages
//! 0,1,8000,10
//! ```
//!
//! A profile that is not of an MPI program gives the header alone.

use std::io::{self, Write};

use crate::profile::Profile;

/// Writes the communication matrix of `profile` as CSV to `w`.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(b"from,to,bytes,messages\r\n")?;
    if let Some(s) = profile.mpi_summary() {
        let m = &s.matrix;
        for from in 0..m.ranks {
            for to in 0..m.ranks {
                let (bytes, messages) = (m.bytes[from][to], m.messages[from][to]);
                if bytes > 0 || messages > 0 {
                    write!(w, "{from},{to},{bytes},{messages}\r\n")?;
                }
            }
        }
    }
    w.flush()
}
