//! One thread's recorder: its tree, its shadow stack and timeline, what the
//! operating system says about the thread, and the thread-local pointer to
//! it.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::arena::Arena;
use super::stack::Stack;
use super::timeline::Log;
use crate::clock;

/// One thread's recorder.
pub(crate) struct ThreadData {
    pub(crate) arena: Arena,
    pub(crate) timeline: Log,
    /// Open frames. Only the owning thread writes it; snapshots read it.
    pub(crate) stack: Stack,
    pub(crate) id: u64,
    pub(crate) name: String,
    /// [`BUSY`] while the owning thread updates its tree, stack or
    /// timeline: a signal handler on this thread that enters a scope
    /// meanwhile finds it so and records nothing (counted as dropped), so it
    /// never sees a half-updated structure. Otherwise [`IDLE_TSC`] when the
    /// clock is the TSC, [`IDLE`] when it is the operating system's: the
    /// fast paths run only from `IDLE_TSC`, so one test tells them both that
    /// the recorder is free and that they may read the TSC. Owner thread only.
    pub(super) state: Cell<u8>,
    /// The OS thread: its id, when it registered, and at its exit its CPU
    /// time (cold paths only; see `crate::sys`).
    pub(crate) os: OsThread,
}

/// What the operating system says about a recorder's thread.
pub(crate) struct OsThread {
    /// The OS thread id, when the platform tells it.
    pub(crate) tid: Option<u32>,
    /// The clock tick at registration.
    pub(crate) started: u64,
    /// Time on a CPU and on a run queue at registration, in nanoseconds.
    pub(crate) sched_at_start: Option<(u64, u64)>,
    /// The clock tick at exit (0 while the thread runs).
    pub(crate) ended: AtomicU64,
    /// CPU nanoseconds at exit, plus one (0: unknown or still running).
    pub(crate) cpu_at_exit: AtomicU64,
    /// Nanoseconds waiting on a run queue at exit, plus one (0: unknown).
    pub(crate) runqueue_at_exit: AtomicU64,
}

impl OsThread {
    /// The calling thread, now.
    fn current() -> Self {
        OsThread {
            tid: crate::sys::current_tid(),
            sched_at_start: crate::sys::current_thread_sched_ns(),
            started: clock::now(),
            ended: AtomicU64::new(0),
            cpu_at_exit: AtomicU64::new(0),
            runqueue_at_exit: AtomicU64::new(0),
        }
    }

    /// Records the exit of the calling thread (which must be this one).
    pub(crate) fn exit_now(&self) {
        if let Some((cpu, wait)) = crate::sys::current_thread_sched_ns() {
            self.cpu_at_exit
                .store(cpu.saturating_add(1), Ordering::Relaxed);
            self.runqueue_at_exit
                .store(wait.saturating_add(1), Ordering::Relaxed);
        } else if let Some(ns) = crate::sys::current_thread_cpu_ns() {
            self.cpu_at_exit
                .store(ns.saturating_add(1), Ordering::Relaxed);
        }
        self.ended.store(clock::now().max(1), Ordering::Release);
    }

    /// The thread's time on a CPU and, where known, waiting on a run queue:
    /// at its exit, or now (read through procfs).
    pub(crate) fn sched_ns(&self, is_current: bool) -> (Option<u64>, Option<u64>) {
        let at_exit = || {
            // `ended` is stored (release) after the figures at exit.
            self.ended.load(Ordering::Acquire);
            match self.cpu_at_exit.load(Ordering::Relaxed) {
                0 => None,
                n => Some((
                    Some(n - 1),
                    self.runqueue_at_exit.load(Ordering::Relaxed).checked_sub(1),
                )),
            }
        };
        if let Some(x) = at_exit() {
            return x;
        }
        if self.ended.load(Ordering::Acquire) != 0 {
            return (None, None);
        }
        let now = if is_current {
            crate::sys::current_thread_sched_ns()
        } else {
            self.tid.and_then(crate::sys::thread_sched_ns)
        };
        match now {
            Some((cpu, wait)) => (Some(cpu), Some(wait)),
            // The thread exited while we looked: its figures at exit.
            None => at_exit().unwrap_or((None, None)),
        }
    }
}

// SAFETY: `ThreadData` is shared (through `Arc`) between its owning thread and
// snapshot readers. The only non-`Sync` field is `stack`, whose writing side
// (its `unsafe` methods and its `Cell`s) is used exclusively by the owning
// thread: through `LOCAL` (a thread-local pointer) and through guards, which
// are `!Send` and so stay on that thread; readers use `Stack::read`, which
// touches only atomics and buffers that live as long as the stack. The arena
// is built from atomics and is `Sync` by itself.
unsafe impl Sync for ThreadData {}
// SAFETY: moving the `Arc<ThreadData>` to the registry and dropping it on
// another thread is sound: by then the owner no longer touches the stack
// (it is only dropped when the last reference goes, after the owner exited).
unsafe impl Send for ThreadData {}

thread_local! {
    /// This thread's recorder, or null before its first profiled call.
    pub(super) static LOCAL: Cell<*const ThreadData> = const { Cell::new(std::ptr::null()) };
    /// Set while this thread registers its recorder (see `enter_first`).
    pub(super) static REGISTERING: Cell<bool> = const { Cell::new(false) };
}

/// [`ThreadData::state`]: free, and the clock is the TSC.
pub(super) const IDLE_TSC: u8 = 0;
/// [`ThreadData::state`]: free, and the clock is the operating system's.
pub(super) const IDLE: u8 = 1;
/// [`ThreadData::state`]: the owning thread is updating the recorder.
pub(super) const BUSY: u8 = 2;

impl ThreadData {
    /// A new recorder for the calling thread, numbered `id`.
    pub(super) fn new(id: u64, name: String) -> Self {
        ThreadData {
            arena: Arena::new(),
            timeline: Log::new(),
            stack: Stack::new(),
            id,
            name,
            // The clock is initialised before a recorder is made, and its
            // mode never changes after.
            state: Cell::new(if crate::clock::is_tsc() {
                IDLE_TSC
            } else {
                IDLE
            }),
            os: OsThread::current(),
        }
    }

    /// Whether this is the calling thread's recorder.
    pub(crate) fn is_current(&self) -> bool {
        LOCAL.with(|l| std::ptr::eq(l.get(), self))
    }
}
