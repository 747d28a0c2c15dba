//! MPI programs (rsmpi, the `mpi` feature): rank-aware sessions gathered
//! to rank 0 over MPI, MPI calls as rows with the bytes they moved, and the
//! MPI summary (mpiP's) and POP's hybrid metrics in the reports.
//!
//! ```no_run
//! use mpi::collective::SystemOperation;
//! use mpi::traits::*;
//! use profiler::mpi::MpiCollectives;
//!
//! let universe = mpi::initialize().unwrap();
//! let world = universe.world();
//! let session = profiler::mpi::Session::from_env().start(&world); // PROFILER_OUT=dir
//! let mine = [world.rank() as f64];
//! let mut sum = [0.0];
//! world.mpi_allreduce(&mine, &mut sum, SystemOperation::sum()); // an `MPI_Allreduce` row
//! // Every rank's profile goes to rank 0, which writes the merged reports
//! // into `dir` and each rank's into `dir/rank-0000`, `dir/rank-0001`...
//! session.finish().unwrap();
//! ```
//!
//! - **Sessions** ([`Session`]): the profile records the rank, the number of
//!   ranks, the host and the MPI library. When the session finishes (every
//!   rank calls [`SessionGuard::finish`], or drops the guard, before MPI is
//!   finalized), each rank's profile is serialized and gathered to rank 0
//!   (`MPI_Gatherv`; no shared file system needed), which writes the merged
//!   set (see [`RankMerge`](crate::profile::RankMerge)) and one folder per
//!   rank (`rank-0007/`). `%r` in `PROFILER_OUT` is the rank: with it, every
//!   rank writes its own set where the directory says (node-local disks) and
//!   rank 0 also writes the merged set with `all` for `%r`. Other endings (a
//!   signal, `process::exit`, a panic) cannot wait for the other ranks: each
//!   rank then writes its own set into its folder.
//! - **MPI calls as rows** ([`MpiCollectives`], [`MpiPointToPoint`],
//!   [`mpi_wait`], [`mpi_waitall`], [`mpi_scope!`](crate::mpi_scope)): each
//!   call is a leaf row named after the routine (`MPI_Send`) under its
//!   caller, and adds its bytes sent and received to the rank's figures
//!   and, for point-to-point sends, to the communication matrix.
//! - **Timelines** (timeline mode, `PROFILER_TIMELINE=1`): every MPI call is
//!   on its thread's timeline whatever its length, and every point-to-point
//!   message's two sides are recorded ([`MessageSide`](crate::profile::MessageSide):
//!   peer, tag, communicator, bytes, sequence number), an immediate
//!   receive's at the wait that completed it. Each rank's clock offset
//!   against rank 0's is estimated by ping-pong when the session starts and
//!   when it finishes ([`ClockSync`](crate::profile::ClockSync)); the merge
//!   puts every rank on rank 0's clock (see
//!   [`RankMerge`](crate::profile::RankMerge)), and the timeline formats
//!   show the ranks together, with the messages between them.

mod calls;
mod clock;
mod ranks;
mod session;
mod tally;

pub use calls::{MpiAnySource, MpiCollectives, MpiPointToPoint, mpi_wait, mpi_waitall};
pub use session::{Session, SessionGuard};

use crate::site::Site;

/// Support for [`mpi_scope!`](crate::mpi_scope); not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use super::tally::site;

    /// Runs `f` as a call of the MPI routine of `site` that sends `bytes`
    /// bytes to `peer` (when it is a rank).
    pub fn call<R>(
        site: &'static super::Site,
        bytes: u64,
        peer: Option<i32>,
        f: impl FnOnce() -> R,
    ) -> R {
        let to = peer.and_then(|p| u32::try_from(p).ok());
        super::calls::call(site, || {
            (
                f(),
                super::calls::Moved {
                    sent: bytes,
                    to,
                    ..super::calls::Moved::default()
                },
            )
        })
    }
}

/// Records any other MPI call as a row named after its routine, under its
/// caller: `mpi_scope!("MPI_Probe", { ... })`, or with the bytes it sends
/// and, for a point-to-point send, the destination rank:
/// `mpi_scope!("MPI_Ssend", bytes, peer, { ... })`. Evaluates to the
/// block's value.
///
/// ```no_run
/// # let world = mpi::initialize().unwrap().world();
/// use mpi::traits::*;
/// let status = profiler::mpi_scope!("MPI_Probe", { world.any_process().probe() });
/// ```
#[macro_export]
macro_rules! mpi_scope {
    ($routine:literal, $body:block) => {
        $crate::mpi_scope!($routine, 0u64, ::core::option::Option::None::<i32>, $body)
    };
    ($routine:literal, $bytes:expr, $peer:expr, $body:block) => {{
        static __PROFILER_MPI_SITE: $crate::__private::Site =
            $crate::mpi::__private::site($routine);
        $crate::mpi::__private::call(
            &__PROFILER_MPI_SITE,
            ($bytes) as u64,
            ::core::convert::Into::<::core::option::Option<i32>>::into($peer),
            || $body,
        )
    }};
}
