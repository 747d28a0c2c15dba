//! `workloads run`: runs workloads profiled, prints each result, wall time
//! and the top of the report, and writes every report.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use profiler::SortKey;
use workloads::{Error, INSTRUMENTED, Mode, Sizes, Workload};

use super::sizes::SizeArgs;
use super::{Selection, at_least_one, modes_for, thread_count, threads_or_cores, validate};

/// The options of `run`.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// A workload or `all`.
    #[arg(value_name = "NAME")]
    name: Selection,
    /// Worker threads [default: the available cores].
    #[arg(long, short = 't', value_parser = thread_count())]
    threads: Option<usize>,
    /// Run only this mode; with `all`, every workload must have it (seq,
    /// threads and rayon are common to all) [default: every mode of each
    /// workload].
    #[arg(long, short = 'm')]
    mode: Option<Mode>,
    /// Folder for the reports (one subfolder per workload).
    #[arg(long, short = 'o', default_value = "profile-out")]
    out: PathBuf,
    /// Report rows printed per workload.
    #[arg(long, default_value_t = 10, value_parser = at_least_one())]
    top: usize,
    /// Also record a timeline (every scope of 5 us or more) and write the
    /// trace formats: trace.json (Perfetto), trace.prv/.pcf/.row (Paraver),
    /// speedscope.json and flamechart.svg.
    #[arg(long)]
    timeline: bool,
    #[command(flatten)]
    sizes: SizeArgs,
}

pub(crate) fn run(a: &RunArgs) -> Result<(), Error> {
    let threads = threads_or_cores(a.threads)?;
    let plan = modes_for(a.name, a.mode, |w| w.modes().to_vec())?;
    let mut sizes = a.sizes.sizes();
    if sizes.axpy.work_dir.is_none() {
        sizes.axpy.work_dir = Some(a.out.join(Workload::Axpy.name()));
    }
    validate(&plan, &sizes)?;
    if a.timeline {
        profiler::set_timeline(Some(profiler::TimelineConfig::default()));
    }
    // Runnable threads and CPU time over each run, for the parallel summary
    // (a thread reading procfs every 20 ms; nothing on the hot path).
    profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL);
    let started = Instant::now();
    println!(
        "workloads: {} on {threads} thread(s), {} core(s) available, instrumentation {}",
        a.name,
        workloads::available_cores(),
        if INSTRUMENTED { "on" } else { "compiled out" }
    );
    for (w, modes) in &plan {
        run_one(*w, modes, threads, &sizes, a)?;
    }
    println!(
        "\nall done in {}; reports under {}",
        secs(started.elapsed().as_secs_f64()),
        a.out.display()
    );
    Ok(())
}

fn run_one(
    w: Workload,
    modes: &[Mode],
    threads: usize,
    sizes: &Sizes,
    a: &RunArgs,
) -> Result<(), Error> {
    println!("\n== {w}: {}", w.describe());
    let run = workloads::profiled(w.name(), || -> Result<_, Error> {
        let t0 = Instant::now();
        let input = workloads::prepare(w, sizes, threads)?;
        let prep = t0.elapsed().as_secs_f64();
        let mut results = Vec::new();
        for &m in modes {
            let t = Instant::now();
            let answer = workloads::execute(&input, m, threads)?;
            results.push((m, answer, t.elapsed().as_secs_f64()));
        }
        drop(input); // removes axpy's work folder
        Ok((prep, results))
    })?;
    let (prep, results) = run.value?;
    println!("   set-up {}", secs(prep));
    for (m, answer, s) in &results {
        println!("   {:<10} {:>10}   {}", m.name(), secs(*s), answer.text);
        let busy = workloads::worker_busy(&run.profile, w, *m);
        let times: Vec<f64> = busy.iter().map(|b| b.1).collect();
        if let Some(lb) = workloads::load_balance(&times) {
            let list: Vec<String> = busy
                .iter()
                .map(|(name, s)| {
                    format!("{} {}", name.rsplit('-').next().unwrap_or(name), secs(*s))
                })
                .collect();
            println!(
                "   {:<10} {:>10}   busy per worker: {}; load balance {:.2}",
                "",
                "",
                list.join(", "),
                lb
            );
        }
    }
    if let Some((first, rest)) = results.split_first() {
        if let Some(bad) = rest.iter().find(|r| r.1.exact != first.1.exact) {
            return Err(Error::Failed(format!(
                "{w}: mode {} gave {} but {} gave {}",
                bad.0, bad.1.exact, first.0, first.1.exact
            )));
        }
        if !rest.is_empty() {
            println!("   every mode gives the same answer, bit for bit");
        }
    }
    println!("   wall time {}", secs(run.wall.as_secs_f64()));
    let p = &run.profile;
    if INSTRUMENTED {
        print!(
            "\n{}",
            p.stats()
                .sort_by(SortKey::Cumulative)
                .limit(a.top)
                .time_note(true)
        );
    }
    let dir = a.out.join(w.name());
    let written = profiler::write_reports(p, &dir)?;
    let names: Vec<String> = written
        .iter()
        .filter_map(|f| f.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    println!("   reports: {}/{{{}}}", dir.display(), names.join(", "));
    Ok(())
}

/// Seconds for people: `1.234 s`, or `12.3 ms` below a second.
fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}
