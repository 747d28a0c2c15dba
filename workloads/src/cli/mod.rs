//! The subcommands of the `workloads` program, one module each, and the
//! pieces they share. These modules belong to the binary, not to the
//! `workloads` library.

pub(crate) mod bench_overhead;
pub(crate) mod list;
pub(crate) mod run;
pub(crate) mod scale;
pub(crate) mod sizes;
pub(crate) mod time;

use std::time::Instant;

use workloads::{Error, Mode, Sizes, Workload};

/// The workloads a name selects: one, or every one for `all`.
fn select(name: &str) -> Result<Vec<Workload>, Error> {
    if name == "all" {
        Ok(Workload::ALL.to_vec())
    } else {
        Ok(vec![name.parse()?])
    }
}

/// The thread count asked for, or the available cores; checked.
fn threads_or_cores(threads: Option<usize>) -> Result<usize, Error> {
    let t = threads.unwrap_or_else(workloads::available_cores);
    workloads::check_threads(t)?;
    Ok(t)
}

/// The modes to run for each workload: the one asked for (each workload
/// must have it), or `default(w)`.
fn modes_for(
    selected: &[Workload],
    mode: Option<&str>,
    default: impl Fn(Workload) -> Vec<Mode>,
) -> Result<Vec<(Workload, Vec<Mode>)>, Error> {
    let mode: Option<Mode> = mode.map(str::parse).transpose()?;
    selected
        .iter()
        .map(|&w| match mode {
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
    let w = input.workload();
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name(w.name().to_owned())
            .spawn_scoped(s, || {
                let t = Instant::now();
                workloads::execute(input, mode, threads).map(|_| t.elapsed().as_secs_f64())
            })
            .map_err(|e| Error::Failed(format!("cannot spawn a thread: {e}")))?;
        h.join()
            .map_err(|_| Error::Failed(format!("the {w} run panicked")))?
    })
}
