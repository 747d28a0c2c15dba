//! The hot path: opening and closing profiled scopes on the calling thread,
//! and the run-time switch.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, compiler_fence};

use super::arena::Node;
use super::registry;
use super::thread::{BUSY, IDLE_TSC, LOCAL, REGISTERING, ThreadData};
use super::timeline;
use crate::clock;
use crate::site::Site;

/// The runtime switch: when false, entering a scope records nothing.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns recording on or off at run time. Scopes already open when it is
/// turned off still close normally.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether recording is on (see [`set_enabled`]).
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Calls not recorded because their thread had already retired its
/// recorder (a profiled call from a thread-local destructor that runs after
/// the profiler's own): counted here, never attached to a freed recorder.
static LATE_DROPPED: AtomicU64 = AtomicU64::new(0);

/// Calls left unrecorded because their thread was exiting (see `LATE_DROPPED`).
pub(crate) fn late_dropped() -> u64 {
    LATE_DROPPED.load(Ordering::Relaxed)
}

/// Calls not recorded because they interrupted the recorder's own
/// bookkeeping on their thread (a profiled call in a signal handler that
/// arrived while the thread was entering or leaving a scope).
static REENTRANT_DROPPED: AtomicU64 = AtomicU64::new(0);

/// Calls left unrecorded because they interrupted the recorder (see `REENTRANT_DROPPED`).
pub(crate) fn reentrant_dropped() -> u64 {
    REENTRANT_DROPPED.load(Ordering::Relaxed)
}

/// Marks a thread's recorder busy while it lives (see `ThreadData::state`),
/// and gives it back its idle state after.
/// The compiler fences keep the state's stores around the work they guard
/// as a signal handler on the same thread sees them.
struct Busy<'a> {
    state: &'a Cell<u8>,
    idle: u8,
}

impl<'a> Busy<'a> {
    #[inline(always)]
    fn enter(td: &'a ThreadData) -> Option<Busy<'a>> {
        let idle = td.state.get();
        if idle == BUSY {
            REENTRANT_DROPPED.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        td.state.set(BUSY);
        compiler_fence(Ordering::SeqCst);
        Some(Busy {
            state: &td.state,
            idle,
        })
    }
}

impl Drop for Busy<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        compiler_fence(Ordering::SeqCst);
        self.state.set(self.idle);
    }
}

/// The guard of an open profiled scope: dropping it closes the scope and
/// records the call.
///
/// Returned by [`profile_scope!`](crate::profile_scope) and used by
/// `#[profile]`. It is `!Send`: a scope opens and closes on one thread.
#[must_use = "the scope is closed (and recorded) when the guard is dropped"]
pub struct Guard {
    /// Depth of the frame this guard opened; `u32::MAX` when inactive.
    depth: u32,
    /// Start tick of that frame, which identifies it.
    start: u64,
    /// Keeps the guard on its thread (`!Send`, `!Sync`).
    _thread: PhantomData<*const ()>,
}

const INACTIVE: u32 = u32::MAX;

impl Guard {
    #[inline(always)]
    fn inactive() -> Guard {
        Guard::new(INACTIVE, 0)
    }

    /// The guard of the frame at `depth` that started at `start`. A guard
    /// needs no pointer to its recorder: it is `!Send`, so it is dropped on
    /// the thread that made it, whose `LOCAL` then either still points at
    /// the recorder the frame was pushed on or is null (the recorder was
    /// retired at thread exit, and a thread never registers twice). That
    /// keeps the guard at 16 bytes, which the calling convention returns
    /// in two registers.
    #[inline(always)]
    fn new(depth: u32, start: u64) -> Guard {
        Guard {
            depth,
            start,
            _thread: PhantomData,
        }
    }

    /// Closes the frame, adding `calls` (1, or 0 for a resumed poll) to its node.
    #[inline(always)]
    pub(crate) fn close(self, calls: u64) {
        let me = std::mem::ManuallyDrop::new(self);
        me.finish(calls);
    }

    #[inline(always)]
    fn finish(&self, calls: u64) {
        let _ = self.finish_at(calls);
    }

    /// [`finish`](Self::finish), returning the end tick it closed the
    /// frame at (`None` when it closed nothing).
    #[inline(always)]
    fn finish_at(&self, calls: u64) -> Option<u64> {
        if self.depth == INACTIVE {
            return None;
        }
        // The recorder this guard opened its frame in is the one `LOCAL`
        // points at, unless `LOCAL` is null (see `Guard::new`): at thread
        // exit the registry closes the open frames, clears `LOCAL` and frees
        // the recorder, and a guard dropped after that (one kept in another
        // thread-local) must not touch it. Its frame was counted when it
        // was closed at exit.
        let data = LOCAL.with(Cell::get);
        if data.is_null() {
            return None;
        }
        let end = clock::now();
        // SAFETY: a non-null `LOCAL` is the thread's current recorder, the
        // one this guard's frame was pushed on, kept alive by the registry
        // while `LOCAL` points at it; the guard is `!Send`, so we are on that
        // thread and nothing else writes the stack.
        let td = unsafe { &*data };
        // A guard of a signal handler that entered while the thread was busy
        // is inactive; this one can only find the thread busy if it is
        // dropped inside such a handler, out of order: leave the frame for
        // the enclosing guard to close.
        let _busy = Busy::enter(td)?;
        let depth = self.depth as usize;
        let stack = &td.stack;
        if stack.len() == depth + 1 {
            // SAFETY: owner thread, and `depth < len`.
            let top = unsafe { stack.at(depth) };
            if top.start() == self.start {
                let node = top.node();
                // SAFETY: owner thread.
                unsafe { stack.truncate(depth) };
                close_frame(td, node, self.start, end, calls);
                return Some(end);
            }
        }
        // SAFETY: owner thread, as above.
        unsafe { close_slow(td, depth, self.start, end, calls) };
        Some(end)
    }

    /// Closes the scope as dropping the guard does, and when timeline
    /// recording is on puts it on the timeline even if it was shorter than
    /// the minimum duration (MPI calls, which the timeline exporters pair
    /// into messages). Returns the calling thread's recorder id and the
    /// scope's start and end ticks, or `None` when it recorded nothing.
    #[cfg(feature = "mpi")]
    pub(crate) fn close_logged(self, site: &'static Site) -> Option<(u64, u64, u64)> {
        let me = std::mem::ManuallyDrop::new(self);
        let start = me.start;
        let end = me.finish_at(1)?;
        let td = current()?;
        let ticks = end.wrapping_sub(start);
        let min = timeline::min_ticks();
        if min != u64::MAX && ticks < min {
            let _busy = Busy::enter(td)?;
            td.timeline.push(site.id(), start, ticks);
        }
        Some((td.id, start, end))
    }
}

/// Records a closed frame in its node, and on the timeline when it is on and
/// the frame lasted long enough.
#[inline(always)]
fn close_frame(td: &ThreadData, node: *const Node, start: u64, end: u64, calls: u64) {
    let ticks = end.wrapping_sub(start);
    // SAFETY: frames point at nodes in this thread's arena, whose chunks are
    // never freed or moved while the recorder lives.
    let node = unsafe { &*node };
    node.record(calls, ticks);
    if ticks >= timeline::min_ticks() {
        td.timeline.push(node.site_id(), start, ticks);
    }
}

/// Closes frames when guards were leaked or dropped out of order: if this
/// guard's frame is still open, every frame above it is closed at `end` (as
/// cProfile closes unmatched frames), then its own; otherwise nothing happens.
///
/// # Safety
/// Owner thread of `td` only.
#[cold]
#[inline(never)]
unsafe fn close_slow(td: &ThreadData, depth: usize, start: u64, end: u64, calls: u64) {
    let stack = &td.stack;
    // SAFETY: owner thread (caller's contract), and `depth < len` is checked first.
    if depth >= stack.len() || unsafe { stack.at(depth) }.start() != start {
        return;
    }
    // SAFETY: owner thread.
    unsafe { close_above(td, depth + 1, end) };
    // SAFETY: owner thread; `depth` is the top now.
    let node = unsafe { stack.at(depth) }.node();
    // SAFETY: owner thread.
    unsafe { stack.truncate(depth) };
    close_frame(td, node, start, end, calls);
}

/// Closes every frame at or above `depth` at `end`, innermost first, one
/// call each.
///
/// # Safety
/// Owner thread of `td` only.
unsafe fn close_above(td: &ThreadData, depth: usize, end: u64) {
    let stack = &td.stack;
    while stack.len() > depth {
        let top = stack.len() - 1;
        // SAFETY: owner thread, `top < len`.
        let slot = unsafe { stack.at(top) };
        let (node, start) = (slot.node(), slot.start());
        // SAFETY: owner thread.
        unsafe { stack.truncate(top) };
        close_frame(td, node, start, end, 1);
    }
}

impl Drop for Guard {
    /// Only the "was this scope recorded" test is inlined into the caller;
    /// the work of closing it is out of line, so that a disabled call site
    /// costs a load and two predictable branches and no register spills.
    #[inline(always)]
    fn drop(&mut self) {
        if self.depth != INACTIVE {
            finish_active(self.start, self.depth);
        }
    }
}

/// Closes an active guard's scope, from the guard's two fields (passed in
/// registers): [`finish_fast`] when it can, which calls nothing; the
/// timeline's push and the general path are tail calls. So this function
/// saves no registers.
#[inline(never)]
fn finish_active(start: u64, depth: u32) {
    // SAFETY: the guard is active (checked by the caller).
    match unsafe { finish_fast(depth, start) } {
        Fast::Closed => {}
        // SAFETY: `finish_fast` left `td` busy, on its owner thread.
        Fast::Log { td, site, ticks } => unsafe { log_and_release(td, site, start, ticks) },
        Fast::Declined => finish_general(start, depth),
    }
}

#[cold]
#[inline(never)]
fn finish_general(start: u64, depth: u32) {
    Guard::close(Guard::new(depth, start), 1);
}

/// What [`finish_fast`] did.
enum Fast {
    /// It closed the frame.
    Closed,
    /// It closed the frame, which goes on the timeline: `td` is left busy
    /// for [`log_and_release`].
    Log {
        td: &'static ThreadData,
        site: u32,
        ticks: u64,
    },
    /// It changed nothing: the general path must close the frame.
    Declined,
}

/// Puts a frame [`finish_fast`] closed on the timeline, then clears the
/// recorder's busy state it left set (to `IDLE_TSC`, the state it found).
///
/// # Safety
/// On `td`'s owner thread, with `td` busy since the frame was closed.
#[inline(never)]
unsafe fn log_and_release(td: &ThreadData, site: u32, start: u64, ticks: u64) {
    td.timeline.push(site, start, ticks);
    compiler_fence(Ordering::SeqCst);
    td.state.set(IDLE_TSC);
}

/// The common close: the guard's frame is the top of its thread's stack and
/// the clock is the TSC. Does what [`Guard::finish_at`] does in that case,
/// but for the timeline's push, which it leaves to its caller (see
/// [`Fast`]); changes nothing in every other case.
///
/// # Safety
/// The guard of `depth` and `start` must be active (`depth != INACTIVE`).
#[inline(always)]
unsafe fn finish_fast(depth: u32, start: u64) -> Fast {
    // The same check as `finish_at`: the thread still has its recorder.
    let data = LOCAL.with(Cell::get);
    if data.is_null() {
        return Fast::Declined;
    }
    // SAFETY: a non-null `LOCAL` is the thread's current recorder, the one
    // the guard's frame was pushed on (see `Guard::new`), kept alive by the
    // registry while `LOCAL` points at it (for the whole thread: `'static`
    // as far as this thread can tell).
    let td: &'static ThreadData = unsafe { &*data };
    // Free, and the clock is the TSC: one test.
    if td.state.get() != IDLE_TSC {
        return Fast::Declined;
    }
    // SAFETY: `IDLE_TSC` means the clock is the TSC.
    let end = unsafe { clock::tsc_known() };
    td.state.set(BUSY);
    compiler_fence(Ordering::SeqCst);
    let depth = depth as usize;
    let stack = &td.stack;
    let mut done = Fast::Declined;
    if stack.len() == depth + 1 {
        // SAFETY: owner thread, and `depth < len`.
        let top = unsafe { stack.at(depth) };
        if top.start() == start {
            let ticks = end.wrapping_sub(start);
            // SAFETY: frames point at nodes in this thread's arena, whose
            // chunks are never freed or moved while the recorder lives.
            let node = unsafe { &*top.node() };
            // SAFETY: owner thread.
            unsafe { stack.truncate(depth) };
            node.record(1, ticks);
            if ticks >= timeline::min_ticks() {
                // Still busy: `log_and_release` clears it after the push.
                return Fast::Log {
                    td,
                    site: node.site_id(),
                    ticks,
                };
            }
            done = Fast::Closed;
        }
    }
    compiler_fence(Ordering::SeqCst);
    td.state.set(IDLE_TSC);
    done
}

/// Opens a scope for `site` on the calling thread.
#[inline(always)]
pub fn enter(site: &'static Site) -> Guard {
    if !ENABLED.load(Ordering::Relaxed) {
        return Guard::inactive();
    }
    enter_enabled(site)
}

/// Opens a scope whatever the run-time switch says. Out of line, so that the
/// callers' prologues stay small when recording is off.
#[inline(never)]
pub(super) fn enter_enabled(site: &'static Site) -> Guard {
    let data = LOCAL.with(Cell::get);
    if !data.is_null() {
        // SAFETY: a non-null `LOCAL` points at this thread's recorder, which
        // the registry keeps alive; only this thread uses its stack.
        if let Some((depth, start)) = unsafe { enter_fast(data, site) } {
            return Guard::new(depth, start);
        }
    }
    enter_general(data, site)
}

/// [`enter_enabled`] when [`enter_fast`] could not: the thread's first call,
/// a new call path, a stack to grow, or the operating system's clock.
#[cold]
#[inline(never)]
fn enter_general(data: *const ThreadData, site: &'static Site) -> Guard {
    if data.is_null() {
        return enter_first(site);
    }
    // SAFETY: a non-null `LOCAL` points at this thread's recorder, which the
    // registry keeps alive; only this thread uses its stack.
    unsafe { enter_on(data, site) }
}

/// The common open: the call path was taken before (its parent's hint
/// names it), the clock is the TSC and the stack has room. Pushes the frame
/// and returns its depth and start tick; returns `None` having changed nothing in
/// every other case. Calls nothing, so that [`enter_enabled`] needs no
/// registers saved on this path.
///
/// # Safety
/// `data` must be the calling thread's recorder.
#[inline(always)]
unsafe fn enter_fast(data: *const ThreadData, site: &'static Site) -> Option<(u32, u64)> {
    // SAFETY: guaranteed by the caller: this thread's live recorder.
    let td = unsafe { &*data };
    // Free, and the clock is the TSC: one test.
    if td.state.get() != IDLE_TSC {
        return None;
    }
    td.state.set(BUSY);
    compiler_fence(Ordering::SeqCst);
    let stack = &td.stack;
    let depth = stack.len();
    let parent = match depth {
        0 => td.arena.root(),
        // SAFETY: only the owning thread writes the stack; `depth - 1 < len`.
        _ => unsafe { stack.at(depth - 1) }.node(),
    };
    // SAFETY: `parent` is a node of this thread's arena (the root or an open frame's).
    let child = unsafe { super::arena::Arena::cached_child(parent, site) };
    let mut pushed = None;
    if !child.is_null() {
        // SAFETY: `IDLE_TSC` means the clock is the TSC.
        let start = unsafe { clock::tsc_known() };
        // SAFETY: owner thread; nothing pushed since `depth` was read.
        if unsafe { stack.try_push(depth, child, start) } {
            pushed = Some((depth as u32, start));
        }
    }
    compiler_fence(Ordering::SeqCst);
    td.state.set(IDLE_TSC);
    pushed
}

/// This thread's recorder, if it has recorded.
pub(super) fn current() -> Option<&'static ThreadData> {
    let data = LOCAL.with(Cell::get);
    // SAFETY: a non-null `LOCAL` points at this thread's recorder, which the
    // registry keeps alive for as long as the thread runs.
    (!data.is_null()).then(|| unsafe { &*data })
}

/// # Safety
/// `data` must be the calling thread's recorder.
#[inline(always)]
unsafe fn enter_on(data: *const ThreadData, site: &'static Site) -> Guard {
    // SAFETY: guaranteed by the caller: this thread's live recorder.
    let td = unsafe { &*data };
    let Some(_busy) = Busy::enter(td) else {
        return Guard::inactive();
    };
    let stack = &td.stack;
    let depth = stack.len();
    let parent = match depth {
        0 => td.arena.root(),
        // SAFETY: only the owning thread writes the stack; `depth - 1 < len`.
        _ => unsafe { stack.at(depth - 1) }.node(),
    };
    // SAFETY: `parent` is a node of this thread's arena (the root or an open frame's).
    let child = unsafe { td.arena.child(parent, site) };
    let start = clock::now();
    // SAFETY: owner thread; nothing pushed since `depth` was read.
    unsafe { stack.push(depth, child, start) };
    Guard::new(depth as u32, start)
}

/// First profiled call on this thread: create and register its recorder.
#[cold]
#[inline(never)]
fn enter_first(site: &'static Site) -> Guard {
    // A signal handler that interrupts this thread's registration (which
    // initialises the clock and takes the registry's lock) and enters a
    // scope must not start a second registration: it would wait for the
    // first, which waits for the handler. Its call is dropped and counted.
    if REGISTERING.with(|r| r.replace(true)) {
        REENTRANT_DROPPED.fetch_add(1, Ordering::Relaxed);
        return Guard::inactive();
    }
    compiler_fence(Ordering::SeqCst);
    let guard = register_and_enter(site);
    compiler_fence(Ordering::SeqCst);
    REGISTERING.with(|r| r.set(false));
    guard
}

/// [`enter_first`]'s work, with re-entry excluded.
fn register_and_enter(site: &'static Site) -> Guard {
    clock::init();
    let Some(data) = registry::register_current_thread(ThreadData::new, close_current_thread)
    else {
        // The thread is past its thread-local destructors' start: a recorder
        // registered now could never be retired. Count the call as dropped.
        LATE_DROPPED.fetch_add(1, Ordering::Relaxed);
        return Guard::inactive();
    };
    // Before the recorder is visible through `LOCAL`: until then a signal
    // handler on this thread drops its calls (see `enter_first`).
    crate::fork::register(crate::fork::Part::Recorder, &RECORDER_FORK);
    LOCAL.with(|l| l.set(data));
    // SAFETY: `data` was just registered for this thread and is kept alive by the registry.
    unsafe { enter_on(data, site) }
}

/// Holds the recorder's locks across a `fork` (see [`crate::fork`]).
fn fork_prepare() {
    registry::fork_prepare();
}

/// In the child: only the forking thread remains, counted from the fork.
fn fork_child() {
    let current = LOCAL.try_with(Cell::get).unwrap_or(std::ptr::null());
    registry::fork_child(current);
}

/// Called by the registry when this thread exits: closes the thread's open
/// frames (leaked guards, or guards kept in thread-locals that are destroyed
/// later) at this moment, and detaches the recorder so that nothing on this
/// thread touches it again.
fn close_current_thread() {
    let _ = LOCAL.try_with(|l| {
        let data = l.replace(std::ptr::null());
        if !data.is_null() {
            // SAFETY: a non-null `LOCAL` points at this thread's recorder,
            // still registered (it is retired after this returns).
            unsafe { close_all(&*data, clock::now()) };
        }
    });
}

/// Closes every open frame at `end`, one call each, as cProfile closes
/// unmatched frames; their guards, dropped later, then do nothing.
///
/// # Safety
/// Must be called on the owning thread.
unsafe fn close_all(td: &ThreadData, end: u64) {
    let Some(_busy) = Busy::enter(td) else {
        return;
    };
    // SAFETY: forwarded from the caller: the owning thread.
    unsafe { close_above(td, 0, end) };
}

/// The site of the calling thread's innermost open scope, if any: the
/// caller of a scope about to be entered.
#[cfg(feature = "mpi")]
pub(crate) fn current_site() -> Option<u32> {
    let td = current()?;
    let depth = td.stack.len();
    if depth == 0 {
        return None;
    }
    // SAFETY: `current()` is this thread's recorder, whose stack only this
    // thread writes; `depth - 1 < len`.
    let node = unsafe { td.stack.at(depth - 1) }.node();
    // SAFETY: frames point at nodes of this thread's arena, which live as
    // long as the recorder.
    Some(unsafe { &*node }.site_id())
}

/// What the recorder does around a `fork` (see [`crate::fork`]).
static RECORDER_FORK: crate::fork::Hooks = crate::fork::Hooks {
    prepare: fork_prepare,
    child: fork_child,
};
