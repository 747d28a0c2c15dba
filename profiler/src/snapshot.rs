//! Turning the recorder's raw per-thread trees into a [`Profile`].

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
/// Threads that are still running contribute their completed calls; the
/// calling thread's own open scopes are counted as ending now (as cProfile
/// does with unmatched frames when it stops). May be called at any time, from
/// any thread, while others record.
pub fn snapshot() -> Profile {
    mark_start();
    let raw = recorder::capture();
    let conv = clock::conversion();
    let sites = site::registered_sites()
        .into_iter()
        .map(|s| SiteInfo::new(s.name, s.module, s.file, s.line))
        .collect::<Vec<_>>();
    let pid = std::process::id();
    let threads = raw
        .iter()
        .map(|t| convert(t, conv, pid, sites.len()))
        .collect();
    let mut profile = Profile::new(metadata(conv, pid), sites, threads);
    profile.sched = crate::sampler::sched(conv);
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
        available_cores: crate::analysis::available_cores(),
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        probe_cost: recorder::measured_probe_ticks().map(|(inner, outer)| {
            let ns_per_tick = conv.ns(1 << 20) as f64 / f64::from(1u32 << 20);
            ProbeCost::new(inner * ns_per_tick, outer * ns_per_tick)
        }),
        compensated: false,
    }
}

/// Converts ticks to nanoseconds; a node's time is raised to its children's
/// sum where a concurrent read caught a child updated before its parent.
pub(crate) fn convert(t: &RawThread, conv: Conversion, pid: u32, n_sites: usize) -> ThreadProfile {
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
    let epoch = clock::epoch_ticks();
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
        .with_cpu_samples(cpu_samples(t, conv))
}

/// A thread's CPU curve: its time on a CPU and on a run queue at
/// registration, the sampler's samples, and at its exit or now.
fn cpu_samples(t: &RawThread, conv: Conversion) -> Vec<[u64; 3]> {
    let epoch = clock::epoch_ticks();
    let at = |ticks: u64| conv.ns(ticks.saturating_sub(epoch));
    let mut v = Vec::new();
    if let Some((cpu, wait)) = t.sched_at_start {
        v.push([at(t.started), cpu, wait]);
    }
    let end = (t.sched_read != 0).then(|| at(t.sched_read));
    let after = v.last().map(|l| l[0]);
    v.extend(
        crate::sampler::thread_samples(conv, t.id)
            .into_iter()
            .filter(|s| after.is_none_or(|a| s[0] > a) && end.is_none_or(|e| s[0] < e)),
    );
    if let (Some(e), Some(cpu), Some(wait)) = (end, t.cpu_ns, t.runqueue_ns) {
        v.push([e, cpu, wait]);
    }
    v
}

/// The machine's host name, from the kernel (Linux) or the environment.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
}
