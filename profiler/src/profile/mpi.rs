//! What an MPI run adds to a profile: plain data, recorded on each rank by
//! `profiler::mpi` (the `mpi` feature) and summarized by
//! [`analysis`](crate::analysis). A profile read without the feature keeps
//! it all.

use serde::{Deserialize, Serialize};

/// The MPI run a profile belongs to ([`Metadata::mpi`](super::Metadata::mpi)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MpiRun {
    /// This process's rank in `MPI_COMM_WORLD` (0 for a merged profile).
    pub rank: u32,
    /// The number of ranks.
    pub ranks: u32,
    /// The MPI library (`MPI_Get_library_version`, its first line).
    pub library: String,
}

/// One rank's MPI figures ([`Profile::mpi`](super::Profile::mpi)): enough
/// for mpiP's summary and POP's hybrid metrics after the ranks' trees were
/// merged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RankMpi {
    /// The rank.
    pub rank: u32,
    /// The host it ran on.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Its application time (mpiP's AppTime): the session's wall time on
    /// this rank, in nanoseconds.
    pub app_ns: u64,
    /// Its MPI calls, one entry per routine and calling function.
    pub calls: Vec<MpiCall>,
    /// Its point-to-point traffic, one entry per destination rank (the row
    /// of the communication matrix).
    pub sent: Vec<MpiTraffic>,
    /// Its threads' busy time and time in MPI calls, in the profile's
    /// thread order.
    pub threads: Vec<RankThread>,
    /// How its clock relates to rank 0's (see [`ClockSync`]); `None` for
    /// a run of one rank, a profile of an older version, or a rank that
    /// could not take part in the estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockSync>,
    /// Its MPI calls on the timeline, in timeline mode (empty otherwise),
    /// in the order they ended on each thread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<MpiSpan>,
    /// MPI calls left off [`timeline`](Self::timeline) because its cap
    /// (4,194,304 calls per rank) was reached; their messages are unpaired.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeline_dropped: u64,
    /// The sends and receives of its point-to-point messages, in timeline
    /// mode, each tied to the call in [`timeline`](Self::timeline) that
    /// sent it or completed its receive (see [`Profile::mpi_messages`](super::Profile::mpi_messages)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MessageSide>,
}

/// How a rank's clock relates to rank 0's: offsets estimated by ping-pong
/// exchanges with rank 0 when the session started and when it finished
/// (Score-P's method: of several exchanges, the one with the smallest
/// round trip; offset = rank 0's send time + round trip / 2 - this rank's
/// time; its error is within half that round trip). Between and beyond
/// the two estimates the offset is interpolated linearly, which corrects a
/// constant drift.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClockSync {
    /// The rank's timeline zero (its
    /// [`Metadata::start_unix_s`](super::Metadata::start_unix_s)) as nanoseconds since the Unix epoch,
    /// on its own clock: what its offsets are relative to.
    pub epoch_unix_ns: u64,
    /// The estimate when the session started.
    pub start: Option<ClockOffset>,
    /// The estimate when the session finished.
    pub end: Option<ClockOffset>,
    /// Set by the merge: the most it moved the rank's times forward, after
    /// the correction by the estimates, so that no message of a merged
    /// profile is received before it was sent (an estimate is only as good
    /// as half its round trip; see [`RankMerge`](super::RankMerge)), in ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shift_ns: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One clock-offset estimate of a rank against rank 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClockOffset {
    /// When it was taken: nanoseconds since the rank's timeline zero, on
    /// the rank's clock.
    pub at_ns: u64,
    /// Rank 0's clock less this rank's clock at that moment, in ns.
    pub offset_ns: i64,
    /// The round trip of the exchange it was computed from, in ns.
    pub rtt_ns: u64,
}

/// One MPI call on a rank's timeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MpiSpan {
    /// The calling thread's [`ThreadProfile::id`](super::ThreadProfile::id).
    pub thread: u64,
    /// The routine's site (its name is the routine, `MPI_Send`).
    pub site: super::SiteId,
    /// Its start, in nanoseconds since the start of recording.
    pub start_ns: u64,
    /// Its end, in nanoseconds since the start of recording.
    pub end_ns: u64,
}

/// Whether a [`MessageSide`] sends or receives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A send (`MPI_Send`, `MPI_Isend`).
    #[default]
    Send,
    /// A receive (`MPI_Recv`, or `MPI_Irecv` completed by a wait).
    Receive,
}

/// One side of a point-to-point message, as one rank saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageSide {
    /// Send or receive.
    pub direction: Direction,
    /// The index in [`RankMpi::timeline`] of the call that sent it (the
    /// send or immediate send) or completed its receive (the receive, or
    /// the wait that completed an immediate receive).
    pub call: u32,
    /// The other rank, in `MPI_COMM_WORLD`.
    pub peer: u32,
    /// The message's tag.
    pub tag: i32,
    /// The communicator: 0 for `MPI_COMM_WORLD`, else a number derived
    /// from its members, the same on every rank.
    pub comm: u32,
    /// Its size in bytes (the send buffer's, or the message received).
    pub bytes: u64,
    /// Its place among the messages of the same sender, receiver, tag
    /// and communicator, from 0, in the order they were posted: MPI
    /// matches those in order, so the `n`-th send pairs with the `n`-th
    /// receive (as Extrae's merger pairs them).
    pub seq: u64,
    /// When the operation was posted, in nanoseconds since the start of
    /// recording: the start of the send, of the receive, or of the
    /// immediate receive that a wait completed.
    pub posted_ns: u64,
}

/// A message paired from its two sides (see [`Profile::mpi_messages`](super::Profile::mpi_messages)),
/// its times on one time axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MpiMessage {
    /// The sending rank.
    pub from: u32,
    /// The receiving rank.
    pub to: u32,
    /// The sending thread's id.
    pub send_thread: u64,
    /// The receiving thread's id.
    pub recv_thread: u64,
    /// The tag.
    pub tag: i32,
    /// The communicator (see [`MessageSide::comm`]).
    pub comm: u32,
    /// Its size in bytes, as sent.
    pub bytes: u64,
    /// The send call's start (Paraver's logical send).
    pub send_start_ns: u64,
    /// The send call's end (Paraver's physical send).
    pub send_end_ns: u64,
    /// When the receive was posted (Paraver's logical receive).
    pub recv_posted_ns: u64,
    /// The start of the call that completed the receive.
    pub recv_start_ns: u64,
    /// Its end (Paraver's physical receive).
    pub recv_end_ns: u64,
    /// The index of the receiving rank in [`Profile::mpi`](super::Profile::mpi) and of the
    /// completing call in its [`RankMpi::timeline`].
    pub recv_call: (usize, usize),
    /// The same for the send call.
    pub send_call: (usize, usize),
}

/// The threads of a profile by rank and id (see
/// [`Profile::threads_by_rank`](super::Profile::threads_by_rank)).
#[derive(Clone, Debug, Default)]
pub struct ThreadsByRank {
    index: std::collections::HashMap<(u32, u64), usize>,
}

impl ThreadsByRank {
    /// The index of thread `id` of rank `rank` (or of a thread `id` with no
    /// rank, in a profile of one process).
    pub fn find(&self, rank: u32, id: u64) -> Option<usize> {
        self.index
            .get(&(rank, id))
            .or_else(|| self.index.get(&(u32::MAX, id)))
            .copied()
    }
}

/// Every message of a profile paired, and the sides left unpaired (a
/// message whose other rank is missing, or sent but never received).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MpiMessages {
    /// The messages, by send time.
    pub paired: Vec<MpiMessage>,
    /// Sends without a receive.
    pub unpaired_sends: usize,
    /// Receives without a send.
    pub unpaired_receives: usize,
}

impl ClockSync {
    /// Rank 0's clock less this rank's `at_ns` after its timeline zero:
    /// the line through the two estimates, or the one estimate, or 0.
    pub fn offset_at(&self, at_ns: u64) -> f64 {
        match (self.start, self.end) {
            (Some(a), Some(b)) if b.at_ns > a.at_ns => {
                let slope = (b.offset_ns as f64 - a.offset_ns as f64) / (b.at_ns - a.at_ns) as f64;
                a.offset_ns as f64 + slope * (at_ns as f64 - a.at_ns as f64)
            }
            (Some(a), _) => a.offset_ns as f64,
            (None, Some(b)) => b.offset_ns as f64,
            (None, None) => 0.0,
        }
    }

    /// A time of this rank (ns since its timeline zero) on rank 0's clock,
    /// in nanoseconds since the Unix epoch. Monotone in `at_ns` as long as
    /// the drift is below 100% (anything else is no clock).
    pub fn to_reference(&self, at_ns: u64) -> i128 {
        let local = i128::from(self.epoch_unix_ns) + i128::from(at_ns);
        // `as` saturates (a hostile file's offsets cannot overflow).
        local.saturating_add(self.offset_at(at_ns).round() as i128)
    }
}

impl super::Profile {
    /// The host rank `rank` ran on (from [`Profile::mpi`](super::Profile::mpi)),
    /// or the profile's own.
    pub fn rank_host(&self, rank: u32) -> &str {
        self.mpi
            .iter()
            .find(|m| m.rank == rank)
            .map_or(self.meta.host.as_str(), |m| m.host.as_str())
    }

    /// The index in [`Profile::threads`](super::Profile::threads) of every
    /// thread, by (rank, [`ThreadProfile::id`](super::ThreadProfile::id)):
    /// what [`MpiSpan::thread`] and [`MpiMessage`]'s threads name. Look a
    /// thread up with [`ThreadsByRank::find`].
    pub fn threads_by_rank(&self) -> ThreadsByRank {
        let mut index = std::collections::HashMap::new();
        for (i, t) in self.threads.iter().enumerate() {
            index.entry((t.rank.unwrap_or(u32::MAX), t.id)).or_insert(i);
        }
        ThreadsByRank { index }
    }

    /// The profile's point-to-point messages, each send paired with its
    /// receive by (sender, receiver, tag, communicator, sequence number),
    /// as Extrae's merger pairs them. Needs the ranks' timelines (timeline
    /// mode); times are the profile's (aligned across ranks in a merged
    /// profile).
    pub fn mpi_messages(&self) -> MpiMessages {
        use std::collections::HashMap;
        type Key = (u32, u32, i32, u32, u64);
        let mut sends: HashMap<Key, (usize, usize)> = HashMap::new();
        for (ri, r) in self.mpi.iter().enumerate() {
            for (si, s) in r.messages.iter().enumerate() {
                if s.direction == Direction::Send {
                    sends.insert((r.rank, s.peer, s.tag, s.comm, s.seq), (ri, si));
                }
            }
        }
        let mut out = MpiMessages::default();
        for (ri, r) in self.mpi.iter().enumerate() {
            for s in r
                .messages
                .iter()
                .filter(|s| s.direction == Direction::Receive)
            {
                let key = (s.peer, r.rank, s.tag, s.comm, s.seq);
                let (Some((sri, ssi)), Some(rc)) =
                    (sends.remove(&key), r.timeline.get(s.call as usize))
                else {
                    out.unpaired_receives += 1;
                    continue;
                };
                let sr = &self.mpi[sri];
                let side = &sr.messages[ssi];
                let Some(sc) = sr.timeline.get(side.call as usize) else {
                    out.unpaired_receives += 1;
                    continue;
                };
                out.paired.push(MpiMessage {
                    from: sr.rank,
                    to: r.rank,
                    send_thread: sc.thread,
                    recv_thread: rc.thread,
                    tag: s.tag,
                    comm: s.comm,
                    bytes: side.bytes,
                    send_start_ns: sc.start_ns,
                    send_end_ns: sc.end_ns,
                    recv_posted_ns: s.posted_ns.min(rc.start_ns),
                    recv_start_ns: rc.start_ns,
                    recv_end_ns: rc.end_ns,
                    recv_call: (ri, s.call as usize),
                    send_call: (sri, side.call as usize),
                });
            }
        }
        out.unpaired_sends = sends.len();
        out.paired
            .sort_by_key(|m| (m.send_start_ns, m.from, m.to, m.recv_end_ns));
        out
    }
}

/// One MPI routine called from one function, on one rank.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MpiCall {
    /// The routine (`MPI_Send`).
    pub routine: String,
    /// The calling function's name (empty when called outside any profiled
    /// function).
    pub caller: String,
    /// Calls.
    pub calls: u64,
    /// Their time, in nanoseconds.
    pub time_ns: u64,
    /// Bytes sent (the send buffers' sizes).
    pub bytes_sent: u64,
    /// Bytes received (the receive buffers' sizes).
    pub bytes_received: u64,
    /// The ranks its point-to-point calls sent to or received from, in
    /// order (empty for collectives).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<u32>,
}

/// Point-to-point messages from one rank to another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MpiTraffic {
    /// The destination rank.
    pub to: u32,
    /// Bytes sent.
    pub bytes: u64,
    /// Messages sent.
    pub messages: u64,
}

/// One thread of a rank: its busy time and how much of it was in MPI calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RankThread {
    /// The thread's name.
    pub name: String,
    /// Inclusive time of its roots (time in profiled scopes), in ns.
    pub busy_ns: u64,
    /// Time in MPI calls, in ns.
    pub mpi_ns: u64,
}

impl MpiRun {
    /// A run of `ranks` ranks seen from `rank`, on `library`.
    pub fn new(rank: u32, ranks: u32, library: impl Into<String>) -> Self {
        MpiRun {
            rank,
            ranks,
            library: library.into(),
        }
    }
}

impl RankMpi {
    /// A rank's figures (see the fields).
    pub fn new(rank: u32, host: impl Into<String>, pid: u32, app_ns: u64) -> Self {
        RankMpi {
            rank,
            host: host.into(),
            pid,
            app_ns,
            ..RankMpi::default()
        }
    }

    /// Its time in MPI calls over every thread, in nanoseconds (mpiP's
    /// MPITime).
    pub fn mpi_ns(&self) -> u64 {
        self.calls.iter().map(|c| c.time_ns).sum()
    }

    /// Its main thread: the one named `main`, else its first.
    pub fn main_thread(&self) -> Option<&RankThread> {
        self.threads
            .iter()
            .find(|t| t.name == "main")
            .or_else(|| self.threads.first())
    }

    /// Its useful time (POP's, for the MPI figures): its application time
    /// less its main thread's time in MPI calls, in nanoseconds.
    pub fn useful_ns(&self) -> u64 {
        self.app_ns
            .saturating_sub(self.main_thread().map_or(0, |t| t.mpi_ns))
    }
}

impl MpiCall {
    /// `calls` calls of `routine` from `caller`, lasting `time_ns`, moving
    /// the given bytes.
    pub fn new(
        routine: impl Into<String>,
        caller: impl Into<String>,
        calls: u64,
        time_ns: u64,
        bytes_sent: u64,
        bytes_received: u64,
    ) -> Self {
        MpiCall {
            routine: routine.into(),
            caller: caller.into(),
            calls,
            time_ns,
            bytes_sent,
            bytes_received,
            peers: Vec::new(),
        }
    }
}

impl MpiTraffic {
    /// `messages` messages of `bytes` bytes in all to rank `to`.
    pub fn new(to: u32, bytes: u64, messages: u64) -> Self {
        MpiTraffic {
            to,
            bytes,
            messages,
        }
    }
}

impl RankThread {
    /// A thread busy `busy_ns`, of which `mpi_ns` in MPI calls.
    pub fn new(name: impl Into<String>, busy_ns: u64, mpi_ns: u64) -> Self {
        RankThread {
            name: name.into(),
            busy_ns,
            mpi_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, Profile};

    #[test]
    fn offsets_are_interpolated_between_the_estimates() {
        let o = |at_ns, offset_ns| ClockOffset {
            at_ns,
            offset_ns,
            rtt_ns: 1000,
        };
        let sync = ClockSync {
            epoch_unix_ns: 1_000_000,
            start: Some(o(1_000, -50_000)),
            end: Some(o(1_001_000, -50_100)),
            shift_ns: 0,
        };
        assert_eq!(sync.offset_at(1_000), -50_000.0);
        assert_eq!(sync.offset_at(501_000), -50_050.0);
        assert_eq!(sync.offset_at(2_001_000), -50_200.0);
        assert_eq!(sync.to_reference(501_000), 1_000_000 + 501_000 - 50_050);
        let one = ClockSync {
            end: None,
            ..sync.clone()
        };
        assert_eq!(one.offset_at(7), -50_000.0);
        assert_eq!(ClockSync::default().to_reference(5), 5);
    }

    fn side(direction: Direction, call: u32, peer: u32, tag: i32, seq: u64) -> MessageSide {
        MessageSide {
            direction,
            call,
            peer,
            tag,
            comm: 0,
            bytes: 8 * (u64::from(call) + 1),
            seq,
            posted_ns: 0,
        }
    }

    fn span(start_ns: u64, end_ns: u64) -> MpiSpan {
        MpiSpan {
            thread: 1,
            site: 0,
            start_ns,
            end_ns,
        }
    }

    #[test]
    fn messages_pair_in_order_per_tag() {
        // Rank 0 sends tag 5 twice and tag 6 once; rank 1 receives them
        // tag 6 first; a third tag-5 receive has no send.
        let mut r0 = RankMpi::new(0, "h", 1, 100);
        r0.timeline = vec![span(0, 1), span(2, 3), span(4, 5)];
        r0.messages = vec![
            side(Direction::Send, 0, 1, 5, 0),
            side(Direction::Send, 1, 1, 5, 1),
            side(Direction::Send, 2, 1, 6, 0),
        ];
        let mut r1 = RankMpi::new(1, "h", 2, 100);
        r1.timeline = vec![span(10, 11), span(12, 13), span(14, 15), span(16, 17)];
        r1.messages = vec![
            side(Direction::Receive, 0, 0, 6, 0),
            side(Direction::Receive, 1, 0, 5, 0),
            side(Direction::Receive, 2, 0, 5, 1),
            side(Direction::Receive, 3, 0, 5, 2),
        ];
        let mut p = Profile::new(Metadata::default(), Vec::new(), Vec::new());
        p.mpi = vec![r0, r1];
        let m = p.mpi_messages();
        assert_eq!((m.unpaired_sends, m.unpaired_receives), (0, 1));
        let pairs: Vec<(u64, u64, i32, u64)> = m
            .paired
            .iter()
            .map(|m| (m.send_start_ns, m.recv_end_ns, m.tag, m.bytes))
            .collect();
        assert_eq!(pairs, [(0, 13, 5, 8), (2, 15, 5, 16), (4, 11, 6, 24)]);
        assert_eq!(m.paired[2].recv_call, (1, 0));
        assert_eq!(m.paired[2].send_call, (0, 2));
    }
}
