//! CPU time from the operating system: a thread's CPU curve (its sampled CPU
//! time over the run), and the scheduler samples behind the two kinds of
//! oversubscription.

use crate::profile::{
    Oversubscription, OversubscriptionKind, Profile, SchedSummary, ThreadProfile,
};

/// A sample series is judged (oversubscribed or not) only from this many
/// samples in the run's window; fewer say nothing.
pub const MIN_SCHED_SAMPLES: usize = 5;

/// The run is reported oversubscribed (of either kind) when at least this
/// fraction of the scheduler samples show more runnable threads than cores:
/// sustained, not a momentary peak.
pub const OVERSUBSCRIBED_SAMPLE_FRACTION: f64 = 0.2;

/// A thread counts as waiting in a call (for the work it handed to other
/// threads) when, over the samples around the call, it was blocked for at
/// least this fraction of the call's duration.
pub const WAITING_BLOCKED_FRACTION: f64 = 0.5;

/// A thread's CPU time over the run: `(t_ns, cpu_ns, runqueue_ns)` points
/// from the sampler, then, at its exit, the thread's final CPU time (its
/// run-queue time unknown there).
/// A point of a [`CpuCurve`]: (t_ns, CPU ns, run-queue ns if known).
type Point = (u64, u64, Option<u64>);

pub(crate) struct CpuCurve {
    points: Vec<Point>,
    /// Whether the last point is the thread's exit (no CPU time after it).
    ended: bool,
}

impl CpuCurve {
    pub(crate) fn of(t: &ThreadProfile) -> Option<CpuCurve> {
        let mut points: Vec<Point> = t
            .cpu_samples
            .iter()
            .map(|&[a, b, c]| (a, b, Some(c)))
            .collect();
        let mut ended = false;
        if let (Some(end), Some(cpu)) = (t.ended_ns, t.cpu_ns) {
            if points.last().is_none_or(|&(x, _, _)| x < end) {
                let before = points.last().map_or(0, |p| p.1);
                let wait = t
                    .runqueue_ns
                    .filter(|_| points.last().is_none_or(|p| p.2.is_some()));
                points.push((end, cpu.max(before), wait));
                ended = true;
            }
        }
        (!points.is_empty() && (ended || points.len() >= 2)).then_some(CpuCurve { points, ended })
    }

    /// The sample window around `[a, b)`: the last point at or before `a`
    /// and the first at or after `b`; `None` when the curve does not cover
    /// the interval.
    fn window(&self, a: u64, b: u64) -> Option<(Point, Point)> {
        let i = self.points.partition_point(|&(t, _, _)| t <= a);
        let j = self.points.partition_point(|&(t, _, _)| t < b.max(a));
        if i == 0 || j >= self.points.len() {
            return None;
        }
        Some((self.points[i - 1], self.points[j]))
    }

    /// Time on a CPU or runnable (waiting for one: preempted) over the
    /// sample window around `[a, b)`: at least that time inside it (before
    /// the first point it counts from zero, after an exit there is none).
    /// `None` when the curve stops before `b` while the thread still ran.
    pub(crate) fn active_around(&self, a: u64, b: u64) -> Option<u64> {
        let active = |p: &Point| p.1 + p.2.unwrap_or(0);
        let i = self.points.partition_point(|&(t, _, _)| t <= a);
        let j = self.points.partition_point(|&(t, _, _)| t < b.max(a));
        let last = match self.points.get(j) {
            Some(p) => p,
            None if self.ended => self.points.last()?,
            None => return None,
        };
        let first = if i == 0 {
            None
        } else {
            Some(&self.points[i - 1])
        };
        // Run-queue time counts only when both ends know it.
        let both = first.is_none_or(|f| f.2.is_some()) && last.2.is_some();
        let v = |p: &Point| if both { active(p) } else { p.1 };
        Some(v(last).saturating_sub(first.map_or(0, v)))
    }

    /// Time blocked (neither on a CPU nor waiting on a run queue: sleeping
    /// in `join`, a receive, a lock, I/O) over the sample window around
    /// `[a, b)`, and the window's length. `None` when the samples do not
    /// cover the interval.
    pub(crate) fn blocked_around(&self, a: u64, b: u64) -> Option<(u64, u64)> {
        let ((t0, c0, w0), (t1, c1, w1)) = self.window(a, b)?;
        let (w0, w1) = (w0?, w1?);
        let len = t1 - t0;
        let running = c1.saturating_sub(c0) + w1.saturating_sub(w0);
        Some((len.saturating_sub(running), len))
    }
}

/// The sampler's figures over `[from, to]` (`None` when no sampler ran or
/// too few samples fall in the window), against `cores`.
pub(crate) fn sched_summary(
    profile: &Profile,
    from: u64,
    to: u64,
    cores: Option<u32>,
) -> Option<SchedSummary> {
    let sched = profile.sched.as_ref()?;
    let samples: Vec<_> = sched
        .samples
        .iter()
        .filter(|s| s.t_ns >= from && s.t_ns <= to)
        .collect();
    if samples.len() < MIN_SCHED_SAMPLES {
        return None;
    }
    let n = samples.len() as f64;
    let cores = cores.unwrap_or(u32::MAX);
    let online = if sched.online_cpus > 0 {
        sched.online_cpus
    } else {
        cores
    };
    let mut s = SchedSummary {
        samples: samples.len() as u64,
        interval_ns: sched.interval_ns,
        sampler_cpu_ns: sched.sampler_cpu_ns,
        process_mean: 0.0,
        process_peak: 0,
        process_over: 0.0,
        others_mean: 0.0,
        others_peak: 0,
        online_cpus: online,
        machine_over: 0.0,
    };
    for x in &samples {
        s.process_mean += f64::from(x.process);
        s.others_mean += f64::from(x.others);
        s.process_peak = s.process_peak.max(x.process);
        s.others_peak = s.others_peak.max(x.others);
        if x.process > cores {
            s.process_over += 1.0;
        }
        if x.others > 0 && x.process.saturating_add(x.others) > online {
            s.machine_over += 1.0;
        }
    }
    s.process_mean /= n;
    s.others_mean /= n;
    s.process_over /= n;
    s.machine_over /= n;
    Some(s)
}

impl SchedSummary {
    /// The oversubscriptions these samples show, process first.
    pub(crate) fn oversubscriptions(&self, cores: Option<u32>) -> Vec<Oversubscription> {
        let mut out = Vec::new();
        if let Some(cores) = cores {
            if self.process_over >= OVERSUBSCRIBED_SAMPLE_FRACTION {
                out.push(Oversubscription {
                    kind: OversubscriptionKind::Process,
                    cores,
                    fraction: self.process_over,
                    mean: self.process_mean,
                    peak: self.process_peak,
                    others_mean: self.others_mean,
                });
            }
        }
        if self.machine_over >= OVERSUBSCRIBED_SAMPLE_FRACTION {
            out.push(Oversubscription {
                kind: OversubscriptionKind::Machine,
                cores: self.online_cpus,
                fraction: self.machine_over,
                mean: self.process_mean + self.others_mean,
                peak: self.process_peak.saturating_add(self.others_peak),
                others_mean: self.others_mean,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, Sched, SchedSample};

    fn with_samples(samples: &[(u32, u32)], online: u32) -> Profile {
        let mut p = Profile::new(Metadata::default(), Vec::new(), Vec::new());
        p.sched = Some(Sched {
            interval_ns: 10,
            online_cpus: online,
            sampler_cpu_ns: 0,
            samples: samples
                .iter()
                .enumerate()
                .map(|(i, &(a, b))| SchedSample::new(10 * i as u64, a, b))
                .collect(),
        });
        p
    }

    #[test]
    fn process_and_machine_kinds() {
        // Four runnable threads of ours on 2 cores: the process's own doing.
        let p = with_samples(&[(4, 0); 10], 2);
        let s = sched_summary(&p, 0, u64::MAX, Some(2)).unwrap();
        let k: Vec<_> = s
            .oversubscriptions(Some(2))
            .iter()
            .map(|o| o.kind)
            .collect();
        assert_eq!(k, vec![OversubscriptionKind::Process]);
        // One of ours, two other programs' on 2 CPUs: the machine.
        let p = with_samples(&[(1, 2); 10], 2);
        let s = sched_summary(&p, 0, u64::MAX, Some(2)).unwrap();
        let o = s.oversubscriptions(Some(2));
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].kind, OversubscriptionKind::Machine);
        assert!((o[0].others_mean - 2.0).abs() < 1e-12);
        // Two of ours on 2 cores, a short burst of a third: nothing.
        let mut v = vec![(2, 0); 10];
        v[3] = (3, 0);
        let p = with_samples(&v, 2);
        let s = sched_summary(&p, 0, u64::MAX, Some(2)).unwrap();
        assert!(s.oversubscriptions(Some(2)).is_empty());
        // Too few samples in the window: no verdict.
        assert!(sched_summary(&p, 0, 20, Some(2)).is_none());
    }

    #[test]
    fn cpu_and_blocked_time_over_the_sample_window() {
        let t = ThreadProfile::new(1, "t", 1, Vec::new())
            .with_cpu_samples(vec![[0, 0, 0], [100, 20, 30], [200, 120, 30]])
            .with_cpu(Some(150))
            .with_lifetime(Some(0), Some(300));
        let c = CpuCurve::of(&t).unwrap();
        assert_eq!(c.active_around(10, 90), Some(50));
        assert_eq!(c.blocked_around(10, 90), Some((50, 100)));
        assert_eq!(c.active_around(110, 190), Some(100));
        assert_eq!(c.blocked_around(110, 190), Some((0, 100)));
        assert_eq!(c.active_around(50, 150), Some(150));
        // The exit point has the CPU time but not the run-queue time.
        assert_eq!(c.active_around(250, 260), Some(30));
        assert_eq!(c.blocked_around(250, 260), None);
        // After the exit there is no more CPU time; before the first sample
        // the count starts from zero (an upper bound).
        assert_eq!(c.active_around(250, 350), Some(30));
        let live = ThreadProfile::new(2, "t", 1, Vec::new())
            .with_cpu_samples(vec![[100, 40, 5], [200, 90, 5]]);
        let c = CpuCurve::of(&live).unwrap();
        assert_eq!(c.active_around(50, 150), Some(95));
        assert_eq!(c.active_around(150, 250), None);
    }
}
