//! The parallel summary as stored in a profile: plain data, computed by
//! [`analysis`](crate::analysis) (which also gives it its methods and its
//! text) and kept in [`Profile::parallel`](super::Profile::parallel) when
//! a session ends.

use serde::{Deserialize, Serialize};

use super::SiteId;

/// Parallel efficiency of a profile: the POP metrics (load balance,
/// communication efficiency, parallel efficiency) for the whole run and for
/// each parallel region, and how many threads were busy at once against the
/// cores available. [`Profile::parallel_summary`](crate::Profile::parallel_summary) computes it; its `Display`
/// is the "Parallel summary" section printed under the pstats table.
///
/// # Definitions
///
/// - A thread's **busy time** is the inclusive time of its root scopes (time
///   inside any profiled scope), exact whatever the timeline dropped. Where
///   the operating system tells it ([`ThreadProfile::cpu_ns`](super::ThreadProfile::cpu_ns), Linux), busy
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
///   [`WAITING_BLOCKED_FRACTION`](crate::analysis::WAITING_BLOCKED_FRACTION) of the call (blocked time in the sample
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
///   [`OVERSUBSCRIBED_SAMPLE_FRACTION`](crate::analysis::OVERSUBSCRIBED_SAMPLE_FRACTION)
///   of the samples. A profile without operating-system data falls back to
///   busy threads: more than the cores for at least
///   [`OVERSUBSCRIPTION_MIN_FRACTION`](crate::analysis::OVERSUBSCRIPTION_MIN_FRACTION) of the runtime (timeline) or on
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
    /// system ([`ThreadProfile::cpu_ns`](super::ThreadProfile::cpu_ns)); false for profiles without it.
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
    /// first; at most [`MAX_REGIONS`](crate::analysis::MAX_REGIONS). Empty without a timeline.
    pub regions: Vec<Region>,
    /// Regions (functions) found but left out of `regions` by the cap.
    pub regions_omitted: usize,
    /// Scopes left off the timelines by their memory cap, over all threads:
    /// regions and concurrency are computed from the scopes kept.
    pub timeline_dropped: u64,
}

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

/// One thread's useful time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreadBusy {
    /// The recorder's number for the thread ([`ThreadProfile::id`](super::ThreadProfile::id)).
    pub id: u64,
    /// The thread's name.
    pub name: String,
    /// The id of the thread's process.
    pub pid: u32,
    /// Profiled time: the inclusive time of the thread's root scopes, in
    /// nanoseconds.
    pub busy_ns: u64,
    /// The thread's time on a CPU from the operating system, in nanoseconds
    /// ([`ThreadProfile::cpu_ns`](super::ThreadProfile::cpu_ns)).
    #[serde(default)]
    pub cpu_ns: Option<u64>,
    /// The thread's time runnable but waiting for a CPU (preempted), in
    /// nanoseconds ([`ThreadProfile::runqueue_ns`](super::ThreadProfile::runqueue_ns)).
    #[serde(default)]
    pub runqueue_ns: Option<u64>,
    /// With a timeline: the part of the thread's timeline spent directly in
    /// the body of its own parallel regions (coordinating or waiting for the
    /// workers), in nanoseconds. It is part of `busy_ns` but is not counted
    /// as busy for concurrency.
    pub waiting_ns: Option<u64>,
    /// Whether this is the folded tree of many exited threads
    /// ([`ThreadProfile::folded_threads`](super::ThreadProfile::folded_threads)),
    /// left out of the efficiency figures.
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
    /// The longest calls, longest first; at most [`MAX_REGION_CALLS`](crate::analysis::MAX_REGION_CALLS).
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

/// Which kind of oversubscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OversubscriptionKind {
    /// This process had more runnable threads than the cores it may use:
    /// its own threads (nested pools, too many workers) compete.
    Process,
    /// The machine had more runnable tasks than CPUs, other programs among
    /// them: this process's threads waited for CPUs that others held.
    Machine,
    /// No operating-system data (an older profile, or no procfs): more
    /// threads were *inside profiled scopes* than there are cores, which
    /// counts threads blocked in a scope as busy.
    Busy,
}

/// The evidence of one kind of oversubscription.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Oversubscription {
    /// The kind.
    pub kind: OversubscriptionKind,
    /// The cores compared against: those the process may use (process and
    /// busy kinds) or the machine's online CPUs (machine kind).
    pub cores: u32,
    /// The fraction of the samples (or of the runtime, for the busy kind)
    /// with more runnable threads than `cores`.
    pub fraction: f64,
    /// The mean number of runnable threads (process kind: this process's;
    /// machine kind: every task of the machine; busy kind: busy threads).
    pub mean: f64,
    /// The most at once.
    pub peak: u32,
    /// Machine kind: the mean number of runnable tasks of other programs.
    pub others_mean: f64,
}

/// What the sampler saw over the run's window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchedSummary {
    /// Samples in the window.
    pub samples: u64,
    /// The sampling period, in nanoseconds.
    pub interval_ns: u64,
    /// The sampler thread's CPU time over the whole process, in nanoseconds.
    pub sampler_cpu_ns: u64,
    /// The mean and most of this process's runnable threads.
    pub process_mean: f64,
    /// See `process_mean`.
    pub process_peak: u32,
    /// The fraction of samples with more of them than the available cores.
    pub process_over: f64,
    /// The mean and most of the other programs' runnable tasks.
    pub others_mean: f64,
    /// See `others_mean`.
    pub others_peak: u32,
    /// The machine's online CPUs.
    pub online_cpus: u32,
    /// The fraction of samples with more runnable tasks in all (this
    /// process's and others') than online CPUs, others among them.
    pub machine_over: f64,
}
