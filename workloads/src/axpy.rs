//! The axpy I/O pipeline: read vectors A_i and B_i from binary files,
//! compute Y_i = alpha * A_i + B_i, write Y_i to a binary file.
//!
//! Files hold little-endian `f64`s. [`prepare`] writes `--files` pairs of
//! `--nums-per-file` numbers into a fresh work folder (removed again when the
//! [`Input`] is dropped); each run reads them and writes the results beside
//! them. Modes:
//!
//! - `seq`: file after file, read, compute, write;
//! - `overlapped`: a reader, a compute and a writer thread joined by bounded
//!   channels, so reading file i+1 overlaps computing file i and writing file
//!   i-1 (concurrency: three threads whatever `--threads` says);
//! - `threads`: the files cut into contiguous blocks, one per `std::thread`
//!   worker (parallelism over files);
//! - `rayon`: files handed out by a rayon pool.
//!
//! Y_i does not depend on the mode (each element is one multiply-add), and
//! the answer, a fingerprint of every Y_i and their sum, is combined in file
//! order.
//!
//! Written as a careful user would (what `workloads compare axpy` against
//! the NumPy pipeline showed, with this profiler's reports):
//! - each worker reads straight into `f64` buffers that it reuses from file
//!   to file (no byte buffer converted number by number, no fresh 8 MB
//!   allocation and its page faults per file);
//! - Y_i's fingerprint and sum are taken in the same pass as the multiply-add
//!   (no second pass over Y_i);
//! - Y_i is written from the `f64` buffer as it is (no byte copy), over the
//!   previous run's file in place: truncating and reallocating an 8 MB file
//!   costs more than computing it (5-16 ms a file on an ext4 mounted with
//!   `discard`, against 1.3 ms for an overwrite in place).
//!
//! With the `mpi` feature, `mpi` mode gives each rank a contiguous block of
//! the files ([`prepare_rank`] writes only those, in the rank's own work
//! folder: no shared file system needed). The files' fingerprints and sums
//! reach rank 0 by `MPI_Reduce` of vectors with a slot per file, each rank
//! filling its own and leaving zeros elsewhere (adding zeros is exact), and
//! are combined there in file order: the same bits for any rank count.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use profiler::profile;
use rayon::prelude::*;

use crate::rng::{Fnv, mix64};
use crate::{Error, Mode, Workload, block_range, pool, scoped_workers, worker_name};

/// Messages in flight between two pipeline stages (`overlapped` mode).
pub const CHANNEL_DEPTH: usize = 2;

/// Sizes of the `axpy` workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Pairs of input files (`--files`).
    pub files: usize,
    /// Numbers per file (`--nums-per-file`).
    pub nums_per_file: usize,
    /// The scalar alpha (`--alpha`).
    pub alpha: f64,
    /// Seed of the files' contents (`--seed`).
    pub seed: u64,
    /// Where the work folder is made (`--work-dir`); the system's temporary
    /// folder when `None`.
    pub work_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            files: 32,
            nums_per_file: 1_000_000,
            alpha: 2.5,
            seed: crate::DEFAULT_SEED,
            work_dir: None,
        }
    }
}

impl Config {
    /// Small sizes for tests.
    pub fn small() -> Self {
        Config {
            files: 5,
            nums_per_file: 10_001,
            ..Config::default()
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.files == 0 {
            return Err(Error::Invalid("--files must be at least 1".into()));
        }
        if self.nums_per_file == 0 {
            return Err(Error::Invalid("--nums-per-file must be at least 1".into()));
        }
        if self.files > 100_000 {
            return Err(Error::Invalid("--files must be at most 100000".into()));
        }
        if self.nums_per_file > 1 << 30 {
            return Err(Error::Invalid(
                "--nums-per-file must be at most 2^30".into(),
            ));
        }
        if !self.alpha.is_finite() {
            return Err(Error::Invalid("--alpha must be a finite number".into()));
        }
        Ok(())
    }
}

/// The prepared input files. Dropping it removes the work folder.
#[derive(Debug)]
pub struct Input {
    cfg: Config,
    /// The files this input holds (all of them but in `mpi` mode).
    files: std::ops::Range<usize>,
    dir: WorkDir,
}

impl Input {
    /// The work folder holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    fn a(&self, i: usize) -> PathBuf {
        self.dir().join(format!("a_{i:05}.bin"))
    }

    fn b(&self, i: usize) -> PathBuf {
        self.dir().join(format!("b_{i:05}.bin"))
    }

    fn y(&self, i: usize) -> PathBuf {
        self.dir().join(format!("y_{i:05}.bin"))
    }
}

/// A folder removed, with its contents, when dropped.
#[derive(Debug)]
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("workloads: cannot remove {}: {e}", self.0.display());
            }
        }
    }
}

/// Makes a fresh work folder under `parent` (created if needed).
fn make_work_dir(parent: &Path) -> Result<WorkDir, Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let pid = std::process::id();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!("axpy-work-{pid}-{n}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(WorkDir(dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
}

/// The answer: a fingerprint of the result files.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Checksum {
    /// Result files written.
    pub files: usize,
    /// Numbers per file.
    pub nums_per_file: usize,
    /// Sum of every result number (per file in order, then over files in
    /// order).
    pub sum: f64,
    /// FNV-1a over the files' fingerprints, in file order.
    pub hash: u64,
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} result files of {} numbers: sum {:.6}, hash {:#018x}",
            self.files, self.nums_per_file, self.sum, self.hash
        )
    }
}

/// One result file's fingerprint and sum.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FileSum {
    hash: u64,
    sum: f64,
}

/// Writes the input files into a fresh work folder (untimed set-up, in
/// parallel over files on `threads` threads).
#[profile]
pub fn prepare(cfg: &Config, threads: usize) -> Result<Input, Error> {
    prepare_files(cfg, 0..cfg.files, threads)
}

/// Writes the input files of rank `rank` of `ranks` (`mpi` mode: a
/// contiguous block of the files) into a fresh work folder of its own
/// (untimed set-up, on one thread).
#[profile]
pub fn prepare_rank(cfg: &Config, rank: usize, ranks: usize) -> Result<Input, Error> {
    prepare_files(cfg, block_range(cfg.files, ranks, rank), 1)
}

/// Writes the input files `files` into a fresh work folder, in parallel on
/// `threads` threads.
fn prepare_files(
    cfg: &Config,
    files: std::ops::Range<usize>,
    threads: usize,
) -> Result<Input, Error> {
    cfg.validate()?;
    let parent = cfg.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let input = Input {
        cfg: cfg.clone(),
        files: files.clone(),
        dir: make_work_dir(&parent)?,
    };
    let pool = pool(Workload::Axpy, "prepare", threads)?;
    pool.install(|| {
        files.into_par_iter().try_for_each(|i| {
            let a = random_vector(cfg.seed, 2 * i as u64, cfg.nums_per_file);
            write_vector(&input.a(i), &a)?;
            let b = random_vector(cfg.seed, 2 * i as u64 + 1, cfg.nums_per_file);
            write_vector(&input.b(i), &b)
        })
    })?;
    Ok(input)
}

/// `n` numbers uniform in [-1, 1), from stream `stream` of `seed`.
#[profile]
fn random_vector(seed: u64, stream: u64, n: usize) -> Vec<f64> {
    let base = mix64(seed ^ mix64(stream));
    (0..n as u64)
        .map(|j| (mix64(base.wrapping_add(j)) >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0)
        .collect()
}

/// Reads a file of little-endian `f64`s, which must hold `v.len()` numbers,
/// straight into `v`.
#[profile]
pub fn read_vector(path: &Path, v: &mut [f64]) -> Result<(), Error> {
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let expected = std::mem::size_of_val(v) as u64;
    if len != expected {
        return Err(Error::Failed(format!(
            "{}: {len} bytes, expected {expected}",
            path.display()
        )));
    }
    file.read_exact(bytemuck::cast_slice_mut(v))
        .map_err(|e| Error::io(path, e))?;
    if cfg!(target_endian = "big") {
        for x in v.iter_mut() {
            *x = f64::from_bits(u64::from_le(x.to_bits()));
        }
    }
    Ok(())
}

/// Writes `v` as little-endian `f64`s, over the file's old contents in place
/// when it exists (no truncation, which frees the file's blocks only for the
/// write to allocate them again); a longer old file is cut to size after.
#[profile]
pub fn write_vector(path: &Path, v: &[f64]) -> Result<(), Error> {
    let io = |e| Error::io(path, e);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let old_len = file.metadata().map_err(io)?.len();
    if cfg!(target_endian = "little") {
        file.write_all(bytemuck::cast_slice(v)).map_err(io)?;
    } else {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        file.write_all(&bytes).map_err(io)?;
    }
    let len = std::mem::size_of_val(v) as u64;
    if old_len > len {
        file.set_len(len).map_err(io)?;
    }
    Ok(())
}

/// y = alpha * a + y, and the result's fingerprint and sum, in one pass.
#[profile]
fn axpy(alpha: f64, a: &[f64], y: &mut [f64]) -> FileSum {
    // The fingerprint: a position-dependent hash of every element's bits,
    // added up (cheap, and any changed element changes it); the sum adds
    // the elements in order.
    let mut hash = 0u64;
    let mut sum = 0.0;
    for (j, (yi, &ai)) in y.iter_mut().zip(a).enumerate() {
        let v = *yi + alpha * ai;
        *yi = v;
        sum += v;
        hash = hash.wrapping_add(mix64(
            v.to_bits() ^ (j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ));
    }
    FileSum { hash, sum }
}

/// One worker's buffers, reused from file to file: A_i, and B_i that becomes
/// Y_i.
#[derive(Debug, Default)]
struct Buffers {
    a: Vec<f64>,
    y: Vec<f64>,
}

/// Read, compute, write for file `i`, in `buf`.
#[profile]
fn process_file(input: &Input, i: usize, buf: &mut Buffers) -> Result<FileSum, Error> {
    let n = input.cfg.nums_per_file;
    buf.a.resize(n, 0.0);
    buf.y.resize(n, 0.0);
    read_vector(&input.a(i), &mut buf.a)?;
    read_vector(&input.b(i), &mut buf.y)?;
    let s = axpy(input.cfg.alpha, &buf.a, &mut buf.y);
    write_vector(&input.y(i), &buf.y)?;
    Ok(s)
}

/// Runs the pipeline in `mode` on `threads` threads.
pub fn run(input: &Input, mode: Mode, threads: usize) -> Result<Checksum, Error> {
    let sums = match mode {
        Mode::Seq => axpy_seq(input)?,
        Mode::Overlapped => axpy_overlapped(input)?,
        Mode::Threads => axpy_threads(input, threads)?,
        Mode::Rayon => axpy_rayon(input, threads)?,
        other => return Err(Workload::Axpy.mode_error(other)),
    };
    if input.files != (0..input.cfg.files) {
        return Err(Error::Invalid(format!(
            "this input holds files {:?} of {} (one rank's): run it in mpi mode",
            input.files, input.cfg.files
        )));
    }
    Ok(checksum(&input.cfg, &sums))
}

/// The answer from every file's fingerprint and sum, in file order.
fn checksum(cfg: &Config, sums: &[FileSum]) -> Checksum {
    let mut hash = Fnv::default();
    let mut sum = 0.0;
    for s in sums {
        hash.write_u64(s.hash);
        sum += s.sum;
    }
    Checksum {
        files: sums.len(),
        nums_per_file: cfg.nums_per_file,
        sum,
        hash: hash.finish(),
    }
}

/// `mpi` mode: this rank's files, then every file's fingerprint and sum to
/// rank 0 by `MPI_Reduce` (see the [module docs](self)); the answer there
/// (`None` on the other ranks).
#[cfg(feature = "mpi")]
#[profile]
pub fn axpy_mpi(
    input: &Input,
    world: &::mpi::topology::SimpleCommunicator,
) -> Result<Option<Checksum>, Error> {
    use ::mpi::collective::SystemOperation;
    use ::mpi::traits::Communicator;
    use profiler::mpi::MpiCollectives;

    let files = input.cfg.files;
    let mut hashes = vec![0u64; files];
    let mut sums = vec![0.0f64; files];
    let mut buf = Buffers::default();
    for i in input.files.clone() {
        let s = process_file(input, i, &mut buf)?;
        hashes[i] = s.hash;
        sums[i] = s.sum;
    }
    let mut all_hashes = vec![0u64; files];
    let mut all_sums = vec![0.0f64; files];
    world.mpi_reduce(0, &hashes, &mut all_hashes, SystemOperation::sum());
    world.mpi_reduce(0, &sums, &mut all_sums, SystemOperation::sum());
    if world.rank() != 0 {
        return Ok(None);
    }
    let per_file: Vec<FileSum> = all_hashes
        .into_iter()
        .zip(all_sums)
        .map(|(hash, sum)| FileSum { hash, sum })
        .collect();
    Ok(Some(checksum(&input.cfg, &per_file)))
}

/// Sequential: file after file.
#[profile]
fn axpy_seq(input: &Input) -> Result<Vec<FileSum>, Error> {
    let mut buf = Buffers::default();
    (0..input.cfg.files)
        .map(|i| process_file(input, i, &mut buf))
        .collect()
}

/// Files cut into contiguous blocks, one per `std::thread` worker.
#[profile]
fn axpy_threads(input: &Input, threads: usize) -> Result<Vec<FileSum>, Error> {
    let parts = scoped_workers(Workload::Axpy, Mode::Threads, threads, |t| {
        let mut buf = Buffers::default();
        block_range(input.cfg.files, threads, t)
            .map(|i| process_file(input, i, &mut buf))
            .collect::<Result<Vec<_>, Error>>()
    })?;
    let mut all = Vec::with_capacity(input.cfg.files);
    for p in parts {
        all.extend(p?);
    }
    Ok(all)
}

/// Files handed out by a rayon pool (buffers made once per piece of work
/// that rayon splits off, not once per file).
#[profile]
fn axpy_rayon(input: &Input, threads: usize) -> Result<Vec<FileSum>, Error> {
    let pool = pool(Workload::Axpy, Mode::Rayon, threads)?;
    pool.install(|| {
        (0..input.cfg.files)
            .into_par_iter()
            .map_init(Buffers::default, |buf, i| process_file(input, i, buf))
            .collect()
    })
}

/// A buffer from `free` (the ones the later stages are done with), or a new
/// one; `n` numbers long.
fn take_buffer(free: &Receiver<Vec<f64>>, n: usize) -> Vec<f64> {
    let mut v = free.try_recv().unwrap_or_default();
    v.resize(n, 0.0);
    v
}

/// Reader, compute and writer threads joined by bounded channels; the
/// buffers go back to the reader once used.
#[profile]
fn axpy_overlapped(input: &Input) -> Result<Vec<FileSum>, Error> {
    let (to_compute, from_reader) = sync_channel::<(usize, Vec<f64>, Vec<f64>)>(CHANNEL_DEPTH);
    let (to_writer, from_compute) = sync_channel::<(usize, Vec<f64>, FileSum)>(CHANNEL_DEPTH);
    let (recycle, free) = channel::<Vec<f64>>();
    let recycle_written = recycle.clone();
    let spawn_err = |e: std::io::Error| Error::Failed(format!("cannot spawn a thread: {e}"));
    let name = |stage| worker_name(Workload::Axpy, Mode::Overlapped, stage);
    std::thread::scope(|s| {
        let reader = std::thread::Builder::new()
            .name(name("reader"))
            .spawn_scoped(s, move || read_stage(input, free, to_compute))
            .map_err(spawn_err)?;
        let alpha = input.cfg.alpha;
        let compute = std::thread::Builder::new()
            .name(name("compute"))
            .spawn_scoped(s, move || {
                compute_stage(alpha, from_reader, to_writer, recycle)
            })
            .map_err(spawn_err)?;
        let writer = std::thread::Builder::new()
            .name(name("writer"))
            .spawn_scoped(s, move || write_stage(input, from_compute, recycle_written))
            .map_err(spawn_err)?;
        let panicked = |_| Error::Failed("an axpy pipeline stage panicked".into());
        let written = writer.join().map_err(panicked)?;
        compute.join().map_err(panicked)?;
        // The reader's error explains a short pipeline best: report it first.
        reader.join().map_err(panicked)??;
        written
    })
}

/// Pipeline stage 1: reads A_i and B_i, in file order, into buffers the
/// later stages handed back (or new ones while none is back yet).
#[profile]
fn read_stage(
    input: &Input,
    free: Receiver<Vec<f64>>,
    out: SyncSender<(usize, Vec<f64>, Vec<f64>)>,
) -> Result<(), Error> {
    let n = input.cfg.nums_per_file;
    for i in 0..input.cfg.files {
        let mut a = take_buffer(&free, n);
        read_vector(&input.a(i), &mut a)?;
        let mut b = take_buffer(&free, n);
        read_vector(&input.b(i), &mut b)?;
        if out.send((i, a, b)).is_err() {
            break; // a later stage stopped; its error is reported
        }
    }
    Ok(())
}

/// Pipeline stage 2: computes Y_i = alpha * A_i + B_i; hands A_i's buffer
/// back to the reader.
#[profile]
fn compute_stage(
    alpha: f64,
    input: Receiver<(usize, Vec<f64>, Vec<f64>)>,
    out: SyncSender<(usize, Vec<f64>, FileSum)>,
    recycle: Sender<Vec<f64>>,
) {
    for (i, a, mut y) in input {
        let s = axpy(alpha, &a, &mut y);
        // The reader may have stopped: the buffer is then dropped.
        let _ = recycle.send(a);
        if out.send((i, y, s)).is_err() {
            break;
        }
    }
}

/// Pipeline stage 3: writes Y_i and hands its buffer back to the reader;
/// returns the fingerprints in file order.
#[profile]
fn write_stage(
    input: &Input,
    from: Receiver<(usize, Vec<f64>, FileSum)>,
    recycle: Sender<Vec<f64>>,
) -> Result<Vec<FileSum>, Error> {
    let mut sums = Vec::with_capacity(input.cfg.files);
    for (i, y, s) in from {
        write_vector(&input.y(i), &y)?;
        let _ = recycle.send(y);
        debug_assert_eq!(i, sums.len());
        sums.push(s);
    }
    if sums.len() != input.cfg.files {
        return Err(Error::Failed(format!(
            "the axpy pipeline stopped after {} of {} files",
            sums.len(),
            input.cfg.files
        )));
    }
    Ok(sums)
}
