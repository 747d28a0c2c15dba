//! `workloads bench-overhead`: compares this build's wall times with those
//! of a build whose instrumentation is compiled out.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::ProgressBar;
use workloads::scaling;
use workloads::{Error, INSTRUMENTED, Mode, Workload};

use super::sizes::SizeArgs;
use super::{
    Selection, at_least_one, modes_for, parallel_mode_help, thread_count, threads_or_cores,
    validate,
};

/// The options of `bench-overhead`.
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// A workload or `all`.
    #[arg(value_name = "NAME", default_value_t = Selection::All)]
    name: Selection,
    /// The `workloads` binary built without instrumentation
    /// (`--no-default-features`).
    #[arg(long, default_value = "target/uninstrumented/release/workloads")]
    baseline: PathBuf,
    /// Rounds; each runs both binaries once (alternating which goes first),
    /// and the median over rounds is compared.
    #[arg(long, default_value_t = 5, value_parser = at_least_one())]
    rounds: usize,
    /// Runs inside each `time` call (its median is the round's figure).
    #[arg(long, short = 'r', default_value_t = 3, value_parser = at_least_one())]
    repeats: usize,
    /// Worker threads [default: the available cores].
    #[arg(long, short = 't', value_parser = thread_count())]
    threads: Option<usize>,
    // The mode.
    #[arg(long, short = 'm', help = parallel_mode_help())]
    mode: Option<Mode>,
    #[command(flatten)]
    sizes: SizeArgs,
}

/// Runs `exe time ...` and returns the median it prints.
fn time_with(
    exe: &Path,
    w: Workload,
    mode: Mode,
    threads: usize,
    a: &BenchArgs,
) -> Result<(f64, f64), Error> {
    let out = std::process::Command::new(exe)
        .arg("time")
        .arg(w.name())
        .arg(format!("--mode={mode}"))
        .arg(format!("--threads={threads}"))
        .arg(format!("--repeats={}", a.repeats))
        .args(a.sizes.to_args())
        .output()
        .map_err(|e| Error::io(exe, e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "{} time {w} failed: {}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let fields: Vec<f64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("time "))
        .map(|l| {
            l.split_whitespace()
                .skip(3)
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    match fields[..] {
        [median, min] => Ok((median, min)),
        _ => Err(Error::Failed(format!(
            "{}: no time in its output",
            exe.display()
        ))),
    }
}

pub(crate) fn bench_overhead(a: &BenchArgs) -> Result<(), Error> {
    let threads = threads_or_cores(a.threads)?;
    let plan = modes_for(a.name, a.mode, |w| vec![w.default_parallel_mode()])?;
    validate(&plan, &a.sizes.sizes())?;
    if !INSTRUMENTED {
        return Err(Error::Invalid(
            "this build is not instrumented: run bench-overhead from the default build".into(),
        ));
    }
    let me = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    let info = std::process::Command::new(&a.baseline)
        .arg("list")
        .output()
        .map_err(|e| Error::io(&a.baseline, e))?;
    if !String::from_utf8_lossy(&info.stdout).starts_with("instrumented: false") {
        return Err(Error::Invalid(format!(
            "{} is not an uninstrumented build (build it with: cargo build --release -p workloads \
             --no-default-features --target-dir target/uninstrumented)",
            a.baseline.display()
        )));
    }
    println!(
        "instrumented {} vs compiled out {}; {threads} thread(s), {} rounds x {} runs: \
         medians of the runs' medians, and the ratio of the fastest runs",
        me.display(),
        a.baseline.display(),
        a.rounds,
        a.repeats
    );
    println!(
        "   {:<10} {:<8} {:>12} {:>12} {:>8} {:>10}",
        "workload", "mode", "instr. s", "baseline s", "ratio", "min ratio"
    );
    let bar = ProgressBar::new((plan.len() * a.rounds * 2) as u64);
    for (w, modes) in &plan {
        let mode = modes[0];
        let (mut mine, mut base) = (Vec::new(), Vec::new());
        for round in 0..a.rounds {
            bar.set_message(format!("{w} round {}", round + 1));
            if round % 2 == 0 {
                mine.push(time_with(&me, *w, mode, threads, a)?);
                base.push(time_with(&a.baseline, *w, mode, threads, a)?);
            } else {
                base.push(time_with(&a.baseline, *w, mode, threads, a)?);
                mine.push(time_with(&me, *w, mode, threads, a)?);
            }
            bar.inc(2);
        }
        let med = |v: &[(f64, f64)]| scaling::median(&v.iter().map(|x| x.0).collect::<Vec<_>>());
        let min = |v: &[(f64, f64)]| v.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
        let (m, b) = (med(&mine), med(&base));
        bar.suspend(|| {
            println!(
                "   {:<10} {:<8} {:>12.4} {:>12.4} {:>8.4} {:>10.4}",
                w.name(),
                mode.name(),
                m,
                b,
                m / b,
                min(&mine) / min(&base)
            )
        });
    }
    bar.finish_and_clear();
    Ok(())
}
