//! The subcommands of the `workloads` program, one module each, and the
//! pieces they share. These modules belong to the binary, not to the
//! `workloads` library.

pub(crate) mod bench_overhead;
pub(crate) mod compare;
pub(crate) mod list;
#[cfg(feature = "mpi")]
pub(crate) mod mpi;
pub(crate) mod run;
pub(crate) mod scale;
pub(crate) mod sizes;
pub(crate) mod time;

use std::fmt;
use std::time::Instant;

use clap::ValueEnum;
use clap::builder::{PossibleValue, RangedU64ValueParser, TypedValueParser};
use workloads::{Error, MAX_THREADS, Mode, Sizes, Workload};

/// The workloads a command runs: one, or every one (`all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Selection {
    /// One workload.
    One(Workload),
    /// Every workload, in the order of [`Workload::ALL`].
    All,
}

impl Selection {
    /// Every selection: each workload, then `all`.
    const VARIANTS: [Selection; Workload::ALL.len() + 1] = {
        let mut v = [Selection::All; Workload::ALL.len() + 1];
        let mut i = 0;
        while i < Workload::ALL.len() {
            v[i] = Selection::One(Workload::ALL[i]);
            i += 1;
        }
        v
    };

    /// The selected workloads.
    fn workloads(self) -> Vec<Workload> {
        match self {
            Selection::One(w) => vec![w],
            Selection::All => Workload::ALL.to_vec(),
        }
    }

    /// The name on the command line: the workload's, or `all`.
    fn name(self) -> &'static str {
        match self {
            Selection::One(w) => w.name(),
            Selection::All => "all",
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl ValueEnum for Selection {
    fn value_variants<'a>() -> &'a [Self] {
        &Selection::VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

/// The parser of `--threads`: 1 to [`MAX_THREADS`].
fn thread_count() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..=MAX_THREADS as u64)
}

/// The parser of counts of runs and rows (`--repeats`, `--top`): at least 1.
fn at_least_one() -> impl TypedValueParser<Value = usize> {
    RangedU64ValueParser::<usize>::new().try_map(|n| match n {
        0 => Err("must be at least 1"),
        n => Ok(n),
    })
}

/// The help of `--mode` where the default is each workload's
/// [`Workload::default_parallel_mode`].
fn parallel_mode_help() -> String {
    let mut modes: Vec<Mode> = Workload::ALL
        .iter()
        .map(|w| w.default_parallel_mode())
        .collect();
    modes.dedup();
    match modes[..] {
        [m] => format!("The mode [default: {m}]"),
        _ => "The mode [default: the workload's parallel mode]".to_owned(),
    }
}

/// The cores this process may use, as the profiler counts them (affinity
/// and cgroup CPU quotas): the same figure as the reports' parallel summary.
fn available_cores() -> usize {
    usize::try_from(profiler::analysis::available_cores()).unwrap_or(usize::MAX)
}

/// The thread count asked for, or the available cores; checked.
fn threads_or_cores(threads: Option<usize>) -> Result<usize, Error> {
    let t = threads.unwrap_or_else(available_cores);
    workloads::check_threads(t)?;
    Ok(t)
}

/// The modes to run for each workload: the one asked for (each workload
/// must have it), or `default(w)`.
fn modes_for(
    selected: Selection,
    mode: Option<Mode>,
    default: impl Fn(Workload) -> Vec<Mode>,
) -> Result<Vec<(Workload, Vec<Mode>)>, Error> {
    selected
        .workloads()
        .into_iter()
        .map(|w| match mode {
            Some(m) => w.check_mode(m).map(|_| (w, vec![m])),
            None => Ok((w, default(w))),
        })
        .collect()
}

/// Validates everything before any work starts, so that a bad option
/// anywhere fails at once.
fn validate(plan: &[(Workload, Vec<Mode>)], sizes: &Sizes) -> Result<(), Error> {
    plan.iter().try_for_each(|(w, _)| sizes.validate(*w))
}

/// Runs once on a fresh named thread; returns the wall time in seconds.
fn timed_run(input: &workloads::Input, mode: Mode, threads: usize) -> Result<f64, Error> {
    timed_on_thread(input.workload(), || {
        workloads::execute(input, mode, threads)
    })
    .map(|(seconds, _)| seconds)
}

/// Runs `run` on a fresh thread named after `w` (so that its profile's
/// thread is named after the workload); returns its wall time in seconds
/// and what it returned.
fn timed_on_thread<T: Send>(
    w: Workload,
    run: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<(f64, T), Error> {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name(w.name().to_owned())
            .spawn_scoped(s, || {
                let t = Instant::now();
                run().map(|out| (t.elapsed().as_secs_f64(), out))
            })
            .map_err(|e| Error::Failed(format!("cannot spawn a thread: {e}")))?;
        h.join()
            .map_err(|_| Error::Failed(format!("the {w} run panicked")))?
    })
}
