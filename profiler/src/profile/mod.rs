//! The data model: a [`Profile`] is what every report, exporter and the
//! command-line tool read. A live [`snapshot`](crate::snapshot) and a saved
//! file are the same type.

use serde::{Deserialize, Serialize};

/// Index of a [`SiteInfo`] in [`Profile::sites`].
pub type SiteId = u32;

/// A profile: call sites, and one calling-context tree per thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// Where and how the profile was recorded.
    pub meta: Metadata,
    /// Every call site that the trees refer to, indexed by [`SiteId`].
    pub sites: Vec<SiteInfo>,
    /// One calling-context tree per thread, in the order threads first recorded.
    pub threads: Vec<ThreadProfile>,
    /// The parallel-efficiency summary, stored when a session ends (see
    /// [`Profile::parallel_summary`]). It describes the threads as recorded:
    /// anything that changes them (merging) leaves it out.
    #[serde(default)]
    pub parallel: Option<ParallelSummary>,
    /// How many threads were runnable over the run, from the sampler thread
    /// (see [`Sched`]); `None` when it did not run (or an older file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sched: Option<Sched>,
    /// Every rank's MPI figures, by rank, for a profile of an MPI program
    /// (empty otherwise): what mpiP's summary and POP's hybrid metrics are
    /// computed from, after the ranks' trees were merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mpi: Vec<RankMpi>,
}

/// Scheduler samples taken over the run by the profiler's sampler thread
/// (`profiler::start_sampler`, started by a session): how many of the
/// process's threads, and how many of the machine's tasks, were running or
/// runnable. Nothing of it is measured on the hot path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Sched {
    /// The sampling period, in nanoseconds (it doubles whenever the samples
    /// reach their cap, every other sample being dropped).
    pub interval_ns: u64,
    /// The machine's online CPUs: the cores its runnable tasks compete for.
    pub online_cpus: u32,
    /// The sampler thread's own CPU time, in nanoseconds: its cost.
    pub sampler_cpu_ns: u64,
    /// The samples, in time order.
    pub samples: Vec<SchedSample>,
}

/// One scheduler sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchedSample {
    /// When, in nanoseconds since the start of recording.
    pub t_ns: u64,
    /// This process's threads running or runnable (the sampler left out).
    pub process: u32,
    /// The machine's other running or runnable tasks (other programs).
    pub others: u32,
}

impl SchedSample {
    /// A sample at `t_ns` of `process` runnable threads of this process and
    /// `others` runnable tasks of other programs.
    pub fn new(t_ns: u64, process: u32, others: u32) -> Self {
        SchedSample {
            t_ns,
            process,
            others,
        }
    }
}

/// Where and how a profile was recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// The program's name (the file name of `argv[0]`).
    pub program: String,
    /// The command line, `argv[0]` included.
    pub args: Vec<String>,
    /// The recording process's id.
    pub pid: u32,
    /// The host name of the machine that recorded the profile (empty if unknown).
    #[serde(default)]
    pub host: String,
    /// Seconds since the Unix epoch when recording started.
    pub start_unix_s: f64,
    /// Wall time from the start of recording to the snapshot, in nanoseconds.
    pub duration_ns: u64,
    /// The tick source: `"tsc"` or `"monotonic"`.
    pub clock: String,
    /// Clock ticks per second, as calibrated for this profile.
    pub ticks_per_second: f64,
    /// Cores available to the process when the snapshot was taken.
    pub available_cores: u32,
    /// The version of this crate that recorded the profile.
    pub crate_version: String,
    /// The probe's measured cost per call (see [`ProbeCost`]), when a
    /// session measured it.
    #[serde(default)]
    pub probe_cost: Option<ProbeCost>,
    /// Whether that cost was subtracted from the times ([`Profile::compensate`]).
    #[serde(default)]
    pub compensated: bool,
    /// Nanoseconds of probe cost that compensation subtracted, over all
    /// threads (0 when not compensated).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub compensated_ns: u64,
    /// Functions from which compensation removed more than half of their
    /// tottime, as `name: NN%` (the share removed): their figures are mostly
    /// the probe's estimated cost, and less certain than the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compensation_warnings: Vec<String>,
    /// How the run ended, when it did not end by returning normally:
    /// `"SIGTERM"`, `"process::exit(3)"`, `"a panic: <message>"`. `None` for a
    /// normal end, and for a profile written while the program still ran
    /// (see [`Metadata::still_running`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// Why the profile was written while the program was still running
    /// (`"checkpoint every 10 s"`, `"dump on SIGUSR1"`), or `None` when it
    /// was written at the end. Calls still running count with their time so
    /// far (see [`ThreadProfile::open`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub still_running: Option<String>,
    /// Profiled calls not recorded because their thread had already finished
    /// its profiler bookkeeping (calls made from thread-local destructors
    /// that run after the profiler's own, at thread exit).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub calls_dropped_at_thread_exit: u64,
    /// Profiled calls not recorded because they interrupted the recorder on
    /// their own thread (a profiled function called from a signal handler
    /// while the thread was entering or leaving a profiled scope).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub calls_dropped_in_signal_handlers: u64,
    /// The MPI run this profile is of (its rank, ranks and library), for a
    /// profile of an MPI program; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpi: Option<MpiRun>,
    /// Whether the program was built without the profiler's `enable`
    /// feature, so that nothing could be recorded: every report says so
    /// ([`COMPILED_OUT`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub compiled_out: bool,
    /// The folder that the sites' relative file names are relative to (the
    /// workspace root of the build, as `file!()` gives workspace members'
    /// paths relative to it), absolute; `None` when unknown or when the
    /// user asked for relative paths (`PROFILER_SOURCE_ROOT=`). The
    /// callgrind file joins it to relative paths so that KCacheGrind finds
    /// the sources from any folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_root: Option<String>,
}

/// What every report of a profile recorded without the `enable` feature
/// says (see [`Metadata::compiled_out`]).
pub const COMPILED_OUT: &str = "recording was compiled out (the profiler was built without its \
     `enable` feature): nothing was recorded";

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one instrumented call costs, as measured at the start of a session
/// (as Python's `profile.calibrate` measures its own overhead).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProbeCost {
    /// Nanoseconds per call that land inside the call's own measured time
    /// (between its two clock reads).
    pub inner_ns: f64,
    /// Nanoseconds per call that the caller sees: the whole enter + exit.
    pub outer_ns: f64,
}

impl ProbeCost {
    /// A probe cost of `inner_ns` inside each call and `outer_ns` in all.
    pub fn new(inner_ns: f64, outer_ns: f64) -> Self {
        ProbeCost { inner_ns, outer_ns }
    }
}

/// A call site: a profiled function or scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SiteInfo {
    /// Display name: `fib`, `Grid::relax`, or the name given in the source.
    pub name: String,
    /// The Rust module path (`module_path!()`).
    pub module: String,
    /// The source file (`file!()`).
    pub file: String,
    /// The line of the function or scope (`line!()`).
    pub line: u32,
}

impl SiteInfo {
    /// A site with the given name, module, file and line.
    pub fn new(
        name: impl Into<String>,
        module: impl Into<String>,
        file: impl Into<String>,
        line: u32,
    ) -> Self {
        SiteInfo {
            name: name.into(),
            module: module.into(),
            file: file.into(),
            line,
        }
    }
}

mod compensate;
mod file;
mod mpi;
mod ranks;
mod spans;
mod summary;

pub use file::{FORMAT_MARKER, FORMAT_VERSION, MAX_INPUT_BYTES};
pub(crate) use file::{may_be_json, parse, write};
pub use mpi::{
    ClockOffset, ClockSync, Direction, MessageSide, MpiCall, MpiMessage, MpiMessages, MpiRun,
    MpiSpan, MpiTraffic, RankMpi, RankThread, ThreadsByRank,
};
pub use ranks::RankMerge;
pub use spans::{Placed, nest, overlapping};

pub use summary::{
    Concurrency, Efficiency, Oversubscription, OversubscriptionKind, ParallelSummary, Region,
    RegionBusy, RegionCall, RuntimeSource, SchedSummary, ThreadBusy,
};
pub mod merge;

/// One thread's calling-context tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreadProfile {
    /// The recorder's number for this thread, unique within the process.
    pub id: u64,
    /// The thread's name, or `<unnamed>`.
    pub name: String,
    /// How many threads this tree folds together: past a cap, the recorder
    /// folds the oldest exited threads into one tree (named `(N exited
    /// threads)`), and the merge of an MPI run's ranks folds each rank's
    /// thread of the same name into one (see [`RankMerge`]), so that memory
    /// stays bounded by call paths. 0 for a tree of one thread. A folded
    /// tree is no worker of its own in the parallel summary.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub folded_threads: u64,
    /// The id of the process that ran the thread.
    pub pid: u32,
    /// The tree's nodes. A node's parent always comes before it.
    pub nodes: Vec<Node>,
    /// Completed scopes in the order they ended, when timeline recording was
    /// on (empty otherwise). Only scopes at least the configured minimum
    /// duration long are kept.
    #[serde(default)]
    pub timeline: Vec<Span>,
    /// Scopes left off the timeline because its memory cap was reached.
    /// The aggregated figures (nodes) still count them.
    #[serde(default)]
    pub timeline_dropped: u64,
    /// Calls that were still running when the profile was taken, as node
    /// indexes, outermost first. Each counts as one call in its node, with
    /// its time so far, as cProfile counts the frames still open when it is
    /// disabled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<u32>,
    /// The thread's time on a CPU, in nanoseconds, from the operating system
    /// (read at the thread's exit, or at the snapshot while it runs);
    /// `None` where the platform does not tell (or an older file). Time
    /// blocked (in `join`, a channel receive, a lock, I/O) is not in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ns: Option<u64>,
    /// The thread's time runnable but waiting for a CPU (preempted), in
    /// nanoseconds, from the operating system, read with
    /// [`cpu_ns`](Self::cpu_ns); `None` where unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runqueue_ns: Option<u64>,
    /// When the thread first recorded, in nanoseconds since the start of
    /// recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ns: Option<u64>,
    /// When the thread exited, in nanoseconds since the start of recording;
    /// `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ns: Option<u64>,
    /// The thread's CPU time over the run as sampled by the sampler thread,
    /// in time order: `[t_ns, cpu_ns, runqueue_ns]`, the time on a CPU and
    /// the time runnable but waiting for one, both up to `t_ns`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_samples: Vec<[u64; 3]>,
    /// The MPI rank of the process that ran the thread, in a profile of an
    /// MPI program; `None` otherwise (and for a tree merged over ranks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
}

/// A completed scope on a thread's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Span {
    /// The site of the scope.
    pub site: SiteId,
    /// Start, in nanoseconds since the start of recording
    /// ([`Metadata::start_unix_s`]).
    pub start_ns: u64,
    /// Duration in nanoseconds.
    pub duration_ns: u64,
}

impl Span {
    /// A span of `site` starting `start_ns` after the start of recording.
    pub fn new(site: SiteId, start_ns: u64, duration_ns: u64) -> Self {
        Span {
            site,
            start_ns,
            duration_ns,
        }
    }

    /// The end, in nanoseconds since the start of recording.
    pub fn end_ns(&self) -> u64 {
        self.start_ns.saturating_add(self.duration_ns)
    }
}

/// Marks a root node (one with no profiled caller) in [`Node::parent`].
pub const NO_PARENT: u32 = u32::MAX;

/// A node of a calling-context tree: one distinct call path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Node {
    /// The site called on this path.
    pub site: SiteId,
    /// Index of the parent node in the same thread, or [`NO_PARENT`] for a root.
    pub parent: u32,
    /// Completed calls along this path.
    pub calls: u64,
    /// Inclusive time of those calls, in nanoseconds. Never less than the sum
    /// of the children's.
    pub time_ns: u64,
}

impl Node {
    /// A node; `parent` is [`NO_PARENT`] for a root.
    pub fn new(site: SiteId, parent: u32, calls: u64, time_ns: u64) -> Self {
        Node {
            site,
            parent,
            calls,
            time_ns,
        }
    }

    /// The parent's index, or `None` for a root.
    pub fn parent(&self) -> Option<usize> {
        (self.parent != NO_PARENT).then_some(self.parent as usize)
    }
}

impl ThreadProfile {
    /// A thread with the given id, name, process id and nodes.
    pub fn new(id: u64, name: impl Into<String>, pid: u32, nodes: Vec<Node>) -> Self {
        ThreadProfile {
            id,
            name: name.into(),
            folded_threads: 0,
            pid,
            nodes,
            timeline: Vec::new(),
            timeline_dropped: 0,
            open: Vec::new(),
            cpu_ns: None,
            runqueue_ns: None,
            started_ns: None,
            ended_ns: None,
            cpu_samples: Vec::new(),
            rank: None,
        }
    }

    /// The same thread with its CPU time from the operating system (see
    /// [`cpu_ns`](Self::cpu_ns)).
    pub fn with_cpu(mut self, cpu_ns: Option<u64>) -> Self {
        self.cpu_ns = cpu_ns;
        self
    }

    /// The same thread with its time waiting for a CPU (see
    /// [`runqueue_ns`](Self::runqueue_ns)).
    pub fn with_runqueue(mut self, runqueue_ns: Option<u64>) -> Self {
        self.runqueue_ns = runqueue_ns;
        self
    }

    /// The same thread with its lifetime: when it first recorded and when it
    /// exited (`None` while it runs), in nanoseconds since the start of
    /// recording.
    pub fn with_lifetime(mut self, started_ns: Option<u64>, ended_ns: Option<u64>) -> Self {
        self.started_ns = started_ns;
        self.ended_ns = ended_ns;
        self
    }

    /// The same thread with sampled CPU time (see
    /// [`cpu_samples`](Self::cpu_samples)).
    pub fn with_cpu_samples(mut self, samples: Vec<[u64; 3]>) -> Self {
        self.cpu_samples = samples;
        self
    }

    /// The same thread with `open` (node indexes, outermost first) marked
    /// as calls still running (see [`ThreadProfile::open`]).
    pub fn with_open(mut self, open: Vec<u32>) -> Self {
        self.open = open;
        self
    }

    /// The same tree marked as the fold of `n` exited threads (see
    /// [`folded_threads`](Self::folded_threads)).
    pub fn with_folded_threads(mut self, n: u64) -> Self {
        self.folded_threads = n;
        self
    }

    /// The same thread with a timeline and its dropped-scope count.
    pub fn with_timeline(mut self, timeline: Vec<Span>, dropped: u64) -> Self {
        self.timeline = timeline;
        self.timeline_dropped = dropped;
        self
    }

    /// Self (exclusive) time of every node: inclusive time minus the
    /// children's inclusive time.
    pub fn self_times(&self) -> Vec<u64> {
        let mut self_ns: Vec<u64> = self.nodes.iter().map(|n| n.time_ns).collect();
        for n in &self.nodes {
            if let Some(p) = n.parent() {
                self_ns[p] = self_ns[p].saturating_sub(n.time_ns);
            }
        }
        self_ns
    }

    /// Inclusive time of the roots, summed: the thread's profiled time.
    pub fn root_time_ns(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.parent == NO_PARENT)
            .map(|n| n.time_ns)
            .sum()
    }

    /// Each node's position in a depth-first preorder of the tree (roots in
    /// node order, each node's children in node order), or [`NO_PARENT`]
    /// for a node no root reaches (possible only in a tree built by hand
    /// with parents after their children).
    ///
    /// When every parent comes before its children, as in every recorded or
    /// loaded profile, this takes two linear passes and no child lists:
    /// subtree sizes from the last node up, then each node placed in its
    /// parent's next free slot. Its random accesses are independent of one
    /// another, which a walk of child lists is not.
    pub(crate) fn preorder(&self) -> Vec<u32> {
        let n = self.nodes.len();
        let parents_first = self
            .nodes
            .iter()
            .enumerate()
            .all(|(i, node)| node.parent().is_none_or(|p| p < i));
        if !parents_first {
            return self.preorder_by_walk();
        }
        preorder_of(n, |i| self.nodes[i].parent())
    }

    /// [`preorder`](Self::preorder) for any node order, by a walk of the
    /// child lists.
    fn preorder_by_walk(&self) -> Vec<u32> {
        let kids = self.children();
        let mut pos = vec![NO_PARENT; self.nodes.len()];
        let mut next = 0u32;
        let mut stack: Vec<u32> = kids.roots().iter().rev().copied().collect();
        while let Some(i) = stack.pop() {
            pos[i as usize] = next;
            next += 1;
            stack.extend(kids.of(i as usize).iter().rev());
        }
        pos
    }

    /// The tree's structure as child lists, built in two linear passes.
    pub fn children(&self) -> Children {
        let n = self.nodes.len();
        let mut offsets = vec![0u32; n + 1];
        let mut roots = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            match node.parent() {
                Some(p) => offsets[p + 1] += 1,
                None => roots.push(i as u32),
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut flat = vec![0u32; offsets[n] as usize];
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(p) = node.parent() {
                flat[fill[p] as usize] = i as u32;
                fill[p] += 1;
            }
        }
        Children {
            roots,
            offsets,
            flat,
        }
    }

    /// Checks the tree's structural rules: parents come first, sites exist,
    /// and no node's time is below the sum of its children's.
    pub(crate) fn check_tree(&self, n_sites: usize) -> Result<(), String> {
        let mut child_sum = vec![0u128; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if n.site as usize >= n_sites {
                return Err(format!("node {i} names site {} of {n_sites}", n.site));
            }
            if let Some(p) = n.parent() {
                if p >= i {
                    return Err(format!(
                        "node {i} has parent {p}, which does not come before it"
                    ));
                }
                child_sum[p] += u128::from(n.time_ns);
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if u128::from(n.time_ns) < child_sum[i] {
                return Err(format!("node {i} has less time than its children"));
            }
        }
        if let Some(&i) = self.open.iter().find(|&&i| i as usize >= self.nodes.len()) {
            return Err(format!(
                "open call {i} names a node of {}",
                self.nodes.len()
            ));
        }
        Ok(())
    }
}

/// Each of `n` nodes' position in a depth-first preorder (roots in node
/// order, children in node order), where `parent(i)` always comes before
/// `i`: two linear passes, subtree sizes from the last node up, then each
/// node placed in its parent's next free slot.
pub(crate) fn preorder_of(n: usize, parent: impl Fn(usize) -> Option<usize>) -> Vec<u32> {
    // `slot[i]` holds the size of i's subtree, then, once i is placed, the
    // next free position inside it.
    let mut slot = vec![1u32; n];
    for i in (0..n).rev() {
        if let Some(p) = parent(i) {
            slot[p] += slot[i];
        }
    }
    let mut pos = vec![0u32; n];
    let mut next_root = 0u32;
    for i in 0..n {
        let size = slot[i];
        let at = match parent(i) {
            None => &mut next_root,
            Some(p) => &mut slot[p],
        };
        pos[i] = *at;
        *at += size;
        slot[i] = pos[i] + 1;
    }
    pos
}

/// The child lists of a [`ThreadProfile`]'s nodes, in node order.
#[derive(Clone, Debug)]
pub struct Children {
    roots: Vec<u32>,
    offsets: Vec<u32>,
    flat: Vec<u32>,
}

impl Children {
    /// The roots (nodes without a parent), in node order.
    pub fn roots(&self) -> &[u32] {
        &self.roots
    }

    /// The children of node `i`, in node order.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.flat[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

impl Profile {
    /// A profile from its parts.
    pub fn new(meta: Metadata, sites: Vec<SiteInfo>, threads: Vec<ThreadProfile>) -> Self {
        Profile {
            meta,
            sites,
            threads,
            parallel: None,
            sched: None,
            mpi: Vec::new(),
        }
    }

    /// The call site `id` names, if the profile has it.
    pub fn site(&self, id: SiteId) -> Option<&SiteInfo> {
        self.sites.get(id as usize)
    }

    /// The sum over threads of the roots' inclusive time, in nanoseconds.
    pub fn root_time_ns(&self) -> u64 {
        self.threads.iter().map(ThreadProfile::root_time_ns).sum()
    }

    /// Checks the rules every loaded profile keeps: in each thread's tree,
    /// parents come before their children, nodes name existing sites, and no
    /// node's time is below the sum of its children's; timeline spans and
    /// open calls name existing sites and nodes; and the totals of calls and
    /// of nanoseconds fit in 63 bits (so that no sum in the reports can
    /// overflow). The error says which rule broke, and where.
    pub fn validate(&self) -> Result<(), crate::error::Error> {
        check(self).map_err(|message| crate::error::Error::Invalid { message })
    }

    /// Checks every thread's tree (see [`Profile::validate`]).
    pub(crate) fn check_trees(&self) -> Result<(), String> {
        for t in &self.threads {
            t.check_tree(self.sites.len())
                .map_err(|e| format!("thread {} ({}): {e}", t.id, t.name))?;
        }
        Ok(())
    }

    /// The call tree as indented text, one line per node in depth-first order:
    /// `name calls=N` (times left out so that it is stable across runs).
    /// Threads are listed by name; useful for snapshot tests.
    pub fn call_tree_text(&self) -> String {
        let mut out = String::new();
        for t in &self.threads {
            out.push_str(&format!("thread {}\n", t.name));
            let kids = t.children();
            let mut stack: Vec<(u32, usize)> = kids.roots().iter().rev().map(|&r| (r, 1)).collect();
            while let Some((i, depth)) = stack.pop() {
                let n = &t.nodes[i as usize];
                let name = self
                    .sites
                    .get(n.site as usize)
                    .map_or("?", |s| s.name.as_str());
                out.push_str(&format!(
                    "{}{} calls={}\n",
                    "  ".repeat(depth),
                    name,
                    n.calls
                ));
                for &c in kids.of(i as usize).iter().rev() {
                    stack.push((c, depth + 1));
                }
            }
        }
        out
    }
}

/// The checks of [`Profile::validate`], failing with one line.
pub(crate) fn check(profile: &Profile) -> Result<(), String> {
    profile.check_trees()?;
    let n_sites = profile.sites.len();
    let mut calls: u128 = 0;
    let mut time: u128 = 0;
    for t in &profile.threads {
        for n in &t.nodes {
            calls += u128::from(n.calls);
            time += u128::from(n.time_ns);
        }
        if let Some((i, s)) = t
            .timeline
            .iter()
            .enumerate()
            .find(|(_, s)| s.site as usize >= n_sites)
        {
            return Err(format!(
                "thread {} ({}): timeline span {i} names site {} of {n_sites}",
                t.id, t.name, s.site
            ));
        }
        if let Some(i) = t.timeline.iter().position(|s| {
            s.start_ns
                .checked_add(s.duration_ns)
                .is_none_or(|e| e > MAX_TOTAL)
        }) {
            return Err(format!(
                "thread {} ({}): timeline span {i} ends after 2^63 ns",
                t.id, t.name
            ));
        }
    }
    if calls > u128::from(MAX_TOTAL) {
        return Err(format!("{calls} calls in all: more than 2^63"));
    }
    if time > u128::from(MAX_TOTAL) {
        return Err(format!(
            "the nodes' times add up to {time} ns: more than 2^63"
        ));
    }
    Ok(())
}

/// The largest total of calls or nanoseconds a loaded profile may hold.
const MAX_TOTAL: u64 = i64::MAX as u64;
