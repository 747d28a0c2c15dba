//! Rank-aware sessions: every rank's profile gathered to rank 0 over MPI.

use std::path::{Path, PathBuf};

use mpi::Count;
use mpi::collective::Root;
use mpi::datatype::PartitionMut;
use mpi::topology::{Communicator, SimpleCommunicator};

use super::{clock, ranks, tally};
use crate::error::Error;
use crate::profile::{MpiRun, Profile, RankMerge};

/// A profiling session of one rank of an MPI program (see the
/// [module docs](super)): a [`crate::Session`]'s settings, and the
/// communicator whose ranks' profiles are gathered at the end.
#[derive(Clone, Debug)]
pub struct Session {
    inner: crate::Session,
}

impl Session {
    /// A session configured from the environment, as
    /// [`crate::Session::from_env`] (`PROFILER_OUT=dir`; `%r` in it is the
    /// rank).
    pub fn from_env() -> Self {
        Session::new(crate::Session::from_env())
    }

    /// A session with `session`'s settings.
    pub fn new(session: crate::Session) -> Self {
        Session { inner: session }
    }

    /// Starts the session on this rank of `world` (every rank starts its
    /// own), and returns the guard that ends it: every rank must finish it
    /// (or drop it) at the same point, before MPI is finalized, as the end
    /// is collective.
    pub fn start<C: Communicator>(self, world: &C) -> SessionGuard<'_, C> {
        let rank = u32::try_from(world.rank()).unwrap_or(0);
        let ranks = u32::try_from(world.size()).unwrap_or(1);
        let library = mpi::environment::library_version()
            .ok()
            .and_then(|v| {
                // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4".
                let line = v.lines().next()?;
                Some(line.split(',').next().unwrap_or(line).trim().to_owned())
            })
            .unwrap_or_default();
        crate::session::set_rank(rank);
        let mut inner = self.inner;
        let out = inner.output_dir.take().map(|dir| {
            if dir.is_relative() {
                std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(&dir))
            } else {
                dir
            }
        });
        let per_rank = out.as_deref().is_some_and(has_rank);
        // What another ending (a signal, an exit, a panic) writes, on this
        // rank alone: its own set, in its folder.
        inner.output_dir = out.as_ref().map(|dir| {
            if per_rank {
                dir.clone()
            } else {
                dir.join(rank_folder(rank))
            }
        });
        let print_report = inner.print_report;
        inner.print_report = false;
        let _ = tally::take();
        let guard = inner.start();
        // In timeline mode, the first clock estimate, on a communicator of
        // the profiler's own so that no message of the program's can match.
        let sync = crate::recorder::timeline_on().then(|| {
            let comm = world.duplicate();
            let start = clock::exchange(&comm);
            (comm, start)
        });
        let epoch_tick = guard.epoch_tick().unwrap_or_else(crate::clock::epoch_ticks);
        SessionGuard {
            world,
            guard: Some(guard),
            out,
            per_rank,
            print_report,
            run: MpiRun::new(rank, ranks, library),
            sync,
            epoch_tick,
        }
    }
}

/// A running MPI session on one rank. [`SessionGuard::finish`] (or drop)
/// ends it on every rank together.
#[must_use = "the session ends, and its reports are gathered and written, when this guard is dropped"]
pub struct SessionGuard<'w, C: Communicator> {
    world: &'w C,
    guard: Option<crate::SessionGuard>,
    /// The output directory, absolute, `%r` not expanded.
    out: Option<PathBuf>,
    /// Whether `out` holds `%r`: each rank writes its own set there.
    per_rank: bool,
    print_report: bool,
    run: MpiRun,
    /// In timeline mode: the profiler's communicator and the clock
    /// readings taken at the start.
    sync: Option<(SimpleCommunicator, clock::Readings)>,
    /// The tick the session's timelines count from.
    epoch_tick: u64,
}

impl<C: Communicator> std::fmt::Debug for SessionGuard<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard")
            .field("run", &self.run)
            .field("out", &self.out)
            .finish()
    }
}

impl<C: Communicator> SessionGuard<'_, C> {
    /// Ends the session on every rank (a collective call): gathers every
    /// rank's profile to rank 0, which writes the merged reports and one
    /// folder per rank, and returns the merged profile there (`None` on
    /// the other ranks).
    pub fn finish(mut self) -> Result<Option<Profile>, Error> {
        self.end()
    }

    fn end(&mut self) -> Result<Option<Profile>, Error> {
        let Some(guard) = self.guard.take() else {
            return Ok(None);
        };
        // Another ending may have written this rank's reports already; the
        // gather goes on regardless, so that no rank waits for good.
        let mut profile = guard.take().unwrap_or_else(crate::snapshot);
        let rank = self.run.rank;
        profile.meta.mpi = Some(self.run.clone());
        for t in &mut profile.threads {
            t.rank = Some(rank);
        }
        let tally = tally::take();
        let mut figures = ranks::rank_mpi(&profile, &tally, rank);
        if let Some((comm, start)) = self.sync.take() {
            if mpi::environment::is_finalized() {
                // Freeing it would call MPI after its end.
                std::mem::forget(comm);
            } else {
                let base = clock::Timebase {
                    conv: crate::clock::Conversion::from_ticks_per_second(
                        profile.meta.ticks_per_second,
                    ),
                    epoch_tick: self.epoch_tick,
                    epoch_unix_ns: (profile.meta.start_unix_s * 1e9).round().max(0.0) as u64,
                    skew: clock::Skew::for_rank(rank),
                };
                let end = clock::exchange(&comm);
                figures.clock = Some(clock::resolve(&comm, &base, &start, &end));
                ranks::add_timeline(&mut figures, &tally, &base);
                base.skew.apply(&mut profile);
            }
        }
        profile.mpi = vec![figures];
        let mut own_error = None;
        if self.per_rank {
            if let Some(out) = &self.out {
                let dir = crate::session::expand(out, Some(&rank.to_string()));
                own_error = crate::write_reports(&profile, &dir).err();
            }
        }
        if mpi::environment::is_finalized() {
            // MPI ended before the session (the `Universe` was dropped
            // first): no gather is possible; this rank writes its own set.
            if let (Some(out), false) = (&self.out, self.per_rank) {
                crate::write_reports(&profile, &out.join(rank_folder(rank)))?;
            }
            return Err(Error::Invalid {
                message: format!(
                    "rank {rank}: MPI was finalized before the session finished, so the ranks' \
                     profiles were not gathered (each rank wrote its own); finish the session \
                     before the `Universe` is dropped"
                ),
            });
        }
        let mut bytes = Vec::new();
        crate::profile::write(&profile, &mut bytes).map_err(|e| Error::Invalid {
            message: format!("rank {rank}: the profile does not serialize: {e}"),
        })?;
        let result = if rank == 0 {
            self.write_merged(&bytes).map(Some)
        } else {
            gather(self.world, &bytes, |_| Ok(())).map(|()| None)
        };
        match own_error {
            Some(e) => Err(e),
            None => result,
        }
    }

    /// On rank 0: gathers every rank's profile and folds it into the
    /// merged one as it arrives (one round of ranks held at a time),
    /// writing each rank's folder on the way, then the merged set.
    fn write_merged(&self, own: &[u8]) -> Result<Profile, Error> {
        let mut merge = RankMerge::new();
        let mut first_error = None;
        let write_error = std::sync::Mutex::new(None);
        let (out, per_rank) = (&self.out, self.per_rank);
        let gathered = gather(self.world, own, |round| {
            // Parsed (and each rank's folder written) on every core.
            let names: Vec<PathBuf> = round
                .iter()
                .map(|(r, _)| PathBuf::from(format!("rank {r}")))
                .collect();
            let pieces: Vec<(&Path, &[u8])> = names
                .iter()
                .zip(round)
                .map(|(n, (_, b))| (n.as_path(), *b))
                .collect();
            merge.add_json(&pieces, |p| {
                let (Some(out), false) = (out, per_rank) else {
                    return;
                };
                let rank = p.meta.mpi.as_ref().map_or(0, |m| m.rank);
                if let Err(e) = crate::write_reports(p, &out.join(rank_folder(rank))) {
                    if let Ok(mut first) = write_error.lock() {
                        first.get_or_insert(e);
                    }
                }
            })
        });
        if let Ok(Some(e)) = write_error.into_inner() {
            first_error = Some(e);
        }
        let merged = merge.finish();
        if self.print_report {
            eprint!("{}", crate::emit::pstats::report(&merged));
        }
        if let Some(out) = &self.out {
            let dir = if self.per_rank {
                crate::session::expand(out, Some("all"))
            } else {
                out.clone()
            };
            crate::write_reports(&merged, &dir)?;
        }
        gathered?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(merged),
        }
    }
}

impl<C: Communicator> Drop for SessionGuard<'_, C> {
    fn drop(&mut self) {
        if let Err(e) = self.end() {
            eprintln!("profiler: rank {}: {e}", self.run.rank);
        }
    }
}

/// The most bytes rank 0 receives in one `MPI_Gatherv` round (and holds
/// at once): ranks are gathered in rounds of consecutive ranks whose
/// profiles add up to at most this much (a rank larger than it is a round
/// of its own). `PROFILER_TEST_MPI_ROUND_BYTES` changes it, for the tests
/// of several rounds only.
const ROUND_BYTES: i64 = 256 << 20;

fn round_bytes() -> i64 {
    std::env::var("PROFILER_TEST_MPI_ROUND_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUND_BYTES)
}

/// Gathers every rank's bytes to rank 0 and hands them to `each_round`
/// there, a round of ranks at a time in rank order: an `MPI_Gather` of the
/// lengths, an `MPI_Bcast` of them, then one `MPI_Gatherv` per round of
/// ranks (see [`ROUND_BYTES`]), each round's buffer dropped before the
/// next. Collective; `each_round` runs on rank 0 only.
fn gather<C: Communicator>(
    world: &C,
    bytes: &[u8],
    mut each_round: impl FnMut(&[(u32, &[u8])]) -> Result<(), Error>,
) -> Result<(), Error> {
    let root = world.process_at_rank(0);
    // A profile too large for MPI's count sends nothing (the root names it).
    let len = Count::try_from(bytes.len()).unwrap_or(-1);
    // An empty buffer must still point at memory: an empty slice's dangling
    // pointer (1) is OpenMPI's MPI_IN_PLACE, refused on a non-root rank.
    static NOTHING: [u8; 1] = [0];
    let empty: &[u8] = &NOTHING[..0];
    let mine: &[u8] = if len <= 0 { empty } else { bytes };
    let is_root = world.rank() == 0;
    let size = usize::try_from(world.size()).unwrap_or(1);
    let mut lens: Vec<Count> = vec![0; size];
    if is_root {
        root.gather_into_root(&len, &mut lens[..]);
    } else {
        root.gather_into(&len);
    }
    root.broadcast_into(&mut lens[..]);
    let counts: Vec<Count> = lens.iter().map(|&l| l.max(0)).collect();
    // The rounds, the same on every rank: [first, end) rank ranges.
    let mut rounds: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut total: i64 = 0;
    let limit = round_bytes();
    for (r, &c) in counts.iter().enumerate() {
        if r > start && total + i64::from(c) > limit {
            rounds.push((start, r));
            start = r;
            total = 0;
        }
        total += i64::from(c);
    }
    rounds.push((start, size));
    let me = usize::try_from(world.rank()).unwrap_or(0);
    let mut first_error = None;
    for &(from, to) in &rounds {
        let in_round = (from..to).contains(&me);
        let send: &[u8] = if in_round { mine } else { empty };
        if !is_root {
            root.gather_varcount_into(send);
            continue;
        }
        let round_counts: Vec<Count> = (0..size)
            .map(|r| {
                if (from..to).contains(&r) {
                    counts[r]
                } else {
                    0
                }
            })
            .collect();
        let mut displs: Vec<Count> = Vec::with_capacity(size);
        let mut at: Count = 0;
        for &c in &round_counts {
            displs.push(at);
            at = at.saturating_add(c);
        }
        // One byte more, so that the buffer points at memory even when
        // empty (see `empty`).
        let mut buf = vec![0u8; at.max(0) as usize + 1];
        {
            let used = buf.len() - 1;
            let mut part = PartitionMut::new(&mut buf[..used], &round_counts[..], &displs[..]);
            root.gather_varcount_into_root(send, &mut part);
        }
        let mut pieces: Vec<(u32, &[u8])> = Vec::with_capacity(to - from);
        for r in from..to {
            if lens[r] < 0 {
                first_error.get_or_insert(Error::Invalid {
                    message: format!(
                        "rank {r}: its profile is over 2 GiB, more than one MPI message holds"
                    ),
                });
            } else {
                let at = displs[r] as usize;
                pieces.push((r as u32, &buf[at..at + round_counts[r] as usize]));
            }
        }
        if let Err(e) = each_round(&pieces) {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A rank's folder in the output directory: `rank-0007`.
fn rank_folder(rank: u32) -> String {
    format!("rank-{rank:04}")
}

/// Whether a directory holds `%r` (and so names one folder per rank).
fn has_rank(dir: &Path) -> bool {
    dir.as_os_str()
        .as_encoded_bytes()
        .windows(2)
        .any(|w| w == b"%r")
}
