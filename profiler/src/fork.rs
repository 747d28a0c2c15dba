//! `fork()`: no profiler lock is held across it, and the child starts a
//! profile of its own.
//!
//! `pthread_atfork` handlers, installed with the first recorder or session:
//! before the fork every profiler lock is taken (in one fixed order, waiting
//! for a report being written to finish), so that no other thread is in the
//! middle of an update when the process is copied; after it the parent
//! releases them, and the child releases them and resets its state. The child
//! keeps only the forking thread, with that thread's counters at the fork
//! subtracted (no parent calls, the child's own pid, no parent threads);
//! running sessions go on in the child from the fork, and write where their
//! output directory says with the child's pid for `%p`. In the child, the
//! signals the profiler watched are back to their default action (the
//! watcher thread is not copied by `fork`), and no checkpoints are written.

use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

/// The parts of the profiler that keep state across a `fork`, in the order
/// their locks are taken before it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part {
    /// Running sessions and their endings.
    Session,
    /// The sampler thread.
    Sampler,
    /// The probe's calibration (taken before the registry, which a
    /// calibration uses while it holds its own lock).
    Calibration,
    /// The recorder's thread registry.
    Recorder,
    /// The call-site registry.
    Site,
    /// The register of temporary files.
    Fs,
}

/// The order in which the parts take their locks before a `fork`.
const PREPARE_ORDER: [Part; 6] = [
    Part::Session,
    Part::Sampler,
    Part::Calibration,
    Part::Recorder,
    Part::Site,
    Part::Fs,
];

/// The order in which the parts are reset in the child (the files first,
/// the sessions last: they may start writing).
const CHILD_ORDER: [Part; 6] = [
    Part::Fs,
    Part::Sampler,
    Part::Calibration,
    Part::Recorder,
    Part::Site,
    Part::Session,
];

/// What a part does around a `fork`: `prepare` takes its locks with
/// [`hold`], and `child` resets its state in the child (after every lock
/// was released).
#[derive(Debug)]
pub(crate) struct Hooks {
    pub(crate) prepare: fn(),
    pub(crate) child: fn(),
}

/// A hook that does nothing.
pub(crate) fn nothing() {}

/// The registered hooks, by [`Part`] (null: none yet).
static HOOKS: [AtomicPtr<Hooks>; 6] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 6];

/// Whether the handlers are installed: 0 no, 1 being installed, 2 yes.
static INSTALLED: AtomicU8 = AtomicU8::new(0);

/// Registers what `part` does around a `fork` (the first registration of a
/// part counts), and installs the handlers. Each part registers itself when
/// it first has state to protect, so this module depends on none of them.
///
/// Never blocks: it may run in a signal handler that interrupted this very
/// call on the same thread (a profiled function's first call there), so it
/// uses no `Once` or lock. A registration that finds the handlers being
/// installed by another call returns at once; that call installs them.
pub(crate) fn register(part: Part, hooks: &'static Hooks) {
    let slot = &HOOKS[part as usize];
    if slot.load(Ordering::Acquire).is_null() {
        let ptr = std::ptr::from_ref(hooks).cast_mut();
        let _ = slot.compare_exchange(
            std::ptr::null_mut(),
            ptr,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
    install();
}

/// The registered hooks of `part`, if any.
fn hooks(part: Part) -> Option<&'static Hooks> {
    let ptr = HOOKS[part as usize].load(Ordering::Acquire);
    // SAFETY: a non-null slot holds a `&'static Hooks` stored by `register`.
    (!ptr.is_null()).then(|| unsafe { &*ptr })
}

/// Installs the handlers, once per process.
fn install() {
    if INSTALLED.load(Ordering::Acquire) == 2 {
        return;
    }
    if INSTALLED
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return;
    }
    #[cfg(unix)]
    {
        // SAFETY: the three handlers are plain `extern "C"` functions that
        // live for the whole program.
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        if rc != 0 {
            eprintln!("profiler: no fork handlers: a forked child may hang in the profiler");
        }
    }
    INSTALLED.store(2, Ordering::Release);
}

#[cfg(unix)]
extern "C" fn prepare() {
    for part in PREPARE_ORDER {
        if let Some(h) = hooks(part) {
            (h.prepare)();
        }
    }
}

#[cfg(unix)]
extern "C" fn parent() {
    release();
}

#[cfg(unix)]
extern "C" fn child() {
    release();
    for part in CHILD_ORDER {
        if let Some(h) = hooks(part) {
            (h.child)();
        }
    }
}

/// A mutex that the fork handlers can hold across a `fork` and release in
/// the child. (`std`'s, whose unlock in the child is a plain store and a
/// wake of nobody; a `parking_lot` mutex with threads parked on it at the
/// fork may hand itself to a thread the child does not have.) A poisoned
/// lock is used as it is: the profiler's data stays consistent under panics.
#[derive(Debug, Default)]
pub(crate) struct Lock<T>(std::sync::Mutex<T>);

impl<T> Lock<T> {
    pub(crate) const fn new(value: T) -> Lock<T> {
        Lock(std::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

thread_local! {
    /// The guards taken before a fork, released after it.
    static HELD: std::cell::RefCell<Vec<Box<dyn std::any::Any>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Locks `m` for the fork (in `prepare`); [`release`] unlocks it after the
/// fork, in the parent and in the child.
pub(crate) fn hold<T: 'static>(m: &'static Lock<T>) {
    let guard = m.lock();
    let _ = HELD.try_with(|h| h.borrow_mut().push(Box::new(guard)));
}

/// Releases every lock taken by [`hold`], last taken first.
fn release() {
    let _ = HELD.try_with(|h| {
        let mut held = h.borrow_mut();
        while let Some(guard) = held.pop() {
            drop(guard);
        }
    });
}
