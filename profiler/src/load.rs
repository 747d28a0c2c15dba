//! Loading any profile a tool may be given: a saved `profile.json` or
//! Python's cProfile `.prof`, told apart by their first bytes, with the
//! notes an import leaves (figures that could not be rebuilt exactly,
//! strings that were not UTF-8).
//!
//! ```
//! # fn main() -> Result<(), profiler::Error> {
//! let p = profiler::snapshot();
//! let path = std::env::temp_dir().join(format!("doc-load-{}.json", std::process::id()));
//! p.save(&path)?;
//! let loaded = profiler::load::load(&path, profiler::load::MAX_INPUT_BYTES)?;
//! assert_eq!(loaded.profile, p);
//! assert!(loaded.notes.is_empty());
//! # std::fs::remove_file(&path).ok();
//! # Ok(())
//! # }
//! ```

use std::path::Path;

use crate::emit::prof;
use crate::error::Error;
use crate::profile::Profile;

pub use crate::profile::MAX_INPUT_BYTES;

/// A loaded profile, with the notes about it (one line each, naming the
/// file): what a tool should tell its user, though the load succeeded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Loaded {
    /// The profile.
    pub profile: Profile,
    /// Notes about the input, such as a `.prof` whose figures could not all
    /// be rebuilt exactly. Empty for a `profile.json`.
    pub notes: Vec<String>,
}

/// Reads `path` (a file, a pipe or a device, at most `limit` bytes: a larger
/// input is refused, naming the limit) and loads it (see [`from_bytes`]).
pub fn load(path: &Path, limit: u64) -> Result<Loaded, Error> {
    from_bytes(&read(path, limit)?, path)
}

/// Loads a `profile.json` or a `.prof` from its bytes (see
/// [`prof::looks_like_prof`] for how they are told apart). `path` names the
/// input in errors and notes, and names an imported profile's thread.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Loaded, Error> {
    if !prof::looks_like_prof(bytes) {
        return Ok(Loaded {
            profile: crate::profile::parse(bytes, path)?,
            notes: Vec::new(),
        });
    }
    let import = prof::from_bytes(bytes, path)?;
    let mut notes = Vec::new();
    if let Some(first) = import.inexact.first() {
        notes.push(format!(
            "{}: {} figure(s) could not be rebuilt exactly from pstats data \
             (mutual recursion or inconsistent entries), e.g. {first}",
            path.display(),
            import.inexact_count
        ));
    }
    if import.not_utf8 > 0 {
        notes.push(format!(
            "{}: {} string(s) are not valid UTF-8 (a file name from a non-UTF-8 \
             directory?): shown with U+FFFD in place of each bad sequence",
            path.display(),
            import.not_utf8
        ));
    }
    Ok(Loaded {
        profile: import.profile,
        notes,
    })
}

/// Reads at most `limit` bytes of `path`, stopping after the first block
/// when it cannot start a profile of either kind.
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    crate::fs::read_bounded(path, limit, |head| {
        prof::looks_like_prof(head) || crate::profile::may_be_json(head)
    })
}

impl Profile {
    /// Loads a saved `profile.json` or imports a cProfile `.prof`, whichever
    /// the file holds (see [`load()`]; the notes are dropped).
    pub fn load_any(path: impl AsRef<Path>) -> Result<Profile, Error> {
        load(path.as_ref(), MAX_INPUT_BYTES).map(|l| l.profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = std::env::temp_dir().join(format!("profiler-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("big.json");
        std::fs::write(&f, vec![b' '; 4096]).unwrap();
        let e = read(&f, 1024).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "too large: the limit on an input is 1024 bytes (1 KiB), the file holds 4096 bytes"
            ),
            "{e}"
        );
        assert_eq!(read(&f, 4096).unwrap().len(), 4096);
        #[cfg(target_os = "linux")]
        {
            // Not a profile: the first block is enough to tell.
            let zero = read(Path::new("/dev/zero"), MAX_INPUT_BYTES).unwrap();
            assert_eq!(zero.len(), 64 << 10);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
