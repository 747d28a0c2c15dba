//! The parallel summary: per-thread useful time, the POP efficiency metrics
//! for the whole run and for each parallel region, and the concurrency of
//! busy threads against the available cores.

use std::collections::HashMap;

use super::cpu::{CpuCurve, WAITING_BLOCKED_FRACTION, sched_summary};
use super::intervals::{IntervalSet, Within};
use crate::profile::{
    Concurrency, Efficiency, Oversubscription, OversubscriptionKind, ParallelSummary, Profile,
    Region, RegionBusy, RegionCall, RuntimeSource, SiteId, Span, ThreadBusy, ThreadProfile,
};

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

impl ParallelSummary {
    /// Whether more than one thread did work.
    pub fn is_parallel(&self) -> bool {
        self.threads.iter().filter(|t| t.busy_ns > 0).count() > 1
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

    /// The parallel summary (the stored one, or computed now) when it has
    /// something to say: more than one thread did work, or a timeline exists.
    /// A merged MPI profile (threads of several ranks, their own
    /// processes) has none: the summary is of one process's threads, and
    /// each rank's own reports have it.
    pub fn parallel_section(&self) -> Option<ParallelSummary> {
        if self.rank_count() > 1 {
            return None;
        }
        // Without a stored summary, what decides is known before the
        // summary is made: at most one thread with profiled time and no
        // timeline says nothing (and the summary of a large profile is not
        // free).
        if self.parallel.is_none()
            && self.threads.iter().all(|t| t.timeline.is_empty())
            && self.threads.iter().filter(|t| t.root_time_ns() > 0).count() <= 1
        {
            return None;
        }
        let summary = self
            .parallel
            .clone()
            .unwrap_or_else(|| self.parallel_summary());
        (summary.is_parallel() || summary.concurrency.from_timeline).then_some(summary)
    }
}

impl Profile {
    /// How many MPI ranks the threads come from (0 outside MPI).
    pub fn rank_count(&self) -> usize {
        let mut ranks: Vec<u32> = self.threads.iter().filter_map(|t| t.rank).collect();
        ranks.sort_unstable();
        ranks.dedup();
        ranks.len()
    }
}

/// Whether a thread is the folded tree of exited threads.
fn is_folded(t: &ThreadProfile) -> bool {
    t.folded_threads > 0
}

/// One thread's timeline, prepared.
struct Timeline<'a> {
    spans: &'a [Span],
    /// Span indices in the pre-order of the thread's nesting (the data
    /// model's rule, [`nest`](crate::profile::nest)).
    order: Vec<u32>,
    /// The union of the spans: when the thread was inside a profiled scope.
    busy: IntervalSet,
    /// The outermost spans (start, site), by start.
    roots: Vec<(u64, SiteId)>,
}

impl<'a> Timeline<'a> {
    fn new(thread: &'a ThreadProfile) -> Self {
        let spans = &thread.timeline;
        let placed = crate::profile::nest(thread);
        let order = placed.iter().map(|p| p.index).collect();
        let busy = IntervalSet::union(spans.iter().map(|s| (s.start_ns, s.end_ns())).collect());
        let roots = placed
            .iter()
            .filter(|p| p.depth == 0)
            .map(|p| (p.start, p.site))
            .collect();
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

/// Useful time per thread, for concurrency: busy (inside a profiled scope),
/// less the bodies of the thread's own parallel regions (where it waits for
/// its workers).
fn useful_sets(timelines: &[Timeline<'_>], regions_found: &[Candidate]) -> Vec<IntervalSet> {
    let mut waits: Vec<Vec<(u64, u64)>> = vec![Vec::new(); timelines.len()];
    for c in regions_found {
        let tl = &timelines[c.thread as usize];
        let inner = descendants(tl, c);
        let own = IntervalSet::union(vec![(c.start, c.end)]);
        waits[c.thread as usize].extend(own.minus(&inner).iter());
    }
    timelines
        .iter()
        .zip(waits)
        .map(|(tl, w)| tl.busy.minus(&IntervalSet::union(w)))
        .collect()
}

/// Per thread, when it did useful work (see [`useful_sets`]), from the
/// timelines (empty sets for a thread without one); and per thread, when
/// another thread's parallel region call ran (the thread may be one of its
/// workers).
pub(crate) fn useful_time(profile: &Profile) -> (Vec<IntervalSet>, Vec<IntervalSet>) {
    let threads = &profile.threads;
    let curves: Vec<Option<CpuCurve>> = threads.iter().map(CpuCurve::of).collect();
    let timelines: Vec<Timeline<'_>> = threads.iter().map(Timeline::new).collect();
    let regions_found = find_regions(&timelines, &curves);
    let others = (0..threads.len())
        .map(|i| {
            IntervalSet::union(
                regions_found
                    .iter()
                    .filter(|c| c.thread as usize != i)
                    .map(|c| (c.start, c.end))
                    .collect(),
            )
        })
        .collect();
    (useful_sets(&timelines, &regions_found), others)
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

    let timelines: Vec<Timeline<'_>> = threads.iter().map(Timeline::new).collect();
    let regions_found = if has_timeline {
        find_regions(&timelines, &curves)
    } else {
        Vec::new()
    };

    let useful = useful_sets(&timelines, &regions_found);

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
    // Every active thread's busy intervals, by start. A thread can be a
    // worker of a call only if one of its busy intervals lies inside the
    // call, so each call looks only at the intervals that start inside it:
    // for most calls (short ones, inside one interval of each other
    // thread) there is none, and the cost does not grow with the number of
    // threads.
    let mut intervals: Vec<(u64, u64, u32)> = active
        .iter()
        .flat_map(|&u| {
            timelines[u as usize]
                .busy
                .iter()
                .map(move |(s, e)| (s, e, u))
        })
        .collect();
    intervals.sort_unstable();
    let mut candidates = Vec::new();
    for &t in &active {
        let tl = &timelines[t as usize];
        // Spans are visited by start, so the first interval starting at or
        // after a span's start only moves forward.
        let mut first = 0usize;
        let mut workers: Vec<u32> = Vec::new();
        for (pos, &i) in tl.order.iter().enumerate() {
            let s = &tl.spans[i as usize];
            let (start, end) = (s.start_ns, s.end_ns());
            if end <= start {
                continue;
            }
            while first < intervals.len() && intervals[first].0 < start {
                first += 1;
            }
            workers.clear();
            let inside = intervals[first..].iter().take_while(|&&(s, _, _)| s < end);
            let mut many = false;
            for (k, &(_, e, u)) in inside.enumerate() {
                if k > active.len() {
                    // More intervals than threads: ask each thread instead.
                    many = true;
                    break;
                }
                if u != t && e <= end {
                    workers.push(u);
                }
            }
            if many {
                workers.clear();
                workers.extend(active.iter().copied().filter(|&u| u != t));
            } else {
                workers.sort_unstable();
                workers.dedup();
            }
            // Inside the call, and busy across neither of its ends.
            workers.retain(|&u| {
                matches!(
                    timelines[u as usize].busy.within(start, end),
                    Within::Inside(_)
                )
            });
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
