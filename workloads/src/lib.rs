//! Bundled parallel workloads, instrumented with `#[profile]`, and the
//! library behind the `workloads` program.
//!
//! Each module is one workload written as a careful user would write it,
//! with a sequential version and parallel versions:
//!
//! | workload | what it shows | modes |
//! |---|---|---|
//! | [`axpy`] | an I/O pipeline: read A_i, B_i, write alpha*A_i + B_i | `seq`, `overlapped`, `threads`, `rayon` |
//! | [`sums`] | reducing large arrays, slice-at-once vs element-at-a-time | `seq`, `threads`, `rayon`, `element` |
//! | [`pi`] | Monte Carlo with one random stream per chunk | `seq`, `threads`, `rayon` |
//! | [`imbalance`] | uneven work (Mandelbrot rows), static vs dynamic scheduling | `seq`, `threads`, `dynamic`, `rayon` |
//! | [`amdahl`] | a serial part and a parallel part, configurable serial fraction | `seq`, `threads`, `rayon` |
//! | [`recursion`] | recursive block matrix product: rows read `4672/64` | `seq`, `threads`, `rayon` |
//! | [`halo`] | 1-D heat equation, a block per worker with halo exchange | `seq`, `threads`, `rayon` |
//!
//! Every mode and every thread count gives the same answer, bit for bit:
//! work is cut into chunks of a fixed size (never "one piece per thread"),
//! each chunk's partial result is computed the same way wherever it runs,
//! and partial results are combined in chunk order.
//!
//! With the `mpi` feature, `pi`, `sums`, `axpy`, `imbalance` and `halo` also
//! have MPI modes (`mpi`, and `mpi-dynamic` for `imbalance`, `mpi-overlap`
//! for `halo`), run one process per rank under `mpiexec` (see the `mpi`
//! module): they give the same answer, bit for bit, for every rank count.
//!
//! Measured on 2 idle cores with the default sizes (`workloads run all`):
//! the static schedule of `imbalance` leaves one worker busy 1.1 s and the
//! other 27 ms (load balance 0.51, no speed-up), dynamic chunks reach 1.00
//! and a speed-up of 1.8; the `element` mode of `sums` takes 0.30 s on one
//! thread and 1.3 s on two, where slice-at-once takes 20 ms.
//!
//! Threads are named after the workload and mode (`sums-rayon-0`,
//! `axpy-overlapped-reader`); rayon work runs in a pool built for the run
//! with the requested thread count (never the global pool), so that
//! nested or repeated runs cannot oversubscribe the machine.
//!
//! [`profiled`] runs a closure on a fresh named thread and returns the
//! profile of that run alone; [`prepare`] and [`execute`] run one workload;
//! [`scaling`] has the speed-up figures and Amdahl's law.

pub mod amdahl;
pub mod axpy;
pub mod halo;
pub mod imbalance;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod pi;
pub mod recursion;
pub mod rng;
pub mod scaling;
pub mod sums;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use profiler::Profile;

/// Whether this build records calls (the `profile` feature, on by default).
pub const INSTRUMENTED: bool = cfg!(feature = "profile");

/// The most threads a run may ask for.
pub const MAX_THREADS: usize = 1024;

/// The seed of every workload's random inputs unless set otherwise (the
/// `seed` of [`axpy::Config`], [`sums::Config`], [`pi::Config`] and
/// [`recursion::Config`]).
pub const DEFAULT_SEED: u64 = 2024;

/// An error of a workload run.
#[derive(Debug)]
pub enum Error {
    /// A bad option or size: the program reports it and exits with status 2.
    Invalid(String),
    /// An I/O operation on `path` failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Anything else (a worker thread panicked, a results mismatch).
    Failed(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The process exit status for this error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) | Error::Failed(m) => f.write_str(m),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<profiler::Error> for Error {
    fn from(e: profiler::Error) -> Self {
        Error::Failed(e.to_string())
    }
}

/// How a workload runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// One thread, no parallelism: the reference.
    Seq,
    /// `std::thread` workers with a static, explicit partition of the chunks.
    Threads,
    /// A dedicated rayon pool: work stealing (dynamic scheduling).
    Rayon,
    /// `axpy` only: reader, compute and writer threads joined by bounded
    /// channels (I/O overlapped with computation; three threads whatever the
    /// thread count).
    Overlapped,
    /// `sums` only: element-at-a-time, every addition made to one shared
    /// accumulator (per-element synchronisation: the workers serialise).
    Element,
    /// `imbalance` only: `std::thread` workers taking small chunks of rows
    /// from a shared counter (dynamic scheduling by hand).
    Dynamic,
    /// One process per MPI rank, each with its static block of the work,
    /// results combined with MPI collectives (`imbalance`: static rank
    /// blocks; `halo`: blocking halo exchange). Runs under `mpiexec` in a
    /// build with the `mpi` feature.
    Mpi,
    /// `imbalance` only, MPI: rank 0 hands out chunks of rows with
    /// point-to-point messages (master-worker), and renders rows itself,
    /// one at a time, between requests.
    MpiDynamic,
    /// `halo` only, MPI: non-blocking halo exchange overlapped with the
    /// update of the block's interior.
    MpiOverlap,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 9] = [
        Mode::Seq,
        Mode::Threads,
        Mode::Rayon,
        Mode::Overlapped,
        Mode::Element,
        Mode::Dynamic,
        Mode::Mpi,
        Mode::MpiDynamic,
        Mode::MpiOverlap,
    ];

    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Seq => "seq",
            Mode::Threads => "threads",
            Mode::Rayon => "rayon",
            Mode::Overlapped => "overlapped",
            Mode::Element => "element",
            Mode::Dynamic => "dynamic",
            Mode::Mpi => "mpi",
            Mode::MpiDynamic => "mpi-dynamic",
            Mode::MpiOverlap => "mpi-overlap",
        }
    }

    /// Whether the mode runs one process per MPI rank (under `mpiexec`).
    pub fn is_mpi(self) -> bool {
        matches!(self, Mode::Mpi | Mode::MpiDynamic | Mode::MpiOverlap)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A mode on the command line (`--mode`): the values are the [`Mode::name`]s.
impl clap::ValueEnum for Mode {
    fn value_variants<'a>() -> &'a [Self] {
        &Mode::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
                Error::Invalid(format!("unknown mode '{s}' (one of: {})", names.join(", ")))
            })
    }
}

/// One of the bundled workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// See [`axpy`].
    Axpy,
    /// See [`sums`].
    Sums,
    /// See [`pi`].
    Pi,
    /// See [`imbalance`].
    Imbalance,
    /// See [`amdahl`].
    Amdahl,
    /// See [`recursion`].
    Recursion,
    /// See [`halo`].
    Halo,
}

impl Workload {
    /// Every workload, in the order `run all` runs them.
    pub const ALL: [Workload; 7] = [
        Workload::Axpy,
        Workload::Sums,
        Workload::Pi,
        Workload::Imbalance,
        Workload::Amdahl,
        Workload::Recursion,
        Workload::Halo,
    ];

    /// The workload's name on the command line (and its output folder).
    pub fn name(self) -> &'static str {
        match self {
            Workload::Axpy => "axpy",
            Workload::Sums => "sums",
            Workload::Pi => "pi",
            Workload::Imbalance => "imbalance",
            Workload::Amdahl => "amdahl",
            Workload::Recursion => "recursion",
            Workload::Halo => "halo",
        }
    }

    /// One line saying what the workload shows.
    pub fn describe(self) -> &'static str {
        match self {
            Workload::Axpy => {
                "I/O pipeline: read A_i, B_i from binary files, write alpha*A_i + B_i"
            }
            Workload::Sums => "reduce large arrays: slice-at-once vs element-at-a-time",
            Workload::Pi => "Monte Carlo pi, one jump-ahead random stream per chunk",
            Workload::Imbalance => "uneven work (Mandelbrot rows): static vs dynamic scheduling",
            Workload::Amdahl => "a serial part and a parallel part (Amdahl's law)",
            Workload::Recursion => "recursive block matrix product (total/primitive calls)",
            Workload::Halo => "1-D heat equation: blocks with halo exchange each step",
        }
    }

    /// The modes this workload has in one process, `seq` first (the MPI
    /// modes are [`Workload::mpi_modes`]).
    pub fn modes(self) -> &'static [Mode] {
        match self {
            Workload::Axpy => &[Mode::Seq, Mode::Overlapped, Mode::Threads, Mode::Rayon],
            Workload::Sums => &[Mode::Seq, Mode::Threads, Mode::Rayon, Mode::Element],
            Workload::Imbalance => &[Mode::Seq, Mode::Threads, Mode::Dynamic, Mode::Rayon],
            Workload::Pi | Workload::Amdahl | Workload::Recursion | Workload::Halo => {
                &[Mode::Seq, Mode::Threads, Mode::Rayon]
            }
        }
    }

    /// The modes this workload has under `mpiexec` (one process per rank;
    /// a build with the `mpi` feature runs them).
    pub fn mpi_modes(self) -> &'static [Mode] {
        match self {
            Workload::Pi | Workload::Sums | Workload::Axpy => &[Mode::Mpi],
            Workload::Imbalance => &[Mode::Mpi, Mode::MpiDynamic],
            Workload::Halo => &[Mode::Mpi, Mode::MpiOverlap],
            Workload::Amdahl | Workload::Recursion => &[],
        }
    }

    /// The mode that `scale` and `bench-overhead` use unless told otherwise.
    pub fn default_parallel_mode(self) -> Mode {
        Mode::Rayon
    }

    /// Checks that `mode` is one of this workload's modes (MPI modes
    /// included).
    pub fn check_mode(self, mode: Mode) -> Result<(), Error> {
        if self.modes().contains(&mode) || self.mpi_modes().contains(&mode) {
            Ok(())
        } else {
            Err(self.mode_error(mode))
        }
    }

    /// The error for a mode this workload does not have.
    pub fn mode_error(self, mode: Mode) -> Error {
        let names: Vec<&str> = self
            .modes()
            .iter()
            .chain(self.mpi_modes())
            .map(|m| m.name())
            .collect();
        Error::Invalid(format!(
            "{} has no mode '{mode}' (its modes: {})",
            self.name(),
            names.join(", ")
        ))
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
                Error::Invalid(format!(
                    "unknown workload '{s}' (one of: {}, all)",
                    names.join(", ")
                ))
            })
    }
}

/// The sizes and parameters of every workload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sizes {
    /// See [`axpy::Config`].
    pub axpy: axpy::Config,
    /// See [`sums::Config`].
    pub sums: sums::Config,
    /// See [`pi::Config`].
    pub pi: pi::Config,
    /// See [`imbalance::Config`].
    pub imbalance: imbalance::Config,
    /// See [`amdahl::Config`].
    pub amdahl: amdahl::Config,
    /// See [`recursion::Config`].
    pub recursion: recursion::Config,
    /// See [`halo::Config`].
    pub halo: halo::Config,
}

impl Sizes {
    /// Small sizes that run in milliseconds (tests, smoke runs).
    pub fn small() -> Self {
        Sizes {
            axpy: axpy::Config::small(),
            sums: sums::Config::small(),
            pi: pi::Config::small(),
            imbalance: imbalance::Config::small(),
            amdahl: amdahl::Config::small(),
            recursion: recursion::Config::small(),
            halo: halo::Config::small(),
        }
    }

    /// Checks the sizes of one workload.
    pub fn validate(&self, w: Workload) -> Result<(), Error> {
        match w {
            Workload::Axpy => self.axpy.validate(),
            Workload::Sums => self.sums.validate(),
            Workload::Pi => self.pi.validate(),
            Workload::Imbalance => self.imbalance.validate(),
            Workload::Amdahl => self.amdahl.validate(),
            Workload::Recursion => self.recursion.validate(),
            Workload::Halo => self.halo.validate(),
        }
    }
}

/// Checks a thread count: at least 1, at most [`MAX_THREADS`].
pub fn check_threads(threads: usize) -> Result<(), Error> {
    if threads == 0 {
        Err(Error::Invalid("--threads must be at least 1".into()))
    } else if threads > MAX_THREADS {
        Err(Error::Invalid(format!(
            "--threads must be at most {MAX_THREADS} (got {threads})"
        )))
    } else {
        Ok(())
    }
}

/// The answer of one run, for printing and for checking that every mode
/// and thread count agrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// For people: the result in words.
    pub text: String,
    /// For comparison: the exact result (every float as its bits).
    pub exact: String,
}

impl Answer {
    /// The answer of a run that gave `value`.
    pub fn of<T: fmt::Display + fmt::Debug>(value: &T) -> Self {
        Answer {
            text: value.to_string(),
            exact: format!("{value:?}"),
        }
    }
}

/// A workload's prepared input (arrays, matrices, files on disk).
#[derive(Debug)]
pub enum Input {
    /// Input files of [`axpy`] (removed when this is dropped).
    Axpy(axpy::Input),
    /// Arrays of [`sums`].
    Sums(sums::Input),
    /// Configuration of [`pi`].
    Pi(pi::Config),
    /// Configuration of [`imbalance`].
    Imbalance(imbalance::Config),
    /// Configuration of [`amdahl`].
    Amdahl(amdahl::Config),
    /// Matrices of [`recursion`].
    Recursion(recursion::Input),
    /// Configuration of [`halo`].
    Halo(halo::Config),
}

impl Input {
    /// The workload this input belongs to.
    pub fn workload(&self) -> Workload {
        match self {
            Input::Axpy(_) => Workload::Axpy,
            Input::Sums(_) => Workload::Sums,
            Input::Pi(_) => Workload::Pi,
            Input::Imbalance(_) => Workload::Imbalance,
            Input::Amdahl(_) => Workload::Amdahl,
            Input::Recursion(_) => Workload::Recursion,
            Input::Halo(_) => Workload::Halo,
        }
    }
}

/// Validates the sizes and prepares a workload's input (untimed set-up: the
/// input files of `axpy`, the arrays of `sums`, the matrices of
/// `recursion`), using up to `threads` threads.
pub fn prepare(w: Workload, sizes: &Sizes, threads: usize) -> Result<Input, Error> {
    check_threads(threads)?;
    sizes.validate(w)?;
    Ok(match w {
        Workload::Axpy => Input::Axpy(axpy::prepare(&sizes.axpy, threads)?),
        Workload::Sums => Input::Sums(sums::prepare(&sizes.sums, threads)?),
        Workload::Pi => Input::Pi(sizes.pi.clone()),
        Workload::Imbalance => Input::Imbalance(sizes.imbalance.clone()),
        Workload::Amdahl => Input::Amdahl(sizes.amdahl.clone()),
        Workload::Recursion => Input::Recursion(recursion::prepare(&sizes.recursion, threads)?),
        Workload::Halo => Input::Halo(sizes.halo.clone()),
    })
}

/// Runs a prepared workload once in `mode` on `threads` threads. An MPI
/// mode is an error here: it runs under `mpiexec` (see the `mpi` module).
pub fn execute(input: &Input, mode: Mode, threads: usize) -> Result<Answer, Error> {
    check_threads(threads)?;
    input.workload().check_mode(mode)?;
    if mode.is_mpi() {
        return Err(mpi_mode_error(mode));
    }
    Ok(match input {
        Input::Axpy(i) => Answer::of(&axpy::run(i, mode, threads)?),
        Input::Sums(i) => Answer::of(&sums::run(i, mode, threads)?),
        Input::Pi(c) => Answer::of(&pi::run(c, mode, threads)?),
        Input::Imbalance(c) => Answer::of(&imbalance::run(c, mode, threads)?),
        Input::Amdahl(c) => Answer::of(&amdahl::run(c, mode, threads)?),
        Input::Recursion(i) => Answer::of(&recursion::run(i, mode, threads)?),
        Input::Halo(c) => Answer::of(&halo::run(c, mode, threads)?),
    })
}

/// The error for an MPI mode asked of a single-process run.
pub fn mpi_mode_error(mode: Mode) -> Error {
    if cfg!(feature = "mpi") {
        Error::Invalid(format!(
            "mode '{mode}' runs one process per MPI rank: `mpiexec -n 2 workloads run NAME \
             --mode {mode}`"
        ))
    } else {
        Error::Invalid(format!(
            "mode '{mode}' needs MPI: build with `cargo build --release -p workloads \
             --features mpi` and run it under mpiexec"
        ))
    }
}

/// The name of worker thread `index` of `workload` running in `mode` (or
/// another phase such as `prepare`): `sums-rayon-0`. The thread that drives
/// a run is named after the workload.
pub fn worker_name(
    workload: Workload,
    mode: impl fmt::Display,
    index: impl fmt::Display,
) -> String {
    format!("{workload}-{mode}-{index}")
}

/// A rayon pool of `threads` threads named after the workload and the mode
/// (or phase), built for one run (never the global pool).
pub fn pool(
    workload: Workload,
    mode: impl fmt::Display,
    threads: usize,
) -> Result<rayon::ThreadPool, Error> {
    let mode = mode.to_string();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| worker_name(workload, &mode, i))
        .build()
        .map_err(|e| Error::Failed(format!("cannot build a thread pool: {e}")))
}

/// Runs `f(index)` on `threads` scoped threads named
/// [`worker_name`]`(workload, mode, index)` and returns the results in index
/// order. A panicking worker becomes an error.
pub fn scoped_workers<T, F>(
    workload: Workload,
    mode: Mode,
    threads: usize,
    f: F,
) -> Result<Vec<T>, Error>
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    std::thread::scope(|s| {
        let f = &f;
        let handles = (0..threads)
            .map(|i| {
                std::thread::Builder::new()
                    .name(worker_name(workload, mode, i))
                    .spawn_scoped(s, move || f(i))
                    .map_err(|e| Error::Failed(format!("cannot spawn a thread: {e}")))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| Error::Failed(format!("a {workload} worker panicked")))
            })
            .collect()
    })
}

/// The half-open range of block `index` when `len` items are cut into
/// `parts` contiguous blocks whose sizes differ by at most one (a static
/// schedule).
pub fn block_range(len: usize, parts: usize, index: usize) -> std::ops::Range<usize> {
    let parts = parts.max(1);
    let lo = len * index / parts;
    let hi = len * (index + 1) / parts;
    lo..hi
}

/// What [`profiled`] returns: the closure's value, its wall time, and the
/// profile of the threads the run created.
#[derive(Debug)]
pub struct ProfiledRun<T> {
    /// The closure's result.
    pub value: T,
    /// Wall time of the closure.
    pub wall: Duration,
    /// The run's own profile: only the threads it started (see [`profiled`]).
    pub profile: Profile,
}

/// Runs `f` on a fresh thread named `name` and returns its value with the
/// profile of this run alone.
///
/// A snapshot is taken before and after; the run's profile keeps only the
/// threads that began recording in between (their recorder ids are larger
/// than every id seen before) *and* whose name is `name` or starts with
/// `name-` (the driver thread and the workers named by [`worker_name`]).
/// Trees are per thread and a fresh thread starts with an empty tree, so
/// these threads' figures are exactly the run's calls: no subtraction of
/// counters is needed. The sites are reduced to those the kept threads use.
/// Profiled work run concurrently by other threads with the same name prefix
/// would be counted too: run one workload at a time.
pub fn profiled<T, F>(name: &str, f: F) -> Result<ProfiledRun<T>, Error>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let before = profiler::snapshot();
    let max_id = before.threads.iter().map(|t| t.id).max().unwrap_or(0);
    let start = Instant::now();
    let value = std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn_scoped(s, f)
            .map_err(|e| Error::Failed(format!("cannot spawn a thread: {e}")))?;
        h.join()
            .map_err(|_| Error::Failed(format!("the {name} run panicked")))
    })?;
    let wall = start.elapsed();
    let after = profiler::snapshot();
    let prefix = format!("{name}-");
    let profile = restrict(after, |t| {
        t.id > max_id && (t.name == name || t.name.starts_with(&prefix))
    });
    let mut profile = profile;
    profile.meta.duration_ns = u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
    Ok(ProfiledRun {
        value,
        wall,
        profile,
    })
}

/// Keeps the threads for which `keep` is true and the sites they use
/// (renumbered in their original order).
pub fn restrict(mut p: Profile, keep: impl Fn(&profiler::ThreadProfile) -> bool) -> Profile {
    p.threads.retain(|t| keep(t));
    let mut used = vec![false; p.sites.len()];
    for t in &p.threads {
        for n in &t.nodes {
            used[n.site as usize] = true;
        }
        for s in &t.timeline {
            used[s.site as usize] = true;
        }
    }
    let mut map = vec![u32::MAX; p.sites.len()];
    let mut sites = Vec::new();
    for (i, site) in p.sites.iter().enumerate() {
        if used[i] {
            map[i] = sites.len() as u32;
            sites.push(site.clone());
        }
    }
    for t in &mut p.threads {
        for n in &mut t.nodes {
            n.site = map[n.site as usize];
        }
        for s in &mut t.timeline {
            s.site = map[s.site as usize];
        }
    }
    p.sites = sites;
    p
}

/// Busy time of each worker thread of `mode` in a run's profile (the time
/// inside profiled calls, which is where these threads work), in thread
/// order, as `(thread name, nanoseconds)`. For the load balance of these
/// times, see [`profiler::analysis::Efficiency::from_busy`].
pub fn worker_busy(profile: &Profile, workload: Workload, mode: Mode) -> Vec<(String, u64)> {
    let prefix = format!("{workload}-{mode}-");
    let mut busy: Vec<(String, u64)> = profile
        .threads
        .iter()
        .filter(|t| t.name.starts_with(&prefix))
        .map(|t| (t.name.clone(), t.root_time_ns()))
        .collect();
    // Numbered workers in number order; named ones (pipeline stages) keep
    // the order in which they started recording.
    busy.sort_by_key(|(name, _)| name[prefix.len()..].parse::<usize>().ok());
    busy
}
