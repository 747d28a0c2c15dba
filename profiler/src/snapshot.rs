//! Turning the recorder's raw per-thread trees into a [`Profile`].

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use once_cell::sync::Lazy;

use crate::clock::{self, Conversion};
use crate::profile::{
    Metadata, NO_PARENT, Node, ProbeCost, Profile, SiteInfo, Span, ThreadProfile,
};
use crate::recorder::{self, RawThread};
use crate::site;

/// When the profiler was first asked for the time: the start of recording.
static START: Lazy<(std::time::Instant, f64)> = Lazy::new(|| {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    (std::time::Instant::now(), unix)
});

/// Marks the start of recording (called by `Session::start` and on the first
/// profiled call through the clock's initialisation).
pub(crate) fn mark_start() {
    Lazy::force(&START);
    clock::init();
}

/// Takes a snapshot of everything recorded so far, on every thread.
///
/// Calls still running on any thread (open frames) are counted as ending
/// now, with their time so far, as cProfile counts the frames still open
/// when it is disabled; [`ThreadProfile::open`] lists them. May be called at
/// any time, from any thread, while others record.
pub fn snapshot() -> Profile {
    mark_start();
    let raw = recorder::capture();
    build(&raw, None)
}

/// The counters when a session started, subtracted from its snapshots so
/// that a session reports only what ran while it was open.
#[derive(Debug)]
pub(crate) struct Baseline {
    threads: Vec<RawThread>,
    /// The clock at the session's start.
    tick: u64,
    instant: std::time::Instant,
    unix_s: f64,
}

impl Baseline {
    /// The clock tick the session's timelines count from.
    #[cfg(feature = "mpi")]
    pub(crate) fn tick(&self) -> u64 {
        self.tick
    }

    /// A baseline of nothing, starting now: a session in a forked child,
    /// whose recorder already counts from the fork.
    pub(crate) fn empty_now() -> Baseline {
        Baseline {
            threads: Vec::new(),
            tick: clock::now(),
            instant: std::time::Instant::now(),
            unix_s: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

/// Records the counters of completed calls now, for [`snapshot_since`].
pub(crate) fn baseline() -> Baseline {
    mark_start();
    let threads = recorder::capture_counters();
    Baseline {
        threads,
        tick: clock::now(),
        instant: std::time::Instant::now(),
        unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    }
}

/// A snapshot of what was recorded since `base` was taken: every counter
/// less its value then, paths not run since left out, timeline scopes that
/// started before left out and the rest measured from `base`'s start. A call
/// that was already running at `base` and ended after it counts whole.
pub(crate) fn snapshot_since(base: &Baseline) -> Profile {
    mark_start();
    let mut raw = recorder::capture();
    let before: HashMap<u64, &RawThread> = base.threads.iter().map(|t| (t.id, t)).collect();
    for t in &mut raw {
        match before.get(&t.id) {
            Some(b) => t.subtract(b, base.tick, true),
            None => t.timeline.retain(|s| s.start >= base.tick),
        }
        prune(t);
    }
    raw.retain(|t| !t.nodes.is_empty() || !t.timeline.is_empty() || t.timeline_dropped > 0);
    build(&raw, Some(base))
}

/// Drops the nodes with no calls, no time and no descendant that has any,
/// renumbering the rest (parents still come first).
fn prune(t: &mut RawThread) {
    let n = t.nodes.len();
    let mut keep: Vec<bool> = t.nodes.iter().map(|n| n.calls > 0 || n.ticks > 0).collect();
    for &i in &t.open {
        keep[i as usize] = true;
    }
    for i in (0..n).rev() {
        let p = t.nodes[i].parent;
        if keep[i] && p != NO_PARENT {
            keep[p as usize] = true;
        }
    }
    if keep.iter().all(|&k| k) {
        return;
    }
    let mut new_index = vec![NO_PARENT; n];
    let mut nodes = Vec::with_capacity(n);
    for (i, node) in t.nodes.iter().enumerate() {
        if keep[i] {
            new_index[i] = nodes.len() as u32;
            let mut node = *node;
            if node.parent != NO_PARENT {
                node.parent = new_index[node.parent as usize];
            }
            nodes.push(node);
        }
    }
    t.nodes = nodes;
    for o in &mut t.open {
        *o = new_index[*o as usize];
    }
}

fn build(raw: &[RawThread], base: Option<&Baseline>) -> Profile {
    let conv = clock::conversion();
    let records = site::registered_sites();
    let source_root = source_root(&records);
    let sites = records
        .into_iter()
        .map(|s| SiteInfo::new(s.name, s.module, s.file, s.line))
        .collect::<Vec<_>>();
    let pid = std::process::id();
    let epoch = base.map_or_else(clock::epoch_ticks, |b| b.tick);
    let threads = raw
        .iter()
        .map(|t| convert(t, conv, pid, sites.len(), epoch))
        .collect();
    let mut meta = metadata(conv, pid);
    meta.source_root = source_root;
    if let Some(b) = base {
        meta.start_unix_s = b.unix_s;
        meta.duration_ns = u64::try_from(b.instant.elapsed().as_nanos()).unwrap_or(u64::MAX);
    }
    let mut profile = Profile::new(meta, sites, threads);
    profile.sched = crate::sampler::sched(conv, epoch);
    if let (true, Some(cost)) = (recorder::compensation(), profile.meta.probe_cost) {
        profile.compensate(cost);
    }
    profile
}

fn metadata(conv: Conversion, pid: u32) -> Metadata {
    let args: Vec<String> = std::env::args().collect();
    let program = args
        .first()
        .map(|a| {
            std::path::Path::new(a)
                .file_name()
                .map_or(a.clone(), |f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    Metadata {
        program,
        args,
        pid,
        host: host_name(),
        start_unix_s: START.1,
        duration_ns: u64::try_from(START.0.elapsed().as_nanos()).unwrap_or(u64::MAX),
        clock: clock::source_name().to_owned(),
        ticks_per_second: conv.ticks_per_second(),
        available_cores: crate::sys::available_cores(),
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        probe_cost: recorder::measured_probe_ticks().map(|(inner, outer)| {
            let ns_per_tick = conv.ns(1 << 20) as f64 / f64::from(1u32 << 20);
            ProbeCost::new(inner * ns_per_tick, outer * ns_per_tick)
        }),
        compensated: false,
        compensated_ns: 0,
        compensation_warnings: Vec::new(),
        ended_by: None,
        still_running: None,
        calls_dropped_at_thread_exit: recorder::late_dropped(),
        calls_dropped_in_signal_handlers: recorder::reentrant_dropped(),
        mpi: None,
        compiled_out: !cfg!(feature = "enable"),
        source_root: None,
    }
}

/// Converts ticks to nanoseconds; a node's time is raised to its children's
/// sum where a concurrent read caught a child updated before its parent.
///
/// Span times are measured from the clock reading `epoch`.
pub(crate) fn convert(
    t: &RawThread,
    conv: Conversion,
    pid: u32,
    n_sites: usize,
    epoch: u64,
) -> ThreadProfile {
    let mut nodes: Vec<Node> = t
        .nodes
        .iter()
        .map(|n| {
            let parent = if n.parent == u32::MAX {
                NO_PARENT
            } else {
                n.parent
            };
            Node::new(n.site, parent, n.calls, conv.ns(n.ticks))
        })
        .collect();
    debug_assert!(
        nodes
            .iter()
            .enumerate()
            .all(|(i, n)| (n.site as usize) < n_sites
                && (n.parent == NO_PARENT || (n.parent as usize) < i))
    );
    let mut child_sum = vec![0u64; nodes.len()];
    for i in (0..nodes.len()).rev() {
        let time = nodes[i].time_ns.max(child_sum[i]);
        nodes[i].time_ns = time;
        if let Some(p) = nodes[i].parent() {
            child_sum[p] = child_sum[p].saturating_add(time);
        }
    }
    // Span ends are converted from absolute tick readings (not start plus
    // duration), so a child's converted interval stays inside its parent's.
    let timeline = t
        .timeline
        .iter()
        .map(|s| {
            let start = conv.ns(s.start.saturating_sub(epoch));
            let end = conv.ns(s.start.saturating_add(s.ticks).saturating_sub(epoch));
            Span::new(s.site, start, end - start)
        })
        .collect();
    let since_epoch = |ticks: u64| conv.ns(ticks.saturating_sub(epoch));
    ThreadProfile::new(t.id, t.name.clone(), pid, nodes)
        .with_timeline(timeline, t.timeline_dropped)
        .with_cpu(t.cpu_ns)
        .with_runqueue(t.runqueue_ns)
        .with_lifetime(
            (t.started != 0).then(|| since_epoch(t.started)),
            (t.ended != 0).then(|| since_epoch(t.ended)),
        )
        .with_cpu_samples(cpu_samples(t, conv, epoch))
        .with_open(t.open.clone())
        .with_folded_threads(t.folded)
}

/// A thread's CPU curve: its time on a CPU and on a run queue at
/// registration (or, for a session, zero at its start), the sampler's
/// samples, and at its exit or now; times from the clock reading `epoch`,
/// CPU figures less those of the session's start (`sched_base`).
fn cpu_samples(t: &RawThread, conv: Conversion, epoch: u64) -> Vec<[u64; 3]> {
    let at = |ticks: u64| conv.ns(ticks.saturating_sub(epoch));
    let (cpu0, wait0) = t.sched_base.unwrap_or((0, 0));
    let mut v = Vec::new();
    if t.sched_base.is_some() {
        v.push([0, 0, 0]);
    } else if let Some((cpu, wait)) = t.sched_at_start {
        v.push([at(t.started), cpu, wait]);
    }
    let end = (t.sched_read != 0).then(|| at(t.sched_read));
    let after = v.last().map(|l| l[0]);
    v.extend(
        crate::sampler::thread_samples(conv, t.id, epoch)
            .into_iter()
            .filter(|s| after.is_none_or(|a| s[0] > a) && end.is_none_or(|e| s[0] < e))
            .map(|[t, cpu, wait]| [t, cpu.saturating_sub(cpu0), wait.saturating_sub(wait0)]),
    );
    if let (Some(e), Some(cpu), Some(wait)) = (end, t.cpu_ns, t.runqueue_ns) {
        v.push([e, cpu, wait]);
    }
    v
}

/// The machine's host name, from the kernel (Linux) or the environment.
/// The folder the sites' relative file names are relative to:
/// `PROFILER_SOURCE_ROOT` when set (empty: none, the paths stay relative),
/// or else the workspace root found from the first site that has a
/// relative file (see [`site::source_root`]).
fn source_root(sites: &[site::SiteRecord]) -> Option<String> {
    if let Some(v) = std::env::var_os("PROFILER_SOURCE_ROOT") {
        if v.is_empty() {
            return None;
        }
        let path = std::path::PathBuf::from(v);
        let path = std::path::absolute(&path).unwrap_or(path);
        return Some(path.to_string_lossy().into_owned());
    }
    sites
        .iter()
        .find_map(|s| site::source_root(s.manifest_dir, s.file))
        .map(|p| p.to_string_lossy().into_owned())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
}
