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

use std::sync::{Once, OnceLock};

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
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hooks {
    pub(crate) prepare: fn(),
    pub(crate) child: fn(),
}

/// The registered hooks, by [`Part`].
static HOOKS: [OnceLock<Hooks>; 6] = [const { OnceLock::new() }; 6];

/// Registers what `part` does around a `fork` (the first registration of a
/// part counts), and installs the handlers. Each part registers itself when
/// it first has state to protect, so this module depends on none of them.
pub(crate) fn register(part: Part, hooks: Hooks) {
    let slot = &HOOKS[part as usize];
    if slot.get().is_none() {
        let _ = slot.set(hooks);
    }
    install();
}

/// Installs the handlers, once per process.
fn install() {
    #[cfg(unix)]
    {
        static INSTALLED: Once = Once::new();
        INSTALLED.call_once(|| {
            // SAFETY: the three handlers are plain `extern "C"` functions that
            // live for the whole program.
            let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
            if rc != 0 {
                eprintln!("profiler: no fork handlers: a forked child may hang in the profiler");
            }
        });
    }
}

#[cfg(unix)]
extern "C" fn prepare() {
    for hooks in HOOKS.iter().filter_map(OnceLock::get) {
        (hooks.prepare)();
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
        if let Some(hooks) = HOOKS[part as usize].get() {
            (hooks.child)();
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
