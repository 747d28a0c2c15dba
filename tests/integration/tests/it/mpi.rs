//! MPI programs under a real `mpiexec` with real ranks (the `mpi` feature:
//! `cargo test -p integration --features mpi --test it -- mpi::`): exact
//! counts and bytes on every rank and merged, the communication matrix, the
//! gather to rank 0 without shared files, the merged set read by Python's
//! pstats and callgrind_annotate, MPI load balance of a known imbalance,
//! and a 1-rank run against the same program without MPI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use integration::{ncalls, python, scratch, tool};
use profiler::Profile;

/// One mpiexec at a time: the machine has few cores.
static MPIEXEC: Mutex<()> = Mutex::new(());

const PROGRAM: &str = env!("CARGO_BIN_EXE_mpi_program");

/// Runs `mpi_program mode` on `ranks` ranks with `PROFILER_OUT=out`,
/// returning its standard output; fails on a non-zero exit or after two
/// minutes.
fn mpiexec(ranks: u32, mode: &str, out: &Path) -> String {
    mpiexec_with(ranks, mode, out, &[])
}

/// [`mpiexec`] with more environment variables.
fn mpiexec_with(ranks: u32, mode: &str, out: &Path, env: &[(&str, &str)]) -> String {
    let _one = MPIEXEC
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mpiexec = tool(
        "mpiexec",
        "Debian: apt-get install openmpi-bin libopenmpi-dev",
    );
    let o = Command::new("timeout")
        .args([
            "120",
            &mpiexec,
            "--oversubscribe",
            "-n",
            &ranks.to_string(),
            PROGRAM,
            mode,
        ])
        .env("PROFILER_OUT", out)
        // OpenMPI refuses to start as root without these, and more ranks
        // than cores without oversubscription.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run mpiexec");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "mpiexec -n {ranks} {mode}: {}\n{stdout}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

fn load(dir: &Path) -> Profile {
    Profile::load(dir.join("profile.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn rank_dir(out: &Path, r: u32) -> PathBuf {
    out.join(format!("rank-{r:04}"))
}

#[test]
fn three_ranks_exact_counts_bytes_and_matrix() {
    let dir = scratch!("exact");
    let out = dir.join("out");
    let stdout = mpiexec(3, "exact", &out);
    assert!(stdout.contains("merged ncalls(leaf)=60"), "{stdout}");
    // Every rank's own profile: exact counts.
    for r in 0..3u32 {
        let p = load(&rank_dir(&out, r));
        assert_eq!(p.meta.mpi.as_ref().map(|m| (m.rank, m.ranks)), Some((r, 3)));
        assert_eq!(ncalls(&p, "leaf"), u64::from(r + 1) * 10, "rank {r}");
        assert_eq!(ncalls(&p, "compute"), 1);
        assert_eq!(ncalls(&p, "MPI_Send"), 2, "rank {r}");
        assert_eq!(ncalls(&p, "MPI_Recv"), 2, "rank {r}");
        for routine in ["MPI_Bcast", "MPI_Allreduce", "MPI_Barrier"] {
            assert_eq!(ncalls(&p, routine), 1, "rank {r} {routine}");
        }
        assert!(p.threads.iter().all(|t| t.rank == Some(r)));
    }
    // The merged table is the sum.
    let m = load(&out);
    assert_eq!(ncalls(&m, "leaf"), 60);
    assert_eq!(ncalls(&m, "compute"), 3);
    assert_eq!(ncalls(&m, "MPI_Send"), 6);
    assert_eq!(ncalls(&m, "MPI_Recv"), 6);
    assert_eq!(ncalls(&m, "MPI_Allreduce"), 3);
    assert_eq!(m.stats().total_time_ns(), m.root_time_ns());
    // MPI rows hang under their callers.
    let st = m.stats();
    let send = st.function("MPI_Send").unwrap();
    let callers: Vec<&str> = send
        .callers
        .iter()
        .map(|(site, _)| m.site(*site).unwrap().name.as_str())
        .collect();
    assert_eq!(callers, ["exchange"]);
    // Exact bytes per rank, and the matrix is the ring's traffic.
    assert_eq!(m.mpi.len(), 3);
    let doubles = |r: u32| u64::from(r + 1) * 100 * 8;
    for rm in &m.mpi {
        let r = rm.rank;
        let call = |routine: &str| {
            rm.calls
                .iter()
                .find(|c| c.routine == routine)
                .unwrap_or_else(|| panic!("rank {r}: no {routine}"))
        };
        assert_eq!(call("MPI_Send").bytes_sent, 2 * doubles(r));
        assert_eq!(call("MPI_Send").caller, "exchange");
        assert_eq!(call("MPI_Send").peers, [(r + 1) % 3]);
        assert_eq!(call("MPI_Recv").peers, [(r + 2) % 3]);
        assert!(call("MPI_Allreduce").peers.is_empty());
        assert_eq!(call("MPI_Recv").bytes_received, 2 * doubles((r + 2) % 3));
        assert_eq!(call("MPI_Allreduce").bytes_sent, 8);
        assert_eq!(call("MPI_Bcast").calls, 1);
    }
    let s = m.mpi_summary().unwrap();
    for from in 0..3usize {
        for to in 0..3usize {
            let expected = if to == (from + 1) % 3 {
                (2 * doubles(from as u32), 2)
            } else {
                (0, 0)
            };
            assert_eq!(
                (s.matrix.bytes[from][to], s.matrix.messages[from][to]),
                expected,
                "{from} -> {to}"
            );
        }
    }
    let csv = std::fs::read_to_string(out.join("mpi_matrix.csv")).unwrap();
    assert_eq!(
        csv,
        "from,to,bytes,messages\r\n0,1,1600,2\r\n1,2,3200,2\r\n2,0,4800,2\r\n"
    );
    let text = std::fs::read_to_string(out.join("pstats.txt")).unwrap();
    assert!(text.contains("MPI summary: 3 rank(s)"), "{text}");
    assert!(text.contains("MPI load balance"), "{text}");
    // Real readers of the merged set.
    let code = "import pstats,sys\n\
                st = pstats.Stats(sys.argv[1]).stats\n\
                print(sum(v[1] for k, v in st.items() if k[2] == 'leaf'))";
    let py = Command::new(python())
        .args(["-c", code, out.join("profile.prof").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), "60");
    let annotate = tool("callgrind_annotate", "Debian: apt-get install valgrind");
    let ca = Command::new(annotate)
        .arg(out.join("callgrind.out"))
        .output()
        .unwrap();
    assert!(
        ca.status.success(),
        "{}",
        String::from_utf8_lossy(&ca.stderr)
    );
    assert!(String::from_utf8_lossy(&ca.stdout).contains("MPI_Send"));
}

/// `%r`: every rank writes into a folder of its own and no rank reads
/// another's files: rank 0's merged set holds rank 1's calls because they
/// came over MPI.
#[test]
fn the_profile_reaches_rank_0_over_mpi() {
    let dir = scratch!("gather");
    let stdout = mpiexec(2, "exact", &dir.join("r%r"));
    assert!(stdout.contains("merged ncalls(leaf)=30"), "{stdout}");
    assert_eq!(ncalls(&load(&dir.join("r0")), "leaf"), 10);
    assert_eq!(ncalls(&load(&dir.join("r1")), "leaf"), 20);
    let merged = load(&dir.join("rall"));
    assert_eq!(ncalls(&merged, "leaf"), 30);
    assert!(!dir.join("r0").join("rank-0001").exists());
}

/// Rank 0 receives the profiles in rounds when they are large (here: a round
/// per rank), holding one round at a time: the same merged set.
#[test]
fn the_gather_goes_in_rounds() {
    let dir = scratch!("rounds");
    let out = dir.join("out");
    let stdout = mpiexec_with(3, "exact", &out, &[("PROFILER_TEST_MPI_ROUND_BYTES", "1")]);
    assert!(stdout.contains("merged ncalls(leaf)=60"), "{stdout}");
    let m = load(&out);
    assert_eq!(ncalls(&m, "MPI_Send"), 6);
    assert_eq!(m.mpi.iter().map(|r| r.rank).collect::<Vec<_>>(), [0, 1, 2]);
    for r in 0..3 {
        assert_eq!(
            ncalls(&load(&rank_dir(&out, r)), "leaf"),
            u64::from(r + 1) * 10
        );
    }
}

/// MPI finalized before the session finished: no rank hangs or crashes,
/// each writes its own set, and the error says what to do.
#[test]
fn a_session_finished_after_mpi_writes_each_rank_alone() {
    let dir = scratch!("finalized");
    let out = dir.join("out");
    let stdout = mpiexec(2, "finalized-first", &out);
    assert!(
        stdout.contains("finish the session before the `Universe` is dropped"),
        "{stdout}"
    );
    for r in 0..2 {
        assert_eq!(
            ncalls(&load(&rank_dir(&out, r)), "leaf"),
            u64::from(r + 1) * 10
        );
    }
    assert!(!out.join("profile.json").exists());
}

fn mpi_load_balance(mode: &str, name: &str) -> f64 {
    let dir = scratch!(name);
    mpiexec(3, mode, &dir.join("out"));
    let m = load(&dir.join("out"));
    m.mpi_summary()
        .and_then(|s| s.pop.mpi_load_balance)
        .expect("an MPI load balance")
}

/// Runs `mode` until its MPI load balance passes `ok`, at most twice: on a
/// machine busy with other work, a rank descheduled just before or after
/// its barrier counts that delay as work (a scheduler quantum against units
/// of 250 ms), which a second run rarely repeats.
fn load_balance_passes(mode: &str, ok: impl Fn(f64) -> bool) -> Vec<f64> {
    let mut seen = Vec::new();
    for attempt in 0..2 {
        let lb = mpi_load_balance(mode, &format!("{mode}-{attempt}"));
        seen.push(lb);
        if ok(lb) {
            return seen;
        }
    }
    panic!("{mode}: MPI load balance {seen:?}");
}

#[test]
fn a_known_imbalance_is_measured() {
    // Rank r spins (r + 1) units, then waits at MPI_Barrier: the useful
    // times are 1, 2 and 3 units, a load balance of 2/3.
    load_balance_passes("imbalance", |lb| (lb - 2.0 / 3.0).abs() < 0.02);
    load_balance_passes("balanced", |lb| lb > 0.95);
}

/// A 1-rank MPI run gives the program's own rows exactly as the same work
/// without MPI.
#[test]
fn one_rank_matches_the_program_without_mpi() {
    let dir = scratch!("one");
    mpiexec(1, "exact", &dir.join("mpi"));
    let o = Command::new(PROGRAM)
        .arg("nompi")
        .env("PROFILER_OUT", dir.join("plain"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (load(&dir.join("mpi")), load(&dir.join("plain")));
    for name in ["compute", "leaf"] {
        let fa = a.stats().function(name).unwrap().clone();
        let fb = b.stats().function(name).unwrap().clone();
        assert_eq!(
            (fa.figures.ncalls, fa.figures.pcalls),
            (fb.figures.ncalls, fb.figures.pcalls),
            "{name}"
        );
        let callers = |p: &Profile, f: &profiler::FunctionStats| -> Vec<(String, u64)> {
            f.callers
                .iter()
                .map(|(s, e)| (p.site(*s).unwrap().name.clone(), e.ncalls))
                .collect()
        };
        assert_eq!(callers(&a, &fa), callers(&b, &fb), "{name}");
    }
}

mod timelines;
