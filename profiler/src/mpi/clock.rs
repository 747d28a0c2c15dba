//! Clock alignment across ranks: ping-pong estimates of every rank's clock
//! offset against rank 0's, when the session starts and when it finishes
//! (Score-P's method, see [`ClockSync`]), and the test hook that skews one
//! rank's clock.
//!
//! Every rank reads the profiler's own clock (the ticks its timelines are
//! measured in); the readings are converted to nanoseconds at the finish,
//! with the conversion the rank's profile used, so that the estimates are
//! in exactly the time its timelines are in.

use mpi::point_to_point::{Destination, Source};
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::clock::{self, Conversion};
use crate::profile::{ClockOffset, ClockSync, Profile};

/// Exchanges per rank and estimate; the one with the smallest round trip
/// is kept.
const ROUNDS: usize = 10;

/// One estimate's raw readings, in ticks of each side's clock: on rank 0,
/// per rank, the best exchange's send and receive ticks and the other
/// rank's reading; on another rank, its readings of every exchange.
#[derive(Clone, Debug, Default)]
pub(super) struct Readings {
    /// On rank 0: per rank (index = rank), (sent, received, their reading).
    best: Vec<Option<(u64, u64, u64)>>,
}

/// Ping-pongs rank 0 with every other rank of `comm` in turn (collective).
/// Rank 0 sends its round number and the other rank answers with its
/// clock reading.
pub(super) fn exchange(comm: &SimpleCommunicator) -> Readings {
    let size = usize::try_from(comm.size()).unwrap_or(1);
    let mut out = Readings {
        best: vec![None; size],
    };
    if comm.rank() == 0 {
        for r in 1..size {
            let p = comm.process_at_rank(r as i32);
            let mut best: Option<(u64, u64, u64)> = None;
            for k in 0..ROUNDS {
                let t0 = clock::now();
                p.send(&(k as u64));
                let (theirs, _) = p.receive::<u64>();
                let t1 = clock::now();
                if best.is_none_or(|(a, b, _)| t1.wrapping_sub(t0) < b.wrapping_sub(a)) {
                    best = Some((t0, t1, theirs));
                }
            }
            out.best[r] = best;
        }
    } else {
        let root = comm.process_at_rank(0);
        for _ in 0..ROUNDS {
            let _ = root.receive::<u64>();
            root.send(&clock::now());
        }
    }
    out
}

/// How one rank turns ticks into times: its profile's conversion, the
/// tick its timelines count from, its timeline zero in Unix nanoseconds,
/// and the test skew.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timebase {
    pub(super) conv: Conversion,
    pub(super) epoch_tick: u64,
    pub(super) epoch_unix_ns: u64,
    pub(super) skew: Skew,
}

impl Timebase {
    /// Nanoseconds since the timeline zero of a tick reading (0 before it).
    pub(super) fn local_ns(&self, tick: u64) -> u64 {
        let ns = if tick >= self.epoch_tick {
            self.conv.ns(tick - self.epoch_tick)
        } else {
            0
        };
        self.skew.local(ns)
    }

    /// Unix nanoseconds of a tick reading, on this rank's (skewed) clock.
    fn unix_ns(&self, tick: u64) -> i128 {
        i128::from(self.skew.epoch(self.epoch_unix_ns)) + i128::from(self.local_ns(tick))
    }
}

/// Turns the start and end readings into every rank's [`ClockSync`]
/// (collective): rank 0 sends each rank the Unix times of its best
/// exchanges and that rank's readings; each rank computes its offsets.
pub(super) fn resolve(
    comm: &SimpleCommunicator,
    base: &Timebase,
    start: &Readings,
    end: &Readings,
) -> ClockSync {
    let mut sync = ClockSync {
        epoch_unix_ns: base.skew.epoch(base.epoch_unix_ns),
        ..ClockSync::default()
    };
    let size = usize::try_from(comm.size()).unwrap_or(1);
    if comm.rank() == 0 {
        for r in 1..size {
            let mut msg = [0i64; 8];
            for (k, readings) in [start, end].into_iter().enumerate() {
                if let Some(Some((t0, t1, theirs))) = readings.best.get(r) {
                    msg[4 * k] = 1;
                    msg[4 * k + 1] = base.unix_ns(*t0) as i64;
                    msg[4 * k + 2] = base.unix_ns(*t1) as i64;
                    msg[4 * k + 3] = *theirs as i64;
                }
            }
            comm.process_at_rank(r as i32).send(&msg[..]);
        }
        return sync;
    }
    let mut msg = [0i64; 8];
    comm.process_at_rank(0).receive_into(&mut msg[..]);
    let estimate = |k: usize| -> Option<ClockOffset> {
        if msg[4 * k] == 0 {
            return None;
        }
        let (t0, t1) = (i128::from(msg[4 * k + 1]), i128::from(msg[4 * k + 2]));
        let theirs = msg[4 * k + 3] as u64;
        let mine = base.unix_ns(theirs);
        let offset = (t0 + t1) / 2 - mine;
        Some(ClockOffset {
            at_ns: base.local_ns(theirs),
            offset_ns: i64::try_from(offset).unwrap_or(0),
            rtt_ns: u64::try_from(t1 - t0).unwrap_or(0),
        })
    };
    sync.start = estimate(0);
    sync.end = estimate(1);
    sync
}

/// An artificial offset and drift of one rank's clock, for the tests of
/// the alignment only: `PROFILER_TEST_MPI_CLOCK_SKEW=<rank>:<offset ns>:<drift ppm>`
/// makes that rank's clock read `offset` more than the truth at its
/// timeline zero and run `drift` parts per million fast, in its profile
/// and in its clock estimates alike, as a badly set clock on another node
/// would.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Skew {
    offset_ns: i64,
    drift: f64,
}

/// The test hook's variable.
const SKEW_VAR: &str = "PROFILER_TEST_MPI_CLOCK_SKEW";

impl Skew {
    /// The skew the test hook asks of `rank` (none when unset, malformed
    /// or for another rank).
    pub(super) fn for_rank(rank: u32) -> Skew {
        let Ok(v) = std::env::var(SKEW_VAR) else {
            return Skew::default();
        };
        let parts: Vec<&str> = v.split(':').collect();
        match parts[..] {
            [r, off, ppm] if r.parse() == Ok(rank) => Skew {
                offset_ns: off.parse().unwrap_or(0),
                drift: ppm.parse::<f64>().unwrap_or(0.0) * 1e-6,
            },
            _ => Skew::default(),
        }
    }

    /// Whether it changes nothing.
    pub(super) fn is_none(&self) -> bool {
        *self == Skew::default()
    }

    /// A time since the timeline zero, on the skewed clock.
    pub(super) fn local(&self, ns: u64) -> u64 {
        if self.drift == 0.0 {
            return ns;
        }
        (ns as f64 * (1.0 + self.drift)).round().max(0.0) as u64
    }

    /// The timeline zero in Unix nanoseconds, on the skewed clock.
    pub(super) fn epoch(&self, unix_ns: u64) -> u64 {
        unix_ns.saturating_add_signed(self.offset_ns)
    }

    /// Puts `profile` (recorded with the true clock) on the skewed clock.
    pub(super) fn apply(&self, profile: &mut Profile) {
        if self.is_none() {
            return;
        }
        profile.meta.start_unix_s += self.offset_ns as f64 / 1e9;
        profile.meta.duration_ns = self.local(profile.meta.duration_ns);
        for t in &mut profile.threads {
            for s in &mut t.timeline {
                let start = self.local(s.start_ns);
                let end = self.local(s.end_ns());
                *s = crate::profile::Span::new(s.site, start, end - start);
            }
            t.started_ns = t.started_ns.map(|n| self.local(n));
            t.ended_ns = t.ended_ns.map(|n| self.local(n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_is_an_offset_and_a_rate() {
        let s = Skew {
            offset_ns: 50_000_000,
            drift: 100e-6,
        };
        assert_eq!(s.local(1_000_000_000), 1_000_100_000);
        assert_eq!(s.epoch(1_000), 50_001_000);
        assert!(Skew::default().is_none());
    }
}
