//! The parallel summary: per-thread useful time, the POP efficiency metrics
//! for the whole run and for each parallel region, and the concurrency of
//! busy threads against the available cores.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::cpu::{
    CpuCurve, Oversubscription, OversubscriptionKind, SchedSummary, WAITING_BLOCKED_FRACTION,
    sched_summary,
};
use super::intervals::{IntervalSet, Within};
use crate::profile::{Profile, SiteId, Span, ThreadProfile};

/// Efficiency figures at or above this value are considered acceptable (the
/// POP Centre of Excellence's threshold).
pub const ACCEPTABLE_EFFICIENCY: f64 = 0.8;

/// With a timeline, the run is reported oversubscribed when more threads
/// were busy than there are cores for at least this fraction of the runtime.
pub const OVERSUBSCRIPTION_MIN_FRACTION: f64 = 0.05;

/// The most regions (distinct functions) kept in a [`ParallelSummary`],
/// the longest in total first.
pub const MAX_REGIONS: usize = 16;

/// The most calls kept in each [`Region::longest`], the longest first.
pub const MAX_REGION_CALLS: usize = 8;

/// Where a [`ParallelSummary`]'s runtime comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RuntimeSource {
    /// The timeline: from the first scope's start to the last scope's end,
    /// over every thread.
    Timeline,
    /// No timeline was recorded: the profile's
    /// [`duration_ns`](crate::Metadata::duration_ns), from the start of
    /// recording to the snapshot.
    Duration,
}

/// Parallel efficiency of a profile: the POP metrics (load balance,
/// communication efficiency, parallel efficiency) for the whole run and for
/// each parallel region, and how many threads were busy at once against the
/// cores available. [`Profile::parallel_summary`] computes it; its `Display`
/// is the "Parallel summary" section printed under the pstats table.
///
/// # Definitions
///
/// - A thread's **busy time** is the inclusive time of its root scopes (time
///   inside any profiled scope), exact whatever the timeline dropped. Where
///   the operating system tells it ([`ThreadProfile::cpu_ns`], Linux), busy
///   time splits into time on a CPU, time preempted (runnable, waiting for a
///   CPU) and time **blocked** (in `join`, a receive, a lock, I/O): blocked
///   time is waiting, not work. **Useful time** is busy time not blocked.
/// - The **runtime** is, with a timeline, the time from the first scope's
///   start to the last scope's end over all threads; without one, the
///   profile's `duration_ns`. It is never taken below the busiest thread's
///   busy time.
/// - **Regions** (timeline only): a call of a profiled function on thread A
///   is a parallel region when other threads did work that A handed them:
///   at least one other thread is busy during the call, all its busy time
///   near the call lies inside it (idle at the call's start and end), and A
///   *waited*: the CPU samples around the call prove A blocked for at least
///   [`WAITING_BLOCKED_FRACTION`] of the call (blocked time in the sample
///   window less the part of the window outside the call). A call that
///   merely overlaps other threads' work while A computes is no region.
///   Without samples covering the call (an older profile, no sampler),
///   timing alone decides. Two more rules keep workers' own calls from
///   passing for regions: a call that encloses a call of the same function
///   on another thread is a peer of it; a call inside a region of another
///   thread is part of that region.
///   A region's workers are the other threads, with their useful time inside
///   the call (at most their time on a CPU or preempted around it), and A
///   for its work alongside them only (nested scopes overlapping their busy
///   time): serial work before the fork or after the join is no imbalance.
///   A region's figures over all its calls are duration-weighted: sums over
///   the calls of mean and of max useful time and of durations.
/// - Over the workers: **load balance** = mean useful / max useful;
///   **communication efficiency** = max useful / call duration; **parallel
///   efficiency** = their product. The **whole run**'s figures are those of
///   the outermost region calls together (duration-weighted); a run with no
///   region has none.
/// - **Concurrency** (with a timeline): the number of threads busy at each
///   instant, where busy means inside a profiled scope but not directly in
///   the body of one's own parallel region. With CPU times, also the mean
///   number of threads on a CPU.
/// - **Oversubscribed**: from the sampler thread's samples
///   ([`Profile::sched`](crate::Profile::sched)) over the threads'
///   lifetimes: *this process* when more of its threads were runnable than
///   [`Metadata::available_cores`](crate::Metadata::available_cores), *the
///   machine* when more tasks were runnable than its online CPUs with other
///   programs' among them, each in at least
///   [`OVERSUBSCRIBED_SAMPLE_FRACTION`](super::OVERSUBSCRIBED_SAMPLE_FRACTION)
///   of the samples. A profile without operating-system data falls back to
///   busy threads: more than the cores for at least
///   [`OVERSUBSCRIPTION_MIN_FRACTION`] of the runtime (timeline) or on
///   average.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParallelSummary {
    /// The runtime, in nanoseconds (see the definitions above).
    pub runtime_ns: u64,
    /// Where the runtime comes from.
    pub runtime_source: RuntimeSource,
    /// The start of the runtime, in nanoseconds since the start of recording
    /// (the first timeline scope's start, or 0).
    pub start_ns: u64,
    /// Every thread of the profile, in the profile's order.
    pub threads: Vec<ThreadBusy>,
    /// The whole run's efficiency over the workers of its parallel regions
    /// (their outermost calls, duration-weighted as for a [`Region`]);
    /// `None` when the run has no parallel region (always without a
    /// timeline, as regions need one).
    pub efficiency: Option<Efficiency>,
    /// The outermost region calls behind [`efficiency`](Self::efficiency).
    #[serde(default)]
    pub efficiency_calls: u64,
    /// Whether useful time was limited to time on a CPU, from the operating
    /// system ([`ThreadProfile::cpu_ns`]); false for profiles without it.
    #[serde(default)]
    pub cpu_known: bool,
    /// Busy threads against the available cores.
    pub concurrency: Concurrency,
    /// Whether the run was oversubscribed, of any kind (see
    /// [`oversubscriptions`](Self::oversubscriptions)); the text report
    /// prints a warning line per kind.
    pub oversubscribed: bool,
    /// Each kind of oversubscription found, with its evidence: this
    /// process's runnable threads against its cores, the machine's runnable
    /// tasks against its CPUs (both from the sampler thread), or, for a
    /// profile without operating-system data, busy threads against cores.
    #[serde(default)]
    pub oversubscriptions: Vec<Oversubscription>,
    /// What the sampler thread saw over the run's window, when it ran.
    #[serde(default)]
    pub sched: Option<SchedSummary>,
    /// The parallel regions, grouped by function, the longest in total
    /// first; at most [`MAX_REGIONS`]. Empty without a timeline.
    pub regions: Vec<Region>,
    /// Regions (functions) found but left out of `regions` by the cap.
    pub regions_omitted: usize,
    /// Scopes left off the timelines by their memory cap, over all threads:
    /// regions and concurrency are computed from the scopes kept.
    pub timeline_dropped: u64,
}

/// One thread's useful time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreadBusy {
    /// The recorder's number for the thread ([`ThreadProfile::id`]).
    pub id: u64,
    /// The thread's name.
    pub name: String,
    /// The id of the thread's process.
    pub pid: u32,
    /// Profiled time: the inclusive time of the thread's root scopes, in
    /// nanoseconds.
    pub busy_ns: u64,
    /// The thread's time on a CPU from the operating system, in nanoseconds
    /// ([`ThreadProfile::cpu_ns`]).
    #[serde(default)]
    pub cpu_ns: Option<u64>,
    /// The thread's time runnable but waiting for a CPU (preempted), in
    /// nanoseconds ([`ThreadProfile::runqueue_ns`]).
    #[serde(default)]
    pub runqueue_ns: Option<u64>,
    /// With a timeline: the part of the thread's timeline spent directly in
    /// the body of its own parallel regions (coordinating or waiting for the
    /// workers), in nanoseconds. It is part of `busy_ns` but is not counted
    /// as busy for concurrency.
    pub waiting_ns: Option<u64>,
    /// Whether this is the folded tree of many exited threads (named
    /// `(N exited threads)`), left out of the efficiency figures.
    pub folded: bool,
}

/// The POP efficiency metrics over a set of workers and a runtime.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Efficiency {
    /// The number of workers (threads with useful time > 0); for a
    /// [`Region`], the most in any one call.
    pub workers: u32,
    /// Mean useful time of the workers, in nanoseconds (for a [`Region`],
    /// summed over its calls).
    pub mean_busy_ns: f64,
    /// Maximum useful time of a worker, in nanoseconds (for a [`Region`],
    /// summed over its calls).
    pub max_busy_ns: u64,
    /// The runtime, in nanoseconds (for a [`Region`], the calls' durations
    /// summed).
    pub runtime_ns: u64,
    /// Load balance: mean useful / max useful.
    pub load_balance: f64,
    /// Communication (synchronization) efficiency: max useful / runtime.
    pub communication: f64,
    /// Parallel efficiency: load balance x communication efficiency.
    pub parallel: f64,
}

impl Efficiency {
    /// The metrics of workers with the given useful times (zeros are not
    /// workers and are skipped) over `runtime_ns`, which is raised to the
    /// maximum useful time if below it. `None` when no worker did work.
    ///
    /// ```
    /// use profiler::analysis::Efficiency;
    /// let e = Efficiency::from_busy([100, 50, 30, 0], 200).unwrap();
    /// assert_eq!(e.workers, 3);
    /// assert!((e.load_balance - 0.6).abs() < 1e-12);
    /// assert!((e.communication - 0.5).abs() < 1e-12);
    /// assert!((e.parallel - 0.3).abs() < 1e-12);
    /// ```
    pub fn from_busy(busy: impl IntoIterator<Item = u64>, runtime_ns: u64) -> Option<Efficiency> {
        let (mut n, mut sum, mut max) = (0u32, 0u128, 0u64);
        for b in busy.into_iter().filter(|&b| b > 0) {
            n += 1;
            sum += u128::from(b);
            max = max.max(b);
        }
        if n == 0 {
            return None;
        }
        Some(Efficiency::from_sums(
            n,
            sum as f64 / f64::from(n),
            max,
            runtime_ns,
        ))
    }

    /// The metrics from a mean and a maximum useful time and a runtime
    /// (`max_busy_ns` > 0).
    fn from_sums(workers: u32, mean_busy_ns: f64, max_busy_ns: u64, runtime_ns: u64) -> Self {
        let runtime_ns = runtime_ns.max(max_busy_ns);
        let load_balance = mean_busy_ns / max_busy_ns as f64;
        let communication = max_busy_ns as f64 / runtime_ns as f64;
        Efficiency {
            workers,
            mean_busy_ns,
            max_busy_ns,
            runtime_ns,
            load_balance,
            communication,
            parallel: load_balance * communication,
        }
    }
}

/// How many threads were busy at once, against the cores available.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Concurrency {
    /// The cores available to the process
    /// ([`Metadata::available_cores`](crate::Metadata::available_cores));
    /// `None` when the profile does not say (0).
    pub cores: Option<u32>,
    /// The mean number of busy threads over the runtime.
    pub mean: f64,
    /// The most threads busy at once (timeline only).
    pub peak: Option<u32>,
    /// How long `peak` threads were busy at once, in nanoseconds (timeline only).
    pub peak_ns: Option<u64>,
    /// How long more threads than `cores` were busy, in nanoseconds
    /// (timeline and known cores only).
    pub over_cores_ns: Option<u64>,
    /// Whether the figures come from the timeline (else only `mean` is known,
    /// from the threads' useful times).
    pub from_timeline: bool,
    /// The mean number of threads on a CPU: the threads' CPU time over the
    /// runtime (when the operating system tells CPU time).
    #[serde(default)]
    pub on_cpu_mean: Option<f64>,
}

/// A parallel region: the calls of one profiled function that fork and join
/// work on other threads (see [`ParallelSummary`] for the definition).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Region {
    /// The function's site.
    pub site: SiteId,
    /// The function's name.
    pub name: String,
    /// The calls that are parallel regions.
    pub calls: u64,
    /// Their total duration, in nanoseconds.
    pub total_ns: u64,
    /// The metrics over all the calls, duration-weighted: `mean_busy_ns`,
    /// `max_busy_ns` and `runtime_ns` are sums over the calls, `workers` the
    /// most in a call.
    pub efficiency: Efficiency,
    /// The longest calls, longest first; at most [`MAX_REGION_CALLS`].
    pub longest: Vec<RegionCall>,
}

/// One call of a [`Region`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegionCall {
    /// The calling thread: an index into [`ParallelSummary::threads`].
    pub thread: usize,
    /// The call's start, in nanoseconds since the start of recording.
    pub start_ns: u64,
    /// The call's duration, in nanoseconds.
    pub duration_ns: u64,
    /// The metrics over the workers' useful time inside the call.
    pub efficiency: Efficiency,
    /// The useful time of each thread inside the call: the calling thread
    /// first, then the other workers in thread order.
    pub busy: Vec<RegionBusy>,
}

/// A thread's useful time inside a [`RegionCall`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegionBusy {
    /// An index into [`ParallelSummary::threads`].
    pub thread: usize,
    /// Useful time inside the call, in nanoseconds.
    pub busy_ns: u64,
}

impl ParallelSummary {
    /// Whether more than one thread did work.
    pub fn is_parallel(&self) -> bool {
        self.threads.iter().filter(|t| t.busy_ns > 0).count() > 1
    }

    /// The oversubscription warning lines (one per kind, joined by newlines,
    /// without a trailing newline), when
    /// [`oversubscribed`](Self::oversubscribed):
    /// `WARNING: oversubscribed (this process): ...`,
    /// `WARNING: oversubscribed (the machine): ...`, or for a profile
    /// without operating-system data `WARNING: oversubscribed: up to N busy
    /// threads on M cores ...`.
    pub fn warning(&self) -> Option<String> {
        let lines: Vec<String> = self
            .oversubscriptions
            .iter()
            .filter_map(|o| self.warning_line(o))
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    fn warning_line(&self, o: &Oversubscription) -> Option<String> {
        let advice = "limit nested thread pools (threads x inner threads <= cores)";
        let samples = self.sched.map_or(0, |s| s.samples);
        Some(match o.kind {
            OversubscriptionKind::Process => format!(
                "WARNING: oversubscribed (this process): {:.2} runnable threads on average, \
                 up to {}, on {} cores; more than {} runnable in {:.0}% of {samples} samples; \
                 {advice}",
                o.mean,
                o.peak,
                o.cores,
                o.cores,
                100.0 * o.fraction
            ),
            OversubscriptionKind::Machine => format!(
                "WARNING: oversubscribed (the machine): {:.2} runnable tasks on average on {} \
                 CPUs, {:.2} of them other programs'; more than {} in {:.0}% of {samples} \
                 samples; this run waited for CPUs that others held: its times are inflated \
                 (run on an idle machine)",
                o.mean,
                o.cores,
                o.others_mean,
                o.cores,
                100.0 * o.fraction
            ),
            OversubscriptionKind::Busy => {
                let c = &self.concurrency;
                let cores = c.cores?;
                match (c.peak, c.over_cores_ns) {
                    (Some(peak), Some(over)) => format!(
                        "WARNING: oversubscribed: up to {peak} busy threads on {cores} cores; \
                         more than {cores} busy for {} ({:.1}% of the runtime); {advice}",
                        super::text::duration(over),
                        percent(over, self.runtime_ns),
                    ),
                    _ => format!(
                        "WARNING: oversubscribed: {:.2} busy threads on average on {cores} \
                         cores; {advice}",
                        c.mean
                    ),
                }
            }
        })
    }
}

/// `part / whole` in percent (0 for an empty whole).
pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl Profile {
    /// The parallel summary of this profile: useful time per thread, load
    /// balance, communication and parallel efficiency for the whole run and
    /// per parallel region, and concurrency against the available cores.
    /// Regions and peak concurrency need a timeline. See [`ParallelSummary`].
    pub fn parallel_summary(&self) -> ParallelSummary {
        summarize(self)
    }
}

/// Whether a thread is the folded tree of exited threads.
fn is_folded(t: &ThreadProfile) -> bool {
    t.name.starts_with('(') && t.name.ends_with(" exited threads)")
}

/// One thread's timeline, prepared.
struct Timeline<'a> {
    spans: &'a [Span],
    /// Span indices by start, longest first at equal starts: a pre-order walk
    /// of the thread's nesting.
    order: Vec<u32>,
    /// The union of the spans: when the thread was inside a profiled scope.
    busy: IntervalSet,
    /// The outermost spans (start, site), by start.
    roots: Vec<(u64, SiteId)>,
}

impl<'a> Timeline<'a> {
    fn new(spans: &'a [Span]) -> Self {
        let mut order: Vec<u32> = (0..spans.len() as u32).collect();
        order.sort_unstable_by_key(|&i| {
            let s = &spans[i as usize];
            (s.start_ns, std::cmp::Reverse(s.end_ns()), i)
        });
        let busy = IntervalSet::union(spans.iter().map(|s| (s.start_ns, s.end_ns())).collect());
        let mut roots = Vec::new();
        let mut root_end = None;
        for &i in &order {
            let s = &spans[i as usize];
            if root_end.is_none_or(|e| s.start_ns >= e) {
                roots.push((s.start_ns, s.site));
                root_end = Some(s.end_ns());
            }
        }
        Timeline {
            spans,
            order,
            busy,
            roots,
        }
    }

    /// Whether an outermost span starting in `[a, b)` is a call of `site`.
    fn calls_in(&self, a: u64, b: u64, site: SiteId) -> bool {
        let from = self.roots.partition_point(|&(s, _)| s < a);
        self.roots[from..]
            .iter()
            .take_while(|&&(s, _)| s < b)
            .any(|&(_, x)| x == site)
    }
}

/// A call that forks and joins work on other threads.
struct Candidate {
    thread: u32,
    /// Position in the thread's `order`.
    pos: u32,
    start: u64,
    end: u64,
    /// The other threads whose busy time near the call lies inside it.
    workers: Vec<u32>,
}

/// Computes the [`ParallelSummary`] of a profile (the same as
/// [`Profile::parallel_summary`]).
pub fn summarize(profile: &Profile) -> ParallelSummary {
    let threads = &profile.threads;
    let busy: Vec<u64> = threads.iter().map(ThreadProfile::root_time_ns).collect();
    let counted = |i: usize| !is_folded(&threads[i]);
    let max_busy = (0..threads.len())
        .filter(|&i| counted(i))
        .map(|i| busy[i])
        .max()
        .unwrap_or(0);
    let has_timeline = threads.iter().any(|t| !t.timeline.is_empty());
    let (start_ns, extent, runtime_source) = if has_timeline {
        let start = threads
            .iter()
            .flat_map(|t| t.timeline.iter().map(|s| s.start_ns))
            .min()
            .unwrap_or(0);
        let end = threads
            .iter()
            .flat_map(|t| t.timeline.iter().map(Span::end_ns))
            .max()
            .unwrap_or(0);
        (start, end - start, RuntimeSource::Timeline)
    } else {
        (0, profile.meta.duration_ns, RuntimeSource::Duration)
    };
    let runtime_ns = extent.max(max_busy);
    let cores = (profile.meta.available_cores > 0).then_some(profile.meta.available_cores);
    let cpu_known = threads.iter().any(|t| t.cpu_ns.is_some());
    let curves: Vec<Option<CpuCurve>> = threads.iter().map(CpuCurve::of).collect();

    let timelines: Vec<Timeline<'_>> = threads.iter().map(|t| Timeline::new(&t.timeline)).collect();
    let regions_found = if has_timeline {
        find_regions(&timelines, &curves)
    } else {
        Vec::new()
    };

    // Useful time for concurrency: busy, less the bodies of one's own regions.
    let mut waits: Vec<Vec<(u64, u64)>> = vec![Vec::new(); threads.len()];
    for c in &regions_found {
        let tl = &timelines[c.thread as usize];
        let inner = descendants(tl, c);
        let own = IntervalSet::union(vec![(c.start, c.end)]);
        waits[c.thread as usize].extend(own.minus(&inner).iter());
    }
    let useful: Vec<IntervalSet> = timelines
        .iter()
        .zip(waits)
        .map(|(tl, w)| tl.busy.minus(&IntervalSet::union(w)))
        .collect();

    let summary_threads = threads
        .iter()
        .enumerate()
        .map(|(i, t)| ThreadBusy {
            id: t.id,
            name: t.name.clone(),
            pid: t.pid,
            busy_ns: busy[i],
            cpu_ns: t.cpu_ns,
            runqueue_ns: t.runqueue_ns,
            waiting_ns: match t.cpu_ns {
                // Profiled time neither on a CPU nor runnable (at least):
                // blocked.
                Some(cpu) => Some(busy[i].saturating_sub(cpu + t.runqueue_ns.unwrap_or(0))),
                None => has_timeline.then(|| timelines[i].busy.total() - useful[i].total()),
            },
            folded: is_folded(t),
        })
        .collect();

    let on_cpu_mean = cpu_known.then(|| {
        let total: u128 = threads
            .iter()
            .filter(|t| !is_folded(t))
            .filter_map(|t| t.cpu_ns)
            .map(u128::from)
            .sum();
        if runtime_ns == 0 {
            0.0
        } else {
            total as f64 / runtime_ns as f64
        }
    });
    let mut concurrency = if has_timeline {
        sweep(&useful, start_ns, runtime_ns, cores)
    } else {
        let total: u128 = busy.iter().map(|&b| u128::from(b)).sum();
        Concurrency {
            cores,
            mean: if runtime_ns == 0 {
                0.0
            } else {
                total as f64 / runtime_ns as f64
            },
            peak: None,
            peak_ns: None,
            over_cores_ns: None,
            from_timeline: false,
            on_cpu_mean: None,
        }
    };
    concurrency.on_cpu_mean = on_cpu_mean;

    // The run's window for the sampler's figures: the threads' lifetimes.
    let from = threads
        .iter()
        .filter_map(|t| t.started_ns)
        .min()
        .unwrap_or(0)
        .min(if has_timeline { start_ns } else { u64::MAX });
    let to = if threads.iter().all(|t| t.ended_ns.is_some()) && !threads.is_empty() {
        threads
            .iter()
            .filter_map(|t| t.ended_ns)
            .max()
            .unwrap_or(u64::MAX)
    } else {
        u64::MAX
    };
    let sched = sched_summary(profile, from, to, cores);
    let oversubscriptions = match (&sched, on_cpu_mean, cores) {
        (Some(s), _, _) => s.oversubscriptions(cores),
        // CPU time known but no samples: only the mean is known.
        (None, Some(mean), Some(c)) if mean > f64::from(c) => vec![Oversubscription {
            kind: OversubscriptionKind::Process,
            cores: c,
            fraction: 1.0,
            mean,
            peak: 0,
            others_mean: 0.0,
        }],
        (None, Some(_), _) => Vec::new(),
        (None, None, _) => legacy_busy_oversubscription(&concurrency, runtime_ns)
            .into_iter()
            .collect(),
    };

    let (regions, regions_omitted, whole) =
        group_regions(profile, &timelines, &useful, &curves, &regions_found);

    ParallelSummary {
        runtime_ns,
        runtime_source,
        start_ns,
        threads: summary_threads,
        efficiency: whole.map(|(e, _)| e),
        efficiency_calls: whole.map_or(0, |(_, n)| n),
        cpu_known,
        concurrency,
        oversubscribed: !oversubscriptions.is_empty(),
        oversubscriptions,
        sched,
        regions,
        regions_omitted,
        timeline_dropped: threads.iter().map(|t| t.timeline_dropped).sum(),
    }
}

/// Without operating-system data: more threads busy (inside profiled scopes)
/// than cores, sustained on a timeline or on average without one.
fn legacy_busy_oversubscription(c: &Concurrency, runtime_ns: u64) -> Option<Oversubscription> {
    let cores = c.cores?;
    let (over, fraction) = match c.over_cores_ns {
        Some(over) => {
            let f = if runtime_ns == 0 {
                0.0
            } else {
                over as f64 / runtime_ns as f64
            };
            (over > 0 && f >= OVERSUBSCRIPTION_MIN_FRACTION, f)
        }
        None => (c.mean > f64::from(cores), 1.0),
    };
    over.then_some(Oversubscription {
        kind: OversubscriptionKind::Busy,
        cores,
        fraction,
        mean: c.mean,
        peak: c.peak.unwrap_or(0),
        others_mean: 0.0,
    })
}

/// The union of the scopes nested in a candidate's call, clipped to it.
fn descendants(tl: &Timeline<'_>, c: &Candidate) -> IntervalSet {
    let mut inner = Vec::new();
    for &i in &tl.order[c.pos as usize + 1..] {
        let s = &tl.spans[i as usize];
        if s.start_ns >= c.end {
            break;
        }
        inner.push((s.start_ns.max(c.start), s.end_ns().min(c.end)));
    }
    IntervalSet::union(inner)
}

/// The calls that are parallel regions (see [`ParallelSummary`]).
fn find_regions(timelines: &[Timeline<'_>], curves: &[Option<CpuCurve>]) -> Vec<Candidate> {
    let active: Vec<u32> = (0..timelines.len() as u32)
        .filter(|&u| !timelines[u as usize].busy.is_empty())
        .collect();
    let mut candidates = Vec::new();
    for &t in &active {
        let tl = &timelines[t as usize];
        // Spans are visited by start: one search cursor per other thread.
        let mut hints = vec![0usize; timelines.len()];
        let mut workers: Vec<u32> = Vec::new();
        for (pos, &i) in tl.order.iter().enumerate() {
            let s = &tl.spans[i as usize];
            let (start, end) = (s.start_ns, s.end_ns());
            if end <= start {
                continue;
            }
            workers.clear();
            for &u in &active {
                if u != t
                    && matches!(
                        timelines[u as usize]
                            .busy
                            .within_from(&mut hints[u as usize], start, end),
                        Within::Inside(_)
                    )
                {
                    workers.push(u);
                }
            }
            // A call enclosing a call of the same function on another thread
            // is that call's peer (two workers), not its fork.
            let peer = workers
                .iter()
                .any(|&u| timelines[u as usize].calls_in(start, end, s.site));
            if !workers.is_empty() && !peer && waited(curves[t as usize].as_ref(), start, end) {
                candidates.push(Candidate {
                    thread: t,
                    pos: pos as u32,
                    start,
                    end,
                    workers: workers.clone(),
                });
            }
        }
    }
    // A call inside a candidate of another thread is part of that one.
    candidates.sort_unstable_by_key(|c| (c.start, std::cmp::Reverse(c.end), c.thread, c.pos));
    // The latest end so far, and the latest of the other threads.
    let mut best: Option<(u64, u32)> = None;
    let mut second: Option<u64> = None;
    let mut keep = Vec::with_capacity(candidates.len());
    for c in candidates {
        let other_end = match best {
            Some((end, thread)) if thread != c.thread => Some(end),
            _ => second,
        };
        let inside_other = other_end.is_some_and(|e| e >= c.end);
        match best {
            Some((end, thread)) if thread == c.thread => best = Some((end.max(c.end), thread)),
            Some((end, _)) if c.end > end => {
                second = Some(end);
                best = Some((c.end, c.thread));
            }
            Some(_) => second = Some(second.map_or(c.end, |s| s.max(c.end))),
            None => best = Some((c.end, c.thread)),
        }
        if !inside_other {
            keep.push(c);
        }
    }
    keep
}

/// Whether a thread waited during its call `[start, end)`: blocked (not on a
/// CPU and not runnable) for at least [`WAITING_BLOCKED_FRACTION`] of the
/// call, as far as the samples around the call prove it (blocked time in the
/// sample window, less the part of the window outside the call). A short
/// call in a stretch where the thread mostly computed is so judged no wait:
/// better a region missed than a false one. Without samples covering the
/// call, or with samples too sparse for it (no sampler ran), the answer is
/// yes: timing alone decides, as for older profiles.
fn waited(curve: Option<&CpuCurve>, start: u64, end: u64) -> bool {
    let call = end - start;
    match curve.and_then(|c| c.blocked_around(start, end)) {
        // Samples too sparse for the call (no sampler ran) say nothing.
        Some((_, window)) if window > (4 * call).max(MAX_SHORT_WINDOW_NS) => true,
        // What the samples prove: even if the thread was blocked all the
        // time around the call, this much blocking was inside it.
        Some((blocked, window)) => {
            let inside = blocked.saturating_sub(window - call);
            inside as f64 >= WAITING_BLOCKED_FRACTION * call as f64
        }
        None => true,
    }
}

/// The widest sample window that judges a short call: beyond it (and 4 times
/// the call) the samples are too sparse to say whether the caller waited.
const MAX_SHORT_WINDOW_NS: u64 = 100_000_000;

/// Counts busy threads over time: mean, peak, and time above the cores.
fn sweep(useful: &[IntervalSet], start: u64, runtime: u64, cores: Option<u32>) -> Concurrency {
    let mut events: Vec<(u64, i32)> = Vec::with_capacity(useful.iter().map(|u| 2 * u.len()).sum());
    for set in useful {
        for (s, e) in set.iter() {
            events.push((s, 1));
            events.push((e, -1));
        }
    }
    events.sort_unstable();
    let mut count: i64 = 0;
    let mut prev = start;
    let (mut area, mut over) = (0u128, 0u64);
    let mut at_level: Vec<u64> = Vec::new();
    for (t, delta) in events {
        let dt = t.saturating_sub(prev);
        if dt > 0 && count > 0 {
            let level = count as usize;
            area += u128::from(dt) * count as u128;
            if at_level.len() <= level {
                at_level.resize(level + 1, 0);
            }
            at_level[level] += dt;
            if cores.is_some_and(|c| count > i64::from(c)) {
                over += dt;
            }
        }
        prev = prev.max(t);
        count += i64::from(delta);
    }
    let peak = at_level.iter().rposition(|&ns| ns > 0).unwrap_or(0);
    Concurrency {
        cores,
        mean: if runtime == 0 {
            0.0
        } else {
            area as f64 / runtime as f64
        },
        peak: Some(peak as u32),
        peak_ns: Some(at_level.get(peak).copied().unwrap_or(0)),
        over_cores_ns: cores.map(|_| over),
        from_timeline: true,
        on_cpu_mean: None,
    }
}

/// Per-call metrics, grouped by function, longest total first.
fn group_regions(
    profile: &Profile,
    timelines: &[Timeline<'_>],
    useful: &[IntervalSet],
    curves: &[Option<CpuCurve>],
    found: &[Candidate],
) -> (Vec<Region>, usize, Option<(Efficiency, u64)>) {
    struct Acc {
        calls: u64,
        total: u64,
        sum_mean: f64,
        sum_max: u64,
        workers: u32,
        longest: Vec<RegionCall>,
    }
    // A thread's useful time in a call: its useful (timeline) time inside
    // the call, at most its time on a CPU or runnable (not blocked) over the
    // samples around the call.
    let cap = |u: usize, a: u64, b: u64, t: u64| match curves[u]
        .as_ref()
        .and_then(|c| c.active_around(a, b))
    {
        Some(active) => t.min(active),
        None => t,
    };
    let useful_in = |u: usize, a: u64, b: u64| cap(u, a, b, useful[u].measure_in(a, b));
    // The calling thread's: only its work alongside its workers' (serial
    // work before the fork or after the join is no part of the balance).
    let caller_in = |c: &Candidate| {
        let own = useful[c.thread as usize].clip(c.start, c.end);
        if own.is_empty() {
            return 0;
        }
        let others = IntervalSet::union(
            c.workers
                .iter()
                .flat_map(|&u| {
                    timelines[u as usize]
                        .busy
                        .clip(c.start, c.end)
                        .iter()
                        .collect::<Vec<_>>()
                })
                .collect(),
        );
        cap(
            c.thread as usize,
            c.start,
            c.end,
            own.intersect(&others).total(),
        )
    };
    let mut by_site: HashMap<SiteId, Acc> = HashMap::new();
    // The whole run: the outermost calls (per thread) of every region.
    let (mut w_calls, mut w_mean, mut w_max, mut w_dur, mut w_workers) = (0u64, 0.0, 0u64, 0u64, 0);
    let mut outer_end: HashMap<u32, u64> = HashMap::new();
    let mut order: Vec<&Candidate> = found.iter().collect();
    order.sort_by_key(|c| (c.start, std::cmp::Reverse(c.end), c.thread));
    for c in order {
        let tl = &timelines[c.thread as usize];
        let site = tl.spans[tl.order[c.pos as usize] as usize].site;
        let mut busy = vec![RegionBusy {
            thread: c.thread as usize,
            busy_ns: caller_in(c),
        }];
        busy.extend(c.workers.iter().map(|&u| RegionBusy {
            thread: u as usize,
            busy_ns: useful_in(u as usize, c.start, c.end),
        }));
        let duration = c.end - c.start;
        let Some(eff) = Efficiency::from_busy(busy.iter().map(|b| b.busy_ns), duration) else {
            continue;
        };
        let end = outer_end.entry(c.thread).or_insert(0);
        if c.start >= *end {
            *end = c.end;
            w_calls += 1;
            w_mean += eff.mean_busy_ns;
            w_max = w_max.saturating_add(eff.max_busy_ns);
            w_dur = w_dur.saturating_add(duration);
            w_workers = w_workers.max(eff.workers);
        }
        let acc = by_site.entry(site).or_insert(Acc {
            calls: 0,
            total: 0,
            sum_mean: 0.0,
            sum_max: 0,
            workers: 0,
            longest: Vec::new(),
        });
        acc.calls += 1;
        acc.total = acc.total.saturating_add(duration);
        acc.sum_mean += eff.mean_busy_ns;
        acc.sum_max = acc.sum_max.saturating_add(eff.max_busy_ns);
        acc.workers = acc.workers.max(eff.workers);
        acc.longest.push(RegionCall {
            thread: c.thread as usize,
            start_ns: c.start,
            duration_ns: duration,
            efficiency: eff,
            busy,
        });
        if acc.longest.len() >= 4 * MAX_REGION_CALLS {
            longest_first(&mut acc.longest);
        }
    }
    let mut regions: Vec<Region> = by_site
        .into_iter()
        .map(|(site, mut acc)| {
            longest_first(&mut acc.longest);
            Region {
                site,
                name: profile
                    .sites
                    .get(site as usize)
                    .map_or_else(|| format!("<site {site}>"), |s| s.name.clone()),
                calls: acc.calls,
                total_ns: acc.total,
                efficiency: Efficiency::from_sums(
                    acc.workers,
                    acc.sum_mean,
                    acc.sum_max,
                    acc.total,
                ),
                longest: acc.longest,
            }
        })
        .collect();
    regions.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.site.cmp(&b.site)));
    let omitted = regions.len().saturating_sub(MAX_REGIONS);
    regions.truncate(MAX_REGIONS);
    let whole = (w_calls > 0 && w_max > 0).then(|| {
        (
            Efficiency::from_sums(w_workers, w_mean, w_max, w_dur),
            w_calls,
        )
    });
    (regions, omitted, whole)
}

/// Sorts calls longest first (then by start) and keeps [`MAX_REGION_CALLS`].
fn longest_first(calls: &mut Vec<RegionCall>) {
    calls.sort_by(|a, b| {
        b.duration_ns
            .cmp(&a.duration_ns)
            .then(a.start_ns.cmp(&b.start_ns))
            .then(a.thread.cmp(&b.thread))
    });
    calls.truncate(MAX_REGION_CALLS);
}
