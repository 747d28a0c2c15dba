//! An MPI program with known calls and traffic, for the MPI tests
//! (`tests/it/mpi.rs`), run under `mpiexec -n RANKS`:
//!
//! ```text
//! mpi_program exact      # known counts, point-to-point ring, collectives
//! mpi_program imbalance  # rank r spins (r + 1) units, then MPI_Barrier
//! mpi_program balanced   # every rank spins 2 units, then MPI_Barrier
//! mpi_program nompi      # `exact`'s work without MPI (no MPI_Init)
//! mpi_program finalized-first  # MPI finalized before the session finishes
//! mpi_program ring       # timeline ring: blocking and immediate messages
//! ```
//!
//! `ring` (run with `PROFILER_TIMELINE=1`): ROUNDS rounds in which rank r
//! sends rank r + 1 two blocking messages (tags 0 and 1) and one
//! immediate one (tag 2), of (r + 1) * 100 doubles each, and receives
//! rank r - 1's, the last by `MPI_Irecv` and `MPI_Wait`; rank 0 sleeps
//! 2 ms before each round's sends, so that rank 1 waits for a late sender.
//!
//! The session's output comes from `PROFILER_OUT` (`%r` is the rank). Each
//! rank prints one line `rank R of N` and rank 0 also
//! `merged ncalls(leaf)=...`.

#[cfg(feature = "mpi")]
use std::time::{Duration, Instant};

use profiler::profile;

/// Units of busy work, in milliseconds each.
#[cfg(feature = "mpi")]
const UNIT_MS: u64 = 250;

#[profile]
fn leaf(x: u64) -> u64 {
    (0..200).fold(x, |a, i| a.wrapping_mul(31).wrapping_add(i))
}

#[profile]
fn compute(rank: u64) -> u64 {
    (0..(rank + 1) * 10).map(leaf).fold(0, u64::wrapping_add)
}

#[cfg(feature = "mpi")]
#[profile]
fn spin(units: u64) {
    let end = Instant::now() + Duration::from_millis(units * UNIT_MS);
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

#[cfg(feature = "mpi")]
mod with_mpi {
    use mpi::collective::SystemOperation;
    use mpi::topology::Process;
    use mpi::traits::*;
    use profiler::mpi::{MpiCollectives, MpiPointToPoint};
    use profiler::profile;

    /// The point-to-point ring: rank r sends two messages of (r + 1) * 100
    /// doubles to rank r + 1 and receives two from rank r - 1 (even ranks
    /// send first, odd ranks receive first).
    #[profile]
    pub(super) fn exchange<C: Communicator>(world: &C) {
        let (rank, size) = (world.rank(), world.size());
        if size < 2 {
            return;
        }
        let next = world.process_at_rank((rank + 1) % size);
        let prev = world.process_at_rank((rank + size - 1) % size);
        let mine = vec![rank as f64; (rank as usize + 1) * 100];
        two_blocking_each_way(world, &next, &prev, &mine);
    }

    /// Sends `mine` to `next` twice (tags 0 and 1) and receives two
    /// messages from `prev`, checking their length: even ranks send first,
    /// odd ranks receive first.
    fn two_blocking_each_way<C: Communicator>(
        world: &C,
        next: &Process<'_>,
        prev: &Process<'_>,
        mine: &[f64],
    ) {
        let (rank, size) = (world.rank(), world.size());
        let send = || {
            next.mpi_send_with_tag(mine, 0);
            next.mpi_send_with_tag(mine, 1);
        };
        let recv = || {
            for _ in 0..2 {
                let (v, _) = prev.mpi_recv_vec::<f64>();
                assert_eq!(v.len(), ((rank + size - 1) % size) as usize * 100 + 100);
            }
        };
        if rank % 2 == 0 {
            send();
            recv();
        } else {
            recv();
            send();
        }
    }

    /// Rounds of the `ring` mode.
    pub(super) const ROUNDS: usize = 4;

    /// One round of `ring` (see the module docs).
    #[profile]
    pub(super) fn ring_round<C: Communicator>(world: &C) {
        let (rank, size) = (world.rank(), world.size());
        let next = world.process_at_rank((rank + 1) % size);
        let prev = world.process_at_rank((rank + size - 1) % size);
        let mine = vec![rank as f64; (rank as usize + 1) * 100];
        let mut theirs = vec![0.0f64; ((rank + size - 1) % size) as usize * 100 + 100];
        if rank == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        mpi::request::scope(|scope| {
            let incoming = prev.mpi_irecv(scope, &mut theirs[..]);
            // Tag 2 is received by the immediate receive posted first
            // (any tag), so it must be sent before the blocking ones.
            let outgoing = next.mpi_isend_with_tag(scope, &mine[..], 2);
            two_blocking_each_way(world, &next, &prev, &mine);
            profiler::mpi::mpi_wait(outgoing);
            let status = profiler::mpi::mpi_wait(incoming);
            assert_eq!(status.tag(), 2);
        });
    }

    #[profile]
    pub(super) fn collectives<C: Communicator>(world: &C) -> f64 {
        let mut table = [0.0f64; 16];
        if world.rank() == 0 {
            table = [1.5; 16];
        }
        world.mpi_bcast(0, &mut table);
        let mine = [table[0] * f64::from(world.rank() + 1)];
        let mut sum = [0.0];
        world.mpi_allreduce(&mine, &mut sum, SystemOperation::sum());
        world.mpi_barrier();
        sum[0]
    }

    pub(super) fn run(mode: &str) {
        let universe = mpi::initialize().expect("MPI initializes");
        let world = universe.world();
        let (rank, size) = (world.rank() as u64, world.size() as u64);
        // Every rank starts its session together.
        world.barrier();
        let session = profiler::mpi::Session::from_env().start(&world);
        match mode {
            "exact" => {
                std::hint::black_box(super::compute(rank));
                exchange(&world);
                let sum = collectives(&world);
                assert_eq!(sum, 1.5 * (size * (size + 1) / 2) as f64);
            }
            // A recorded barrier first: a rank that leaves the start late
            // (descheduled, on a busy machine) waits in MPI, not in its work.
            "imbalance" => {
                world.mpi_barrier();
                super::spin(rank + 1);
                world.mpi_barrier();
            }
            "balanced" => {
                world.mpi_barrier();
                super::spin(2);
                world.mpi_barrier();
            }
            "ring" => {
                for _ in 0..ROUNDS {
                    ring_round(&world);
                }
                world.mpi_barrier();
            }
            "finalized-first" => {
                std::hint::black_box(super::compute(rank));
                // MPI ends before the session: no gather can happen.
                drop(universe);
                let e = session.finish().expect_err("no gather after MPI_Finalize");
                println!("rank {rank}: {e}");
                return;
            }
            other => panic!("unknown mode {other}"),
        }
        println!("rank {rank} of {size}");
        let merged = session.finish().expect("the reports are written");
        if let Some(p) = merged {
            println!("merged ncalls(leaf)={}", integration::ncalls(&p, "leaf"));
        }
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "nompi" {
        let session = profiler::Session::from_env().start();
        std::hint::black_box(compute(0));
        let p = session.finish().expect("the reports are written");
        println!("ncalls(leaf)={}", integration::ncalls(&p, "leaf"));
        return;
    }
    #[cfg(feature = "mpi")]
    with_mpi::run(&mode);
    #[cfg(not(feature = "mpi"))]
    panic!("built without the mpi feature");
}
