//! "Where the time goes": what bounds a run, ranked by what fixing it would
//! save, each with its evidence and an Amdahl estimate, and the functions
//! that hold the critical thread.
//!
//! Everything here is measured against the run's wall time (the parallel
//! summary's runtime), never against CPU time summed over threads: a
//! function run on eight threads at once for one second holds the run for
//! one second, not eight.
//!
//! # Findings
//!
//! - **Serial phase** (needs a timeline and more than one core): the
//!   outermost calls during which their thread was the only one doing
//!   useful work (busy, not waiting in its own parallel region) for at least
//!   [`SERIAL_CALL_FRACTION`] of the call, outside other threads' parallel
//!   regions (a worker left alone inside a region is that region's load
//!   imbalance, reported as such). Spread over the `c` available
//!   cores it would take `1/c` of its time: the run would take
//!   `time x (1 - 1/c)` less.
//! - **Load imbalance**: a parallel region whose load balance is under
//!   [`ACCEPTABLE_EFFICIENCY`]. Balanced, each call would end when the
//!   mean worker does: the run would take `max - mean` useful time less,
//!   summed over the calls.
//! - **Oversubscription**: more runnable threads than cores; what it costs
//!   is not known from the profile (no saving is given).
//!
//! Findings below [`MIN_FINDING_SHARE`] of the run are left out: the figures
//! must never report a problem that is not there.
//!
//! # Functions
//!
//! The critical thread is the one busy longest (the root time of its call
//! tree: with every thread's work joined back, the thread that waited for
//! the others). Its functions are ranked by their inclusive time on it
//! (cumtime, as pstats counts it under recursion), each with its share of
//! the run and what halving it would save: half its share (Amdahl's law
//! with a speed-up of two on that part).

use super::intervals::IntervalSet;
use super::parallel::{ACCEPTABLE_EFFICIENCY, useful_time};
use crate::profile::{ParallelSummary, Profile, SiteId};

/// A call counts as a serial phase when its thread alone did useful work for
/// at least this fraction of it.
pub const SERIAL_CALL_FRACTION: f64 = 0.9;

/// Findings that would save less than this fraction of the run (or, without
/// a saving, that take less of it) are left out.
pub const MIN_FINDING_SHARE: f64 = 0.02;

/// The most functions kept in [`Bounds::functions`].
pub const MAX_BOUND_FUNCTIONS: usize = 10;

/// What bounds a run (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Bounds {
    /// The run's wall time, in nanoseconds: the parallel summary's runtime.
    pub runtime_ns: u64,
    /// The cores the process could use, when known.
    pub cores: Option<u32>,
    /// The critical thread (index into [`Profile::threads`]), if any thread
    /// did work.
    pub critical_thread: Option<usize>,
    /// The critical thread's busy time, in nanoseconds.
    pub critical_busy_ns: u64,
    /// The findings, the largest saving first (those without a saving
    /// last).
    pub findings: Vec<Finding>,
    /// The critical thread's functions, the longest first (at most
    /// [`MAX_BOUND_FUNCTIONS`]).
    pub functions: Vec<BoundFunction>,
}

/// What kind of problem a [`Finding`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// One thread worked while the other cores had nothing to do.
    SerialPhase,
    /// A parallel region's workers had unequal work (load balance under
    /// 0.8).
    LoadImbalance,
    /// More runnable threads than cores.
    Oversubscription,
}

impl FindingKind {
    /// A short name: `serial phase`, `load imbalance`, `oversubscription`.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::SerialPhase => "serial phase",
            FindingKind::LoadImbalance => "load imbalance",
            FindingKind::Oversubscription => "oversubscription",
        }
    }
}

/// One thing that bounds the run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Finding {
    /// The kind.
    pub kind: FindingKind,
    /// The function it is in (none for oversubscription).
    pub site: Option<SiteId>,
    /// The function's name, or what the finding is about.
    pub name: String,
    /// The run's time it concerns, in nanoseconds (the serial calls' serial
    /// time, the region's calls' duration).
    pub time_ns: u64,
    /// `time_ns` as a fraction of the run.
    pub share: f64,
    /// The fraction of the run that fixing it would save (Amdahl's law, see
    /// the module docs); `None` when unknown.
    pub saving: Option<f64>,
    /// What shows it, in words and figures.
    pub evidence: String,
    /// The fix the saving assumes.
    pub fix: String,
}

/// A function on the critical thread.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BoundFunction {
    /// The function.
    pub site: SiteId,
    /// Its name.
    pub name: String,
    /// Its calls on the critical thread.
    pub calls: u64,
    /// Its inclusive time on the critical thread (cumtime), in nanoseconds.
    pub time_ns: u64,
    /// `time_ns` as a fraction of the run.
    pub share: f64,
    /// The fraction of the run saved if it ran twice as fast: `share / 2`.
    pub twice_as_fast: f64,
}

impl Profile {
    /// What bounds this run (see [`Bounds`] and the
    /// [module docs](crate::analysis::bounds)).
    pub fn bounds(&self) -> Bounds {
        let summary = self
            .parallel
            .clone()
            .unwrap_or_else(|| self.parallel_summary());
        bounds_with(self, &summary)
    }
}

/// [`Profile::bounds`] with the parallel summary given.
pub fn bounds_with(profile: &Profile, summary: &ParallelSummary) -> Bounds {
    bounds_from(profile, summary, None)
}

/// [`bounds_with`], reusing `merged`, the statistics of the whole profile,
/// where they are the critical thread's (a profile of one thread), so that
/// a report that has them does not make them twice.
pub(crate) fn bounds_from(
    profile: &Profile,
    summary: &ParallelSummary,
    merged: Option<&crate::stats::Stats<'_>>,
) -> Bounds {
    let runtime_ns = summary.runtime_ns.max(1);
    let cores = (profile.meta.available_cores > 0).then_some(profile.meta.available_cores);
    let share = |ns: u64| ns as f64 / runtime_ns as f64;
    let critical_thread = profile
        .threads
        .iter()
        .enumerate()
        .filter(|(_, t)| t.folded_threads == 0)
        .map(|(i, t)| (t.root_time_ns(), i))
        .filter(|&(busy, _)| busy > 0)
        .max_by_key(|&(busy, i)| (busy, std::cmp::Reverse(i)))
        .map(|(_, i)| i);
    let critical_busy_ns = critical_thread.map_or(0, |i| profile.threads[i].root_time_ns());

    let mut findings = Vec::new();
    // One process's threads only: the ranks of a merged MPI profile run in
    // processes of their own.
    let one_process = profile.rank_count() <= 1;
    if let Some(c) = cores.filter(|&c| c > 1 && one_process) {
        findings.extend(serial_phases(profile, c, runtime_ns));
    }
    if one_process {
        for r in &summary.regions {
            let e = &r.efficiency;
            if e.load_balance >= ACCEPTABLE_EFFICIENCY {
                continue;
            }
            let lost = (e.max_busy_ns as f64 - e.mean_busy_ns).max(0.0);
            findings.push(Finding {
                kind: FindingKind::LoadImbalance,
                site: Some(r.site),
                name: r.name.clone(),
                time_ns: r.total_ns,
                share: share(r.total_ns),
                saving: Some(lost / runtime_ns as f64),
                evidence: format!(
                    "load balance {:.2} over {} workers in {} call(s) taking {}: the busiest \
                     worker did {} of useful work, the mean worker {}",
                    e.load_balance,
                    e.workers,
                    r.calls,
                    super::text::duration(r.total_ns),
                    super::text::duration(e.max_busy_ns),
                    super::text::duration(e.mean_busy_ns.round() as u64),
                ),
                fix: "share the work evenly (smaller chunks, dynamic scheduling)".into(),
            });
        }
        for o in &summary.oversubscriptions {
            if o.fraction < MIN_FINDING_SHARE {
                continue;
            }
            if let Some(line) = summary.warning_line(o) {
                findings.push(Finding {
                    kind: FindingKind::Oversubscription,
                    site: None,
                    name: "oversubscription".into(),
                    time_ns: (o.fraction * runtime_ns as f64).round() as u64,
                    share: o.fraction,
                    saving: None,
                    evidence: line.trim_start_matches("WARNING: ").to_owned(),
                    fix: "no more runnable threads than cores".into(),
                });
            }
        }
    }
    drop_enclosing_imbalances(&mut findings, summary);
    findings.retain(|f| f.saving.unwrap_or(f.share) >= MIN_FINDING_SHARE);
    findings.sort_by(|a, b| {
        let key = |f: &Finding| f.saving.unwrap_or(-1.0);
        key(b)
            .total_cmp(&key(a))
            .then(b.time_ns.cmp(&a.time_ns))
            .then(a.name.cmp(&b.name))
    });

    let functions = critical_thread.map_or_else(Vec::new, |i| {
        let own;
        let stats = match merged {
            Some(s) if profile.threads.len() == 1 && s.thread().is_none() => s,
            _ => {
                own = profile.thread_stats(i);
                &own
            }
        };
        let mut rows: Vec<BoundFunction> = stats
            .functions()
            .iter()
            .filter(|f| f.figures.cumtime_ns > 0)
            .map(|f| {
                let s = share(f.figures.cumtime_ns);
                BoundFunction {
                    site: f.site,
                    name: site_name(profile, f.site),
                    calls: f.figures.ncalls,
                    time_ns: f.figures.cumtime_ns,
                    share: s,
                    twice_as_fast: s / 2.0,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.time_ns.cmp(&a.time_ns).then(a.site.cmp(&b.site)));
        rows.truncate(MAX_BOUND_FUNCTIONS);
        rows
    });

    Bounds {
        runtime_ns,
        cores,
        critical_thread,
        critical_busy_ns,
        findings,
        functions,
    }
}

/// Leaves out a load imbalance whose region encloses another region's call
/// that accounts for most of its loss (an outer function that calls the
/// imbalanced region shows the same workers' imbalance): the innermost
/// region is the one to fix.
fn drop_enclosing_imbalances(findings: &mut Vec<Finding>, summary: &ParallelSummary) {
    let region = |f: &Finding| {
        summary
            .regions
            .iter()
            .find(|r| Some(r.site) == f.site && r.name == f.name)
    };
    let imbalances: Vec<(usize, &crate::profile::Region, f64)> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FindingKind::LoadImbalance)
        .filter_map(|(i, f)| Some((i, region(f)?, f.saving.unwrap_or(0.0))))
        .collect();
    let encloses = |a: &crate::profile::Region, b: &crate::profile::Region| {
        a.longest.iter().any(|x| {
            b.longest.iter().any(|y| {
                x.thread == y.thread
                    && x.start_ns <= y.start_ns
                    && y.start_ns + y.duration_ns <= x.start_ns + x.duration_ns
                    && (x.start_ns, x.duration_ns) != (y.start_ns, y.duration_ns)
            })
        })
    };
    let mut drop: Vec<usize> = imbalances
        .iter()
        .filter(|(_, a, lost_a)| {
            imbalances
                .iter()
                .any(|(_, b, lost_b)| a.site != b.site && encloses(a, b) && *lost_b >= 0.8 * lost_a)
        })
        .map(|&(i, _, _)| i)
        .collect();
    drop.sort_unstable();
    for i in drop.into_iter().rev() {
        findings.remove(i);
    }
}

/// A site's name (an unknown one by its number).
fn site_name(profile: &Profile, site: SiteId) -> String {
    profile
        .site(site)
        .map_or_else(|| format!("(unknown site {site})"), |s| s.name.clone())
}

/// The serial phases (see the module docs), one finding per function.
fn serial_phases(profile: &Profile, cores: u32, runtime_ns: u64) -> Vec<Finding> {
    let (useful, others_regions) = useful_time(profile);
    // A worker left alone inside another thread's parallel region is that
    // region's load imbalance, reported as such.
    let alone: Vec<IntervalSet> = alone_sets(&useful)
        .iter()
        .zip(&others_regions)
        .map(|(a, r)| a.minus(r))
        .collect();
    // Per site: serial time, calls, and the threads they ran on.
    let mut by_site: Vec<(SiteId, u64, u64, Vec<usize>)> = Vec::new();
    for (i, t) in profile.threads.iter().enumerate() {
        let set = &alone[i];
        if set.is_empty() {
            continue;
        }
        let mut chosen_depth: Option<u32> = None;
        for p in crate::profile::nest(t) {
            if chosen_depth.is_some_and(|d| p.depth > d) {
                continue;
            }
            chosen_depth = None;
            let len = p.end - p.start;
            if len == 0 {
                continue;
            }
            let serial = set.measure_in(p.start, p.end);
            if serial as f64 >= SERIAL_CALL_FRACTION * len as f64 {
                chosen_depth = Some(p.depth);
                match by_site.iter_mut().find(|e| e.0 == p.site) {
                    Some(e) => {
                        e.1 += serial;
                        e.2 += 1;
                        if !e.3.contains(&i) {
                            e.3.push(i);
                        }
                    }
                    None => by_site.push((p.site, serial, 1, vec![i])),
                }
            }
        }
    }
    by_site
        .into_iter()
        .map(|(site, serial, calls, threads)| {
            let share = serial as f64 / runtime_ns as f64;
            let names: Vec<&str> = threads
                .iter()
                .map(|&i| profile.threads[i].name.as_str())
                .collect();
            Finding {
                kind: FindingKind::SerialPhase,
                site: Some(site),
                name: site_name(profile, site),
                time_ns: serial,
                share,
                saving: Some(share * (1.0 - 1.0 / f64::from(cores))),
                evidence: format!(
                    "1 of {cores} cores busy for {} ({:.1}% of the run) in {calls} call(s) on \
                     thread {}: no other thread did useful work meanwhile",
                    super::text::duration(serial),
                    100.0 * share,
                    names.join(", "),
                ),
                fix: format!("run it in parallel on the {cores} cores"),
            }
        })
        .collect()
}

/// Per thread, when it was the only thread doing useful work.
fn alone_sets(useful: &[IntervalSet]) -> Vec<IntervalSet> {
    let mut events: Vec<(u64, i64, usize)> = Vec::new();
    for (i, set) in useful.iter().enumerate() {
        for (s, e) in set.iter() {
            events.push((s, 1, i));
            events.push((e, -1, i));
        }
    }
    // Ends before starts at the same instant.
    events.sort_unstable_by_key(|&(t, d, i)| (t, d, i));
    let mut out: Vec<Vec<(u64, u64)>> = vec![Vec::new(); useful.len()];
    let (mut count, mut index_sum) = (0i64, 0i64);
    let mut prev = 0u64;
    for (t, d, i) in events {
        if count == 1 && t > prev {
            out[index_sum as usize].push((prev, t));
        }
        count += d;
        index_sum += d * i as i64;
        prev = t;
    }
    out.into_iter().map(IntervalSet::union).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, SiteInfo, Span, ThreadProfile};

    fn sites() -> Vec<SiteInfo> {
        ["main", "serial", "region", "work"]
            .iter()
            .map(|n| SiteInfo::new(*n, "app", "app.rs", 1))
            .collect()
    }

    /// main: serial for 200, then a region of 800 where two workers work
    /// (`work_a`, `work_b` ns).
    fn run(work_a: u64, work_b: u64) -> Profile {
        let meta = Metadata {
            duration_ns: 1_000,
            available_cores: 2,
            ..Metadata::default()
        };
        let main = ThreadProfile::new(
            1,
            "main",
            1,
            vec![
                Node::new(0, NO_PARENT, 1, 1_000),
                Node::new(1, 0, 1, 200),
                Node::new(2, 0, 1, 800),
            ],
        )
        .with_timeline(
            vec![
                Span::new(0, 0, 1_000),
                Span::new(1, 0, 200),
                Span::new(2, 200, 800),
            ],
            0,
        );
        let worker = |id, busy| {
            ThreadProfile::new(
                id,
                format!("w{id}"),
                1,
                vec![Node::new(3, NO_PARENT, 1, busy)],
            )
            .with_timeline(vec![Span::new(3, 210, busy)], 0)
        };
        Profile::new(
            meta,
            sites(),
            vec![main, worker(2, work_a), worker(3, work_b)],
        )
    }

    #[test]
    fn a_serial_part_is_named_with_its_saving() {
        let b = run(780, 780).bounds();
        assert_eq!(b.critical_thread, Some(0));
        let f = &b.findings[0];
        assert_eq!(f.kind, FindingKind::SerialPhase);
        assert_eq!(f.name, "serial");
        assert_eq!(f.time_ns, 200);
        assert!((f.saving.unwrap() - 0.1).abs() < 1e-9, "{f:?}");
        assert!(
            b.findings
                .iter()
                .all(|f| f.kind != FindingKind::LoadImbalance)
        );
        assert_eq!(b.functions[0].name, "main");
        assert_eq!(b.functions[1].name, "region");
        assert!((b.functions[1].twice_as_fast - 0.4).abs() < 1e-9);
    }

    #[test]
    fn an_imbalanced_region_comes_first_when_it_costs_more() {
        let b = run(780, 100).bounds();
        let f = &b.findings[0];
        assert_eq!(f.kind, FindingKind::LoadImbalance, "{:?}", b.findings);
        assert_eq!(f.name, "region");
        // max 780, mean 440: 340 of 1000 ns.
        assert!((f.saving.unwrap() - 0.34).abs() < 1e-9, "{f:?}");
        assert_eq!(b.findings[1].kind, FindingKind::SerialPhase);
    }

    #[test]
    fn one_core_has_no_serial_phase() {
        let mut p = run(780, 780);
        p.meta.available_cores = 1;
        let b = p.bounds();
        // Two workers on one core: oversubscribed, and nothing else.
        assert!(
            b.findings
                .iter()
                .all(|f| f.kind == FindingKind::Oversubscription),
            "{:?}",
            b.findings
        );
    }
}
