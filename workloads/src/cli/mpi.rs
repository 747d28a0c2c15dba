//! `workloads run NAME --mode mpi` under `mpiexec`: every rank runs its
//! share of the workload in a `profiler::mpi::Session`; rank 0 prints the
//! summary and writes the merged reports (and one folder per rank).

use std::time::Instant;

use ::mpi::topology::SimpleCommunicator;
use ::mpi::traits::Communicator;
use profiler::SortKey;
use profiler::mpi::MpiCollectives;
use workloads::{Error, INSTRUMENTED, Mode, Sizes, Workload};

use super::run::{RunArgs, secs};

/// Runs the plan's MPI modes on every rank of `MPI_COMM_WORLD`. An error
/// on one rank aborts them all (the others would wait for it for good).
pub(crate) fn run(a: &RunArgs, plan: &[(Workload, Vec<Mode>)], sizes: &Sizes) -> Result<(), Error> {
    let (universe, _) = ::mpi::initialize_with_threading(::mpi::Threading::Funneled)
        .ok_or_else(|| Error::Failed("MPI was initialized already".into()))?;
    let world = universe.world();
    let started = Instant::now();
    if world.rank() == 0 {
        println!(
            "workloads: {} on {} MPI rank(s), one thread each, instrumentation {}",
            a.name(),
            world.size(),
            if INSTRUMENTED { "on" } else { "compiled out" }
        );
    }
    for (w, modes) in plan {
        for &m in modes {
            if let Err(e) = run_one(*w, m, sizes, a, &world) {
                eprintln!("workloads: rank {}: {e}", world.rank());
                world.abort(i32::from(e.exit_code()));
            }
        }
    }
    if world.rank() == 0 {
        println!(
            "\nall done in {}; reports under {}",
            secs(started.elapsed().as_secs_f64()),
            a.out().display()
        );
    }
    Ok(())
}

/// One workload in one MPI mode, in its own session: reports in
/// OUT/<workload>/ (merged) and OUT/<workload>/rank-NNNN/.
fn run_one(
    w: Workload,
    m: Mode,
    sizes: &Sizes,
    a: &RunArgs,
    world: &SimpleCommunicator,
) -> Result<(), Error> {
    let rank0 = world.rank() == 0;
    if rank0 {
        println!("\n== {w}: {}", w.describe());
    }
    let dir = a.out().join(w.name());
    let session =
        profiler::mpi::Session::new(profiler::Session::new().output_dir(&dir)).start(world);
    let t0 = Instant::now();
    let input = workloads::mpi::prepare(w, sizes, world)?;
    let prep = t0.elapsed().as_secs_f64();
    // Everyone starts the timed part together.
    world.mpi_barrier();
    let t = Instant::now();
    let answer = workloads::mpi::execute(&input, m, world)?;
    let s = t.elapsed().as_secs_f64();
    drop(input); // removes axpy's work folder
    let merged = session.finish()?;
    let (Some(p), Some(answer)) = (merged, answer) else {
        return Ok(());
    };
    println!("   set-up {} (rank 0)", secs(prep));
    println!("   {:<10} {:>10}   {}", m.name(), secs(s), answer.text);
    println!("   {:<10} {:>10}   exact {}", "", "", answer.exact);
    if let Some(line) = useful_line(&p) {
        println!("   {:<10} {:>10}   {line}", "", "");
    }
    if INSTRUMENTED {
        print!(
            "\n{}",
            p.stats()
                .sort_by(SortKey::Cumulative)
                .limit(a.top())
                .time_note(true)
        );
    }
    println!(
        "   reports: {} (merged) and {}/rank-NNNN (each rank)",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// Each rank's useful time (outside MPI on its main thread) and the MPI
/// load balance: `useful per rank: 0 1.100 s, 1 27.0 ms; MPI load balance
/// 0.51`. `None` with fewer than two ranks.
fn useful_line(p: &profiler::Profile) -> Option<String> {
    if p.mpi.len() < 2 {
        return None;
    }
    let lb = p.mpi_summary()?.pop.mpi_load_balance?;
    let list: Vec<String> = p
        .mpi
        .iter()
        .map(|r| format!("{} {}", r.rank, secs(r.useful_ns() as f64 * 1e-9)))
        .collect();
    Some(format!(
        "useful per rank: {}; MPI load balance {lb:.2}",
        list.join(", ")
    ))
}
