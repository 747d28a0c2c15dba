//! Reducing large arrays: slice-at-once versus element-at-a-time.
//!
//! The arrays are summed in fixed chunks of [`CHUNK`] elements; each chunk's
//! sum is computed by [`sum_chunk`] (one call per chunk, a vectorisable
//! kernel) wherever it runs, and the partial sums are added in chunk order,
//! so `seq`, `threads` and `rayon` give the same bits for any thread count.
//!
//! `element` mode is the pitfall: every element is added, one at a time, to
//! one shared accumulator (an atomic compare-and-swap), as a pure-Python
//! element loop serialises on the interpreter lock. Its workers wait on each
//! other: no speed-up, usually a slow-down, however many threads.
//!
//! The arrays hold multiples of 2^-20 in [0, 1), so every partial sum of
//! fewer than 2^33 elements is exact: the element mode, whose order of
//! additions changes from run to run, gives the same bits too.
//!
//! Summing is bound by memory bandwidth: the arrays are built on transparent
//! huge pages where Linux gives them (as NumPy allocates its large arrays),
//! which spares a TLB miss every 4 KiB.
//!
//! With the `mpi` feature, `mpi` mode gives each rank a contiguous block of
//! the chunk list; a rank builds only its chunks ([`prepare_rank`]) and
//! sums them with [`sum_chunk`]. The partial sums meet by `MPI_Allreduce`
//! of a vector with a slot per chunk, each rank filling its own slots and
//! leaving zeros elsewhere: adding zeros is exact whatever order MPI adds
//! in, so every rank gets every chunk's sum unchanged and combines them in
//! chunk order, the same bits as `seq` for any rank count, whatever the
//! data. (An `MPI_Allreduce` of one partial sum per rank would be exact
//! here only because of the data: multiples of 2^-20 below 2^33; in
//! general its result depends on the rank count and on MPI's reduction
//! order.)

use std::sync::atomic::{AtomicU64, Ordering};

use profiler::profile;
use rayon::prelude::*;

use crate::rng::mix64;
use crate::{Error, Mode, Workload, block_range, pool, scoped_workers};

/// Elements per chunk: the unit of work and of the fixed reduction order.
pub const CHUNK: usize = 1 << 16;

/// Sizes of the `sums` workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Number of arrays (`--arrays`).
    pub arrays: usize,
    /// Elements per array (`--len`).
    pub len: usize,
    /// Seed of the array contents (`--seed`).
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            arrays: 8,
            len: 8_000_000,
            seed: crate::DEFAULT_SEED,
        }
    }
}

impl Config {
    /// Small sizes for tests.
    pub fn small() -> Self {
        Config {
            arrays: 3,
            len: 100_000,
            ..Config::default()
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.arrays == 0 {
            return Err(Error::Invalid("--arrays must be at least 1".into()));
        }
        if self.len == 0 {
            return Err(Error::Invalid("--len must be at least 1".into()));
        }
        if (self.arrays as u128) * (self.len as u128) > 1u128 << 33 {
            return Err(Error::Invalid(
                "--arrays x --len must be at most 2^33 elements".into(),
            ));
        }
        Ok(())
    }
}

/// The arrays to sum.
#[derive(Debug)]
pub struct Input {
    /// The arrays, each `len` elements.
    pub arrays: Vec<Vec<f64>>,
}

/// The result: the sum of every element of every array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sum {
    /// The total.
    pub total: f64,
    /// How many elements were added.
    pub elements: u64,
}

impl std::fmt::Display for Sum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sum of {} elements = {:.6} (mean {:.6})",
            self.elements,
            self.total,
            self.total / self.elements as f64
        )
    }
}

/// Element `i` of array `a`: a multiple of 2^-20 in [0, 1).
#[inline]
fn element(seed: u64, a: usize, i: usize) -> f64 {
    let h = mix64(seed ^ ((a as u64) << 40) ^ i as u64);
    (h >> 44) as f64 * (1.0 / (1u64 << 20) as f64)
}

/// Builds the arrays (in parallel on `threads` threads; untimed set-up).
#[profile]
pub fn prepare(cfg: &Config, threads: usize) -> Result<Input, Error> {
    cfg.validate()?;
    let pool = pool(Workload::Sums, "prepare", threads)?;
    let arrays = pool.install(|| {
        (0..cfg.arrays)
            .map(|a| make_array(cfg.seed, a, cfg.len))
            .collect()
    });
    Ok(Input { arrays })
}

/// Builds array `a` (called inside the set-up pool), on huge pages where the
/// system gives them ([`advise_huge_pages`]).
#[profile]
fn make_array(seed: u64, a: usize, len: usize) -> Vec<f64> {
    let mut v = vec![0.0; len];
    advise_huge_pages(&mut v);
    v.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        for (j, x) in chunk.iter_mut().enumerate() {
            *x = element(seed, a, c * CHUNK + j);
        }
    });
    v
}

/// Sums the arrays in `mode` on `threads` threads.
pub fn run(input: &Input, mode: Mode, threads: usize) -> Result<Sum, Error> {
    let total = match mode {
        Mode::Seq => sum_seq(input),
        Mode::Threads => sum_threads(input, threads)?,
        Mode::Rayon => sum_rayon(input, threads)?,
        Mode::Element => sum_elements(input, threads)?,
        other => return Err(Workload::Sums.mode_error(other)),
    };
    let elements = input.arrays.iter().map(|a| a.len() as u64).sum();
    Ok(Sum { total, elements })
}

/// The sum of one chunk, slice at once: eight independent accumulators
/// (vectorised by the compiler), combined in a fixed order.
#[profile]
pub fn sum_chunk(chunk: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut it = chunk.chunks_exact(8);
    for c in &mut it {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for x in it.remainder() {
        s += x;
    }
    s
}

/// Every chunk of every array, as `(array, chunk)` in order.
fn chunk_list(input: &Input) -> Vec<(usize, usize)> {
    input
        .arrays
        .iter()
        .enumerate()
        .flat_map(|(a, v)| (0..v.len().div_ceil(CHUNK)).map(move |c| (a, c)))
        .collect()
}

fn chunk_of(input: &Input, (a, c): (usize, usize)) -> &[f64] {
    let v = &input.arrays[a];
    &v[c * CHUNK..((c + 1) * CHUNK).min(v.len())]
}

/// Adds partial sums in chunk order: the fixed reduction.
fn combine(partials: &[f64]) -> f64 {
    partials.iter().sum()
}

/// Sequential: chunk after chunk.
#[profile]
pub fn sum_seq(input: &Input) -> f64 {
    let partials: Vec<f64> = chunk_list(input)
        .into_iter()
        .map(|ac| sum_chunk(chunk_of(input, ac)))
        .collect();
    combine(&partials)
}

/// `std::thread` workers, each summing one contiguous block of the chunk
/// list (a static schedule) into its own slots of the partial sums.
#[profile]
pub fn sum_threads(input: &Input, threads: usize) -> Result<f64, Error> {
    let chunks = chunk_list(input);
    let blocks = scoped_workers(Workload::Sums, Mode::Threads, threads, |t| {
        sum_block(input, &chunks[block_range(chunks.len(), threads, t)])
    })?;
    let partials: Vec<f64> = blocks.concat();
    Ok(combine(&partials))
}

/// One worker's block of chunks: their partial sums, in order.
#[profile]
fn sum_block(input: &Input, chunks: &[(usize, usize)]) -> Vec<f64> {
    chunks
        .iter()
        .map(|&ac| sum_chunk(chunk_of(input, ac)))
        .collect()
}

/// A rayon pool: chunks handed out by work stealing, partial sums collected
/// in chunk order.
#[profile]
pub fn sum_rayon(input: &Input, threads: usize) -> Result<f64, Error> {
    let chunks = chunk_list(input);
    let pool = pool(Workload::Sums, Mode::Rayon, threads)?;
    let partials: Vec<f64> = pool.install(|| {
        chunks
            .par_iter()
            .map(|&ac| sum_chunk(chunk_of(input, ac)))
            .collect()
    });
    Ok(combine(&partials))
}

/// Element at a time: every element is added to one shared accumulator.
#[profile]
pub fn sum_elements(input: &Input, threads: usize) -> Result<f64, Error> {
    let acc = AtomicU64::new(0.0f64.to_bits());
    let chunks = chunk_list(input);
    scoped_workers(Workload::Sums, Mode::Element, threads, |t| {
        element_worker(input, &chunks[block_range(chunks.len(), threads, t)], &acc);
    })?;
    Ok(f64::from_bits(acc.into_inner()))
}

/// One worker of `element` mode: adds its elements one by one to `acc`.
#[profile]
fn element_worker(input: &Input, chunks: &[(usize, usize)], acc: &AtomicU64) {
    for &ac in chunks {
        for &x in chunk_of(input, ac) {
            let mut cur = acc.load(Ordering::Relaxed);
            loop {
                let next = (f64::from_bits(cur) + x).to_bits();
                match acc.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => break,
                    Err(seen) => cur = seen,
                }
            }
        }
    }
}

/// One rank's share of the arrays (`mpi` mode): its block of the chunk
/// list, built on this rank alone.
#[derive(Debug)]
pub struct RankPart {
    /// Chunks in the whole chunk list.
    pub total_chunks: usize,
    /// The index of this rank's first chunk in that list.
    pub first: usize,
    /// This rank's chunks, in order.
    pub chunks: Vec<Vec<f64>>,
    /// Elements of every array.
    pub elements: u64,
}

/// Builds rank `rank`'s block of the chunk list, of `ranks` ranks (untimed
/// set-up).
#[profile]
pub fn prepare_rank(cfg: &Config, rank: usize, ranks: usize) -> Result<RankPart, Error> {
    cfg.validate()?;
    let per_array = cfg.len.div_ceil(CHUNK);
    let total_chunks = cfg.arrays * per_array;
    let mine = block_range(total_chunks, ranks, rank);
    let chunks = mine
        .clone()
        .map(|k| {
            let (a, c) = (k / per_array, k % per_array);
            (c * CHUNK..((c + 1) * CHUNK).min(cfg.len))
                .map(|i| element(cfg.seed, a, i))
                .collect()
        })
        .collect();
    Ok(RankPart {
        total_chunks,
        first: mine.start,
        chunks,
        elements: (cfg.arrays * cfg.len) as u64,
    })
}

/// `mpi` mode: this rank's chunk sums, `MPI_Allreduce` of the vector of
/// every chunk's sum (see the [module docs](self)), combined in chunk
/// order: the total, on every rank.
#[cfg(feature = "mpi")]
#[profile]
pub fn sum_mpi(part: &RankPart, world: &::mpi::topology::SimpleCommunicator) -> Sum {
    use ::mpi::collective::SystemOperation;
    use profiler::mpi::MpiCollectives;

    let mut mine = vec![0.0; part.total_chunks];
    for (k, chunk) in part.chunks.iter().enumerate() {
        mine[part.first + k] = sum_chunk(chunk);
    }
    let mut partials = vec![0.0; part.total_chunks];
    world.mpi_allreduce(&mine, &mut partials, SystemOperation::sum());
    Sum {
        total: combine(&partials),
        elements: part.elements,
    }
}

/// Asks Linux for transparent huge pages (2 MiB) under `v`, before its pages
/// are first touched, as NumPy does for every large array: summing is bound
/// by memory, and with 4 KiB pages a 64 MB array costs 16,000 TLB misses per
/// pass. Only advice: the machine may say no (THP `never`), and elsewhere
/// than Linux nothing is done.
#[cfg(target_os = "linux")]
fn advise_huge_pages(v: &mut [f64]) {
    const PAGE: usize = 4096;
    let start = v.as_mut_ptr() as usize;
    let end = start + std::mem::size_of_val(v);
    let first = start.next_multiple_of(PAGE);
    if end >= first + 2 * PAGE {
        let len = (end - first) / PAGE * PAGE;
        // SAFETY: [first, first + len) is page-aligned and lies inside `v`'s
        // allocation, which `&mut` makes ours alone. MADV_HUGEPAGE changes
        // only which page size the kernel backs the range with: contents,
        // addresses and permissions stay as they are, so no memory Rust can
        // see changes. A refusal (for example THP disabled) is harmless and
        // ignored.
        unsafe {
            libc::madvise(first as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
}

/// Huge pages are a Linux matter: nothing to do elsewhere.
#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_: &mut [f64]) {}
