//! `workloads scale`: runs a workload on several thread counts and reports
//! speed-up, efficiency, the Karp-Flatt serial fraction and an Amdahl fit.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use workloads::scaling::{self, Measurement};
use workloads::{Error, Mode, Workload};

use super::sizes::SizeArgs;
use super::{
    Selection, at_least_one, available_cores, modes_for, parallel_mode_help, thread_count,
    timed_run, validate,
};

/// The options of `scale`.
#[derive(Args, Debug)]
pub(crate) struct ScaleArgs {
    /// A workload or `all`.
    #[arg(value_name = "NAME")]
    name: Selection,
    /// Thread counts, comma-separated [default: 1, 2, 4, ... up to the
    /// available cores].
    #[arg(long, short = 't', value_delimiter = ',', value_parser = thread_count())]
    threads: Vec<usize>,
    /// Runs per thread count; the median is kept.
    #[arg(long, short = 'r', default_value_t = 3, value_parser = at_least_one())]
    repeats: usize,
    // The mode to scale.
    #[arg(long, short = 'm', help = parallel_mode_help().replacen("The mode", "The mode to scale", 1))]
    mode: Option<Mode>,
    /// Folder for speedup.svg and scale.html (one subfolder per workload).
    #[arg(long, short = 'o', default_value = "profile-out")]
    out: PathBuf,
    #[command(flatten)]
    sizes: SizeArgs,
}

/// Powers of two up to the available cores, and the core count itself.
fn default_thread_counts() -> Vec<usize> {
    let cores = available_cores();
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |&p| Some(p * 2))
        .take_while(|&p| p <= cores)
        .collect();
    if v.last() != Some(&cores) {
        v.push(cores);
    }
    v
}

pub(crate) fn scale(a: &ScaleArgs) -> Result<(), Error> {
    let plan = modes_for(a.name, a.mode, |w| vec![w.default_parallel_mode()])?;
    let sizes = a.sizes.sizes();
    validate(&plan, &sizes)?;
    let mut counts = if a.threads.is_empty() {
        default_thread_counts()
    } else {
        a.threads.clone()
    };
    counts
        .iter()
        .try_for_each(|&t| workloads::check_threads(t))?;
    counts.sort_unstable();
    counts.dedup();
    let cores = available_cores();
    if counts.iter().any(|&p| p > cores) {
        println!(
            "note: {cores} core(s) available: counts above that oversubscribe the machine \
             and are left out of the Amdahl fit"
        );
    }
    let bar = ProgressBar::new((plan.len() * counts.len() * a.repeats) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    for (w, modes) in &plan {
        let mode = modes[0];
        let max_threads = *counts.last().expect("at least one count");
        let input = workloads::prepare(*w, &sizes, max_threads)?;
        // Rounds over every count, rather than all repeats of one count and
        // then the next: a disturbance (another program) then spreads over
        // the counts instead of biasing one of them.
        let mut times = vec![Vec::with_capacity(a.repeats); counts.len()];
        for r in 0..a.repeats {
            for (i, &p) in counts.iter().enumerate() {
                bar.set_message(format!("{w} {mode} p={p} round {}", r + 1));
                times[i].push(timed_run(&input, mode, p)?);
                bar.inc(1);
            }
        }
        let measurements: Vec<Measurement> = counts
            .iter()
            .zip(&times)
            .map(|(&p, t)| Measurement {
                threads: p,
                seconds: scaling::median(t),
            })
            .collect();
        drop(input);
        bar.suspend(|| report_scale(*w, mode, &measurements, &counts, &times, cores, &a.out))?;
    }
    bar.finish_and_clear();
    Ok(())
}

fn report_scale(
    w: Workload,
    mode: Mode,
    measurements: &[Measurement],
    counts: &[usize],
    times: &[Vec<f64>],
    cores: usize,
    out: &Path,
) -> Result<(), Error> {
    let rows = scaling::figures(measurements);
    println!("\n== {w} ({mode}): {}", w.describe());
    println!(
        "   {:>7} {:>10} {:>8} {:>10} {:>12}",
        "threads", "T(p) s", "S(p)", "E(p)", "Karp-Flatt e"
    );
    for r in &rows {
        println!(
            "   {:>7} {:>10.4} {:>8.3} {:>10.3} {:>12}",
            r.threads,
            r.seconds,
            r.speedup,
            r.efficiency,
            r.karp_flatt.map_or("-".to_owned(), |e| format!("{e:.4}"))
        );
    }
    let within: Vec<Measurement> = measurements
        .iter()
        .copied()
        .filter(|m| m.threads <= cores)
        .collect();
    let fit_on = if within.len() >= 2 {
        &within[..]
    } else {
        measurements
    };
    let fit = scaling::fit_amdahl(fit_on);
    match &fit {
        Some(f) => {
            println!(
                "   Amdahl fit on p in {:?}: serial fraction 1-F = {:.4} (F = {:.4}), T1 = {:.4} s, \
                 S(inf) = {}, rms error {:.1}%",
                fit_on.iter().map(|m| m.threads).collect::<Vec<_>>(),
                f.serial_fraction(),
                f.parallel_fraction,
                f.t1,
                if f.serial_fraction() > 0.0 {
                    format!("{:.2}", f.max_speedup())
                } else {
                    "inf".to_owned()
                },
                100.0 * f.rms_relative_error
            );
        }
        None => println!("   no Amdahl fit: needs at least two thread counts"),
    }
    let path = out.join(w.name()).join("speedup.svg");
    scaling::write_speedup_svg(
        &path,
        &format!("{w} ({mode}): speed-up"),
        &rows,
        fit.as_ref(),
    )?;
    println!("   chart: {}", path.display());
    // The same study as a page: speed-up and efficiency with the fit.
    let command: Vec<String> = std::env::args().collect();
    let mut study = profiler::emit::html::Scaling::new(
        format!("{w} ({mode})"),
        command.join(" "),
        u32::try_from(cores).unwrap_or(u32::MAX),
    );
    for (&p, t) in counts.iter().zip(times) {
        study = study.point(p, t.clone());
    }
    if let Some(f) = &fit {
        study = study.fit(f.t1, f.serial_fraction());
    }
    let page = out.join(w.name()).join("scale.html");
    profiler::emit::write_output(&page, |out| {
        profiler::emit::html::write_scaling(&study, out)
    })?;
    println!("   page: {}", page.display());
    Ok(())
}
