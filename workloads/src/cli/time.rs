//! `workloads time`: times a workload's run phase, without reports.

use clap::Args;
use workloads::Error;
use workloads::scaling;

use super::sizes::SizeArgs;
use super::{modes_for, select, threads_or_cores, timed_run, validate};

/// The options of `time`.
#[derive(Args, Debug)]
pub(crate) struct TimeArgs {
    /// A workload or `all`.
    name: String,
    /// Worker threads [default: the available cores].
    #[arg(long, short = 't')]
    threads: Option<usize>,
    /// The mode [default: rayon].
    #[arg(long, short = 'm')]
    mode: Option<String>,
    /// Runs; the median and the minimum are printed.
    #[arg(long, short = 'r', default_value_t = 3)]
    repeats: usize,
    #[command(flatten)]
    sizes: SizeArgs,
}

pub(crate) fn time(a: &TimeArgs) -> Result<(), Error> {
    let threads = threads_or_cores(a.threads)?;
    let selected = select(&a.name)?;
    let plan = modes_for(&selected, a.mode.as_deref(), |w| {
        vec![w.default_parallel_mode()]
    })?;
    let sizes = a.sizes.sizes();
    validate(&plan, &sizes)?;
    if a.repeats == 0 {
        return Err(Error::Invalid("--repeats must be at least 1".into()));
    }
    for (w, modes) in &plan {
        let input = workloads::prepare(*w, &sizes, threads)?;
        for &m in modes {
            // One untimed warm-up run (page cache, allocator, code).
            timed_run(&input, m, threads)?;
            let times = (0..a.repeats)
                .map(|_| timed_run(&input, m, threads))
                .collect::<Result<Vec<_>, _>>()?;
            let min = times.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "time {w} {m} {threads} {:.6} {:.6}",
                scaling::median(&times),
                min
            );
        }
    }
    Ok(())
}
