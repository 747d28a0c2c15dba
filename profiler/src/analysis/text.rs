//! The "Parallel summary" text section.

use std::fmt;

use super::parallel::ACCEPTABLE_EFFICIENCY;
use crate::profile::{
    Efficiency, Oversubscription, OversubscriptionKind, ParallelSummary, RuntimeSource,
};

/// The most thread rows printed; beyond it the busiest are listed.
const MAX_THREAD_ROWS: usize = 32;
/// The most regions printed.
const MAX_REGION_ROWS: usize = 10;
/// The most threads whose busy time is listed for a region's longest call.
const MAX_BUSY_LISTED: usize = 8;

/// A duration for people: `812 ns`, `3.250 us`, `12.345 ms`, `1.234 s`.
pub(crate) fn duration(ns: u64) -> String {
    let x = ns as f64;
    if ns >= 1_000_000_000 {
        format!("{:.3} s", x / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.3} ms", x / 1e6)
    } else if ns >= 1_000 {
        format!("{:.3} us", x / 1e3)
    } else {
        format!("{ns} ns")
    }
}

/// `1 thread`, `2 threads`.
fn threads(n: u32) -> String {
    if n == 1 {
        "1 thread".to_owned()
    } else {
        format!("{n} threads")
    }
}

fn judgement(x: f64) -> &'static str {
    if x >= ACCEPTABLE_EFFICIENCY {
        "acceptable (>= 0.8)"
    } else {
        "below 0.8"
    }
}

fn write_efficiency(f: &mut fmt::Formatter<'_>, e: &Efficiency) -> fmt::Result {
    for (label, x) in [
        ("Load balance", e.load_balance),
        ("Communication efficiency", e.communication),
        ("Parallel efficiency", e.parallel),
    ] {
        writeln!(f, "  {label:<26}{x:>6.3}   {}", judgement(x))?;
    }
    Ok(())
}

/// The "Parallel summary" section: threads and their useful time, the
/// whole run's load balance, communication and parallel efficiency with the
/// 0.8 judgement, concurrency against the cores, the oversubscription
/// warning when there is one, and the longest parallel regions.
///
/// ```
/// use profiler::profile::NO_PARENT;
/// use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};
/// let mut meta = Metadata::default();
/// meta.duration_ns = 100_000_000;
/// meta.available_cores = 2;
/// let sites = vec![SiteInfo::new("work", "m", "m.rs", 1)];
/// let threads = vec![
///     ThreadProfile::new(1, "w0", 1, vec![Node::new(0, NO_PARENT, 1, 80_000_000)]),
///     ThreadProfile::new(2, "w1", 1, vec![Node::new(0, NO_PARENT, 1, 40_000_000)]),
/// ];
/// let text = Profile::new(meta, sites, threads).parallel_summary().to_string();
/// assert!(text.starts_with("Parallel summary"));
/// assert!(text.contains("Whole run: load balance is measured over the workers of parallel regions"));
/// ```
impl ParallelSummary {
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

    pub(super) fn warning_line(&self, o: &Oversubscription) -> Option<String> {
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
                        duration(over),
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
pub(super) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl fmt::Display for ParallelSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Parallel summary")?;
        writeln!(f, "================")?;
        let source = match self.runtime_source {
            RuntimeSource::Timeline => "timeline, first scope start to last scope end",
            RuntimeSource::Duration => "recording duration; no timeline",
        };
        let cores = match self.concurrency.cores {
            Some(c) => format!("{c} cores available"),
            None => "cores available unknown".to_owned(),
        };
        writeln!(
            f,
            "Runtime {} ({source}); {cores}",
            duration(self.runtime_ns)
        )?;
        if self.cpu_known {
            writeln!(
                f,
                "Useful time is time on a CPU inside profiled scopes (CPU time from the \
                 operating system): a thread blocked in join, a receive, a lock or I/O is \
                 waiting, not working"
            )?;
        }
        writeln!(f)?;

        // Threads.
        let total: u128 = self
            .threads
            .iter()
            .filter(|t| !t.folded)
            .map(|t| u128::from(t.busy_ns))
            .sum();
        let mut rows: Vec<usize> = (0..self.threads.len()).collect();
        if rows.len() > MAX_THREAD_ROWS {
            rows.sort_by(|&a, &b| self.threads[b].busy_ns.cmp(&self.threads[a].busy_ns));
            rows.truncate(MAX_THREAD_ROWS);
            rows.sort_unstable();
        }
        let width = rows
            .iter()
            .map(|&i| self.threads[i].name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(6, 40);
        let waits = self
            .threads
            .iter()
            .any(|t| t.waiting_ns.is_some_and(|w| w > 0));
        let cpu = self.cpu_known;
        write!(
            f,
            "  {:<width$}  {:>12}  {:>10}  {:>7}",
            "thread", "busy", "of runtime", "share"
        )?;
        if cpu {
            write!(
                f,
                "  {:>12}  {:>12}  {:>12}  {:>12}",
                "on CPU", "preempted", "blocked", "outside"
            )?;
        } else if waits {
            write!(f, "  {:>12}", "waiting")?;
        }
        writeln!(f)?;
        for &i in &rows {
            let t = &self.threads[i];
            let share = if t.folded || total == 0 {
                "-".to_owned()
            } else {
                format!("{:.1}%", 100.0 * t.busy_ns as f64 / total as f64)
            };
            write!(
                f,
                "  {:<width$}  {:>12}  {:>9.1}%  {:>7}",
                t.name,
                duration(t.busy_ns),
                percent(t.busy_ns, self.runtime_ns),
                share
            )?;
            if cpu {
                let rq = t.runqueue_ns.unwrap_or(0);
                match t.cpu_ns {
                    Some(c) => write!(
                        f,
                        "  {:>12}  {:>12}  {:>12}  {:>12}",
                        duration(c),
                        t.runqueue_ns.map_or_else(|| "?".to_owned(), duration),
                        duration(t.busy_ns.saturating_sub(c + rq)),
                        duration((c + rq).saturating_sub(t.busy_ns))
                    )?,
                    None => write!(f, "  {:>12}  {:>12}  {:>12}  {:>12}", "?", "?", "?", "?")?,
                }
            } else if waits {
                write!(
                    f,
                    "  {:>12}",
                    t.waiting_ns.map_or_else(String::new, duration)
                )?;
            }
            if t.folded {
                write!(f, "  (not in the figures below)")?;
            }
            writeln!(f)?;
        }
        if rows.len() < self.threads.len() {
            writeln!(
                f,
                "  ... {} more threads (the busiest {} are listed)",
                self.threads.len() - rows.len(),
                rows.len()
            )?;
        }
        if cpu {
            writeln!(
                f,
                "  (busy: inside profiled scopes; on CPU: the thread's CPU time; preempted: \
                 runnable, waiting for a CPU; blocked: busy but neither (join, receive, lock, \
                 I/O), at least; outside: on a CPU or runnable outside profiled scopes, at \
                 least: unprofiled code or a runtime's idle spinning)"
            )?;
        } else if waits {
            writeln!(
                f,
                "  (waiting: time directly in the body of one's own parallel regions, \
                 part of busy)"
            )?;
        }
        writeln!(f)?;

        // The whole run.
        match &self.efficiency {
            Some(e) => {
                writeln!(
                    f,
                    "Whole run, over the workers of the parallel regions ({} outermost region \
                     {}, up to {}; summed over the calls: mean useful {}, max {}):",
                    self.efficiency_calls,
                    if self.efficiency_calls == 1 {
                        "call"
                    } else {
                        "calls"
                    },
                    threads(e.workers),
                    duration(e.mean_busy_ns.round() as u64),
                    duration(e.max_busy_ns)
                )?;
                write_efficiency(f, e)?;
            }
            None if self.concurrency.from_timeline => writeln!(
                f,
                "Whole run: no parallel region (no call handed work to other threads), so \
                 no load balance"
            )?,
            None => writeln!(
                f,
                "Whole run: load balance is measured over the workers of parallel regions, \
                 which need a timeline (PROFILER_TIMELINE=1); none was recorded"
            )?,
        }
        writeln!(f)?;

        // Concurrency.
        let c = &self.concurrency;
        let on = c
            .cores
            .map_or_else(String::new, |n| format!(" on {n} cores"));
        match (c.peak, c.peak_ns) {
            (Some(peak), Some(at_peak)) => {
                write!(
                    f,
                    "Concurrency: mean {:.2} busy threads, peak {peak} (for {}){on}",
                    c.mean,
                    duration(at_peak)
                )?;
                match (c.cores, c.over_cores_ns) {
                    (Some(n), Some(over)) if over > 0 => writeln!(
                        f,
                        "; more than {n} busy for {} ({:.1}% of the runtime)",
                        duration(over),
                        percent(over, self.runtime_ns)
                    )?,
                    _ => writeln!(f)?,
                }
            }
            _ => writeln!(
                f,
                "Concurrency: mean {:.2} busy threads{on} (record a timeline for the peak and \
                 the parallel regions)",
                c.mean
            )?,
        }
        if let Some(m) = c.on_cpu_mean {
            writeln!(
                f,
                "On a CPU: mean {m:.2} threads (CPU time over the runtime)"
            )?;
        }
        if let Some(s) = &self.sched {
            writeln!(
                f,
                "Runnable threads, sampled every {} ({} samples; the sampler's cost: {} of CPU): \
                 this process mean {:.2}, up to {}{on}; other programs mean {:.2}, up to {}, \
                 on the machine's {} CPUs",
                duration(s.interval_ns),
                s.samples,
                duration(s.sampler_cpu_ns),
                s.process_mean,
                s.process_peak,
                s.others_mean,
                s.others_peak,
                s.online_cpus
            )?;
        }
        if let Some(w) = self.warning() {
            writeln!(f, "{w}")?;
        }
        if self.timeline_dropped > 0 {
            writeln!(
                f,
                "Note: {} scopes were left off the timeline (memory cap); concurrency and \
                 regions come from the scopes kept",
                self.timeline_dropped
            )?;
        }

        // Regions.
        if c.from_timeline {
            writeln!(f)?;
            if self.regions.is_empty() {
                writeln!(
                    f,
                    "Parallel regions: none (no call forked work on other threads)"
                )?;
            } else {
                writeln!(
                    f,
                    "Parallel regions (calls that fork and join work on other threads), \
                     longest in total first:"
                )?;
                let width = self
                    .regions
                    .iter()
                    .take(MAX_REGION_ROWS)
                    .map(|r| r.name.chars().count())
                    .max()
                    .unwrap_or(0)
                    .clamp(6, 40);
                writeln!(
                    f,
                    "  {:<width$}  {:>7}  {:>12}  {:>7}  {:>6}  {:>6}  {:>6}",
                    "region", "calls", "total", "workers", "LB", "CE", "PE"
                )?;
                for r in self.regions.iter().take(MAX_REGION_ROWS) {
                    let e = &r.efficiency;
                    writeln!(
                        f,
                        "  {:<width$}  {:>7}  {:>12}  {:>7}  {:>6.3}  {:>6.3}  {:>6.3}",
                        r.name,
                        r.calls,
                        duration(r.total_ns),
                        e.workers,
                        e.load_balance,
                        e.communication,
                        e.parallel
                    )?;
                    if let Some(call) = r.longest.first() {
                        let name = |i: usize| self.threads.get(i).map_or("?", |t| t.name.as_str());
                        let mut busy: Vec<String> = call
                            .busy
                            .iter()
                            .take(MAX_BUSY_LISTED)
                            .map(|b| format!("{} {}", name(b.thread), duration(b.busy_ns)))
                            .collect();
                        if call.busy.len() > MAX_BUSY_LISTED {
                            busy.push(format!("{} more", call.busy.len() - MAX_BUSY_LISTED));
                        }
                        writeln!(
                            f,
                            "  {:<width$}    longest call: {} at {} on {}, LB {:.3}; busy: {}",
                            "",
                            duration(call.duration_ns),
                            duration(call.start_ns),
                            name(call.thread),
                            call.efficiency.load_balance,
                            busy.join(", ")
                        )?;
                    }
                }
                let more =
                    self.regions.len().saturating_sub(MAX_REGION_ROWS) + self.regions_omitted;
                if more > 0 {
                    writeln!(f, "  ... {more} more regions")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_for_people() {
        assert_eq!(duration(0), "0 ns");
        assert_eq!(duration(812), "812 ns");
        assert_eq!(duration(3_250), "3.250 us");
        assert_eq!(duration(12_345_678), "12.346 ms");
        assert_eq!(duration(1_234_000_000), "1.234 s");
    }
}
