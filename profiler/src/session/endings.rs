//! How a run ends: every ending writes the running sessions' reports once.
//!
//! - Returning (the [`SessionGuard`](super::SessionGuard) is dropped) and an
//!   unwinding panic (dropped while unwinding): the guard writes.
//! - A panic under `panic = "abort"`: a panic hook, chained to the one that
//!   was installed before, writes before the process aborts.
//! - `std::process::exit` from any thread (and a return from `main` with a
//!   session still running, leaked or in a static): an exit handler
//!   (`on_exit` on glibc, `atexit` elsewhere) writes.
//! - SIGINT, SIGTERM, SIGHUP, SIGQUIT: the signal handler only wakes a
//!   watcher thread (signal-hook's self-pipe); a thread then writes the
//!   reports, restores the default action and raises the signal again, so the
//!   exit status is what it would have been. A terminating signal that
//!   arrives while reports are being written for an ending (a second Ctrl-C)
//!   removes every temporary file and ends the process at once, leaving the
//!   previous files as they were.
//!
//! Signals whose action is not the default when the first session starts
//! (the program handles or ignores them, as `nohup` and `&` do) are left
//! alone, and `PROFILER_SIGNALS=0` leaves every signal alone.
//!
//! Checkpoints (`PROFILER_CHECKPOINT_S`) and dumps (`PROFILER_DUMP_SIGNAL`)
//! are written by a background thread, with the program still running.

use std::cell::{Cell, RefCell};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::sync::Condvar;

use crate::fork::Lock;

use super::active::Active;
use super::config::Session;
use super::ending::Ending;
use super::signals::signal_name;
use crate::error::Error;
use crate::profile::Profile;

/// The sessions running now.
pub(super) static ACTIVE: Lock<Vec<Active>> = Lock::new(Vec::new());
/// Held while reports are written (endings and checkpoints alike), so that
/// two writes never interleave. Always taken before `ACTIVE`.
static WRITING: Lock<()> = Lock::new(());
/// How many endings are writing now: a terminating signal meanwhile ends
/// the process at once.
static ENDINGS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set while this thread writes reports: a panic hook running inside
    /// that write must not try again (the lock is not reentrant).
    static IN_WRITE: Cell<bool> = const { Cell::new(false) };
    /// This thread's last panic message, for the guard dropped while unwinding.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}
/// The last panic message of any thread, for an exit with status 101.
static LAST_PANIC: Lock<Option<String>> = Lock::new(None);

/// Marks the calling thread as writing while the value lives.
struct Writing;

impl Writing {
    fn enter() -> Option<Writing> {
        let busy = IN_WRITE.try_with(|w| w.replace(true)).unwrap_or(false);
        (!busy).then_some(Writing)
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        let _ = IN_WRITE.try_with(|w| w.set(false));
    }
}

/// Counts an ending as writing while the value lives.
struct EndingWrite;

impl EndingWrite {
    fn enter() -> EndingWrite {
        ENDINGS.fetch_add(1, Ordering::SeqCst);
        EndingWrite
    }
}

impl Drop for EndingWrite {
    fn drop(&mut self) {
        ENDINGS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends the session `id`: writes its reports as `ending` says and returns
/// its profile, or `None` when it had already ended (another ending wrote).
pub(super) fn end_one(id: u64, ending: &Ending) -> Option<Result<Profile, Error>> {
    ending_of(id, |active| active.write(Some(ending), None))
}

/// Ends the session `id` normally without writing its reports, and returns
/// its profile, or `None` when another ending already wrote them.
#[cfg(feature = "mpi")]
pub(super) fn take_one(id: u64) -> Option<Profile> {
    ending_of(id, |active| active.profile(Some(&Ending::Return), None))
}

/// Takes the session `id` out of the running ones, as an ending that
/// writes (no other write interleaves), and runs `end` on it; `None` when
/// it had already ended.
fn ending_of<R>(id: u64, end: impl FnOnce(Active) -> R) -> Option<R> {
    let _ending = EndingWrite::enter();
    let _writing = Writing::enter()?;
    let _lock = WRITING.lock();
    let active = {
        let mut all = ACTIVE.lock();
        let pos = all.iter().position(|a| a.id == id)?;
        all.remove(pos)
    };
    Some(end(active))
}

/// Ends every running session, writing their reports as `ending` says;
/// errors are printed, one line each.
pub(crate) fn end_all(ending: &Ending) {
    end_all_then(ending, || ());
}

/// [`end_all`], then `then()` before any other ending may start: an ending
/// that waits for this one (an exit handler while a signal's reports are
/// written) finds the reports written and `then` done (the process ended).
fn end_all_then(ending: &Ending, then: impl FnOnce()) {
    let _ending = EndingWrite::enter();
    let Some(_writing) = Writing::enter() else {
        return;
    };
    let _lock = WRITING.lock();
    let all = std::mem::take(&mut *ACTIVE.lock());
    for a in all {
        if let Err(e) = a.write(Some(ending), None) {
            eprintln!("profiler: {e}");
        }
    }
    then();
}

/// Writes the reports of every running session that asked for them
/// (`checkpoint`: those with a checkpoint interval; otherwise every one with
/// an output directory), marked as written while the program still runs.
fn write_checkpoints(why: &str, checkpoint: bool) {
    let Some(_writing) = Writing::enter() else {
        return;
    };
    let _lock = WRITING.lock();
    let due: Vec<Active> = ACTIVE
        .lock()
        .iter()
        .filter(|a| !checkpoint || a.config.checkpoint_every.is_some())
        .cloned()
        .collect();
    for a in due {
        if let Err(e) = a.write(None, Some(why)) {
            eprintln!("profiler: checkpoint not written: {e}");
        }
    }
}

/// Installs what the process needs to write reports at every ending, once;
/// the signal watcher and the checkpoint thread when `session` asks.
pub(super) fn install(session: &Session) {
    static HOOKS: Once = Once::new();
    HOOKS.call_once(|| {
        install_panic_hook();
        os::install_exit_handler();
    });
    if session.signals {
        static SIGNALS: Once = Once::new();
        SIGNALS.call_once(os::install_signal_watcher);
    }
    if session.checkpoint_every.is_some() || session.dump_signal.is_some() {
        if let Some(sig) = session.dump_signal {
            os::watch_dump_signal(sig);
        }
        start_checkpoints();
    }
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = panic_message(info);
        let _ = PANIC.try_with(|p| *p.borrow_mut() = Some(msg.clone()));
        *LAST_PANIC.lock() = Some(msg.clone());
        previous(info);
        if cfg!(panic = "abort") {
            end_all(&Ending::Panic(msg));
        }
    }));
}

fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_owned());
    match info.location() {
        Some(l) => format!("{msg} (at {}:{})", l.file(), l.line()),
        None => msg,
    }
}

/// The ending of a session guard dropped now on this thread: a panic if the
/// thread is unwinding, a return otherwise.
pub(super) fn ending_of_drop() -> Ending {
    if std::thread::panicking() {
        let msg = PANIC
            .try_with(|p| p.borrow().clone())
            .ok()
            .flatten()
            .unwrap_or_else(|| "unknown message".to_owned());
        Ending::Panic(msg)
    } else {
        Ending::Return
    }
}

/// The process is exiting with `status` (if known). Sessions still running
/// end now; an ending already writing (a signal's) is waited for, so that
/// the process does not exit in the middle of it.
fn on_exit(status: Option<i32>) {
    let ending = match (status, LAST_PANIC.lock().clone()) {
        // Rust's runtime exits with 101 after a panic left `main`.
        (Some(101), Some(msg)) => Ending::Panic(msg),
        _ => Ending::Exit(status),
    };
    end_all(&ending);
}

/// Set once a signal's ending has started.
static ENDER: AtomicBool = AtomicBool::new(false);

/// Holds the sessions' locks across a `fork` (see [`crate::fork`]), in the
/// order they nest: a report being written finishes first.
pub(crate) fn fork_prepare() {
    crate::fork::hold(&WRITING);
    crate::fork::hold(&CHECKPOINTS);
    crate::fork::hold(&ACTIVE);
    crate::fork::hold(&LAST_PANIC);
    os::fork_prepare();
}

/// In the child (its locks released), the running sessions go on from the
/// fork, and the watched signals get their default action back (the
/// watcher thread is not in the child).
pub(crate) fn fork_child() {
    os::fork_child();
    ENDINGS.store(0, Ordering::SeqCst);
    ENDER.store(false, Ordering::SeqCst);
    for a in ACTIVE.lock().iter_mut() {
        a.restart_in_fork_child();
    }
}

/// A terminating signal arrived (on the watcher thread). Returns once the
/// reports are being written by another thread, which ends the process.
fn on_terminating_signal(sig: i32) {
    if ENDINGS.load(Ordering::SeqCst) > 0 || ENDER.swap(true, Ordering::SeqCst) {
        // A second signal while the reports are written: end now, leaving
        // the previous files as they were and no temporary file.
        crate::fs::abandon();
        os::die_by(sig);
    }
    if ACTIVE.lock().is_empty() {
        os::die_by(sig);
    }
    let spawned = std::thread::Builder::new()
        .name("profiler-ender".into())
        .spawn(move || end_all_then(&Ending::Signal(sig), || os::die_by(sig)));
    if spawned.is_err() {
        end_all_then(&Ending::Signal(sig), || os::die_by(sig));
    }
}

/// The checkpoint thread's mailbox.
struct Checkpoints {
    /// A dump was asked for, by this signal.
    dump: Option<i32>,
}

static CHECKPOINTS: Lock<Checkpoints> = Lock::new(Checkpoints { dump: None });
static WAKE: Condvar = Condvar::new();

/// Asks the checkpoint thread to write a dump (the dump signal arrived).
fn request_dump(sig: i32) {
    CHECKPOINTS.lock().dump = Some(sig);
    WAKE.notify_all();
}

/// The shortest checkpoint interval of the running sessions.
fn checkpoint_interval() -> Option<Duration> {
    ACTIVE
        .lock()
        .iter()
        .filter_map(|a| a.config.checkpoint_every)
        .min()
}

/// Starts the checkpoint thread, once. It wakes at the shortest interval of
/// the running sessions and on dump requests, and does nothing on the hot
/// path.
fn start_checkpoints() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("profiler-checkpoint".into())
            .spawn(checkpoint_loop);
        if let Err(e) = spawned {
            eprintln!("profiler: no checkpoint thread: {e}");
        }
    });
}

fn checkpoint_loop() {
    let mut next: Option<Instant> = None;
    loop {
        let dump = {
            let mut mailbox = CHECKPOINTS.lock();
            loop {
                if let Some(sig) = mailbox.dump.take() {
                    break Some(sig);
                }
                let every = checkpoint_interval();
                let due = match (every, next) {
                    (Some(every), None) => Instant::now() + every,
                    (Some(_), Some(at)) => at,
                    (None, _) => {
                        next = None;
                        mailbox = WAKE
                            .wait(mailbox)
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        continue;
                    }
                };
                next = Some(due);
                let now = Instant::now();
                if now >= due {
                    break None;
                }
                mailbox = WAKE
                    .wait_timeout(mailbox, due - now)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
        };
        match dump {
            Some(sig) => write_checkpoints(&format!("dump on {}", signal_name(sig)), false),
            None => {
                let every = checkpoint_interval().unwrap_or(Duration::from_secs(1));
                next = Some(Instant::now() + every);
                write_checkpoints(&format!("checkpoint every {} s", every.as_secs()), true);
            }
        }
    }
}

/// The operating system's side: exit handlers and signals.
#[cfg(unix)]
mod os {
    use std::sync::atomic::{AtomicBool, Ordering};

    use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    use signal_hook::iterator::{Handle, Signals};

    use crate::fork::Lock;

    /// The terminating signals that end a session.
    const TERMINATING: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

    /// The watcher's handle, to add the dump signal later.
    static HANDLE: Lock<Option<Handle>> = Lock::new(None);
    /// The signals the watcher watches, as a bit set.
    static WATCHED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    fn watch(sig: i32) {
        WATCHED.fetch_or(1 << sig, Ordering::SeqCst);
    }

    pub(super) fn fork_prepare() {
        crate::fork::hold(&HANDLE);
    }

    /// In a forked child: the default action for every watched signal,
    /// since no watcher thread reads the signals any more.
    pub(super) fn fork_child() {
        let watched = WATCHED.load(Ordering::SeqCst);
        for sig in (1..64).filter(|s| watched & (1 << s) != 0) {
            // SAFETY: `signal` with `SIG_DFL` for a valid signal number; it
            // is async-signal-safe, as a fork child handler requires.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
    /// The dump signal being watched (at most one).
    static DUMP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe extern "C" {
        /// glibc's `on_exit`: like `atexit`, with the exit status.
        fn on_exit(
            func: extern "C" fn(libc::c_int, *mut libc::c_void),
            arg: *mut libc::c_void,
        ) -> libc::c_int;
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    extern "C" fn exit_handler(status: libc::c_int, _arg: *mut libc::c_void) {
        super::on_exit(Some(status));
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    extern "C" fn exit_handler() {
        super::on_exit(None);
    }

    pub(super) fn install_exit_handler() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `exit_handler` is a plain `extern "C"` function that lives
        // for the whole program; `on_exit` only stores it and the null
        // argument, which the handler ignores.
        let rc = unsafe { on_exit(exit_handler, std::ptr::null_mut()) };
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        // SAFETY: `exit_handler` is a plain `extern "C"` function that lives
        // for the whole program.
        let rc = unsafe { libc::atexit(exit_handler) };
        if rc != 0 {
            eprintln!("profiler: no exit handler: process::exit will not write the reports");
        }
    }

    /// Whether `sig`'s action is the default one (no handler, not ignored).
    fn is_default(sig: i32) -> bool {
        // SAFETY: a zeroed `sigaction` is a valid out-parameter, and a null
        // new action only queries the current one.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_DFL
        }
    }

    /// Starts the watcher thread for the terminating signals whose action is
    /// the default now.
    pub(super) fn install_signal_watcher() {
        let ours: Vec<i32> = TERMINATING
            .iter()
            .copied()
            .filter(|&s| is_default(s))
            .collect();
        let mut signals = match Signals::new(&ours) {
            Ok(s) => s,
            Err(e) => {
                eprintln!(
                    "profiler: signals not watched ({e}); a signal will not write the reports"
                );
                return;
            }
        };
        *HANDLE.lock() = Some(signals.handle());
        ours.iter().for_each(|&s| watch(s));
        let spawned = std::thread::Builder::new()
            .name("profiler-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if sig == DUMP.load(Ordering::SeqCst) {
                        super::request_dump(sig);
                    } else {
                        super::on_terminating_signal(sig);
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("profiler: signals not watched ({e}); a signal will not write the reports");
        }
    }

    /// Watches `sig` for dumps, if its action is the default one (a program
    /// that handles it keeps it).
    pub(super) fn watch_dump_signal(sig: i32) {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if DUMP.load(Ordering::SeqCst) == sig {
            return;
        }
        if !is_default(sig) {
            if !WARNED.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "profiler: PROFILER_DUMP_SIGNAL: the program handles {} itself; no dumps",
                    super::signal_name(sig)
                );
            }
            return;
        }
        if HANDLE.lock().is_none() {
            install_dump_only_watcher(sig);
            return;
        }
        DUMP.store(sig, Ordering::SeqCst);
        watch(sig);
        if let Some(h) = HANDLE.lock().as_ref() {
            if let Err(e) = h.add_signal(sig) {
                eprintln!("profiler: PROFILER_DUMP_SIGNAL: {e}; no dumps");
            }
        }
    }

    /// The watcher when terminating signals are left alone but dumps are asked for.
    fn install_dump_only_watcher(sig: i32) {
        DUMP.store(sig, Ordering::SeqCst);
        let mut signals = match Signals::new([sig]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("profiler: PROFILER_DUMP_SIGNAL: {e}; no dumps");
                return;
            }
        };
        *HANDLE.lock() = Some(signals.handle());
        watch(sig);
        let _ = std::thread::Builder::new()
            .name("profiler-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    super::request_dump(sig);
                }
            });
    }

    /// Restores `sig`'s default action and raises it: the process ends as the
    /// signal would have ended it without the profiler.
    pub(super) fn die_by(sig: i32) -> ! {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
        // The default action of every signal used here ends the process;
        // should it somehow return, end with the shell's status for it.
        std::process::exit(128 + sig)
    }
}

/// Without Unix signals and exit handlers, only the guard and panics write.
#[cfg(not(unix))]
mod os {
    pub(super) fn install_exit_handler() {}
    pub(super) fn install_signal_watcher() {}
    pub(super) fn watch_dump_signal(_sig: i32) {}
    pub(super) fn fork_prepare() {}
    pub(super) fn fork_child() {}
    pub(super) fn die_by(sig: i32) -> ! {
        std::process::exit(128 + sig)
    }
}
