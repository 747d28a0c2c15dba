//! Rank-aware sessions: every rank's profile gathered to rank 0 over MPI.

use std::path::{Path, PathBuf};

use mpi::Count;
use mpi::collective::Root;
use mpi::datatype::PartitionMut;
use mpi::topology::Communicator;

use super::{ranks, tally};
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
        SessionGuard {
            world,
            guard: Some(guard),
            out,
            per_rank,
            print_report,
            run: MpiRun::new(rank, ranks, library),
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
        profile.mpi = vec![ranks::rank_mpi(&profile, &tally::take(), rank)];
        let mut own_error = None;
        if self.per_rank {
            if let Some(out) = &self.out {
                let dir = crate::session::expand(out, Some(&rank.to_string()));
                own_error = crate::write_reports(&profile, &dir).err();
            }
        }
        let mut bytes = Vec::new();
        crate::profile::write(&profile, &mut bytes).map_err(|e| Error::Invalid {
            message: format!("rank {rank}: the profile does not serialize: {e}"),
        })?;
        let gathered = gather(self.world, &bytes)?;
        let result = match gathered {
            Some(all) => self.write_merged(&all).map(Some),
            None => Ok(None),
        };
        match own_error {
            Some(e) => Err(e),
            None => result,
        }
    }

    /// On rank 0: folds every rank's profile into the merged one, writing
    /// each rank's folder on the way, then the merged set.
    fn write_merged(&self, all: &[Vec<u8>]) -> Result<Profile, Error> {
        let mut merge = RankMerge::new();
        let mut first_error = None;
        for (r, bytes) in all.iter().enumerate() {
            let name = PathBuf::from(format!("rank {r}"));
            let p = crate::load::from_bytes(bytes, &name)?.profile;
            if let (Some(out), false) = (&self.out, self.per_rank) {
                let dir = out.join(rank_folder(r as u32));
                if let Err(e) = crate::write_reports(&p, &dir) {
                    first_error.get_or_insert(e);
                }
            }
            merge.add(p);
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

/// Gathers every rank's bytes to rank 0 (`MPI_Gather` of the lengths, an
/// `MPI_Bcast` of whether they fit one `MPI_Gatherv`, then that
/// `MPI_Gatherv`): the bytes by rank there, `None` elsewhere. Collective.
fn gather<C: Communicator>(world: &C, bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>, Error> {
    let root = world.process_at_rank(0);
    // A profile too large for MPI's count sends nothing (the root names it).
    let len = Count::try_from(bytes.len()).unwrap_or(-1);
    let mine: &[u8] = if len < 0 { &[] } else { bytes };
    let is_root = world.rank() == 0;
    let size = usize::try_from(world.size()).unwrap_or(1);
    let mut lens: Vec<Count> = vec![0; if is_root { size } else { 0 }];
    if is_root {
        root.gather_into_root(&len, &mut lens[..]);
    } else {
        root.gather_into(&len);
    }
    let counts: Vec<Count> = lens.iter().map(|&l| l.max(0)).collect();
    let total: i64 = counts.iter().map(|&c| i64::from(c)).sum();
    let mut fits = u8::from(Count::try_from(total).is_ok());
    root.broadcast_into(&mut fits);
    if fits == 0 {
        if !is_root {
            return Ok(None);
        }
        return Err(Error::Invalid {
            message: format!(
                "the ranks' profiles add up to {total} bytes, more than one MPI_Gatherv holds \
                 (2 GiB); put %r in PROFILER_OUT to have each rank write its own"
            ),
        });
    }
    if !is_root {
        root.gather_varcount_into(mine);
        return Ok(None);
    }
    let mut displs: Vec<Count> = Vec::with_capacity(size);
    let mut at: Count = 0;
    for &c in &counts {
        displs.push(at);
        at += c;
    }
    let mut all = vec![0u8; at as usize];
    {
        let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
        root.gather_varcount_into_root(mine, &mut part);
    }
    if let Some(r) = lens.iter().position(|&l| l < 0) {
        return Err(Error::Invalid {
            message: format!(
                "rank {r}: its profile is over 2 GiB, more than one MPI message holds"
            ),
        });
    }
    Ok(Some(
        counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec())
            .collect(),
    ))
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
