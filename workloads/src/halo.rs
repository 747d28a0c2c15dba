//! A 1-D heat equation (explicit Jacobi steps) over a domain cut into
//! blocks, with a halo exchange between neighbouring blocks each step.
//!
//! `--points` values start random in [0, 1); the ends of the domain are
//! held at 0. Each step replaces every value by
//! `u + R * ((left + right) - 2 * u)` ([`R`] = 1/4), computed from the
//! previous step's values. The domain is cut into chunks of [`CHUNK`]
//! points, the unit of work ([`relax_chunk`], one call per chunk and step in
//! every mode); a worker owns a contiguous block of chunks and needs one
//! value from each neighbouring block per step, its halo. Modes:
//!
//! - `seq`: the whole domain, chunk after chunk;
//! - `threads`: a block per `std::thread` worker; each step a worker
//!   publishes its edge values, waits at a barrier, and reads its
//!   neighbours' (shared memory's halo exchange);
//! - `rayon`: each step's chunks handed out by a rayon pool;
//! - with the `mpi` feature, `mpi`: a block per rank, the halo exchanged by
//!   blocking `MPI_Send`/`MPI_Recv` (even ranks send first, odd ranks
//!   receive first, so that no two neighbours both wait to send);
//!   `mpi-overlap`: `MPI_Isend`/`MPI_Irecv` of the halo, the block's
//!   interior updated while the messages travel, then `MPI_Waitall` and the
//!   two edge points.
//!
//! Every point's new value is one fixed expression of three old values,
//! whoever computes it, so the field is the same, bit for bit, in every
//! mode and for any thread or rank count. The answer sums each chunk's
//! values in order and adds the chunks' sums in chunk order (the heat), and
//! adds a position-dependent hash of every value's bits (wrapping, so in
//! any order).

use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};

use profiler::profile;
use rayon::prelude::*;

use crate::rng::mix64;
use crate::{Error, Mode, Workload, block_range, pool, scoped_workers};

/// Points per chunk: the unit of work and of the fixed summation order.
pub const CHUNK: usize = 1 << 16;

/// The diffusion number dt * k / dx^2 (stable up to 1/2).
pub const R: f64 = 0.25;

/// Sizes of the `halo` workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Points of the domain (`--points`).
    pub points: usize,
    /// Time steps (`--steps`).
    pub steps: usize,
    /// Seed of the initial values (`--seed`).
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            points: 1 << 20,
            steps: 1000,
            seed: crate::DEFAULT_SEED,
        }
    }
}

impl Config {
    /// Small sizes for tests: four chunks, the last one short.
    pub fn small() -> Self {
        Config {
            points: 3 * CHUNK + 777,
            steps: 12,
            ..Config::default()
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.points == 0 {
            return Err(Error::Invalid("--points must be at least 1".into()));
        }
        if self.steps == 0 {
            return Err(Error::Invalid("--steps must be at least 1".into()));
        }
        if (self.points as u128) * (self.steps as u128) > 1 << 44 {
            return Err(Error::Invalid(
                "--points x --steps must be at most 2^44".into(),
            ));
        }
        Ok(())
    }

    /// Chunks of the domain.
    pub fn chunks(&self) -> usize {
        self.points.div_ceil(CHUNK)
    }

    /// The points of block `index` of `parts` (contiguous blocks of whole
    /// chunks, the static schedule of every parallel mode).
    pub fn block(&self, parts: usize, index: usize) -> std::ops::Range<usize> {
        let c = block_range(self.chunks(), parts, index);
        (c.start * CHUNK).min(self.points)..(c.end * CHUNK).min(self.points)
    }
}

/// The result: the field after the last step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    /// Points.
    pub points: usize,
    /// Steps taken.
    pub steps: usize,
    /// The sum of every value (per chunk in order, then over chunks in
    /// order).
    pub heat: f64,
    /// A position-dependent hash of every value's bits.
    pub hash: u64,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} points after {} steps: heat {:.6}, hash {:#018x}",
            self.points, self.steps, self.heat, self.hash
        )
    }
}

/// Runs the heat equation in `mode` on `threads` threads.
pub fn run(cfg: &Config, mode: Mode, threads: usize) -> Result<Field, Error> {
    cfg.validate()?;
    match mode {
        Mode::Seq => Ok(heat_seq(cfg)),
        Mode::Threads => heat_threads(cfg, threads),
        Mode::Rayon => heat_rayon(cfg, threads),
        other => Err(Workload::Halo.mode_error(other)),
    }
}

/// The initial value at point `i`: in [0, 1).
fn initial(seed: u64, i: usize) -> f64 {
    (mix64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 11) as f64
        * (1.0 / (1u64 << 53) as f64)
}

/// The values of points `range` with a halo slot at each end (zero):
/// `range.len() + 2` values.
fn block_with_halo(seed: u64, range: std::ops::Range<usize>) -> Vec<f64> {
    let mut u = Vec::with_capacity(range.len() + 2);
    u.push(0.0);
    u.extend(range.map(|i| initial(seed, i)));
    u.push(0.0);
    u
}

/// The new value of a point from its old value and its neighbours'.
#[inline]
fn update(left: f64, centre: f64, right: f64) -> f64 {
    centre + R * ((left + right) - 2.0 * centre)
}

/// One step of one chunk: `out[i]` from `u[i]`, `u[i + 1]`, `u[i + 2]`
/// (`u` is `out` with one more value at each end).
#[profile]
pub fn relax_chunk(u: &[f64], out: &mut [f64]) {
    assert_eq!(
        u.len(),
        out.len() + 2,
        "relax_chunk needs a halo value at each end"
    );
    for (o, w) in out.iter_mut().zip(u.windows(3)) {
        *o = update(w[0], w[1], w[2]);
    }
}

/// One step of a block with its halo (`u` and `out` are `n + 2` values, a
/// halo slot at each end): [`relax_chunk`] on each of the block's chunks,
/// `first` being the block's first point.
fn relax_block(first: usize, u: &[f64], out: &mut [f64]) {
    let n = u.len() - 2;
    let mut lo = 0;
    while lo < n {
        let hi = (lo + CHUNK - (first + lo) % CHUNK).min(n);
        relax_chunk(&u[lo..hi + 2], &mut out[lo + 1..hi + 1]);
        lo = hi;
    }
}

/// The heat and hash of each chunk of a block (`values` from point `first`,
/// which starts a chunk), in chunk order.
fn chunk_figures(first: usize, values: &[f64]) -> Vec<(f64, u64)> {
    values
        .chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut sum = 0.0;
            let mut hash = 0u64;
            for (j, x) in chunk.iter().enumerate() {
                sum += *x;
                let i = (first + c * CHUNK + j) as u64;
                hash =
                    hash.wrapping_add(mix64(x.to_bits() ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93)));
            }
            (sum, hash)
        })
        .collect()
}

/// The answer from every chunk's figures, in chunk order.
fn field(cfg: &Config, figures: &[(f64, u64)]) -> Field {
    Field {
        points: cfg.points,
        steps: cfg.steps,
        heat: figures.iter().map(|f| f.0).sum(),
        hash: figures.iter().fold(0u64, |h, f| h.wrapping_add(f.1)),
    }
}

/// Sequential: the whole domain, chunk after chunk, each step.
#[profile]
pub fn heat_seq(cfg: &Config) -> Field {
    let mut u = block_with_halo(cfg.seed, 0..cfg.points);
    let mut next = vec![0.0; u.len()];
    for _ in 0..cfg.steps {
        relax_block(0, &u, &mut next);
        std::mem::swap(&mut u, &mut next);
    }
    field(cfg, &chunk_figures(0, &u[1..=cfg.points]))
}

/// `std::thread` workers, one block each, exchanging their edge values
/// through shared slots and a barrier each step.
#[profile]
pub fn heat_threads(cfg: &Config, threads: usize) -> Result<Field, Error> {
    let workers = threads.min(cfg.chunks());
    // Slot [worker][step parity] holds the worker's first and last value:
    // a worker writes the other parity's slot next step only after the
    // barrier that its neighbours reach once they read this one.
    let slots: Vec<[[AtomicU64; 2]; 2]> = (0..workers).map(|_| Default::default()).collect();
    let barrier = Barrier::new(workers);
    let blocks = scoped_workers(Workload::Halo, Mode::Threads, workers, |t| {
        halo_worker(cfg, t, workers, &slots, &barrier)
    })?;
    Ok(field(cfg, &blocks.concat()))
}

/// One worker of `threads` mode: its block's steps; returns its chunks'
/// figures.
#[profile]
fn halo_worker(
    cfg: &Config,
    t: usize,
    workers: usize,
    slots: &[[[AtomicU64; 2]; 2]],
    barrier: &Barrier,
) -> Vec<(f64, u64)> {
    let range = cfg.block(workers, t);
    let first = range.start;
    let mut u = block_with_halo(cfg.seed, range);
    let n = u.len() - 2;
    let mut next = vec![0.0; u.len()];
    for step in 0..cfg.steps {
        let p = step % 2;
        slots[t][p][0].store(u[1].to_bits(), Ordering::Release);
        slots[t][p][1].store(u[n].to_bits(), Ordering::Release);
        barrier.wait();
        if t > 0 {
            u[0] = f64::from_bits(slots[t - 1][p][1].load(Ordering::Acquire));
        }
        if t + 1 < workers {
            u[n + 1] = f64::from_bits(slots[t + 1][p][0].load(Ordering::Acquire));
        }
        relax_block(first, &u, &mut next);
        std::mem::swap(&mut u, &mut next);
    }
    chunk_figures(first, &u[1..=n])
}

/// A rayon pool: each step's chunks handed out by work stealing.
#[profile]
pub fn heat_rayon(cfg: &Config, threads: usize) -> Result<Field, Error> {
    let pool = pool(Workload::Halo, Mode::Rayon, threads)?;
    let mut u = block_with_halo(cfg.seed, 0..cfg.points);
    let mut next = vec![0.0; u.len()];
    pool.install(|| {
        for _ in 0..cfg.steps {
            let old = &u;
            next[1..=cfg.points]
                .par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(c, out)| {
                    let lo = c * CHUNK;
                    relax_chunk(&old[lo..lo + out.len() + 2], out);
                });
            std::mem::swap(&mut u, &mut next);
        }
    });
    Ok(field(cfg, &chunk_figures(0, &u[1..=cfg.points])))
}

#[cfg(feature = "mpi")]
pub use self::ranks::{heat_mpi, heat_mpi_overlap};

/// The MPI modes (the `mpi` feature).
#[cfg(feature = "mpi")]
mod ranks {
    use ::mpi::collective::SystemOperation;
    use ::mpi::request::scope;
    use ::mpi::topology::SimpleCommunicator;
    use ::mpi::traits::*;
    use profiler::mpi::{MpiCollectives, MpiPointToPoint, mpi_waitall};
    use profiler::profile;

    use super::{
        CHUNK, Config, Field, block_with_halo, chunk_figures, field, relax_block, relax_chunk,
        update,
    };
    use crate::Error;

    /// This rank's block: its first point and its values with a halo slot
    /// at each end. Every rank needs at least one chunk.
    fn rank_block(cfg: &Config, world: &SimpleCommunicator) -> Result<(usize, Vec<f64>), Error> {
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        cfg.validate()?;
        if cfg.chunks() < size {
            return Err(Error::Invalid(format!(
                "halo on {size} ranks needs --points of at least {} ({CHUNK} per rank)",
                (size - 1) * CHUNK + 1
            )));
        }
        let range = cfg.block(size, rank);
        Ok((range.start, block_with_halo(cfg.seed, range)))
    }

    /// `mpi` mode: blocking halo exchange, then the block's update, each
    /// step. The field on rank 0 (`None` on the others).
    #[profile]
    pub fn heat_mpi(cfg: &Config, world: &SimpleCommunicator) -> Result<Option<Field>, Error> {
        let (first, mut u) = rank_block(cfg, world)?;
        let mut next = vec![0.0; u.len()];
        for _ in 0..cfg.steps {
            exchange_blocking(world, &mut u);
            relax_block(first, &u, &mut next);
            std::mem::swap(&mut u, &mut next);
        }
        Ok(collect(cfg, world, first, &u))
    }

    /// Fills `u`'s halo slots from the neighbours' edge values and sends
    /// them ours. Even ranks send first and odd ranks receive first, so
    /// that each pair of neighbours has one sender and one receiver at a
    /// time, whatever MPI buffers.
    #[profile]
    fn exchange_blocking(world: &SimpleCommunicator, u: &mut [f64]) {
        let (rank, size) = (world.rank(), world.size());
        let n = u.len() - 2;
        let (first, last) = ([u[1]], [u[n]]);
        let mut ghost = [0.0];
        let right = |ghost: &mut [f64; 1]| {
            if rank + 1 < size {
                let p = world.process_at_rank(rank + 1);
                if rank % 2 == 0 {
                    p.mpi_send(&last);
                    p.mpi_recv_into(ghost);
                } else {
                    p.mpi_recv_into(ghost);
                    p.mpi_send(&last);
                }
                Some(ghost[0])
            } else {
                None
            }
        };
        let left = |ghost: &mut [f64; 1]| {
            if rank > 0 {
                let p = world.process_at_rank(rank - 1);
                if rank % 2 == 0 {
                    p.mpi_send(&first);
                    p.mpi_recv_into(ghost);
                } else {
                    p.mpi_recv_into(ghost);
                    p.mpi_send(&first);
                }
                Some(ghost[0])
            } else {
                None
            }
        };
        // Even ranks talk to the right first, odd ranks to the left: the
        // pairs (2k, 2k+1) exchange, then the pairs (2k+1, 2k+2).
        let (l, r) = if rank % 2 == 0 {
            let r = right(&mut ghost);
            (left(&mut ghost), r)
        } else {
            let l = left(&mut ghost);
            (l, right(&mut ghost))
        };
        if let Some(l) = l {
            u[0] = l;
        }
        if let Some(r) = r {
            u[n + 1] = r;
        }
    }

    /// `mpi-overlap` mode: the halo travels (`MPI_Isend`/`MPI_Irecv`) while
    /// the block's interior is updated; after `MPI_Waitall`, the two edge
    /// points. The field on rank 0 (`None` on the others).
    #[profile]
    pub fn heat_mpi_overlap(
        cfg: &Config,
        world: &SimpleCommunicator,
    ) -> Result<Option<Field>, Error> {
        let (first, mut u) = rank_block(cfg, world)?;
        let mut next = vec![0.0; u.len()];
        for _ in 0..cfg.steps {
            step_overlapped(world, first, &mut u, &mut next);
            std::mem::swap(&mut u, &mut next);
        }
        Ok(collect(cfg, world, first, &u))
    }

    /// One step of `mpi-overlap` mode: `next` from `u`, whose halo slots
    /// are filled on the way.
    fn step_overlapped(world: &SimpleCommunicator, first: usize, u: &mut [f64], next: &mut [f64]) {
        let (rank, size) = (world.rank(), world.size());
        let n = u.len() - 2;
        let (send_first, send_last) = ([u[1]], [u[n]]);
        let (mut from_left, mut from_right) = ([0.0], [0.0]);
        scope(|scope| {
            let mut requests = Vec::with_capacity(4);
            if rank > 0 {
                let p = world.process_at_rank(rank - 1);
                requests.push(p.mpi_irecv(scope, &mut from_left[..]));
                requests.push(p.mpi_isend(scope, &send_first[..]));
            }
            if rank + 1 < size {
                let p = world.process_at_rank(rank + 1);
                requests.push(p.mpi_irecv(scope, &mut from_right[..]));
                requests.push(p.mpi_isend(scope, &send_last[..]));
            }
            relax_interior(first, u, next);
            mpi_waitall(requests);
        });
        if rank > 0 {
            u[0] = from_left[0];
        }
        if rank + 1 < size {
            u[n + 1] = from_right[0];
        }
        next[1] = update(u[0], u[1], u[2]);
        next[n] = update(u[n - 1], u[n], u[n + 1]);
    }

    /// Every point of the block but its first and last (which need the
    /// halo): [`relax_chunk`] on each chunk's share of them.
    fn relax_interior(first: usize, u: &[f64], next: &mut [f64]) {
        let n = u.len() - 2;
        let mut lo = 0;
        while lo < n {
            let hi = (lo + CHUNK - (first + lo) % CHUNK).min(n);
            // Points lo..hi of the block, less the block's two edges.
            let (a, b) = (lo.max(1), hi.min(n - 1));
            if a < b {
                relax_chunk(&u[a..b + 2], &mut next[a + 1..b + 1]);
            }
            lo = hi;
        }
    }

    /// Every chunk's figures on rank 0, by `MPI_Reduce` of vectors that
    /// hold each rank's chunks and zeros elsewhere (adding zeros is exact),
    /// then combined in chunk order there: the same bits as one process.
    #[profile]
    fn collect(cfg: &Config, world: &SimpleCommunicator, first: usize, u: &[f64]) -> Option<Field> {
        let mine = chunk_figures(first, &u[1..u.len() - 1]);
        let c0 = first / CHUNK;
        let mut heat = vec![0.0; cfg.chunks()];
        let mut hash = vec![0u64; cfg.chunks()];
        for (k, (h, x)) in mine.into_iter().enumerate() {
            heat[c0 + k] = h;
            hash[c0 + k] = x;
        }
        let mut all_heat = vec![0.0; cfg.chunks()];
        let mut all_hash = vec![0u64; cfg.chunks()];
        world.mpi_reduce(0, &heat, &mut all_heat, SystemOperation::sum());
        world.mpi_reduce(0, &hash, &mut all_hash, SystemOperation::sum());
        (world.rank() == 0).then(|| {
            let figures: Vec<(f64, u64)> = all_heat.into_iter().zip(all_hash).collect();
            field(cfg, &figures)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_domain_in_whole_chunks() {
        let cfg = Config::small();
        for parts in 1..=4 {
            let mut at = 0;
            for t in 0..parts {
                let b = cfg.block(parts, t);
                assert_eq!(b.start, at);
                assert!(b.start % CHUNK == 0);
                at = b.end;
            }
            assert_eq!(at, cfg.points);
        }
    }

    #[test]
    fn heat_flows_out_of_the_ends() {
        let cfg = Config {
            points: 10,
            steps: 50,
            seed: 1,
        };
        let before = field(
            &Config {
                steps: 0,
                ..cfg.clone()
            },
            &chunk_figures(0, &block_with_halo(1, 0..10)[1..=10]),
        );
        let after = heat_seq(&cfg);
        assert!(after.heat < before.heat, "{after:?} {before:?}");
    }
}
