//! Parallel analysis that tells the truth (issue 12), on live runs with the
//! sampler thread: a thread blocked in `join` waits, it does not work; a
//! call that merely overlaps another thread's work is no parallel region;
//! oversubscription is runnable threads against cores, of this process or
//! of the machine, each named.
//!
//! The checks hold with both cores busy with other programs (run them so:
//! `yes > /dev/null &` twice): work is counted in steps, not wall time, and
//! preempted time counts as the thread's own.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use profiler::analysis::{OversubscriptionKind, ParallelSummary, available_cores};
use profiler::{Profile, ThreadProfile, TimelineConfig, profile};

/// Starts the sampler and a timeline; restores the timeline when dropped.
struct Recording(Option<TimelineConfig>);

fn recording() -> Recording {
    assert!(profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL));
    let before = profiler::timeline();
    profiler::set_timeline(Some(TimelineConfig::default()));
    Recording(before)
}

impl Drop for Recording {
    fn drop(&mut self) {
        profiler::set_timeline(self.0.take());
    }
}

/// The threads whose names start with `prefix`, as a profile of their own
/// (with the sampler's samples).
fn only(prefix: &str) -> Profile {
    let p = profiler::snapshot();
    let threads: Vec<ThreadProfile> = p
        .threads
        .iter()
        .filter(|t| t.name.starts_with(prefix))
        .cloned()
        .collect();
    let mut q = Profile::new(p.meta.clone(), p.sites.clone(), threads);
    q.sched = p.sched.clone();
    q
}

/// `units` x 1,000,000 xorshift steps: work a CPU clock sees, the same
/// whatever else runs on the machine.
#[profile]
fn work(units: u64) -> u64 {
    let mut x = units | 1;
    for _ in 0..units * 1_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// Forks two workers doing `units` each and waits in `join`.
#[profile]
fn fork_and_join(prefix: &str, units: u64) -> u64 {
    thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|i| {
                thread::Builder::new()
                    .name(format!("{prefix}-w{i}"))
                    .spawn_scoped(s, move || work(units))
                    .unwrap()
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn thread_named<'a>(s: &'a ParallelSummary, name: &str) -> &'a profiler::analysis::ThreadBusy {
    s.threads
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no thread {name} in\n{s}"))
}

#[test]
fn the_main_threads_join_is_waiting_and_the_balance_is_the_two_workers() {
    // Own process: the sampler, the timeline settings and the runnable threads
    // of the process are process-wide. Live runs hold the cores lock so that
    // they do not compete for the cores.
    let _cores = integration::cores();
    if integration::ran_in_own_process(
        module_path!(),
        "the_main_threads_join_is_waiting_and_the_balance_is_the_two_workers",
    ) {
        return;
    }
    let rec = recording();
    let value = thread::Builder::new()
        .name("join-main".into())
        .spawn(|| fork_and_join("join", 40))
        .unwrap()
        .join()
        .unwrap();
    drop(rec);
    std::hint::black_box(value);
    let s = only("join-").parallel_summary();
    println!("{s}");

    assert!(s.cpu_known, "{s}");
    // The main thread was inside `fork_and_join` the whole time, but blocked
    // in join: hardly on a CPU.
    let main = thread_named(&s, "join-main");
    let main_cpu = main.cpu_ns.expect("CPU time of the main thread");
    assert!(
        main_cpu * 10 < main.busy_ns,
        "main on a CPU {main_cpu} ns of {} ns",
        main.busy_ns
    );
    assert!(
        main.waiting_ns.unwrap() * 10 > main.busy_ns * 8,
        "blocked {:?} of {}",
        main.waiting_ns,
        main.busy_ns
    );
    // The workers did the work: hardly blocked (on a CPU, or preempted on
    // a loaded machine).
    for w in ["join-w0", "join-w1"] {
        let t = thread_named(&s, w);
        assert!(t.cpu_ns.unwrap() > 0, "{w} in\n{s}");
        assert!(t.waiting_ns.unwrap() * 10 < t.busy_ns * 2, "{w} in\n{s}");
    }
    // One region, `fork_and_join`, over the two workers: balanced.
    assert_eq!(s.regions.len(), 1, "{s}");
    assert_eq!(s.regions[0].name, "fork_and_join");
    let e = s.efficiency.expect("whole-run figures");
    assert_eq!(e.workers, 2, "{s}");
    assert_eq!(s.efficiency_calls, 1);
    let call = &s.regions[0].longest[0];
    assert_eq!(call.busy[0].busy_ns, 0, "the main thread did no work: {s}");
    // The load balance is the two workers' (main's waiting left out).
    let workers: Vec<u64> = call.busy[1..].iter().map(|b| b.busy_ns).collect();
    assert_eq!(workers.len(), 2);
    let two = profiler::analysis::Efficiency::from_busy(workers, call.duration_ns).unwrap();
    assert!((e.load_balance - two.load_balance).abs() < 1e-12, "{s}");
    assert!(
        e.load_balance > 0.5,
        "load balance {} in\n{s}",
        e.load_balance
    );
    assert!(
        s.oversubscriptions
            .iter()
            .all(|o| o.kind != OversubscriptionKind::Process),
        "{s}"
    );
}

/// Computes for `units` while another thread works: an overlap, no fork.
#[profile]
fn compute_alongside(units: u64) -> u64 {
    work(units)
}

#[test]
fn a_call_that_computes_while_another_thread_works_is_no_region() {
    // Own process: the sampler, the timeline settings and the runnable threads
    // of the process are process-wide. Live runs hold the cores lock so that
    // they do not compete for the cores.
    let _cores = integration::cores();
    if integration::ran_in_own_process(
        module_path!(),
        "a_call_that_computes_while_another_thread_works_is_no_region",
    ) {
        return;
    }
    let rec = recording();
    // The other thread is started before the call and works only inside it
    // (a barrier lines them up): by timing alone it looks handed the work.
    let go = Barrier::new(2);
    let done = Barrier::new(2);
    thread::scope(|s| {
        let (go, done) = (&go, &done);
        thread::Builder::new()
            .name("overlap-io".into())
            .spawn_scoped(s, move || {
                go.wait();
                integration::spin(Duration::from_millis(30));
                {
                    let _g = profiler::profile_scope!("io_chunk");
                    thread::sleep(Duration::from_millis(100));
                }
                done.wait();
            })
            .unwrap();
        thread::Builder::new()
            .name("overlap-main".into())
            .spawn_scoped(s, move || {
                // Register first, so that the overlap is the only link.
                drop(profiler::profile_scope!("warm_up"));
                #[profile]
                fn outer(go: &Barrier, done: &Barrier) -> u64 {
                    go.wait();
                    let v = compute_alongside(150);
                    done.wait();
                    v
                }
                outer(go, done)
            })
            .unwrap();
    });
    drop(rec);
    let s = only("overlap-").parallel_summary();
    println!("{s}");
    assert!(s.cpu_known, "{s}");
    let io = thread_named(&s, "overlap-io");
    assert!(io.busy_ns >= 100_000_000, "{s}");
    // `compute_alongside` and `outer` computed: no region, however their
    // calls enclose the io thread's work.
    assert!(
        s.regions.is_empty(),
        "regions {:?} in\n{s}",
        s.regions.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    assert_eq!(s.efficiency, None);
    assert!(
        s.to_string().contains("Whole run: no parallel region"),
        "{s}"
    );
}

/// `n` threads named `{prefix}-{i}` spinning for `ms` in a profiled scope.
fn spinners(prefix: &str, n: usize, ms: u64) -> ParallelSummary {
    let barrier = Barrier::new(n);
    thread::scope(|s| {
        for i in 0..n {
            let barrier = &barrier;
            thread::Builder::new()
                .name(format!("{prefix}-{i}"))
                .spawn_scoped(s, move || {
                    barrier.wait();
                    let _g = profiler::profile_scope!("spin");
                    integration::spin(Duration::from_millis(ms));
                })
                .unwrap();
        }
    });
    only(&format!("{prefix}-")).parallel_summary()
}

#[test]
fn twice_as_many_spinning_threads_as_cores_is_this_processs_oversubscription() {
    // Own process: the sampler, the timeline settings and the runnable threads
    // of the process are process-wide. Live runs hold the cores lock so that
    // they do not compete for the cores.
    let _cores = integration::cores();
    if integration::ran_in_own_process(
        module_path!(),
        "twice_as_many_spinning_threads_as_cores_is_this_processs_oversubscription",
    ) {
        return;
    }
    let rec = recording();
    let cores = available_cores() as usize;
    let s = spinners("twice", 2 * cores, 500);
    drop(rec);
    println!("{s}");
    let o = s
        .oversubscriptions
        .iter()
        .find(|o| o.kind == OversubscriptionKind::Process)
        .unwrap_or_else(|| panic!("no process oversubscription in\n{s}"));
    assert_eq!(o.cores as usize, cores);
    assert!(o.mean > cores as f64, "{s}");
    assert!(o.peak as usize > cores, "{s}");
    let text = s.to_string();
    assert!(
        text.contains(&format!(
            "WARNING: oversubscribed (this process): {:.2} runnable threads on average",
            o.mean
        )),
        "{text}"
    );
}

/// Kills the child processes when dropped (also when a check fails): each
/// is the leader of its own process group, and the whole group is killed,
/// so the shell that `timeout` runs goes too (killing `timeout` alone left
/// its shell spinning for good).
struct Spinners(Vec<Child>);

impl Drop for Spinners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if let Ok(pgid) = libc::pid_t::try_from(c.id()) {
                // SAFETY: `kill` of our own child's process group.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn other_processes_spinning_on_every_core_is_the_machines_oversubscription() {
    // Own process: the sampler, the timeline settings and the runnable threads
    // of the process are process-wide. Live runs hold the cores lock so that
    // they do not compete for the cores.
    let _cores = integration::cores();
    if integration::ran_in_own_process(
        module_path!(),
        "other_processes_spinning_on_every_core_is_the_machines_oversubscription",
    ) {
        return;
    }
    let cpus = thread::available_parallelism().map_or(2, |n| n.get());
    // Other programs: one busy shell loop per CPU, bounded in time by the
    // guard (killed at the end) and by `timeout` should the test be killed.
    let children = Spinners(
        (0..cpus)
            .map(|_| {
                Command::new("timeout")
                    .args(["20", "sh", "-c", "while :; do :; done"])
                    .process_group(0)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn a spinning shell")
            })
            .collect(),
    );
    let rec = recording();
    thread::sleep(Duration::from_millis(50));
    let s = spinners("alone", 1, 500);
    drop(rec);
    drop(children);
    println!("{s}");
    let kinds: Vec<OversubscriptionKind> = s.oversubscriptions.iter().map(|o| o.kind).collect();
    assert!(kinds.contains(&OversubscriptionKind::Machine), "{s}");
    assert!(!kinds.contains(&OversubscriptionKind::Process), "{s}");
    let o = s
        .oversubscriptions
        .iter()
        .find(|o| o.kind == OversubscriptionKind::Machine)
        .unwrap();
    assert!(o.others_mean >= 1.0, "{s}");
    assert!(
        s.to_string()
            .contains("WARNING: oversubscribed (the machine): "),
        "{s}"
    );
}
