//! The sampler thread: at a low rate (every 20 ms by default), it counts how
//! many of the process's threads, and how many of the machine's tasks, are
//! running or runnable, and reads each recording thread's CPU time. All of it
//! comes from procfs (see `crate::sys`); nothing is added to the hot path.
//!
//! The thread is named `profiler-sampler`, records no scope (so it never
//! appears in a profile), leaves itself out of the counts, and stops with
//! [`stop_sampler`] (a session stops it when it ends). Its samples are kept
//! for the whole process, up to [`MAX_SAMPLES`] per series: past that, every
//! other sample is dropped and the period doubles, so memory stays bounded
//! on long runs. A snapshot copies them into [`Profile::sched`] and
//! [`ThreadProfile::cpu_samples`](crate::ThreadProfile::cpu_samples).
//!
//! [`Profile::sched`]: crate::Profile::sched

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::{self, Conversion};
use crate::fork::Lock;
use crate::profile::{Sched, SchedSample};

/// The sampler's default period.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// The most samples kept per series (the process's, and each thread's).
pub const MAX_SAMPLES: usize = 8192;

/// Raw samples, in clock ticks.
#[derive(Default)]
struct Data {
    interval_ns: u64,
    /// Every how many ticks of the sampler a sample is kept (doubles at the cap).
    stride: u64,
    ticks_seen: u64,
    online_cpus: u32,
    /// CPU time of the sampler's earlier runs, and the running one's tid.
    sampler_cpu_ns: u64,
    sampler_tid: Option<u32>,
    /// (tick, process runnable, others runnable)
    sched: Vec<(u64, u32, u32)>,
    /// Per recorder thread id: (tick, CPU ns, run-queue wait ns).
    threads: HashMap<u64, Vec<(u64, u64, u64)>>,
}

struct Running {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

static DATA: Lock<Option<Data>> = Lock::new(None);
static RUNNING: Lock<Option<Running>> = Lock::new(None);

/// Starts the sampler thread (see the module docs) with the given period,
/// unless it runs already. Returns whether it runs: false where the platform
/// has no procfs to read, or the thread could not be spawned.
pub fn start_sampler(interval: Duration) -> bool {
    fork_safe();
    let mut running = RUNNING.lock();
    if running.is_some() {
        return true;
    }
    if crate::sys::machine_runnable().is_none() {
        return false;
    }
    clock::init();
    let interval = interval.max(Duration::from_millis(1));
    {
        let mut data = DATA.lock();
        let d = data.get_or_insert_with(Data::default);
        if d.stride == 0 {
            d.stride = 1;
            d.interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        }
        d.online_cpus = crate::sys::online_cpus().unwrap_or(0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = std::thread::Builder::new()
        .name("profiler-sampler".into())
        .spawn(move || run(&flag, interval));
    match handle {
        Ok(handle) => {
            *running = Some(Running { stop, handle });
            true
        }
        Err(_) => false,
    }
}

/// Stops the sampler thread and waits for it (at most one period); its
/// samples are kept for later snapshots. Does nothing if it is not running.
pub fn stop_sampler() {
    let running = RUNNING.lock().take();
    if let Some(r) = running {
        r.stop.store(true, Ordering::Relaxed);
        r.handle.thread().unpark();
        let _ = r.handle.join();
    }
}

/// Registers the sampler's `fork` hooks (before its locks are first taken).
fn fork_safe() {
    crate::fork::register(crate::fork::Part::Sampler, &SAMPLER_FORK);
}

/// Holds the sampler's locks across a `fork` (see [`crate::fork`]).
fn fork_prepare() {
    crate::fork::hold(&RUNNING);
    crate::fork::hold(&DATA);
}

/// In a forked child: the sampler thread is not there (`fork` copies only
/// the forking thread), so it is forgotten, not joined.
fn fork_child() {
    if let Some(r) = RUNNING.lock().take() {
        std::mem::forget(r);
    }
    if let Some(d) = DATA.lock().as_mut() {
        d.sampler_tid = None;
    }
}

/// Whether the sampler thread is running.
pub fn sampler_running() -> bool {
    RUNNING.lock().is_some()
}

fn run(stop: &AtomicBool, interval: Duration) {
    let me = crate::sys::current_tid();
    if let Some(d) = DATA.lock().as_mut() {
        d.sampler_tid = me;
    }
    while !stop.load(Ordering::Relaxed) {
        sample(me);
        std::thread::park_timeout(interval);
    }
    sample(me);
    let cpu = crate::sys::current_thread_cpu_ns().unwrap_or(0);
    if let Some(d) = DATA.lock().as_mut() {
        d.sampler_cpu_ns = d.sampler_cpu_ns.saturating_add(cpu);
        d.sampler_tid = None;
    }
}

/// Takes one sample of every series.
fn sample(me: Option<u32>) {
    let now = clock::now();
    let process = crate::sys::runnable_threads(me);
    // The machine's count includes the sampler itself, running as it reads.
    let machine = crate::sys::machine_runnable().map(|n| n.saturating_sub(1));
    let threads: Vec<(u64, (u64, u64))> = crate::recorder::live_threads()
        .into_iter()
        .filter_map(|(id, tid)| crate::sys::thread_sched_ns(tid).map(|ns| (id, ns)))
        .collect();
    let mut guard = DATA.lock();
    let Some(d) = guard.as_mut() else { return };
    d.ticks_seen += 1;
    if d.ticks_seen % d.stride != 0 {
        return;
    }
    if let (Some(p), Some(m)) = (process, machine) {
        d.sched.push((now, p, m.saturating_sub(p)));
    }
    let mut full = d.sched.len() >= MAX_SAMPLES;
    for (id, (cpu, wait)) in threads {
        let v = d.threads.entry(id).or_default();
        v.push((now, cpu, wait));
        full |= v.len() >= MAX_SAMPLES;
    }
    if full {
        // Keep every other sample (the first and the newest stay), and take
        // samples half as often from now on.
        halve(&mut d.sched);
        for v in d.threads.values_mut() {
            halve(v);
        }
        d.stride *= 2;
        d.interval_ns = d.interval_ns.saturating_mul(2);
    }
}

/// Keeps the samples of even index.
fn halve<T>(v: &mut Vec<T>) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        i % 2 == 1
    });
}

/// The scheduler samples so far, in nanoseconds since the start of
/// recording (`None` if the sampler never ran).
/// The machine's and the process's sampled run queues, timed from the clock
/// reading `epoch` (samples before it left out).
pub(crate) fn sched(conv: Conversion, epoch: u64) -> Option<Sched> {
    fork_safe();
    let guard = DATA.lock();
    let d = guard.as_ref()?;
    let mut s = Sched {
        interval_ns: d.interval_ns,
        online_cpus: d.online_cpus,
        sampler_cpu_ns: d.sampler_cpu_ns
            + d.sampler_tid
                .and_then(crate::sys::thread_cpu_ns)
                .unwrap_or(0),
        samples: Vec::new(),
    };
    s.samples = d
        .sched
        .iter()
        .filter(|&&(t, _, _)| t >= epoch)
        .map(|&(t, p, o)| SchedSample::new(conv.ns(t.saturating_sub(epoch)), p, o))
        .collect();
    Some(s)
}

/// Thread `id`'s sampled CPU time: `[t_ns, cpu_ns, runqueue_ns]`.
pub(crate) fn thread_samples(conv: Conversion, id: u64, epoch: u64) -> Vec<[u64; 3]> {
    fork_safe();
    let guard = DATA.lock();
    let Some(d) = guard.as_ref() else {
        return Vec::new();
    };
    d.threads.get(&id).map_or_else(Vec::new, |v| {
        v.iter()
            .filter(|&&(t, _, _)| t >= epoch)
            .map(|&(t, cpu, wait)| [conv.ns(t.saturating_sub(epoch)), cpu, wait])
            .collect()
    })
}

/// What the sampler does around a `fork` (see [`crate::fork`]).
static SAMPLER_FORK: crate::fork::Hooks = crate::fork::Hooks {
    prepare: fork_prepare,
    child: fork_child,
};
