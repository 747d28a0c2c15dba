//! The `workloads` program: runs the bundled parallel workloads profiled and
//! writes their reports, measures speed-up, and measures the cost of the
//! instrumentation.
//!
//! ```sh
//! workloads run all --out profile-out        # every workload, every mode
//! workloads run imbalance --mode threads --threads 4
//! workloads scale amdahl --threads 1,2,4 --repeats 3
//! workloads/overhead.sh                      # instrumented vs compiled out
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use profiler::SortKey;
use workloads::scaling::{self, Measurement};
use workloads::{Error, INSTRUMENTED, Mode, Sizes, Workload};

/// Bundled parallel workloads, profiled.
#[derive(Parser, Debug)]
#[command(name = "workloads", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run workloads profiled: print each result, wall time and the top of
    /// the report, and write every report (pstats.txt, profile.prof,
    /// callgrind.out, flamegraph.svg, ...) into OUT/<workload>/.
    Run(RunArgs),
    /// Run a workload on several thread counts: T(p), speed-up, efficiency,
    /// Karp-Flatt serial fraction, an Amdahl fit, and OUT/<workload>/speedup.svg.
    Scale(ScaleArgs),
    /// Time a workload's run phase (no reports): prints one line
    /// `time <workload> <mode> <threads> <median s> <min s>`.
    Time(TimeArgs),
    /// Compare this build's wall times with a build whose instrumentation is
    /// compiled out (see workloads/overhead.sh).
    BenchOverhead(BenchArgs),
    /// List the workloads and their modes, and whether this build is
    /// instrumented.
    List,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// A workload (axpy, sums, pi, imbalance, amdahl, recursion) or `all`.
    name: String,
    /// Worker threads [default: the available cores].
    #[arg(long, short = 't')]
    threads: Option<usize>,
    /// Run only this mode (seq, threads, rayon, overlapped, element,
    /// dynamic); with `all`, every workload must have it (seq, threads and
    /// rayon are common to all) [default: every mode of each workload].
    #[arg(long, short = 'm')]
    mode: Option<String>,
    /// Folder for the reports (one subfolder per workload).
    #[arg(long, short = 'o', default_value = "profile-out")]
    out: PathBuf,
    /// Report rows printed per workload.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Also record a timeline (every scope of 5 us or more) and write the
    /// trace formats: trace.json (Perfetto), trace.prv/.pcf/.row (Paraver),
    /// speedscope.json and flamechart.svg.
    #[arg(long)]
    timeline: bool,
    #[command(flatten)]
    sizes: SizeArgs,
}

#[derive(Args, Debug)]
struct ScaleArgs {
    /// A workload or `all`.
    name: String,
    /// Thread counts, comma-separated [default: 1, 2, 4, ... up to the
    /// available cores].
    #[arg(long, short = 't', value_delimiter = ',')]
    threads: Vec<usize>,
    /// Runs per thread count; the median is kept.
    #[arg(long, short = 'r', default_value_t = 3)]
    repeats: usize,
    /// The mode to scale [default: rayon].
    #[arg(long, short = 'm')]
    mode: Option<String>,
    /// Folder for speedup.svg (one subfolder per workload).
    #[arg(long, short = 'o', default_value = "profile-out")]
    out: PathBuf,
    #[command(flatten)]
    sizes: SizeArgs,
}

#[derive(Args, Debug)]
struct TimeArgs {
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

#[derive(Args, Debug)]
struct BenchArgs {
    /// A workload or `all`.
    #[arg(default_value = "all")]
    name: String,
    /// The `workloads` binary built without instrumentation
    /// (`--no-default-features`).
    #[arg(long, default_value = "target/uninstrumented/release/workloads")]
    baseline: PathBuf,
    /// Rounds; each runs both binaries once (alternating which goes first),
    /// and the median over rounds is compared.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Runs inside each `time` call (its median is the round's figure).
    #[arg(long, short = 'r', default_value_t = 3)]
    repeats: usize,
    /// Worker threads [default: the available cores].
    #[arg(long, short = 't')]
    threads: Option<usize>,
    /// The mode [default: rayon].
    #[arg(long, short = 'm')]
    mode: Option<String>,
    #[command(flatten)]
    sizes: SizeArgs,
}

/// Sizes of the workloads; unset options keep the library's defaults.
#[derive(Args, Debug, Clone, Default)]
struct SizeArgs {
    /// axpy: pairs of input files [default: 32].
    #[arg(long, help_heading = "Sizes")]
    files: Option<usize>,
    /// axpy: numbers per file [default: 1000000].
    #[arg(long, help_heading = "Sizes")]
    nums_per_file: Option<usize>,
    /// axpy: the scalar alpha [default: 2.5].
    #[arg(long, help_heading = "Sizes", allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// axpy: folder for the work files [default: OUT/axpy for `run`, the
    /// system's temporary folder otherwise]; removed afterwards.
    #[arg(long, help_heading = "Sizes")]
    work_dir: Option<PathBuf>,
    /// sums: arrays [default: 8].
    #[arg(long, help_heading = "Sizes")]
    arrays: Option<usize>,
    /// sums: elements per array [default: 8000000].
    #[arg(long, help_heading = "Sizes")]
    len: Option<usize>,
    /// pi: points drawn [default: 400000000].
    #[arg(long, help_heading = "Sizes")]
    samples: Option<u64>,
    /// imbalance: pixels per row [default: 1600].
    #[arg(long, help_heading = "Sizes")]
    width: Option<usize>,
    /// imbalance: rows [default: 800].
    #[arg(long, help_heading = "Sizes")]
    height: Option<usize>,
    /// imbalance: iteration cap per pixel [default: 2000].
    #[arg(long, help_heading = "Sizes")]
    max_iter: Option<u32>,
    /// imbalance: rows taken at a time in dynamic mode, and the most rows
    /// per rayon piece [default: 2].
    #[arg(long, help_heading = "Sizes")]
    chunk: Option<usize>,
    /// amdahl: units of work [default: 16000].
    #[arg(long, help_heading = "Sizes")]
    units: Option<u64>,
    /// amdahl: fraction of the units done serially [default: 0.1].
    #[arg(long, help_heading = "Sizes")]
    serial_fraction: Option<f64>,
    /// recursion: matrix rows and columns [default: 1024].
    #[arg(long, help_heading = "Sizes")]
    matrix_size: Option<usize>,
    /// recursion: block size where the recursion stops [default: 64].
    #[arg(long, help_heading = "Sizes")]
    leaf_size: Option<usize>,
    /// Seed of the random inputs [default: 2024].
    #[arg(long, help_heading = "Sizes")]
    seed: Option<u64>,
}

impl SizeArgs {
    /// The library's defaults with these options applied.
    fn sizes(&self) -> Sizes {
        let mut s = Sizes::default();
        macro_rules! set {
            ($field:ident => $($target:expr),+) => {
                if let Some(v) = &self.$field { $( $target = v.clone(); )+ }
            };
        }
        set!(files => s.axpy.files);
        set!(nums_per_file => s.axpy.nums_per_file);
        set!(alpha => s.axpy.alpha);
        if let Some(d) = &self.work_dir {
            s.axpy.work_dir = Some(d.clone());
        }
        set!(arrays => s.sums.arrays);
        set!(len => s.sums.len);
        set!(samples => s.pi.samples);
        set!(width => s.imbalance.width);
        set!(height => s.imbalance.height);
        set!(max_iter => s.imbalance.max_iter);
        set!(chunk => s.imbalance.chunk);
        set!(units => s.amdahl.units);
        set!(serial_fraction => s.amdahl.serial_fraction);
        set!(matrix_size => s.recursion.n);
        set!(leaf_size => s.recursion.leaf);
        set!(seed => s.axpy.seed, s.sums.seed, s.pi.seed, s.recursion.seed);
        s
    }

    /// The options as command-line arguments (to pass them on).
    fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut push = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                a.push(format!("--{name}={v}"));
            }
        };
        push("files", self.files.map(|v| v.to_string()));
        push("nums-per-file", self.nums_per_file.map(|v| v.to_string()));
        push("alpha", self.alpha.map(|v| v.to_string()));
        push(
            "work-dir",
            self.work_dir.as_ref().map(|v| v.display().to_string()),
        );
        push("arrays", self.arrays.map(|v| v.to_string()));
        push("len", self.len.map(|v| v.to_string()));
        push("samples", self.samples.map(|v| v.to_string()));
        push("width", self.width.map(|v| v.to_string()));
        push("height", self.height.map(|v| v.to_string()));
        push("max-iter", self.max_iter.map(|v| v.to_string()));
        push("chunk", self.chunk.map(|v| v.to_string()));
        push("units", self.units.map(|v| v.to_string()));
        push(
            "serial-fraction",
            self.serial_fraction.map(|v| v.to_string()),
        );
        push("matrix-size", self.matrix_size.map(|v| v.to_string()));
        push("leaf-size", self.leaf_size.map(|v| v.to_string()));
        push("seed", self.seed.map(|v| v.to_string()));
        a
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // clap's message is several lines (tips, usage): keep its first
            // paragraph, on one line.
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .map(str::trim)
                .skip_while(|l| l.is_empty())
                .take_while(|l| !l.is_empty())
                .collect();
            let message = first.join(" ");
            let message = message.trim_start_matches("error: ");
            eprintln!("workloads: {message} (see 'workloads --help')");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(a) => run(&a),
        Command::Scale(a) => scale(&a),
        Command::Time(a) => time(&a),
        Command::BenchOverhead(a) => bench_overhead(&a),
        Command::List => {
            list();
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workloads: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn list() {
    println!(
        "instrumented: {INSTRUMENTED} (profiler {})",
        if INSTRUMENTED {
            "enabled: #[profile] records"
        } else {
            "compiled out: built with --no-default-features"
        }
    );
    for w in Workload::ALL {
        let modes: Vec<&str> = w.modes().iter().map(|m| m.name()).collect();
        println!("{:<10} {:<32} {}", w.name(), modes.join(" "), w.describe());
    }
}

/// The workloads a name selects: one, or every one for `all`.
fn select(name: &str) -> Result<Vec<Workload>, Error> {
    if name == "all" {
        Ok(Workload::ALL.to_vec())
    } else {
        Ok(vec![name.parse()?])
    }
}

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

fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

fn run(a: &RunArgs) -> Result<(), Error> {
    let threads = threads_or_cores(a.threads)?;
    let selected = select(&a.name)?;
    let plan = modes_for(&selected, a.mode.as_deref(), |w| w.modes().to_vec())?;
    let mut sizes = a.sizes.sizes();
    if sizes.axpy.work_dir.is_none() {
        sizes.axpy.work_dir = Some(a.out.join(Workload::Axpy.name()));
    }
    validate(&plan, &sizes)?;
    if a.top == 0 {
        return Err(Error::Invalid("--top must be at least 1".into()));
    }
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

/// Powers of two up to the available cores, and the core count itself.
fn default_thread_counts() -> Vec<usize> {
    let cores = workloads::available_cores();
    let mut v: Vec<usize> = std::iter::successors(Some(1usize), |&p| Some(p * 2))
        .take_while(|&p| p <= cores)
        .collect();
    if v.last() != Some(&cores) {
        v.push(cores);
    }
    v
}

fn scale(a: &ScaleArgs) -> Result<(), Error> {
    let selected = select(&a.name)?;
    let plan = modes_for(&selected, a.mode.as_deref(), |w| {
        vec![w.default_parallel_mode()]
    })?;
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
    if a.repeats == 0 {
        return Err(Error::Invalid("--repeats must be at least 1".into()));
    }
    let cores = workloads::available_cores();
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
        bar.suspend(|| report_scale(*w, mode, &measurements, cores, &a.out))?;
    }
    bar.finish_and_clear();
    Ok(())
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

fn report_scale(
    w: Workload,
    mode: Mode,
    measurements: &[Measurement],
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
    Ok(())
}

fn time(a: &TimeArgs) -> Result<(), Error> {
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

fn bench_overhead(a: &BenchArgs) -> Result<(), Error> {
    let threads = threads_or_cores(a.threads)?;
    let selected = select(&a.name)?;
    let plan = modes_for(&selected, a.mode.as_deref(), |w| {
        vec![w.default_parallel_mode()]
    })?;
    validate(&plan, &a.sizes.sizes())?;
    if a.rounds == 0 || a.repeats == 0 {
        return Err(Error::Invalid(
            "--rounds and --repeats must be at least 1".into(),
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The defaults written in the option help match the library's.
    #[test]
    fn help_defaults_match_the_library() {
        let d = Sizes::default();
        let expected = [
            ("files", d.axpy.files.to_string()),
            ("nums_per_file", d.axpy.nums_per_file.to_string()),
            ("alpha", d.axpy.alpha.to_string()),
            ("arrays", d.sums.arrays.to_string()),
            ("len", d.sums.len.to_string()),
            ("samples", d.pi.samples.to_string()),
            ("width", d.imbalance.width.to_string()),
            ("height", d.imbalance.height.to_string()),
            ("max_iter", d.imbalance.max_iter.to_string()),
            ("chunk", d.imbalance.chunk.to_string()),
            ("units", d.amdahl.units.to_string()),
            ("serial_fraction", d.amdahl.serial_fraction.to_string()),
            ("matrix_size", d.recursion.n.to_string()),
            ("leaf_size", d.recursion.leaf.to_string()),
            ("seed", d.pi.seed.to_string()),
        ];
        let cmd = Cli::command();
        let run = cmd.find_subcommand("run").expect("run");
        for (id, value) in expected {
            let arg = run
                .get_arguments()
                .find(|a| a.get_id() == id)
                .unwrap_or_else(|| panic!("no --{id}"));
            let help = arg.get_help().expect("help").to_string();
            assert!(
                help.ends_with(&format!("[default: {value}]")),
                "--{id}: {help:?} should end with [default: {value}]"
            );
        }
    }

    #[test]
    fn size_options_round_trip() {
        let a = SizeArgs {
            files: Some(3),
            serial_fraction: Some(0.25),
            work_dir: Some(PathBuf::from("/tmp/x")),
            seed: Some(9),
            ..SizeArgs::default()
        };
        let mut argv = vec!["workloads".to_owned(), "time".to_owned(), "pi".to_owned()];
        argv.extend(a.to_args());
        let cli = Cli::try_parse_from(argv).expect("parse");
        let Command::Time(t) = cli.command else {
            panic!("not time")
        };
        assert_eq!(t.sizes.sizes(), a.sizes());
        assert_eq!(a.sizes().sums.seed, 9);
        assert_eq!(a.sizes().axpy.files, 3);
    }
}
