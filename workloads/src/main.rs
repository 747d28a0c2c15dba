//! The `workloads` program: runs the bundled parallel workloads profiled and
//! writes their reports, measures speed-up, and measures the cost of the
//! instrumentation.
//!
//! ```sh
//! workloads run all --out profile-out        # every workload, every mode
//! workloads run imbalance --mode threads --threads 4
//! workloads scale amdahl --threads 1,2,4 --repeats 3
//! workloads/overhead.sh                      # instrumented vs compiled out
//! workloads compare all                      # against the NumPy twins
//! ```
//!
//! This file parses the command line and dispatches; each subcommand is a
//! module of [`cli`].

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Run(cli::run::RunArgs),
    /// Run a workload on several thread counts: T(p), speed-up, efficiency,
    /// Karp-Flatt serial fraction, an Amdahl fit, and OUT/<workload>/speedup.svg.
    Scale(cli::scale::ScaleArgs),
    /// Time a workload's run phase (no reports): prints one line
    /// `time <workload> <mode> <threads> <median s> <min s>`.
    Time(cli::time::TimeArgs),
    /// Compare this build's wall times with a build whose instrumentation is
    /// compiled out (see workloads/overhead.sh).
    BenchOverhead(cli::bench_overhead::BenchArgs),
    /// Run each Rust mode of axpy, sums, pi and amdahl against its Python
    /// twin (NumPy, workloads/python/) in alternating runs on the same input:
    /// a table of median times, ratios, and whether the answers agree.
    Compare(cli::compare::CompareArgs),
    /// List the workloads and their modes, and whether this build is
    /// instrumented.
    List,
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
        Command::Run(a) => cli::run::run(&a),
        Command::Scale(a) => cli::scale::scale(&a),
        Command::Time(a) => cli::time::time(&a),
        Command::BenchOverhead(a) => cli::bench_overhead::bench_overhead(&a),
        Command::Compare(a) => cli::compare::compare(&a),
        Command::List => {
            cli::list::list();
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
