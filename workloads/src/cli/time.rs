//! `workloads time`: times a workload's run phase, without reports.

use clap::Args;
use workloads::scaling;
use workloads::{Error, Mode};

use super::sizes::SizeArgs;
use super::{
    Selection, at_least_one, modes_for, parallel_mode_help, thread_count, threads_or_cores,
    timed_run, validate,
};

/// The options of `time`.
#[derive(Args, Debug)]
pub(crate) struct TimeArgs {
    /// A workload or `all`.
    #[arg(value_name = "NAME")]
    name: Selection,
    /// Worker threads [default: the available cores].
    #[arg(long, short = 't', value_parser = thread_count())]
    threads: Option<usize>,
    // The mode.
    #[arg(long, short = 'm', help = parallel_mode_help())]
    mode: Option<Mode>,
    /// Runs; the median and the minimum are printed.
    #[arg(long, short = 'r', default_value_t = 3, value_parser = at_least_one())]
    repeats: usize,
    #[command(flatten)]
    sizes: SizeArgs,
}

pub(crate) fn time(a: &TimeArgs) -> Result<(), Error> {
    let threads = threads_or_cores(a.threads)?;
    let plan = modes_for(a.name, a.mode, |w| vec![w.default_parallel_mode()])?;
    let sizes = a.sizes.sizes();
    validate(&plan, &sizes)?;
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
