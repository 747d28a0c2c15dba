//! Monte Carlo estimate of pi with an independent random stream per chunk.
//!
//! The samples are cut into chunks of [`CHUNK`]; chunk `k` draws from the
//! generator seeded with `--seed` and jumped ahead `k` times (2^128 draws per
//! jump, see [`Xoshiro256pp::jump`]). Which thread runs a chunk does not
//! change its numbers, so the hit count, an integer, is the same for every
//! mode and thread count. (Copying one generator into every worker would
//! give every worker the same points: the classic mistake.)
//!
//! With the `mpi` feature, `mpi` mode gives each rank a contiguous block of
//! the chunks; a rank derives only its own streams (jumping ahead to its
//! first chunk) and the hit counts go to rank 0 by `MPI_Reduce`: the same
//! integer for any rank count.

use profiler::profile;
use rayon::prelude::*;

use crate::rng::Xoshiro256pp;
use crate::{Error, Mode, Workload, block_range, pool, scoped_workers};

/// Samples per chunk (and per random stream).
pub const CHUNK: u64 = 1 << 20;

/// Sizes of the `pi` workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Points drawn in the unit square (`--samples`).
    pub samples: u64,
    /// Seed of the first stream (`--seed`).
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            samples: 400_000_000,
            seed: crate::DEFAULT_SEED,
        }
    }
}

impl Config {
    /// Small sizes for tests.
    pub fn small() -> Self {
        Config {
            samples: 3 * CHUNK + 12_345,
            ..Config::default()
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.samples == 0 {
            return Err(Error::Invalid("--samples must be at least 1".into()));
        }
        if self.samples > 1 << 50 {
            return Err(Error::Invalid("--samples must be at most 2^50".into()));
        }
        Ok(())
    }

    fn chunks(&self) -> usize {
        self.samples.div_ceil(CHUNK) as usize
    }

    fn chunk_len(&self, k: usize) -> u64 {
        CHUNK.min(self.samples - k as u64 * CHUNK)
    }
}

/// The result: points inside the quarter circle out of all points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Points with x^2 + y^2 < 1.
    pub hits: u64,
    /// Points drawn.
    pub samples: u64,
}

impl Estimate {
    /// 4 * hits / samples.
    pub fn pi(&self) -> f64 {
        4.0 * self.hits as f64 / self.samples as f64
    }
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pi = self.pi();
        write!(
            f,
            "pi ~ {pi:.8} ({} of {} points inside; error {:+.2e})",
            self.hits,
            self.samples,
            pi - std::f64::consts::PI
        )
    }
}

/// Estimates pi in `mode` on `threads` threads.
pub fn run(cfg: &Config, mode: Mode, threads: usize) -> Result<Estimate, Error> {
    cfg.validate()?;
    let hits = match mode {
        Mode::Seq => pi_seq(cfg),
        Mode::Threads => pi_threads(cfg, threads)?,
        Mode::Rayon => pi_rayon(cfg, threads)?,
        other => return Err(Workload::Pi.mode_error(other)),
    };
    Ok(Estimate {
        hits,
        samples: cfg.samples,
    })
}

/// One stream per chunk, by jump-ahead (sequential: one jump per chunk).
#[profile]
pub fn derive_streams(seed: u64, chunks: usize) -> Vec<Xoshiro256pp> {
    Xoshiro256pp::streams(seed, chunks)
}

/// Draws `n` points from `rng` and counts those inside the quarter circle.
#[profile]
pub fn count_hits(mut rng: Xoshiro256pp, n: u64) -> u64 {
    let mut hits = 0;
    for _ in 0..n {
        let x = rng.next_f64();
        let y = rng.next_f64();
        hits += u64::from(x * x + y * y < 1.0);
    }
    hits
}

/// Sequential: chunk after chunk.
#[profile]
pub fn pi_seq(cfg: &Config) -> u64 {
    let streams = derive_streams(cfg.seed, cfg.chunks());
    streams
        .into_iter()
        .enumerate()
        .map(|(k, g)| count_hits(g, cfg.chunk_len(k)))
        .sum()
}

/// `std::thread` workers, each with a contiguous block of chunks.
#[profile]
pub fn pi_threads(cfg: &Config, threads: usize) -> Result<u64, Error> {
    let streams = derive_streams(cfg.seed, cfg.chunks());
    let counts = scoped_workers(Workload::Pi, Mode::Threads, threads, |t| {
        pi_worker(cfg, &streams, block_range(streams.len(), threads, t))
    })?;
    Ok(counts.into_iter().sum())
}

/// One worker's block of chunks.
#[profile]
fn pi_worker(cfg: &Config, streams: &[Xoshiro256pp], chunks: std::ops::Range<usize>) -> u64 {
    chunks
        .map(|k| count_hits(streams[k].clone(), cfg.chunk_len(k)))
        .sum()
}

/// A rayon pool: chunks handed out by work stealing.
#[profile]
pub fn pi_rayon(cfg: &Config, threads: usize) -> Result<u64, Error> {
    let streams = derive_streams(cfg.seed, cfg.chunks());
    let pool = pool(Workload::Pi, Mode::Rayon, threads)?;
    Ok(pool.install(|| {
        streams
            .into_par_iter()
            .enumerate()
            .map(|(k, g)| count_hits(g, cfg.chunk_len(k)))
            .sum()
    }))
}

/// `mpi` mode: this rank's block of chunks, its own streams, and
/// `MPI_Reduce` of the hit counts to rank 0 (`Some` there, `None`
/// elsewhere).
#[cfg(feature = "mpi")]
#[profile]
pub fn pi_mpi(cfg: &Config, world: &::mpi::topology::SimpleCommunicator) -> Option<u64> {
    use ::mpi::collective::SystemOperation;
    use ::mpi::traits::Communicator;
    use profiler::mpi::MpiCollectives;

    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let chunks = block_range(cfg.chunks(), size, rank);
    let streams = derive_rank_streams(cfg.seed, chunks.clone());
    let mine: u64 = chunks
        .zip(streams)
        .map(|(k, g)| count_hits(g, cfg.chunk_len(k)))
        .sum();
    let mut total = [0u64];
    world.mpi_reduce(0, &[mine], &mut total, SystemOperation::sum());
    (rank == 0).then_some(total[0])
}

/// The streams of chunks `chunks` alone (one rank's), by jump-ahead.
#[cfg(feature = "mpi")]
#[profile]
fn derive_rank_streams(seed: u64, chunks: std::ops::Range<usize>) -> Vec<Xoshiro256pp> {
    Xoshiro256pp::streams_in(seed, chunks)
}
