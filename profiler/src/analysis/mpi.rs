//! The MPI summary of a profile (after mpiP) and POP's hybrid MPI +
//! threads efficiency metrics (see [`MpiSummary`]).

use std::collections::HashMap;
use std::fmt;

use super::parallel::ACCEPTABLE_EFFICIENCY;
use super::text::percent;
use crate::profile::{Profile, RankMpi};

/// Call sites listed in each top list.
pub const MPI_TOP: usize = 20;

/// The MPI summary of a profile of an MPI program (after mpiP) and POP's
/// hybrid MPI + threads efficiency metrics, from every rank's figures
/// ([`Profile::mpi`]).
///
/// - **Per rank**: AppTime (the session's wall time on the rank), MPITime
///   (its time in MPI calls, every thread) and MPI%.
/// - **Call sites**: an MPI routine called from one function. The top 20 by
///   time, with their calls, App% and MPI% (of the sums over ranks), the
///   mean, least and most time on one rank, and the coefficient of
///   variation of the time across ranks (a rank that never called it counts
///   as 0); and the top 20 by bytes sent.
/// - **Communication matrix**: point-to-point bytes and messages, sender x
///   receiver (collectives are not in it; their bytes are in the call
///   sites').
/// - **POP hybrid metrics** (the multiplicative model): a rank's useful MPI
///   time is its AppTime less its main thread's time in MPI (the main
///   thread is the one named `main`, else the rank's first); MPI load
///   balance = mean / max of it over ranks, MPI communication efficiency =
///   max / runtime (the longest AppTime); a thread's useful time is its busy
///   time less its time in MPI (for the main thread, the rank's useful MPI
///   time: profiled or not, so that one thread per rank gives thread-level
///   figures of 1), and over every thread of every rank the
///   hybrid load balance = mean / max (threads with useful time only) and
///   hybrid communication efficiency = max / runtime; each parallel
///   efficiency is the product of its load balance and communication
///   efficiency, and the thread-level figures are the hybrid ones divided by
///   the MPI ones.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MpiSummary {
    /// The MPI library, when known.
    pub library: String,
    /// Every rank's times, by rank.
    pub ranks: Vec<RankTimes>,
    /// The top call sites by time, the longest first.
    pub by_time: Vec<CallSite>,
    /// The top call sites by bytes sent, the most first.
    pub by_bytes: Vec<CallSite>,
    /// Call sites left out of the top lists.
    pub sites_omitted: usize,
    /// Point-to-point traffic, sender x receiver.
    pub matrix: CommMatrix,
    /// POP's hybrid metrics.
    pub pop: HybridEfficiency,
    /// Late-sender waiting, when the ranks' messages were recorded
    /// (timeline mode).
    pub late_sender: Option<LateSender>,
}

/// Late-sender waiting time per rank: time in a receive, or in the wait
/// that completed an immediate receive, before the matching send began
/// (Scalasca's Late Sender pattern, measured from the paired messages;
/// per call, the latest of its messages' senders counts). From it, an
/// **approximation** of POP's serialization and transfer efficiencies, as
/// Cube and Scalasca approximate them without an ideal-network replay:
/// the ideal runtime is the runtime less each rank's waiting; serialization
/// = max(useful) / max(application time - waiting), transfer = the MPI
/// communication efficiency / serialization.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LateSender {
    /// Waiting per rank, in [`MpiSummary::ranks`] order, in ns.
    pub wait_ns: Vec<u64>,
    /// Messages paired and counted.
    pub messages: usize,
    /// MPI calls left off the ranks' timelines by their cap (their
    /// messages are not counted).
    pub calls_dropped: u64,
    /// The approximate serialization efficiency.
    pub serialization: Option<f64>,
    /// The approximate transfer efficiency.
    pub transfer: Option<f64>,
}

impl LateSender {
    /// The waiting of every rank of `profile` (`None` without recorded
    /// messages).
    fn of(profile: &Profile, mpi_communication: Option<f64>) -> Option<LateSender> {
        let messages = profile.mpi_messages();
        if messages.paired.is_empty() {
            return None;
        }
        // Per completing call, the latest sender's start.
        let mut latest: HashMap<(usize, usize), u64> = HashMap::new();
        for m in &messages.paired {
            let e = latest.entry(m.recv_call).or_insert(0);
            *e = (*e).max(m.send_start_ns);
        }
        let mut wait_ns = vec![0u64; profile.mpi.len()];
        for (&(ri, ci), &send) in &latest {
            let Some(c) = profile.mpi[ri].timeline.get(ci) else {
                continue;
            };
            let w = send.clamp(c.start_ns, c.end_ns.max(c.start_ns)) - c.start_ns;
            wait_ns[ri] = wait_ns[ri].saturating_add(w);
        }
        let useful = profile
            .mpi
            .iter()
            .map(RankMpi::useful_ns)
            .max()
            .unwrap_or(0);
        let ideal = profile
            .mpi
            .iter()
            .zip(&wait_ns)
            .map(|(r, &w)| r.app_ns.saturating_sub(w))
            .max()
            .unwrap_or(0);
        let serialization = (ideal > 0).then(|| (useful as f64 / ideal as f64).min(1.0));
        let transfer = match (mpi_communication, serialization) {
            (Some(ce), Some(se)) if se > 0.0 => Some((ce / se).min(1.0)),
            _ => None,
        };
        Some(LateSender {
            wait_ns,
            messages: messages.paired.len(),
            calls_dropped: profile.mpi.iter().map(|r| r.timeline_dropped).sum(),
            serialization,
            transfer,
        })
    }
}

/// One rank's AppTime and MPITime.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RankTimes {
    /// The rank.
    pub rank: u32,
    /// Its host.
    pub host: String,
    /// AppTime, ns.
    pub app_ns: u64,
    /// MPITime, ns.
    pub mpi_ns: u64,
}

/// An MPI routine called from one function, over every rank.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CallSite {
    /// The routine (`MPI_Send`).
    pub routine: String,
    /// The calling function (empty outside any profiled function).
    pub caller: String,
    /// Calls, over every rank.
    pub calls: u64,
    /// Time, over every rank, ns.
    pub time_ns: u64,
    /// Time on one rank: the mean, ns.
    pub mean_ns: f64,
    /// Time on one rank: the least, ns.
    pub min_ns: u64,
    /// Time on one rank: the most, ns.
    pub max_ns: u64,
    /// Coefficient of variation of the time across ranks (standard
    /// deviation / mean; 0 when the mean is 0).
    pub cov: f64,
    /// Bytes sent, over every rank.
    pub bytes_sent: u64,
    /// Bytes received, over every rank.
    pub bytes_received: u64,
}

/// Point-to-point traffic between ranks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommMatrix {
    /// The number of ranks (rows and columns).
    pub ranks: usize,
    /// Bytes, `[from][to]`.
    pub bytes: Vec<Vec<u64>>,
    /// Messages, `[from][to]`.
    pub messages: Vec<Vec<u64>>,
}

/// POP's hybrid efficiency metrics (see [`MpiSummary`]); each in
/// 0..=1, `None` where there is nothing to measure.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct HybridEfficiency {
    /// Hybrid parallel efficiency: MPI x thread parallel efficiency.
    pub parallel: Option<f64>,
    /// Hybrid load balance over every thread of every rank.
    pub load_balance: Option<f64>,
    /// Hybrid communication efficiency.
    pub communication: Option<f64>,
    /// MPI parallel efficiency.
    pub mpi_parallel: Option<f64>,
    /// MPI load balance: mean / max useful time of the ranks' main threads.
    pub mpi_load_balance: Option<f64>,
    /// MPI communication efficiency: max useful time / runtime.
    pub mpi_communication: Option<f64>,
    /// Thread parallel efficiency.
    pub thread_parallel: Option<f64>,
    /// Thread load balance.
    pub thread_load_balance: Option<f64>,
    /// Thread communication efficiency.
    pub thread_communication: Option<f64>,
}

impl Profile {
    /// The MPI summary, for a profile of an MPI program (`None` otherwise).
    pub fn mpi_summary(&self) -> Option<MpiSummary> {
        (!self.mpi.is_empty()).then(|| summarize(self))
    }
}

fn summarize(profile: &Profile) -> MpiSummary {
    let ranks = &profile.mpi;
    let n = ranks.len();
    let times: Vec<RankTimes> = ranks
        .iter()
        .map(|r| RankTimes {
            rank: r.rank,
            host: r.host.clone(),
            app_ns: r.app_ns,
            mpi_ns: r.mpi_ns(),
        })
        .collect();
    // Call sites, with each rank's time.
    let mut sites: Vec<(CallSite, Vec<u64>)> = Vec::new();
    let mut at: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, r) in ranks.iter().enumerate() {
        for c in &r.calls {
            let k = *at.entry((&c.routine, &c.caller)).or_insert_with(|| {
                let site = CallSite {
                    routine: c.routine.clone(),
                    caller: c.caller.clone(),
                    calls: 0,
                    time_ns: 0,
                    mean_ns: 0.0,
                    min_ns: 0,
                    max_ns: 0,
                    cov: 0.0,
                    bytes_sent: 0,
                    bytes_received: 0,
                };
                sites.push((site, vec![0; n]));
                sites.len() - 1
            });
            let (s, per_rank) = &mut sites[k];
            s.calls += c.calls;
            s.time_ns += c.time_ns;
            s.bytes_sent += c.bytes_sent;
            s.bytes_received += c.bytes_received;
            per_rank[i] += c.time_ns;
        }
    }
    let mut all: Vec<CallSite> = sites
        .into_iter()
        .map(|(mut s, per_rank)| {
            let mean = per_rank.iter().map(|&t| t as f64).sum::<f64>() / n.max(1) as f64;
            let var = per_rank
                .iter()
                .map(|&t| (t as f64 - mean).powi(2))
                .sum::<f64>()
                / n.max(1) as f64;
            s.mean_ns = mean;
            s.min_ns = per_rank.iter().copied().min().unwrap_or(0);
            s.max_ns = per_rank.iter().copied().max().unwrap_or(0);
            s.cov = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
            s
        })
        .collect();
    let total = all.len();
    all.sort_by(|a, b| b.time_ns.cmp(&a.time_ns).then(a.routine.cmp(&b.routine)));
    let by_time: Vec<CallSite> = all.iter().take(MPI_TOP).cloned().collect();
    all.sort_by(|a, b| {
        b.bytes_sent
            .cmp(&a.bytes_sent)
            .then(a.routine.cmp(&b.routine))
    });
    let by_bytes: Vec<CallSite> = all
        .iter()
        .filter(|s| s.bytes_sent > 0)
        .take(MPI_TOP)
        .cloned()
        .collect();
    let pop = pop(ranks);
    let late_sender = LateSender::of(profile, pop.mpi_communication);
    MpiSummary {
        library: profile
            .meta
            .mpi
            .as_ref()
            .map(|m| m.library.clone())
            .unwrap_or_default(),
        ranks: times,
        by_time,
        by_bytes,
        sites_omitted: total.saturating_sub(MPI_TOP),
        matrix: matrix(
            ranks,
            profile.meta.mpi.as_ref().map_or(0, |m| m.ranks as usize),
        ),
        pop,
        late_sender,
    }
}

/// The communication matrix of the ranks' traffic.
fn matrix(ranks: &[RankMpi], declared: usize) -> CommMatrix {
    let size = ranks
        .iter()
        .map(|r| r.rank as usize + 1)
        .chain(
            ranks
                .iter()
                .flat_map(|r| r.sent.iter().map(|s| s.to as usize + 1)),
        )
        .max()
        .unwrap_or(0)
        .max(declared);
    let mut m = CommMatrix {
        ranks: size,
        bytes: vec![vec![0; size]; size],
        messages: vec![vec![0; size]; size],
    };
    for r in ranks {
        for s in &r.sent {
            m.bytes[r.rank as usize][s.to as usize] += s.bytes;
            m.messages[r.rank as usize][s.to as usize] += s.messages;
        }
    }
    m
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

fn pop(ranks: &[RankMpi]) -> HybridEfficiency {
    let runtime = ranks.iter().map(|r| r.app_ns).max().unwrap_or(0) as f64;
    let outside: Vec<f64> = ranks.iter().map(|r| r.useful_ns() as f64).collect();
    let (mpi_lb, mpi_ce) = lb_ce(&outside, runtime);
    // The main thread's useful time is the rank's (as for the MPI figures:
    // time outside MPI, profiled or not), so that a program with one thread
    // per rank has thread-level figures of 1; other threads' is their busy
    // time outside MPI.
    let useful: Vec<f64> = ranks
        .iter()
        .zip(&outside)
        .flat_map(|(r, &main_useful)| {
            let main = r.main_thread();
            r.threads.iter().map(move |t| {
                if main.is_some_and(|m| std::ptr::eq(m, t)) {
                    main_useful
                } else {
                    t.busy_ns.saturating_sub(t.mpi_ns) as f64
                }
            })
        })
        .filter(|&u| u > 0.0)
        .collect();
    let (lb, ce) = lb_ce(&useful, runtime);
    let product = |a: Option<f64>, b: Option<f64>| Some(a? * b?);
    let div = |a: Option<f64>, b: Option<f64>| ratio(a?, b?);
    let (pe, mpi_pe) = (product(lb, ce), product(mpi_lb, mpi_ce));
    HybridEfficiency {
        parallel: pe,
        load_balance: lb,
        communication: ce,
        mpi_parallel: mpi_pe,
        mpi_load_balance: mpi_lb,
        mpi_communication: mpi_ce,
        thread_parallel: div(pe, mpi_pe),
        thread_load_balance: div(lb, mpi_lb),
        thread_communication: div(ce, mpi_ce),
    }
}

/// Load balance (mean / max) and communication efficiency (max / runtime)
/// of useful times.
fn lb_ce(useful: &[f64], runtime: f64) -> (Option<f64>, Option<f64>) {
    let max = useful.iter().copied().fold(0.0, f64::max);
    if useful.is_empty() || max <= 0.0 {
        return (None, None);
    }
    let mean = useful.iter().sum::<f64>() / useful.len() as f64;
    (ratio(mean, max), ratio(max, runtime.max(max)))
}

fn secs(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e9)
}

impl fmt::Display for MpiSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hosts: Vec<&str> = self.ranks.iter().map(|r| r.host.as_str()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        write!(
            f,
            "MPI summary: {} rank(s) on {} host(s)",
            self.ranks.len(),
            hosts.len()
        )?;
        if !self.library.is_empty() {
            write!(f, "; {}", self.library)?;
        }
        writeln!(f)?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:>6}  {:<20} {:>12} {:>12} {:>7}",
            "Task", "Host", "AppTime (s)", "MPITime (s)", "MPI%"
        )?;
        // Grouped by host, ranks in order within each.
        for host in &hosts {
            for r in self.ranks.iter().filter(|r| r.host == *host) {
                writeln!(
                    f,
                    "  {:>6}  {:<20} {:>12} {:>12} {:>7.2}",
                    r.rank,
                    r.host,
                    secs(r.app_ns),
                    secs(r.mpi_ns),
                    percent(r.mpi_ns, r.app_ns)
                )?;
            }
        }
        let app: u64 = self.ranks.iter().map(|r| r.app_ns).sum();
        let mpi: u64 = self.ranks.iter().map(|r| r.mpi_ns).sum();
        writeln!(
            f,
            "  {:>6}  {:<20} {:>12} {:>12} {:>7.2}",
            "*",
            "",
            secs(app),
            secs(mpi),
            percent(mpi, app)
        )?;
        if !self.by_time.is_empty() {
            writeln!(f)?;
            writeln!(f, "  Aggregate time (top {MPI_TOP} MPI call sites)")?;
            writeln!(
                f,
                "  {:<16} {:<24} {:>10} {:>7} {:>7} {:>9} {:>10} {:>10} {:>10} {:>6}",
                "Call",
                "Caller",
                "Time (s)",
                "App%",
                "MPI%",
                "Count",
                "Mean (s)",
                "Min (s)",
                "Max (s)",
                "COV"
            )?;
            for s in &self.by_time {
                writeln!(
                    f,
                    "  {:<16} {:<24} {:>10} {:>7.2} {:>7.2} {:>9} {:>10.6} {:>10} {:>10} {:>6.2}",
                    s.routine,
                    caller(&s.caller),
                    secs(s.time_ns),
                    percent(s.time_ns, app),
                    percent(s.time_ns, mpi),
                    s.calls,
                    s.mean_ns / 1e9,
                    secs(s.min_ns),
                    secs(s.max_ns),
                    s.cov
                )?;
            }
            if self.sites_omitted > 0 {
                writeln!(f, "  ({} more call sites)", self.sites_omitted)?;
            }
        }
        if !self.by_bytes.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "  Aggregate bytes (top {MPI_TOP} MPI call sites by bytes sent)"
            )?;
            writeln!(
                f,
                "  {:<16} {:<24} {:>14} {:>14} {:>9} {:>12}",
                "Call", "Caller", "Sent", "Received", "Count", "Sent/call"
            )?;
            for s in &self.by_bytes {
                writeln!(
                    f,
                    "  {:<16} {:<24} {:>14} {:>14} {:>9} {:>12.1}",
                    s.routine,
                    caller(&s.caller),
                    s.bytes_sent,
                    s.bytes_received,
                    s.calls,
                    s.bytes_sent as f64 / s.calls.max(1) as f64
                )?;
            }
        }
        if self.matrix.bytes.iter().flatten().any(|&b| b > 0)
            || self.matrix.messages.iter().flatten().any(|&m| m > 0)
        {
            writeln!(f)?;
            writeln!(
                f,
                "  Communication matrix (point-to-point; bytes/messages, sender x receiver)"
            )?;
            write!(f, "  {:>8}", "from\\to")?;
            for to in 0..self.matrix.ranks {
                write!(f, " {:>16}", to)?;
            }
            writeln!(f)?;
            for from in 0..self.matrix.ranks {
                write!(f, "  {from:>8}")?;
                for to in 0..self.matrix.ranks {
                    let cell = format!(
                        "{}/{}",
                        self.matrix.bytes[from][to], self.matrix.messages[from][to]
                    );
                    write!(f, " {cell:>16}")?;
                }
                writeln!(f)?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "  POP hybrid efficiency (MPI x threads; {ACCEPTABLE_EFFICIENCY:.2} and above acceptable, * below)"
        )?;
        let p = &self.pop;
        for (depth, name, value) in [
            (0, "Hybrid parallel efficiency", p.parallel),
            (1, "MPI parallel efficiency", p.mpi_parallel),
            (2, "MPI load balance", p.mpi_load_balance),
            (2, "MPI communication efficiency", p.mpi_communication),
            (1, "Thread parallel efficiency", p.thread_parallel),
            (2, "Thread load balance", p.thread_load_balance),
            (2, "Thread communication efficiency", p.thread_communication),
        ] {
            efficiency_line(f, &format!("{}{name}", "  ".repeat(depth)), value)?;
        }
        if let Some(l) = &self.late_sender {
            writeln!(f)?;
            writeln!(
                f,
                "  Late-sender waiting ({} messages: time in a receive or wait before the matching send began)",
                l.messages
            )?;
            if l.calls_dropped > 0 {
                writeln!(
                    f,
                    "  ({} MPI calls were left off the timelines by their cap; their messages are not counted)",
                    l.calls_dropped
                )?;
            }
            writeln!(f, "  {:>6}  {:>12} {:>7}", "Task", "Waiting (s)", "App%")?;
            for (r, &w) in self.ranks.iter().zip(&l.wait_ns) {
                writeln!(
                    f,
                    "  {:>6}  {:>12} {:>7.2}",
                    r.rank,
                    secs(w),
                    percent(w, r.app_ns)
                )?;
            }
            writeln!(
                f,
                "  An approximation, not an ideal-network replay: runtime less late-sender waiting"
            )?;
            for (name, value) in [
                ("Serialization efficiency (approx.)", l.serialization),
                ("Transfer efficiency (approx.)", l.transfer),
            ] {
                efficiency_line(f, name, value)?;
            }
        }
        Ok(())
    }
}

/// One efficiency of the summary: its label, its value (`n/a` when
/// unknown), marked `*` below the acceptable 0.8.
fn efficiency_line(f: &mut fmt::Formatter<'_>, label: &str, value: Option<f64>) -> fmt::Result {
    match value {
        Some(v) => writeln!(
            f,
            "    {label:<38} {v:>5.2}{}",
            if v < ACCEPTABLE_EFFICIENCY { " *" } else { "" }
        ),
        None => writeln!(f, "    {label:<38}   n/a"),
    }
}

fn caller(name: &str) -> &str {
    if name.is_empty() { "(outside)" } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, MpiCall, MpiTraffic, RankThread};

    fn rank(r: u32, work: u64, wait: u64) -> RankMpi {
        let mut m = RankMpi::new(r, "h", 100 + r, work + wait);
        m.calls = vec![MpiCall::new("MPI_Barrier", "main", 1, wait, 0, 0)];
        m.threads = vec![RankThread::new("main", work + wait, wait)];
        if r == 0 {
            m.sent = vec![MpiTraffic::new(1, 800, 2)];
        }
        m
    }

    #[test]
    fn imbalance_is_measured() {
        // Rank r works (r + 1) units; the others wait for the slowest.
        let mut p = Profile::new(Metadata::default(), Vec::new(), Vec::new());
        p.mpi = vec![rank(0, 100, 200), rank(1, 200, 100), rank(2, 300, 0)];
        let s = p.mpi_summary().unwrap();
        let lb = s.pop.mpi_load_balance.unwrap();
        assert!((lb - 2.0 / 3.0).abs() < 1e-12, "{lb}");
        assert_eq!(s.pop.mpi_communication, Some(1.0));
        assert!((s.pop.thread_load_balance.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(s.by_time[0].calls, 3);
        assert_eq!((s.by_time[0].min_ns, s.by_time[0].max_ns), (0, 200));
        assert_eq!(s.matrix.bytes[0][1], 800);
        assert_eq!(s.matrix.messages[0][1], 2);
        let text = s.to_string();
        assert!(text.contains("MPI load balance"), "{text}");
        assert!(text.contains("800/2"), "{text}");
    }
}
