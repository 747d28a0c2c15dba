//! What the MPI calls moved: bytes per routine and calling function, and
//! point-to-point traffic per destination. Counts and times are the call
//! tree's (an MPI call is a profiled scope); this adds what the tree cannot
//! hold. MPI calls cost microseconds, so a lock here costs nothing worth
//! measuring.

use std::collections::{BTreeSet, HashMap};

use crate::fork::Lock;
use crate::site::{Site, SiteName};

/// Bytes sent and received, and the peers of point-to-point calls, by
/// (routine, raw site id of the caller); traffic by destination.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) bytes: HashMap<(&'static str, Option<u32>), Moved>,
    pub(super) sent: HashMap<u32, (u64, u64)>,
}

/// Bytes sent and received, and the peers, of one routine and caller.
pub(super) type Moved = (u64, u64, BTreeSet<u32>);

static TALLY: Lock<Option<Tally>> = Lock::new(None);

/// Adds one call of `routine` made from `caller` (the raw site id of the
/// innermost open scope), sending `sent` bytes (to `to`, for a
/// point-to-point send) and receiving `received` bytes (from `from`, for a
/// point-to-point receive).
pub(super) fn add(
    routine: &'static str,
    caller: Option<u32>,
    sent: u64,
    received: u64,
    to: Option<u32>,
    from: Option<u32>,
) {
    let mut guard = TALLY.lock();
    let t = guard.get_or_insert_with(Tally::default);
    let b = t
        .bytes
        .entry((routine, caller))
        .or_insert((0, 0, BTreeSet::new()));
    b.0 = b.0.saturating_add(sent);
    b.1 = b.1.saturating_add(received);
    b.2.extend(to.into_iter().chain(from));
    if let Some(to) = to {
        let s = t.sent.entry(to).or_insert((0, 0));
        s.0 = s.0.saturating_add(sent);
        s.1 += 1;
    }
}

/// The tally so far, cleared (a session counts from its start).
pub(super) fn take() -> Tally {
    TALLY.lock().take().unwrap_or_default()
}

/// The call site of an MPI routine: a row named after the routine, shown
/// as pstats shows built-ins (file `~`, line 0).
pub const fn site(routine: &'static str) -> Site {
    Site::new(SiteName::Literal(routine), "mpi", "~", 0)
}
