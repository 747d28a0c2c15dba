//! The MPI modes (the `mpi` feature): one process per rank, started by
//! `mpiexec`, each with one thread that makes every MPI call.
//!
//! | workload | `mpi` | other MPI modes |
//! |---|---|---|
//! | [`pi`] | a block of chunks (and their jump-ahead streams) per rank; `MPI_Reduce` of the hits | |
//! | [`sums`] | a block of chunks per rank; `MPI_Allreduce` of the chunk sums | |
//! | [`axpy`] | a block of files per rank; `MPI_Reduce` of the file fingerprints | |
//! | [`imbalance`] | a block of rows per rank (static) | `mpi-dynamic`: master-worker |
//! | [`halo`] | blocking halo exchange | `mpi-overlap`: non-blocking exchange overlapped with the interior |
//!
//! Every MPI mode gives the answer of `seq`, bit for bit, on any number of
//! ranks: the work is cut into the same fixed chunks, and results that are
//! not integers are reduced slot per chunk (zeros elsewhere, so that MPI's
//! order of additions cannot change a bit) and combined in chunk order.
//!
//! [`prepare`] builds one rank's share of the input and [`execute`] runs
//! one mode on it; both are collective (every rank calls them). The
//! `workloads run NAME --mode mpi` program runs them in a
//! [`profiler::mpi::Session`], and [`load_balance`] reads the MPI load
//! balance off the merged profile.

use ::mpi::topology::SimpleCommunicator;
use ::mpi::traits::Communicator;

use crate::{Answer, Error, Mode, Sizes, Workload, axpy, halo, imbalance, pi, sums};

/// One rank's share of a workload's input.
#[derive(Debug)]
pub enum RankInput {
    /// This rank's input files of [`axpy`] (removed when dropped).
    Axpy(axpy::Input),
    /// This rank's chunks of [`sums`].
    Sums(sums::RankPart),
    /// Configuration of [`pi`].
    Pi(pi::Config),
    /// Configuration of [`imbalance`].
    Imbalance(imbalance::Config),
    /// Configuration of [`halo`].
    Halo(halo::Config),
}

impl RankInput {
    /// The workload this input belongs to.
    pub fn workload(&self) -> Workload {
        match self {
            RankInput::Axpy(_) => Workload::Axpy,
            RankInput::Sums(_) => Workload::Sums,
            RankInput::Pi(_) => Workload::Pi,
            RankInput::Imbalance(_) => Workload::Imbalance,
            RankInput::Halo(_) => Workload::Halo,
        }
    }
}

/// Validates the sizes and prepares this rank's share of `w`'s input
/// (untimed set-up). Every rank validates the same sizes, so that they all
/// fail together or not at all.
pub fn prepare(w: Workload, sizes: &Sizes, world: &SimpleCommunicator) -> Result<RankInput, Error> {
    sizes.validate(w)?;
    let (rank, ranks) = (world.rank() as usize, world.size() as usize);
    Ok(match w {
        Workload::Axpy => RankInput::Axpy(axpy::prepare_rank(&sizes.axpy, rank, ranks)?),
        Workload::Sums => RankInput::Sums(sums::prepare_rank(&sizes.sums, rank, ranks)?),
        Workload::Pi => RankInput::Pi(sizes.pi.clone()),
        Workload::Imbalance => RankInput::Imbalance(sizes.imbalance.clone()),
        Workload::Halo => RankInput::Halo(sizes.halo.clone()),
        Workload::Amdahl | Workload::Recursion => return Err(w.mode_error(Mode::Mpi)),
    })
}

/// Runs MPI mode `mode` on this rank's input (a collective call): the
/// answer on rank 0, `None` on the others.
pub fn execute(
    input: &RankInput,
    mode: Mode,
    world: &SimpleCommunicator,
) -> Result<Option<Answer>, Error> {
    let w = input.workload();
    if !w.mpi_modes().contains(&mode) {
        return Err(w.mode_error(mode));
    }
    fn answer<T: std::fmt::Display + std::fmt::Debug>(a: Option<T>) -> Option<Answer> {
        a.map(|a| Answer::of(&a))
    }
    Ok(match (input, mode) {
        (RankInput::Axpy(i), _) => answer(axpy::axpy_mpi(i, world)?),
        (RankInput::Sums(p), _) => {
            let sum = sums::sum_mpi(p, world);
            answer((world.rank() == 0).then_some(sum))
        }
        (RankInput::Pi(c), _) => answer(pi::pi_mpi(c, world).map(|hits| pi::Estimate {
            hits,
            samples: c.samples,
        })),
        (RankInput::Imbalance(c), Mode::MpiDynamic) => {
            answer(imbalance::render_mpi_dynamic(c, world))
        }
        (RankInput::Imbalance(c), _) => answer(imbalance::render_mpi_static(c, world)),
        (RankInput::Halo(c), Mode::MpiOverlap) => answer(halo::heat_mpi_overlap(c, world)?),
        (RankInput::Halo(c), _) => answer(halo::heat_mpi(c, world)?),
    })
}
