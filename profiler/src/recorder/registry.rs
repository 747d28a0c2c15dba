//! The registry of every thread that ever recorded, and raw captures of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::arena::NONE;
use super::thread::ThreadData;
use super::timeline::RawSpan;
use crate::clock;
use crate::hash::FastMap;

/// Exited threads kept one by one; past this many, the oldest are folded
/// into a single "exited threads" tree so memory stays bounded by call paths.
pub(crate) const MAX_RETIRED: usize = 1024;

/// A node of a captured tree, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawNode {
    pub(crate) site: u32,
    pub(crate) parent: u32,
    pub(crate) calls: u64,
    pub(crate) ticks: u64,
}

/// A captured thread: its tree in ticks, without the root sentinel (node
/// indexes are shifted down by one; roots have parent `NONE`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RawThread {
    pub(crate) id: u64,
    pub(crate) name: String,
    /// How many exited threads this tree folds together (0: one thread).
    pub(crate) folded: u64,
    pub(crate) nodes: Vec<RawNode>,
    /// Logged scopes, in the order they ended.
    pub(crate) timeline: Vec<RawSpan>,
    /// Scopes left off the timeline (cap reached, or folded away).
    pub(crate) timeline_dropped: u64,
    /// Nodes (indexes into `nodes`) of the frames that were open when the
    /// capture was taken, outermost first; their calls and ticks include
    /// those frames with their time so far.
    pub(crate) open: Vec<u32>,
    /// CPU time from the operating system, in nanoseconds (at exit, or at
    /// the capture while the thread runs).
    pub(crate) cpu_ns: Option<u64>,
    /// Time waiting on a run queue (runnable, not running), in nanoseconds.
    pub(crate) runqueue_ns: Option<u64>,
    /// Clock ticks at registration and at exit (0 while running).
    pub(crate) started: u64,
    pub(crate) ended: u64,
    /// Time on a CPU and on a run queue at registration (ns).
    pub(crate) sched_at_start: Option<(u64, u64)>,
    /// The tick at which `cpu_ns` and `runqueue_ns` were read (the exit,
    /// or the capture).
    pub(crate) sched_read: u64,
    /// For a session's capture: the thread's time on a CPU and on a run
    /// queue when the session started, already taken out of `cpu_ns` and
    /// `runqueue_ns` (and to be taken out of the sampled curve).
    pub(crate) sched_base: Option<(u64, u64)>,
}

enum Entry {
    Live(Arc<ThreadData>),
    Retired(Box<RawThread>),
    /// The profiler's own calibration thread: never reported.
    Hidden(Arc<ThreadData>),
}

struct Registry {
    entries: Vec<Entry>,
    /// Threads folded into `folded` (0 = none).
    folded_count: u64,
    folded: Option<RawThread>,
    /// In a forked child: the forking thread's counters at the fork, and the
    /// clock then, subtracted from its captures so the child reports only
    /// its own calls.
    fork_base: Option<(RawThread, u64)>,
}

static REGISTRY: crate::fork::Lock<Registry> = crate::fork::Lock::new(Registry {
    entries: Vec::new(),
    folded_count: 0,
    folded: None,
    fork_base: None,
});
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Marker whose destructor runs when a thread exits.
struct ExitHook {
    id: u64,
    /// What the recorder does first (closes the thread's open frames).
    on_exit: fn(),
}

impl Drop for ExitHook {
    fn drop(&mut self) {
        (self.on_exit)();
        if let Some(d) = find_live(self.id) {
            d.os.exit_now();
        }
        retire(self.id);
    }
}

thread_local! {
    /// Set on the profiler's own calibration thread before its first scope.
    static HIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static EXIT_HOOK: std::cell::Cell<Option<ExitHook>> = const { std::cell::Cell::new(None) };
}

/// Set when a thread other than the profiler's own first records.
static ANY_THREAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether any thread of the program (not the profiler's own) recorded.
pub(crate) fn any_thread_recorded() -> bool {
    ANY_THREAD.load(Ordering::Relaxed)
}

/// Creates the calling thread's recorder with `make(id, name)`, registers it
/// (`on_exit` runs when the thread exits, before the recorder is retired),
/// and returns the pointer that the thread-local slot keeps; `None` when the
/// thread is already running its thread-local destructors and the profiler's
/// exit hook is gone, so that the recorder could never be retired.
pub(crate) fn register_current_thread(
    make: fn(u64, String) -> ThreadData,
    on_exit: fn(),
) -> Option<*const ThreadData> {
    // Install the exit hook first: during thread-local destruction it may be
    // unavailable, and then nothing is registered (see `enter_first`).
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    EXIT_HOOK
        .try_with(|h| h.set(Some(ExitHook { id, on_exit })))
        .ok()?;
    let name = std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_owned();
    let data = Arc::new(make(id, name));
    let ptr = Arc::as_ptr(&data);
    let entry = if HIDE.with(std::cell::Cell::get) {
        Entry::Hidden(data)
    } else {
        ANY_THREAD.store(true, Ordering::Relaxed);
        Entry::Live(data)
    };
    REGISTRY.lock().entries.push(entry);
    Some(ptr)
}

impl RawThread {
    /// Subtracts the counters of `base`, an earlier capture of the same
    /// thread (whose nodes are a prefix of this one's: arenas only grow),
    /// and leaves out timeline scopes that started before the clock read
    /// `since`.
    /// With `sched`, the CPU and run-queue times of `base` are taken out too
    /// (not after a fork: the child's thread counts its CPU time anew).
    pub(crate) fn subtract(&mut self, base: &RawThread, since: u64, sched: bool) {
        for (n, old) in self.nodes.iter_mut().zip(&base.nodes) {
            n.calls = n.calls.saturating_sub(old.calls);
            n.ticks = n.ticks.saturating_sub(old.ticks);
        }
        self.timeline.retain(|s| s.start >= since);
        self.timeline_dropped = self.timeline_dropped.saturating_sub(base.timeline_dropped);
        if sched {
            let (cpu0, wait0) = (base.cpu_ns.unwrap_or(0), base.runqueue_ns.unwrap_or(0));
            self.cpu_ns = self.cpu_ns.map(|c| c.saturating_sub(cpu0));
            self.runqueue_ns = self.runqueue_ns.map(|w| w.saturating_sub(wait0));
            self.sched_base = Some((cpu0, wait0));
        } else {
            self.sched_at_start = None;
        }
    }
}

/// Holds the registry across a `fork` (see [`crate::fork`]).
pub(crate) fn fork_prepare() {
    crate::fork::hold(&REGISTRY);
}

/// In the child: keeps only the forking thread (`current`, null if it never
/// recorded), with its counters now as the base to subtract. The other
/// threads' recorders are leaked, not freed: nothing in the child uses them.
pub(crate) fn fork_child(current: *const ThreadData) {
    let mut reg = REGISTRY.lock();
    let mut base = None;
    for e in std::mem::take(&mut reg.entries) {
        match e {
            Entry::Live(d) if std::ptr::eq(Arc::as_ptr(&d), current) => {
                base = Some((capture_live(&d, false), clock::now()));
                reg.entries.push(Entry::Live(d));
            }
            Entry::Live(d) | Entry::Hidden(d) => std::mem::forget(d),
            Entry::Retired(_) => {}
        }
    }
    reg.folded = None;
    reg.folded_count = 0;
    reg.fork_base = base;
}

/// Captures a live thread. With `open`, the frames open at this moment (on
/// any thread) count as calls ending now, as cProfile counts unmatched frames
/// when it stops, and are listed in `open`.
fn capture_live(data: &ThreadData, open: bool) -> RawThread {
    let values = data.arena.read();
    let mut nodes: Vec<RawNode> = values
        .iter()
        .skip(1)
        .map(|v| RawNode {
            site: v.site_id,
            parent: if v.parent == 0 || v.parent == NONE {
                NONE
            } else {
                v.parent - 1
            },
            calls: v.calls,
            ticks: v.ticks,
        })
        .collect();
    let mut open_nodes = Vec::new();
    if open {
        let frames = data.stack.read();
        let now = clock::now();
        for f in frames {
            // SAFETY: frames point at nodes of this thread's arena, which
            // lives as long as `data`.
            let idx = unsafe { (*f.node).index() } as usize;
            if let Some(i) = idx.checked_sub(1).filter(|&i| i < nodes.len()) {
                let n = &mut nodes[i];
                n.calls += 1;
                // A frame started on a core whose clock reads ahead counts 0.
                n.ticks = n.ticks.wrapping_add(now.saturating_sub(f.start));
                open_nodes.push(i as u32);
            }
        }
    }
    let (timeline, timeline_dropped) = data.timeline.read();
    let (cpu_ns, runqueue_ns) = data.os.sched_ns(data.is_current());
    let ended = data.os.ended.load(Ordering::Relaxed);
    RawThread {
        id: data.id,
        name: data.name.clone(),
        folded: 0,
        nodes,
        timeline,
        timeline_dropped,
        open: open_nodes,
        cpu_ns,
        runqueue_ns,
        started: data.os.started,
        ended,
        sched_at_start: data.os.sched_at_start,
        sched_read: if ended != 0 { ended } else { clock::now() },
        sched_base: None,
    }
}

/// The live recorder with this id, if any.
fn find_live(id: u64) -> Option<Arc<ThreadData>> {
    REGISTRY.lock().entries.iter().find_map(|e| match e {
        Entry::Live(d) if d.id == id => Some(Arc::clone(d)),
        _ => None,
    })
}

/// The live (reported) threads: recorder id and OS thread id, for the
/// sampler thread.
pub(crate) fn live_threads() -> Vec<(u64, u32)> {
    REGISTRY
        .lock()
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Live(d) if d.os.ended.load(Ordering::Relaxed) == 0 => {
                d.os.tid.map(|t| (d.id, t))
            }
            _ => None,
        })
        .collect()
}

/// Marks the calling thread as the profiler's own: snapshots skip it. Must be
/// called before the thread's first profiled scope.
pub(crate) fn hide_current_thread() {
    HIDE.with(|h| h.set(true));
}

/// Replaces a live thread's entry by its compact capture (a hidden thread's
/// entry is removed).
fn retire(id: u64) {
    let mut reg = REGISTRY.lock();
    if let Some(pos) = reg
        .entries
        .iter()
        .position(|e| matches!(e, Entry::Hidden(d) if d.id == id))
    {
        reg.entries.remove(pos);
        return;
    }
    let Some(pos) = reg
        .entries
        .iter()
        .position(|e| matches!(e, Entry::Live(d) if d.id == id))
    else {
        return;
    };
    let raw = match &reg.entries[pos] {
        // The owner closed its frames just before: none is open.
        Entry::Live(d) => capture_live(d, false),
        Entry::Retired(_) | Entry::Hidden(_) => return,
    };
    // The `Arc` is dropped here (or by a snapshot still holding a clone).
    reg.entries[pos] = Entry::Retired(Box::new(raw));
    let retired = reg
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::Retired(_)))
        .count();
    if retired > MAX_RETIRED {
        let oldest = reg
            .entries
            .iter()
            .position(|e| matches!(e, Entry::Retired(_)));
        if let Some(i) = oldest {
            if let Entry::Retired(t) = reg.entries.remove(i) {
                reg.folded_count += 1;
                let count = reg.folded_count;
                let folded = reg.folded.get_or_insert_with(|| RawThread {
                    id: 0,
                    name: String::new(),
                    folded: 0,
                    nodes: Vec::new(),
                    timeline: Vec::new(),
                    timeline_dropped: 0,
                    open: Vec::new(),
                    cpu_ns: Some(0),
                    runqueue_ns: Some(0),
                    started: t.started,
                    ended: 0,
                    sched_at_start: None,
                    sched_read: 0,
                    sched_base: None,
                });
                fold_into(folded, &t);
                folded.name = format!("({count} exited threads)");
                folded.folded = count;
            }
        }
    }
}

/// Adds `src`'s tree into `dst`, matching nodes by call path. Timelines of
/// different threads cannot share one track: `src`'s scopes are counted as
/// dropped.
pub(crate) fn fold_into(dst: &mut RawThread, src: &RawThread) {
    dst.timeline_dropped += src.timeline.len() as u64 + src.timeline_dropped;
    dst.cpu_ns = dst.cpu_ns.zip(src.cpu_ns).map(|(a, b)| a.saturating_add(b));
    dst.runqueue_ns = dst
        .runqueue_ns
        .zip(src.runqueue_ns)
        .map(|(a, b)| a.saturating_add(b));
    dst.ended = dst.ended.max(src.ended);
    let mut index: FastMap<(u32, u32), u32> = dst
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| ((n.parent, n.site), i as u32))
        .collect();
    let mut map = vec![NONE; src.nodes.len()];
    for (i, n) in src.nodes.iter().enumerate() {
        let parent = if n.parent == NONE {
            NONE
        } else {
            map[n.parent as usize]
        };
        let at = *index.entry((parent, n.site)).or_insert_with(|| {
            dst.nodes.push(RawNode {
                site: n.site,
                parent,
                calls: 0,
                ticks: 0,
            });
            (dst.nodes.len() - 1) as u32
        });
        let d = &mut dst.nodes[at as usize];
        d.calls += n.calls;
        d.ticks = d.ticks.wrapping_add(n.ticks);
        map[i] = at;
    }
}

/// Captures every thread that ever recorded, in registration order (the
/// folded exited threads, if any, last), with every thread's open frames
/// counted as calls ending now.
pub(crate) fn capture() -> Vec<RawThread> {
    capture_with(true)
}

/// [`capture`] without the open frames: the counters of completed calls, as
/// a baseline to subtract later.
pub(crate) fn capture_counters() -> Vec<RawThread> {
    capture_with(false)
}

fn capture_with(open: bool) -> Vec<RawThread> {
    type Indexed<T> = Vec<(usize, T)>;
    let (live, mut out, fork_base): (Indexed<Arc<ThreadData>>, Indexed<RawThread>, _) = {
        let reg = REGISTRY.lock();
        let mut live = Vec::new();
        let mut retired = Vec::new();
        for (i, e) in reg.entries.iter().enumerate() {
            match e {
                Entry::Live(d) => live.push((i, Arc::clone(d))),
                Entry::Retired(t) => retired.push((i, (**t).clone())),
                Entry::Hidden(_) => {}
            }
        }
        if let Some(f) = &reg.folded {
            retired.push((usize::MAX, f.clone()));
        }
        (live, retired, reg.fork_base.clone())
    };
    // Read live arenas outside the lock so recording threads are never held up.
    out.extend(live.iter().map(|(i, d)| (*i, capture_live(d, open))));
    if let Some((base, since)) = fork_base {
        for (_, t) in out.iter_mut().filter(|(_, t)| t.id == base.id) {
            t.subtract(&base, since, false);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}
