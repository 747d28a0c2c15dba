//! What the MPI calls moved: bytes per routine and calling function, and
//! point-to-point traffic per destination; in timeline mode, every call's
//! times and every message's sides. Counts and times are the call tree's
//! (an MPI call is a profiled scope); this adds what the tree cannot hold.
//! MPI calls cost microseconds, so a lock here costs nothing worth
//! measuring.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fork::Lock;
use crate::profile::Direction;
use crate::site::{Site, SiteName};

/// Bytes sent and received, and the peers of point-to-point calls, by
/// (routine, raw site id of the caller); traffic by destination; the
/// timeline records.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) bytes: HashMap<(&'static str, Option<u32>), Moved>,
    pub(super) sent: HashMap<u32, (u64, u64)>,
    /// Calls on the timeline, in the order they ended.
    pub(super) calls: Vec<RawCall>,
    /// Message sides, each naming its call in `calls`.
    pub(super) sides: Vec<RawSide>,
    /// Immediate receives posted and not yet completed, by request handle.
    pending: HashMap<usize, Pending>,
    /// Calls left off the timeline past [`MAX_CALLS`].
    pub(super) dropped: u64,
}

/// The most MPI calls kept on a rank's timeline (with their messages'
/// sides, about 100 bytes each): later ones are counted as dropped, and
/// their messages stay unpaired.
pub(super) const MAX_CALLS: usize = 4 << 20;

/// Bytes sent and received, and the peers, of one routine and caller.
pub(super) type Moved = (u64, u64, BTreeSet<u32>);

/// One MPI call on the timeline, in clock ticks.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawCall {
    pub(super) thread: u64,
    pub(super) site: u32,
    pub(super) start: u64,
    pub(super) end: u64,
}

/// One side of a message, its times in clock ticks.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawSide {
    pub(super) direction: Direction,
    pub(super) call: u32,
    pub(super) peer: u32,
    pub(super) tag: i32,
    pub(super) comm: u32,
    pub(super) bytes: u64,
    pub(super) posted: u64,
    /// The order the operation was posted in, in this process.
    pub(super) order: u64,
}

/// An immediate receive waiting for its completion.
#[derive(Clone, Copy, Debug)]
struct Pending {
    peer: u32,
    comm: u32,
    bytes: u64,
    posted: u64,
    order: u64,
}

/// What one call did to a message, for the timeline.
#[derive(Clone, Debug, Default)]
pub(super) enum Message {
    /// Nothing (a collective, a probe).
    #[default]
    None,
    /// Sent one (blocking or immediate): to, tag, communicator.
    Send { to: u32, tag: i32, comm: u32 },
    /// Received one: from, tag, communicator.
    Receive { from: u32, tag: i32, comm: u32 },
    /// Posted an immediate receive (its request handle) from `from`.
    PostReceive {
        request: usize,
        from: u32,
        comm: u32,
    },
    /// Completed requests: handle, and the status's tag.
    Complete(Vec<(usize, i32)>),
}

static TALLY: Lock<Option<Tally>> = Lock::new(None);

/// The order of operations posted in this process.
static ORDER: AtomicU64 = AtomicU64::new(0);

/// The next post ordinal (taken when a call starts).
pub(super) fn next_order() -> u64 {
    ORDER.fetch_add(1, Ordering::Relaxed)
}

/// One finished call of `routine` (whose site is `site`).
pub(super) struct Call<'a> {
    pub(super) routine: &'static str,
    pub(super) site: u32,
    /// The raw site id of the innermost open scope when it was called.
    pub(super) caller: Option<u32>,
    pub(super) sent: u64,
    pub(super) received: u64,
    /// The destination of a point-to-point send.
    pub(super) to: Option<u32>,
    /// The source of a point-to-point receive.
    pub(super) from: Option<u32>,
    /// Its thread and start and end ticks, when it is on the timeline.
    pub(super) timed: Option<(u64, u64, u64)>,
    pub(super) message: &'a Message,
    pub(super) order: u64,
}

/// Adds one call (see [`Call`]).
pub(super) fn add(c: &Call<'_>) {
    let mut guard = TALLY.lock();
    guard.get_or_insert_with(Tally::default).add(c, MAX_CALLS);
}

impl Tally {
    /// Adds one call, keeping at most `max_calls` on the timeline.
    fn add(&mut self, c: &Call<'_>, max_calls: usize) {
        let b = self
            .bytes
            .entry((c.routine, c.caller))
            .or_insert((0, 0, BTreeSet::new()));
        b.0 = b.0.saturating_add(c.sent);
        b.1 = b.1.saturating_add(c.received);
        b.2.extend(c.to.into_iter().chain(c.from));
        if let Some(to) = c.to {
            let s = self.sent.entry(to).or_insert((0, 0));
            s.0 = s.0.saturating_add(c.sent);
            s.1 += 1;
        }
        let Some((thread, start, end)) = c.timed else {
            return;
        };
        if self.calls.len() >= max_calls {
            self.dropped += 1;
            if let Message::Complete(done) = c.message {
                for (request, _) in done {
                    self.pending.remove(request);
                }
            }
            return;
        }
        let call = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
        self.calls.push(RawCall {
            thread,
            site: c.site,
            start,
            end,
        });
        let side = |direction, peer, tag, comm, bytes| RawSide {
            direction,
            call,
            peer,
            tag,
            comm,
            bytes,
            posted: start,
            order: c.order,
        };
        match c.message {
            Message::None => {}
            &Message::Send { to, tag, comm } => {
                self.sides
                    .push(side(Direction::Send, to, tag, comm, c.sent));
            }
            &Message::Receive { from, tag, comm } => {
                self.sides
                    .push(side(Direction::Receive, from, tag, comm, c.received));
            }
            &Message::PostReceive {
                request,
                from,
                comm,
            } => {
                self.pending.insert(
                    request,
                    Pending {
                        peer: from,
                        comm,
                        bytes: c.received,
                        posted: start,
                        order: c.order,
                    },
                );
            }
            Message::Complete(done) => {
                for &(request, tag) in done {
                    // A send's request, or a receive posted before the session.
                    let Some(p) = self.pending.remove(&request) else {
                        continue;
                    };
                    self.sides.push(RawSide {
                        direction: Direction::Receive,
                        call,
                        peer: p.peer,
                        tag,
                        comm: p.comm,
                        bytes: p.bytes,
                        posted: p.posted,
                        order: p.order,
                    });
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn call(message: &Message, order: u64) -> Call<'_> {
        Call {
            routine: "MPI_Send",
            site: 0,
            caller: None,
            sent: 8,
            received: 0,
            to: Some(1),
            from: None,
            timed: Some((1, order, order + 1)),
            message,
            order,
        }
    }

    #[test]
    fn the_timeline_is_capped_and_counts_what_it_drops() {
        let mut t = Tally::default();
        let send = Message::Send {
            to: 1,
            tag: 0,
            comm: 0,
        };
        let post = Message::PostReceive {
            request: 7,
            from: 1,
            comm: 0,
        };
        t.add(&call(&send, 0), 2);
        t.add(&call(&post, 1), 2);
        t.add(&call(&send, 2), 2);
        t.add(&call(&Message::Complete(vec![(7, 3)]), 3), 2);
        assert_eq!((t.calls.len(), t.sides.len(), t.dropped), (2, 1, 2));
        assert!(
            t.pending.is_empty(),
            "a dropped wait still ends its receive"
        );
        // The bytes still count.
        assert_eq!(t.bytes[&("MPI_Send", None)].0, 32);
        assert_eq!(t.sent[&1], (32, 4));
    }
}
