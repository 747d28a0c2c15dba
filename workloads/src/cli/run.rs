//! `workloads run`: runs workloads profiled, prints each result, wall time
//! and the top of the report, and writes every report.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use profiler::SortKey;
use profiler::analysis::Efficiency;
use workloads::{Error, INSTRUMENTED, Mode, Sizes, Workload};

use super::sizes::SizeArgs;
use super::{
    Selection, at_least_one, available_cores, modes_for, thread_count, threads_or_cores, validate,
};

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

#[cfg(feature = "mpi")]
impl RunArgs {
    /// The selection asked for.
    pub(crate) fn name(&self) -> Selection {
        self.name
    }

    /// The reports' folder.
    pub(crate) fn out(&self) -> &std::path::Path {
        &self.out
    }

    /// Report rows printed per workload.
    pub(crate) fn top(&self) -> usize {
        self.top
    }
}

pub(crate) fn run(a: &RunArgs) -> Result<(), Error> {
    let plan = modes_for(a.name, a.mode, |w| w.modes().to_vec())?;
    let mut sizes = a.sizes.sizes();
    if sizes.axpy.work_dir.is_none() {
        sizes.axpy.work_dir = Some(a.out.join(Workload::Axpy.name()));
    }
    validate(&plan, &sizes)?;
    if a.timeline {
        profiler::set_timeline(Some(profiler::TimelineConfig::default()));
    }
    if let Some(m) = a.mode.filter(|m| m.is_mpi()) {
        return run_mpi(a, &plan, &sizes, m);
    }
    let threads = threads_or_cores(a.threads)?;
    // Runnable threads and CPU time over each run, for the parallel summary
    // (a thread reading procfs every 20 ms; nothing on the hot path).
    profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL);
    let started = Instant::now();
    println!(
        "workloads: {} on {threads} thread(s), {} core(s) available, instrumentation {}",
        a.name,
        available_cores(),
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
    // Each line is printed as soon as it is known (stdout is line-buffered,
    // also into a pipe), not all together once every mode has run.
    let run = workloads::profiled(w.name(), || -> Result<_, Error> {
        let t0 = Instant::now();
        let input = workloads::prepare(w, sizes, threads)?;
        println!("   set-up {}", secs(t0.elapsed().as_secs_f64()));
        let mut results = Vec::new();
        for &m in modes {
            let t = Instant::now();
            let answer = workloads::execute(&input, m, threads)?;
            let s = t.elapsed().as_secs_f64();
            println!("   {:<10} {:>10}   {}", m.name(), secs(s), answer.text);
            // The workers of `m` are done: a snapshot has their busy times
            // (outside the mode's timing).
            let busy = workloads::worker_busy(&profiler::snapshot(), w, m);
            if let Some(line) = busy_line(&busy, (s * 1e9) as u64) {
                println!("   {:<10} {:>10}   {line}", "", "");
            }
            results.push((m, answer));
        }
        drop(input); // removes axpy's work folder
        Ok(results)
    })?;
    let results = run.value?;
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
    let mut p = run.profile;
    // The command line that reproduces this workload's reports (`run all`
    // names each workload), shown in their titles.
    if let Some(all) = p.meta.args.iter().skip(2).position(|a| a == "all") {
        p.meta.args[all + 2] = w.name().to_owned();
    }
    let p = &p;
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

/// Runs MPI modes: one process per rank, under `mpiexec`.
#[cfg(feature = "mpi")]
fn run_mpi(
    a: &RunArgs,
    plan: &[(Workload, Vec<Mode>)],
    sizes: &Sizes,
    _: Mode,
) -> Result<(), Error> {
    super::mpi::run(a, plan, sizes)
}

/// MPI modes need the `mpi` feature.
#[cfg(not(feature = "mpi"))]
fn run_mpi(_: &RunArgs, _: &[(Workload, Vec<Mode>)], _: &Sizes, m: Mode) -> Result<(), Error> {
    Err(workloads::mpi_mode_error(m))
}

/// Seconds for people: `1.234 s`, or `12.3 ms` below a second.
pub(crate) fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

/// The busy time of each worker and the profiler's load balance of them
/// ([`Efficiency::from_busy`]): `busy per worker: 0 1.100 s, 1 27.0 ms; load
/// balance 0.51`. A thread with no profiled time is not a worker there, so
/// it is left out of the balance and counted as idle. `None` for fewer than
/// two threads, or when none did work.
fn busy_line(busy: &[(String, u64)], runtime_ns: u64) -> Option<String> {
    if busy.len() < 2 {
        return None;
    }
    let e = Efficiency::from_busy(busy.iter().map(|b| b.1), runtime_ns)?;
    let list: Vec<String> = busy
        .iter()
        .map(|(name, ns)| {
            let worker = name.rsplit('-').next().unwrap_or(name);
            format!("{worker} {}", secs(*ns as f64 * 1e-9))
        })
        .collect();
    let idle = match busy.len().saturating_sub(e.workers as usize) {
        0 => String::new(),
        n => format!(" over the busy threads ({n} idle)"),
    };
    Some(format!(
        "busy per worker: {}; load balance {:.2}{idle}",
        list.join(", "),
        e.load_balance
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(ns: &[u64]) -> Vec<(String, u64)> {
        ns.iter()
            .enumerate()
            .map(|(i, &ns)| (format!("imbalance-threads-{i}"), ns))
            .collect()
    }

    #[test]
    fn load_balance_line_is_the_profilers() {
        let line = busy_line(&busy(&[1_100_000_000, 27_000_000]), 1_200_000_000).unwrap();
        let lb = Efficiency::from_busy([1_100_000_000, 27_000_000], 0)
            .unwrap()
            .load_balance;
        assert_eq!(
            line,
            format!("busy per worker: 0 1.100 s, 1 27.0 ms; load balance {lb:.2}")
        );
        assert!(line.ends_with("load balance 0.51"), "{line}");
    }

    /// An idle worker (no profiled time) is not a worker for the profiler:
    /// the balance is over the busy threads, and the line says so (the
    /// workloads' own formula counted it as a zero: 0.50 here).
    #[test]
    fn idle_worker_is_named_not_averaged() {
        let line = busy_line(&busy(&[900_000_000, 0]), 1_000_000_000).unwrap();
        assert_eq!(
            line,
            "busy per worker: 0 900.0 ms, 1 0.0 ms; load balance 1.00 over the busy threads (1 idle)"
        );
    }

    #[test]
    fn no_line_for_one_worker_or_no_work() {
        assert_eq!(busy_line(&busy(&[900]), 1_000), None);
        assert_eq!(busy_line(&busy(&[0, 0]), 1_000), None);
    }
}
