//! The side-by-side table: the cost of one instrumented call (enter + exit of
//! a tiny `#[inline(never)]` function) for the floors, this crate and the peer
//! profilers, on 1 thread and per thread with 2 threads calling at once.
//!
//! Run with `cargo bench -p benches --features peers --bench peers` (without
//! `--features peers` only the floors and this crate's cases are measured).
//! `BENCH_ROUNDS=n` sets the number of samples per case (default 1000);
//! `BENCH_CASES=a,b` measures only the floors and the cases whose names
//! contain `a` or `b`.
//!
//! # Method
//!
//! A sample is one batch of [`BATCH`] calls on a worker thread, timed with
//! `Instant` around the whole batch and divided by the number of calls. Each
//! batch runs inside one outer scope of the tool (puffin needs it: it hands a
//! thread's data over when its outermost scope closes; fastrace needs a root
//! span), and is preceded by an untimed warm-up batch of [`WARMUP`] calls.
//! Cases are interleaved round-robin, so slow drifts of the machine hit every
//! case alike. With 2 threads, both workers start their batch at a barrier
//! and each thread's own time per call is one sample. The table shows the
//! median, minimum and maximum over the samples, and the median's ratio to the
//! two-TSC-reads floor with the same number of threads.
//!
//! This crate's rows: enabled; enabled while a third thread takes snapshots
//! in a loop (with 2 workers that is 3 busy threads on a 2-core machine);
//! disabled at run time (`set_enabled(false)`); timeline recording on, with
//! its default settings (only scopes of 5 us or more are logged) and with
//! every scope logged (measured after all other rows: its logs are kept and
//! every later snapshot would copy them); compiled out. Cargo unifies the
//! profiler's features within one build, so the compiled-out row is a copy of
//! what `profile_scope!` expands to without the `enable` feature (a
//! zero-sized guard without `Drop`): it compiles to the same machine code as
//! the empty call, and any difference between those two rows is code
//! placement (about 0.3 ns here), which is the resolution of this table.
//!
//! Work a tool does once per frame rather than per call (puffin's
//! `new_frame`, clearing firestorm's event buffer, reading hprof's and
//! coarse-prof's trees) happens between samples, untimed. After the run every
//! profiler is asked how many calls it saw, and the bench fails if that is
//! not what was issued.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Instant;

use benches::{Summary, tsc};

/// Calls per timed batch. fastrace keeps at most 10,240 local spans per
/// root span and silently drops the rest, so a batch stays below that.
const BATCH: u64 = 5_000;
/// Calls of the untimed warm-up batch run before each timed batch.
const WARMUP: u64 = 500;
/// Default number of samples per case and thread count.
const DEFAULT_ROUNDS: usize = 1_000;
/// Thread counts measured.
const THREADS: [usize; 2] = [1, 2];

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

/// What kind of row a case is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Floor,
    Ours,
    Peer,
}

/// How the calls a case recorded are checked after the run.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "peers"), allow(dead_code))] // some are only for peers
enum Check {
    /// Nothing records anything (floors, compiled out).
    Nothing,
    /// The tool reports an exact count, which must equal the calls issued.
    Exact,
    /// The tool reports nothing for these calls (disabled at run time).
    Zero,
    /// The tool reports only a rate; the count derived from it must be
    /// within 5% of the calls issued.
    Approx,
    /// The calls cannot be checked; the text says why.
    Unchecked(&'static str),
}

/// One row of the table.
struct Case {
    name: &'static str,
    kind: Kind,
    /// A batch of `n` instrumented calls on the calling thread (timed).
    batch: fn(u64),
    /// Once on each worker thread, before its first batch of this case.
    thread_init: fn(),
    /// After each batch, on the thread that ran it (untimed).
    after_batch: fn(),
    /// On the coordinating thread before and after each sample (untimed).
    before_sample: fn(),
    after_sample: fn(),
    /// After the run: calls of the instrumented function the tool recorded.
    recorded: fn() -> u64,
    check: Check,
    /// Measured after every other case (in a second pass of the rounds),
    /// because it leaves state behind that would slow the others down.
    late: bool,
}

fn nothing() {}
fn zero() -> u64 {
    0
}

impl Case {
    const fn new(name: &'static str, kind: Kind, batch: fn(u64)) -> Case {
        Case {
            name,
            kind,
            batch,
            thread_init: nothing,
            after_batch: nothing,
            before_sample: nothing,
            after_sample: nothing,
            recorded: zero,
            check: Check::Nothing,
            late: false,
        }
    }
}

/// Runs `n` calls of `f` in a loop the optimiser cannot remove.
#[inline(always)]
fn calls(n: u64, f: fn(u64) -> u64) {
    let mut acc = 0u64;
    for i in 0..n {
        acc ^= f(black_box(i));
    }
    black_box(acc);
}

// --- floors ----------------------------------------------------------------

#[inline(never)]
fn empty_work(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[inline(never)]
fn tsc_work(x: u64) -> u64 {
    let a = tsc();
    let r = black_box(x).wrapping_mul(3);
    let b = tsc();
    black_box(b.wrapping_sub(a));
    r
}

#[inline(never)]
fn instant_work(x: u64) -> u64 {
    let a = Instant::now();
    let r = black_box(x).wrapping_mul(3);
    black_box(a.elapsed());
    r
}

fn floors() -> Vec<Case> {
    vec![
        Case::new("floor: empty call", Kind::Floor, |n| calls(n, empty_work)),
        Case::new("floor: two TSC reads", Kind::Floor, |n| calls(n, tsc_work)),
        Case::new("floor: two Instant::now", Kind::Floor, |n| {
            calls(n, instant_work)
        }),
    ]
}

// --- this crate --------------------------------------------------------------

mod ours {
    use super::*;

    #[inline(never)]
    pub(super) fn enabled_work(x: u64) -> u64 {
        let _g = profiler::profile_scope!("bench.enabled.work");
        black_box(x).wrapping_mul(3)
    }

    #[inline(never)]
    pub(super) fn snapshotted_work(x: u64) -> u64 {
        let _g = profiler::profile_scope!("bench.snapshotted.work");
        black_box(x).wrapping_mul(3)
    }

    #[inline(never)]
    pub(super) fn disabled_work(x: u64) -> u64 {
        let _g = profiler::profile_scope!("bench.disabled.work");
        black_box(x).wrapping_mul(3)
    }

    /// What `profile_scope!` expands to when the profiler is built without
    /// its `enable` feature: `{ let _: &'static str = $name;
    /// profiler::__private::noop_guard() }`, where the guard is
    /// `profiler::Guard(())`, a zero-sized struct without `Drop`. Cargo
    /// unifies features within one build, so this binary cannot link the
    /// compiled-out profiler next to the enabled one; this is a copy of that
    /// expansion (see `CompiledOutGuard`).
    #[inline(never)]
    pub(super) fn compiled_out_work(x: u64) -> u64 {
        let _g = {
            let _: &'static str = "bench.compiled_out.work";
            CompiledOutGuard(())
        };
        black_box(x).wrapping_mul(3)
    }

    /// Copy of `profiler::Guard` as defined without the `enable` feature.
    #[must_use]
    pub(super) struct CompiledOutGuard(());

    pub(super) fn batch_enabled(n: u64) {
        let _outer = profiler::profile_scope!("bench.enabled.batch");
        calls(n, enabled_work);
    }

    pub(super) fn batch_snapshotted(n: u64) {
        let _outer = profiler::profile_scope!("bench.snapshotted.batch");
        calls(n, snapshotted_work);
    }

    pub(super) fn batch_disabled(n: u64) {
        let _outer = profiler::profile_scope!("bench.disabled.batch");
        calls(n, disabled_work);
    }

    #[inline(never)]
    pub(super) fn timeline_default_work(x: u64) -> u64 {
        let _g = profiler::profile_scope!("bench.timeline_default.work");
        black_box(x).wrapping_mul(3)
    }

    #[inline(never)]
    pub(super) fn timeline_all_work(x: u64) -> u64 {
        let _g = profiler::profile_scope!("bench.timeline_all.work");
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn batch_timeline_default(n: u64) {
        let _outer = profiler::profile_scope!("bench.timeline_default.batch");
        calls(n, timeline_default_work);
    }

    pub(super) fn batch_timeline_all(n: u64) {
        let _outer = profiler::profile_scope!("bench.timeline_all.batch");
        calls(n, timeline_all_work);
    }

    /// Timeline on with its default settings (scopes of 5 µs or more are
    /// logged: none of the calls, each batch's outer scope).
    pub(super) fn timeline_default_on() {
        profiler::set_timeline(Some(profiler::TimelineConfig::default()));
    }

    /// Timeline on, every scope logged, cap at its ceiling.
    pub(super) fn timeline_all_on() {
        profiler::set_timeline(Some(
            profiler::TimelineConfig::default()
                .min_duration(std::time::Duration::ZERO)
                .max_events_per_thread(usize::MAX),
        ));
    }

    pub(super) fn timeline_off() {
        profiler::set_timeline(None);
    }

    /// Scopes of the site named `name` on the timelines of every thread.
    pub(super) fn on_timeline(name: &str) -> u64 {
        let p = profiler::snapshot();
        p.threads
            .iter()
            .flat_map(|t| &t.timeline)
            .filter(|s| p.sites[s.site as usize].name == name)
            .count() as u64
    }

    pub(super) fn batch_compiled_out(n: u64) {
        let _outer = {
            let _: &'static str = "bench.compiled_out.batch";
            CompiledOutGuard(())
        };
        calls(n, compiled_out_work);
    }

    /// Calls recorded for the site named `name`, over every thread.
    pub(super) fn recorded(name: &str) -> u64 {
        let p = profiler::snapshot();
        p.threads
            .iter()
            .flat_map(|t| &t.nodes)
            .filter(|n| p.sites[n.site as usize].name == name)
            .map(|n| n.calls)
            .sum()
    }

    // The snapshotter: a thread that takes snapshots in a loop while
    // `SNAP_ON` is set, and sleeps otherwise.
    static SNAP_ON: AtomicBool = AtomicBool::new(false);
    static SNAP_ACTIVE: AtomicBool = AtomicBool::new(false);
    pub(super) static SNAPSHOTS: AtomicU64 = AtomicU64::new(0);
    static SNAPSHOTTER: OnceLock<std::thread::Thread> = OnceLock::new();

    pub(super) fn start_snapshotter() {
        let handle = std::thread::Builder::new()
            .name("snapshotter".into())
            .spawn(|| {
                loop {
                    while !SNAP_ON.load(Ordering::Acquire) {
                        std::thread::park();
                    }
                    SNAP_ACTIVE.store(true, Ordering::Release);
                    while SNAP_ON.load(Ordering::Acquire) {
                        black_box(profiler::snapshot());
                        SNAPSHOTS.fetch_add(1, Ordering::Relaxed);
                    }
                    SNAP_ACTIVE.store(false, Ordering::Release);
                }
            })
            .expect("spawn the snapshotter");
        SNAPSHOTTER.set(handle.thread().clone()).ok();
    }

    pub(super) fn snapshots_on() {
        SNAP_ON.store(true, Ordering::Release);
        if let Some(t) = SNAPSHOTTER.get() {
            t.unpark();
        }
        while !SNAP_ACTIVE.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
    }

    pub(super) fn snapshots_off() {
        SNAP_ON.store(false, Ordering::Release);
        while SNAP_ACTIVE.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
    }
}

fn this_crate() -> Vec<Case> {
    vec![
        Case {
            recorded: || ours::recorded("bench.enabled.work"),
            check: Check::Exact,
            ..Case::new("profiler: enabled", Kind::Ours, ours::batch_enabled)
        },
        Case {
            recorded: || ours::recorded("bench.snapshotted.work"),
            check: Check::Exact,
            before_sample: ours::snapshots_on,
            after_sample: ours::snapshots_off,
            ..Case::new(
                "profiler: enabled, snapshots in a loop",
                Kind::Ours,
                ours::batch_snapshotted,
            )
        },
        Case {
            recorded: || ours::recorded("bench.disabled.work"),
            check: Check::Zero,
            before_sample: || profiler::set_enabled(false),
            after_sample: || profiler::set_enabled(true),
            ..Case::new(
                "profiler: disabled at run time",
                Kind::Ours,
                ours::batch_disabled,
            )
        },
        Case {
            recorded: || ours::recorded("bench.timeline_default.work"),
            check: Check::Exact,
            before_sample: ours::timeline_default_on,
            after_sample: ours::timeline_off,
            ..Case::new(
                "profiler: timeline on (default: >= 5 us)",
                Kind::Ours,
                ours::batch_timeline_default,
            )
        },
        Case {
            recorded: || ours::on_timeline("bench.timeline_all.work"),
            check: Check::Exact,
            // Its logs are never freed, and every snapshot copies them: run
            // it last so that the snapshotting case is not affected.
            late: true,
            before_sample: ours::timeline_all_on,
            after_sample: ours::timeline_off,
            ..Case::new(
                "profiler: timeline on, every scope logged",
                Kind::Ours,
                ours::batch_timeline_all,
            )
        },
        Case::new(
            "profiler: compiled out (expansion copy)",
            Kind::Ours,
            ours::batch_compiled_out,
        ),
    ]
}

// --- peers -----------------------------------------------------------------

#[cfg(feature = "peers")]
mod peers {
    use super::*;
    use std::cell::Cell;

    // puffin: scopes on, a sink counting the scopes of every frame, frames
    // advanced by the coordinator after each sample.
    static PUFFIN_SCOPES: AtomicU64 = AtomicU64::new(0);
    static PUFFIN_BATCHES: AtomicU64 = AtomicU64::new(0);

    pub(super) fn puffin_setup() {
        puffin::set_scopes_on(true);
        puffin::GlobalProfiler::lock().add_sink(Box::new(|frame| {
            PUFFIN_SCOPES.fetch_add(frame.meta().num_scopes as u64, Ordering::Relaxed);
        }));
    }

    #[inline(never)]
    fn puffin_work(x: u64) -> u64 {
        puffin::profile_scope!("work");
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn puffin_batch(n: u64) {
        puffin::profile_scope!("outer");
        calls(n, puffin_work);
    }

    pub(super) fn puffin_after_batch() {
        PUFFIN_BATCHES.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn puffin_new_frame() {
        puffin::GlobalProfiler::lock().new_frame();
    }

    pub(super) fn puffin_recorded() -> u64 {
        puffin_new_frame();
        // Every batch also closed one outer scope.
        PUFFIN_SCOPES.load(Ordering::Relaxed) - PUFFIN_BATCHES.load(Ordering::Relaxed)
    }

    // firestorm (with `enable_system_time`): events go to a thread-local
    // buffer, counted and cleared after each batch.
    static FIRESTORM_EVENTS: AtomicU64 = AtomicU64::new(0);
    static FIRESTORM_BATCHES: AtomicU64 = AtomicU64::new(0);

    #[inline(never)]
    fn firestorm_work(x: u64) -> u64 {
        firestorm::profile_fn!(firestorm_work);
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn firestorm_batch(n: u64) {
        firestorm::profile_section!(outer);
        calls(n, firestorm_work);
    }

    pub(super) fn firestorm_after_batch() {
        // SAFETY: firestorm's own accessor does the same; nothing else holds
        // a reference into this thread's buffer between batches.
        let events = firestorm_core::EVENTS.with(|e| unsafe { (*e.get()).len() });
        FIRESTORM_EVENTS.fetch_add(events as u64, Ordering::Relaxed);
        FIRESTORM_BATCHES.fetch_add(1, Ordering::Relaxed);
        firestorm::clear();
    }

    pub(super) fn firestorm_recorded() -> u64 {
        // A start and an end event per call, and per outer section.
        FIRESTORM_EVENTS.load(Ordering::Relaxed) / 2 - FIRESTORM_BATCHES.load(Ordering::Relaxed)
    }

    // tracing: the registry with a layer timing each span from `on_enter`
    // to `on_exit`, the start kept in the span's extensions.
    struct SpanTimer;
    struct Entered(Instant);

    thread_local! {
        /// Spans timed on this thread since the last batch, and their total ns.
        static TIMED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    static TRACING_SPANS: AtomicU64 = AtomicU64::new(0);
    static TRACING_BATCHES: AtomicU64 = AtomicU64::new(0);

    impl<S> tracing_subscriber::Layer<S> for SpanTimer
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        fn on_enter(&self, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(Entered(Instant::now()));
            }
        }

        fn on_exit(&self, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
            let Some(span) = ctx.span(id) else { return };
            let Some(Entered(start)) = span.extensions_mut().remove::<Entered>() else {
                return;
            };
            let ns = start.elapsed().as_nanos() as u64;
            TIMED.with(|t| {
                let (n, total) = t.get();
                t.set((n + 1, total + ns));
            });
        }
    }

    pub(super) fn tracing_setup() {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(SpanTimer);
        tracing::subscriber::set_global_default(subscriber).expect("set the tracing subscriber");
    }

    #[inline(never)]
    fn tracing_work(x: u64) -> u64 {
        let _s = tracing::info_span!("work").entered();
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn tracing_batch(n: u64) {
        let _outer = tracing::info_span!("outer").entered();
        calls(n, tracing_work);
    }

    pub(super) fn tracing_after_batch() {
        let (n, _) = TIMED.with(|t| t.replace((0, 0)));
        TRACING_SPANS.fetch_add(n, Ordering::Relaxed);
        TRACING_BATCHES.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn tracing_recorded() -> u64 {
        TRACING_SPANS.load(Ordering::Relaxed) - TRACING_BATCHES.load(Ordering::Relaxed)
    }

    // fastrace (with `enable`): a reporter counting the "work" spans, a root
    // span per batch set as the local parent, a local span per call.
    static FASTRACE_SPANS: AtomicU64 = AtomicU64::new(0);

    struct CountingReporter;

    impl fastrace::collector::Reporter for CountingReporter {
        fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
            let n = spans.iter().filter(|s| s.name == "work").count();
            FASTRACE_SPANS.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    pub(super) fn fastrace_setup() {
        fastrace::set_reporter(CountingReporter, fastrace::collector::Config::default());
    }

    #[inline(never)]
    fn fastrace_work(x: u64) -> u64 {
        let _s = fastrace::local::LocalSpan::enter_with_local_parent("work");
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn fastrace_batch(n: u64) {
        let root = fastrace::Span::root("outer", fastrace::collector::SpanContext::random());
        let _parent = root.set_local_parent();
        calls(n, fastrace_work);
    }

    pub(super) fn fastrace_recorded() -> u64 {
        fastrace::flush();
        FASTRACE_SPANS.load(Ordering::Relaxed)
    }

    // hprof: the thread-local profiler, one frame per batch; the calls of
    // the "work" node are read after each frame (it resets at frame start).
    static HPROF_CALLS: AtomicU64 = AtomicU64::new(0);

    #[inline(never)]
    fn hprof_work(x: u64) -> u64 {
        let _g = hprof::enter("work");
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn hprof_batch(n: u64) {
        hprof::start_frame();
        calls(n, hprof_work);
        hprof::end_frame();
    }

    pub(super) fn hprof_after_batch() {
        let root = hprof::profiler().root();
        let children = root.children.borrow();
        let n: u64 = children
            .iter()
            .filter(|c| c.name == "work")
            .map(|c| u64::from(c.calls.get()))
            .sum();
        HPROF_CALLS.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn hprof_recorded() -> u64 {
        HPROF_CALLS.load(Ordering::Relaxed)
    }

    // coarse-prof: the thread-local profiler; it only prints a rate per
    // scope (calls / time since `reset`), so the count is estimated from the
    // rate and the time between `reset` and `write`, bracketed by Instants.
    static COARSE_CALLS: AtomicU64 = AtomicU64::new(0);

    thread_local! {
        /// Instants just before and just after the last `coarse_prof::reset`.
        static COARSE_RESET: Cell<Option<(Instant, Instant)>> = const { Cell::new(None) };
    }

    fn coarse_reset() {
        let before = Instant::now();
        coarse_prof::reset();
        COARSE_RESET.with(|r| r.set(Some((before, Instant::now()))));
    }

    pub(super) fn coarse_thread_init() {
        coarse_reset();
    }

    #[inline(never)]
    fn coarse_work(x: u64) -> u64 {
        coarse_prof::profile!("work");
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn coarse_batch(n: u64) {
        coarse_prof::profile!("outer");
        calls(n, coarse_work);
    }

    pub(super) fn coarse_after_batch() {
        let mut out = Vec::new();
        let before = Instant::now();
        coarse_prof::write(&mut out).expect("write to memory");
        let after = Instant::now();
        let (reset_before, reset_after) = COARSE_RESET
            .with(Cell::get)
            .expect("coarse-prof reset on this thread");
        // The profiler's own interval lies between these two.
        let lo = before.duration_since(reset_after).as_secs_f64();
        let hi = after.duration_since(reset_before).as_secs_f64();
        let text = String::from_utf8(out).expect("utf-8");
        let hz: f64 = text
            .lines()
            .find_map(|l| {
                let rest = l.trim_start().strip_prefix("work:")?;
                rest.rsplit_once("@ ")?.1.strip_suffix("Hz")?.parse().ok()
            })
            .unwrap_or(0.0);
        COARSE_CALLS.fetch_add((hz * (lo + hi) / 2.0).round() as u64, Ordering::Relaxed);
        coarse_reset();
    }

    pub(super) fn coarse_recorded() -> u64 {
        COARSE_CALLS.load(Ordering::Relaxed)
    }

    // tracy-client without on-demand mode: every zone is queued for the
    // server. `main` took the port Tracy listens on (`TRACY_PORT`), so its
    // worker thread discards the queues every 10 ms instead of sending
    // them: what is measured is the instrumented thread's whole cost.
    pub(super) fn tracy_setup() {
        let _client = tracy_client::Client::start();
    }

    #[inline(never)]
    fn tracy_work(x: u64) -> u64 {
        let _s = tracy_client::span!("work");
        black_box(x).wrapping_mul(3)
    }

    pub(super) fn tracy_batch(n: u64) {
        let _outer = tracy_client::span!("outer");
        calls(n, tracy_work);
    }

    pub(super) fn tracy_connected() -> bool {
        tracy_client::Client::is_connected()
    }
}

#[cfg(feature = "peers")]
fn peers() -> Vec<Case> {
    peers::puffin_setup();
    peers::tracing_setup();
    peers::fastrace_setup();
    peers::tracy_setup();
    vec![
        Case {
            after_batch: peers::puffin_after_batch,
            after_sample: peers::puffin_new_frame,
            recorded: peers::puffin_recorded,
            check: Check::Exact,
            ..Case::new("puffin 0.19", Kind::Peer, peers::puffin_batch)
        },
        Case {
            after_batch: peers::firestorm_after_batch,
            recorded: peers::firestorm_recorded,
            check: Check::Exact,
            ..Case::new("firestorm 0.5", Kind::Peer, peers::firestorm_batch)
        },
        Case {
            after_batch: peers::tracing_after_batch,
            recorded: peers::tracing_recorded,
            check: Check::Exact,
            ..Case::new(
                "tracing 0.1 + registry + timing layer",
                Kind::Peer,
                peers::tracing_batch,
            )
        },
        Case {
            recorded: peers::fastrace_recorded,
            check: Check::Exact,
            ..Case::new("fastrace 0.7", Kind::Peer, peers::fastrace_batch)
        },
        Case {
            after_batch: peers::hprof_after_batch,
            recorded: peers::hprof_recorded,
            check: Check::Exact,
            ..Case::new("hprof 0.1", Kind::Peer, peers::hprof_batch)
        },
        Case {
            thread_init: peers::coarse_thread_init,
            after_batch: peers::coarse_after_batch,
            recorded: peers::coarse_recorded,
            check: Check::Approx,
            ..Case::new("coarse-prof 0.2", Kind::Peer, peers::coarse_batch)
        },
        Case {
            check: if peers::tracy_connected() {
                Check::Unchecked("a Tracy server was connected")
            } else {
                Check::Unchecked("queued every zone; its worker discarded them (port taken)")
            },
            ..Case::new("tracy-client 0.19", Kind::Peer, peers::tracy_batch)
        },
    ]
}

#[cfg(not(feature = "peers"))]
fn peers() -> Vec<Case> {
    Vec::new()
}

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// A sample request for a worker.
struct Job {
    case: usize,
    start: Arc<Barrier>,
}

/// Spawns a worker thread that runs jobs and answers with ns per call.
fn worker(index: usize, cases: Arc<Vec<Case>>, results: mpsc::Sender<f64>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name(format!("worker-{index}"))
        .spawn(move || {
            let mut initialised = vec![false; cases.len()];
            for job in rx {
                let case = &cases[job.case];
                if !std::mem::replace(&mut initialised[job.case], true) {
                    (case.thread_init)();
                }
                (case.batch)(WARMUP);
                (case.after_batch)();
                job.start.wait();
                let t0 = Instant::now();
                (case.batch)(BATCH);
                let elapsed = t0.elapsed();
                (case.after_batch)();
                let ns = elapsed.as_nanos() as f64 / BATCH as f64;
                if results.send(ns).is_err() {
                    break;
                }
            }
        })
        .expect("spawn a worker");
    tx
}

struct Row {
    /// Per thread count (as in `THREADS`): the summary of ns per call.
    stats: Vec<Summary>,
    recorded: u64,
    issued: u64,
    verdict: String,
    ok: bool,
}

/// Every case: the floors, this crate's, and the peers' (with the
/// `peers` feature).
fn all_cases() -> Vec<Case> {
    // Setup before any worker exists: the clock, global subscribers.
    drop(profiler::snapshot());
    let mut all = floors();
    all.extend(this_crate());
    all.extend(peers());
    all
}

fn main() {
    // Tracy's port, taken before anything starts Tracy's client (see
    // `benches::take_tracy_port`); kept for the whole run.
    let tracy_port = benches::take_tracy_port().expect("a free port to keep from Tracy");
    let port = tracy_port.local_addr().expect("a bound port").port();
    // SAFETY: no other thread exists yet (this is the first thing `main`
    // does, and nothing runs before `main` that starts threads), so nothing
    // can read the environment while it changes.
    unsafe { std::env::set_var("TRACY_PORT", port.to_string()) };
    if let Ok(name) = std::env::var(SUBTRACT_CASE) {
        subtract::child(&name);
        return;
    }
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);

    let mut all = all_cases();
    // `BENCH_CASES=a,b` keeps the floors and the cases whose names contain
    // `a` or `b` (to profile one case with perf).
    if let Ok(only) = std::env::var("BENCH_CASES") {
        let only: Vec<&str> = only.split(',').filter(|p| !p.is_empty()).collect();
        all.retain(|c| c.kind == Kind::Floor || only.iter().any(|p| c.name.contains(p)));
    }
    let cases = Arc::new(all);
    ours::start_snapshotter();

    let (result_tx, result_rx) = mpsc::channel();
    let workers: Vec<_> = (0..THREADS.iter().copied().max().unwrap_or(1))
        .map(|i| worker(i, Arc::clone(&cases), result_tx.clone()))
        .collect();
    let barriers: Vec<Arc<Barrier>> = THREADS.iter().map(|&t| Arc::new(Barrier::new(t))).collect();

    let mut samples = vec![vec![Vec::with_capacity(rounds * 2); THREADS.len()]; cases.len()];
    let mut issued = vec![0u64; cases.len()];
    let started = Instant::now();
    for late in [false, true] {
        for _ in 0..rounds {
            for (c, case) in cases.iter().enumerate().filter(|(_, c)| c.late == late) {
                for (t, &threads) in THREADS.iter().enumerate() {
                    (case.before_sample)();
                    for w in &workers[..threads] {
                        w.send(Job {
                            case: c,
                            start: Arc::clone(&barriers[t]),
                        })
                        .expect("worker alive");
                    }
                    for _ in 0..threads {
                        samples[c][t].push(result_rx.recv().expect("worker result"));
                    }
                    (case.after_sample)();
                    issued[c] += (WARMUP + BATCH) * threads as u64;
                }
            }
        }
    }
    let run_s = started.elapsed().as_secs_f64();
    drop(workers);

    let rows: Vec<Row> = cases
        .iter()
        .zip(samples.iter_mut())
        .zip(&issued)
        .map(|((case, per_threads), &issued)| {
            let stats = per_threads
                .iter_mut()
                .map(|s| Summary::of(s).expect("samples"))
                .collect();
            let recorded = (case.recorded)();
            let (ok, verdict) = match case.check {
                Check::Nothing => (true, "n/a".to_string()),
                Check::Exact => (recorded == issued, format!("{recorded} of {issued}")),
                Check::Zero => (recorded == 0, format!("{recorded} (expected 0)")),
                Check::Approx => {
                    let err = (recorded as f64 - issued as f64).abs() / issued as f64;
                    (err <= 0.05, format!("~{recorded} of {issued} (from rate)"))
                }
                Check::Unchecked(why) => (true, why.to_string()),
            };
            Row {
                stats,
                recorded,
                issued,
                verdict,
                ok,
            }
        })
        .collect();

    print_report(&cases, &rows, rounds, run_s);
    let checks: Vec<(&str, Check)> = cases.iter().map(|c| (c.name, c.check)).collect();
    let subtracted_ok = subtract::run(&checks);

    let failed: Vec<_> = cases
        .iter()
        .zip(&rows)
        .filter(|(_, r)| !r.ok)
        .map(|(c, r)| format!("{}: recorded {} of {} calls", c.name, r.recorded, r.issued))
        .collect();
    if !failed.is_empty() || !subtracted_ok {
        eprintln!("\nFAILED: a profiler did not record what was issued:");
        for f in &failed {
            eprintln!("  {f}");
        }
        std::process::exit(1);
    }
}

fn index_of(cases: &[Case], name: &str) -> usize {
    cases
        .iter()
        .position(|c| c.name == name)
        .expect("case present")
}

fn print_report(cases: &[Case], rows: &[Row], rounds: usize, run_s: f64) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown kernel".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nns per instrumented call (enter + exit); {rounds} samples of {BATCH} calls per row \
         ({run_s:.1} s); {cpu}, {cores} cores, Linux {kernel}"
    );
    println!(
        "Each sample: one thread's time for a batch / {BATCH}; 2 threads = both calling at once, \
         per thread. Ratio: median / median of two TSC reads at the same thread count.\n"
    );
    let floor = index_of(cases, "floor: two TSC reads");
    let name_w = cases
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(10)
        .max(4);
    println!(
        "| {:<name_w$} | thr | median ns |  min ns |  max ns | x 2 TSC | recorded calls",
        "case"
    );
    println!(
        "|{:-<w$}|-----|-----------|---------|---------|---------|---------------",
        "",
        w = name_w + 2
    );
    for (case, row) in cases.iter().zip(rows) {
        for (t, &threads) in THREADS.iter().enumerate() {
            let s = row.stats[t];
            let ratio = s.median / rows[floor].stats[t].median;
            println!(
                "| {:<name_w$} | {threads:>3} | {:>9.2} | {:>7.2} | {:>7.2} | {:>7.2} | {}",
                case.name, s.median, s.min, s.max, ratio, row.verdict
            );
        }
    }
    println!(
        "\nsnapshots taken during the snapshotting case: {}",
        ours::SNAPSHOTS.load(Ordering::Relaxed)
    );

    // Verdicts against the targets (docs/design.md, "Targets").
    println!("\nTargets:");
    if !cases.iter().any(|c| c.name == "profiler: enabled")
        || !cases
            .iter()
            .any(|c| c.name == "profiler: disabled at run time")
    {
        println!("- not judged: some of this crate's cases were left out (BENCH_CASES)");
        return;
    }
    let enabled = index_of(cases, "profiler: enabled");
    let disabled = index_of(cases, "profiler: disabled at run time");
    let empty = index_of(cases, "floor: empty call");
    for (t, &threads) in THREADS.iter().enumerate() {
        let med = |i: usize| rows[i].stats[t].median;
        let ratio = med(enabled) / med(floor);
        println!(
            "- {threads} thread(s): enabled / two TSC reads = {ratio:.2} (target <= 1.25): {}",
            if ratio <= 1.25 { "met" } else { "NOT met" }
        );
        let cheapest = cases
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                c.kind == Kind::Peer && !matches!(c.check, Check::Unchecked(_)) && rows[*i].ok
            })
            .min_by(|a, b| med(a.0).total_cmp(&med(b.0)));
        match cheapest {
            Some((i, c)) => {
                let x = med(i) / med(enabled);
                println!(
                    "- {threads} thread(s): cheapest recording peer {} at {:.2} ns is {x:.2}x this \
                     crate (target >= 1.5): {}",
                    c.name,
                    med(i),
                    if x >= 1.5 { "met" } else { "NOT met" }
                );
            }
            None => {
                println!("- {threads} thread(s): no peer measured (build with --features peers)")
            }
        }
        if let Some((i, c)) = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == Kind::Peer && matches!(c.check, Check::Unchecked(_)))
            .min_by(|a, b| med(a.0).total_cmp(&med(b.0)))
        {
            println!(
                "  (unverified peer {} at {:.2} ns is {:.2}x this crate; left out of the target)",
                c.name,
                med(i),
                med(i) / med(enabled)
            );
        }
        if let Some((i, c)) = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == Kind::Peer)
            .min_by(|a, b| med(a.0).total_cmp(&med(b.0)))
        {
            println!(
                "- {threads} thread(s): every peer, Tracy included, costs more than this crate \
                 (issue 18): {} (cheapest: {} at {:.2} ns against {:.2})",
                if med(i) > med(enabled) {
                    "met"
                } else {
                    "NOT met"
                },
                c.name,
                med(i),
                med(enabled)
            );
        }
        let added = med(disabled) - med(empty);
        println!(
            "- {threads} thread(s): disabled adds {added:.2} ns to the empty call (target < 1): {}",
            if added < 1.0 { "met" } else { "NOT met" }
        );
    }
}

// ---------------------------------------------------------------------------
// The second harness: overhead above the same loop uninstrumented
// ---------------------------------------------------------------------------

/// The environment variable that makes the bench a child of the second
/// harness, measuring the one case it names.
const SUBTRACT_CASE: &str = "PEERS_SUBTRACT_CASE";
/// ... with this many threads.
const SUBTRACT_THREADS: &str = "PEERS_SUBTRACT_THREADS";

/// The second harness, the shape of the independent harness the issue
/// measured with: each case in a process of its own; in each of
/// [`subtract::REPS`] repetitions every thread runs [`subtract::BATCHES`]
/// batches of the instrumented calls, each timed and each alternating with
/// a timed batch of the same loop calling the uninstrumented function
/// ([`empty_work`]); the overhead per call is the median over repetitions
/// (and threads) of (instrumented - uninstrumented) / calls. The first
/// harness instead reports each case's own time per call next to the floors,
/// in one process for every case.
mod subtract {
    use super::*;

    /// Repetitions per case and thread count.
    pub(super) const REPS: usize = 7;
    /// Batches of [`BATCH`] calls per repetition: a million calls.
    pub(super) const BATCHES: u64 = 200;

    /// In a child: measures the case `name` and prints one line,
    /// `overhead_ns base_ns recorded issued`.
    pub(super) fn child(name: &str) {
        let threads: usize = std::env::var(SUBTRACT_THREADS)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let cases = all_cases();
        let Some(c) = cases.iter().position(|c| c.name == name) else {
            eprintln!("no case named {name:?}");
            std::process::exit(2);
        };
        let cases = Arc::new(cases);
        ours::start_snapshotter();
        let go = Arc::new(Barrier::new(threads + 1));
        let done = Arc::new(Barrier::new(threads + 1));
        let (tx, rx) = mpsc::channel::<(f64, f64)>();
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (cases, go, done, tx) = (cases.clone(), go.clone(), done.clone(), tx.clone());
                std::thread::spawn(move || {
                    let case = &cases[c];
                    (case.thread_init)();
                    for rep in 0..REPS {
                        go.wait();
                        if rep == 0 {
                            // Inside the first repetition, after the
                            // coordinator's `before_sample`: the warm-up runs
                            // under the case's settings (recording off, for
                            // the disabled case), as every timed batch does.
                            (case.batch)(WARMUP);
                            (case.after_batch)();
                        }
                        let (mut base, mut inst) = (0u128, 0u128);
                        for _ in 0..BATCHES {
                            let t = Instant::now();
                            calls(BATCH, empty_work);
                            base += t.elapsed().as_nanos();
                            let t = Instant::now();
                            (case.batch)(BATCH);
                            inst += t.elapsed().as_nanos();
                            (case.after_batch)();
                        }
                        let n = (BATCHES * BATCH) as f64;
                        tx.send((inst as f64 / n, base as f64 / n))
                            .expect("the coordinator");
                        done.wait();
                    }
                })
            })
            .collect();
        drop(tx);
        let case = &cases[c];
        let (mut over, mut base) = (Vec::new(), Vec::new());
        for _ in 0..REPS {
            (case.before_sample)();
            go.wait();
            done.wait();
            (case.after_sample)();
        }
        for w in workers {
            w.join().expect("a worker panicked");
        }
        for (inst, b) in rx {
            over.push(inst - b);
            base.push(b);
        }
        let issued = (REPS as u64 * BATCHES * BATCH + WARMUP) * threads as u64;
        let recorded = (case.recorded)();
        let over = Summary::of(&mut over).expect("samples").median;
        let base = Summary::of(&mut base).expect("samples").median;
        println!("{over} {base} {recorded} {issued}");
    }

    /// Runs one child: the overhead and uninstrumented time per call, and
    /// the recorded-calls verdict; `None` (reported) if the child failed.
    fn child_run(
        exe: &std::path::Path,
        name: &str,
        threads: usize,
        check: Check,
    ) -> Option<(f64, f64, String)> {
        let out = std::process::Command::new(exe)
            .env(SUBTRACT_CASE, name)
            .env(SUBTRACT_THREADS, threads.to_string())
            .env_remove("BENCH_CASES")
            .output()
            .expect("run a child of the bench");
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [over, base, recorded, issued] = fields[..] else {
            eprintln!(
                "{name} ({threads} threads): the child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        };
        let verdict = match check {
            Check::Exact if recorded != issued => format!("{recorded} of {issued}: WRONG"),
            Check::Exact => format!("{recorded} of {issued}"),
            Check::Zero if recorded != 0.0 => format!("{recorded}, expected 0: WRONG"),
            Check::Zero => "0 (expected 0)".to_owned(),
            Check::Approx => format!("~{recorded} of {issued} (from rate)"),
            Check::Nothing => "n/a".to_owned(),
            Check::Unchecked(why) => why.to_owned(),
        };
        Some((over, base, verdict))
    }

    /// Rounds of processes per case and thread count (`PEERS_SUBTRACT_ROUNDS`
    /// overrides): every case's process runs once per round, cases in turn,
    /// so a drift of the shared host over the minutes of the run reaches
    /// every case alike, and the table shows the median over rounds with the
    /// spread (lowest to highest round) beside it.
    const ROUNDS: usize = 3;

    /// One row of the table: a case at a thread count, over the rounds.
    struct Row {
        name: String,
        threads: usize,
        over: Vec<f64>,
        base: Vec<f64>,
        verdict: String,
    }

    /// In the parent: every case at 1 and 2 threads, each in a child, in
    /// [`ROUNDS`] interleaved rounds; prints the table. False if a profiler
    /// did not record what was issued.
    pub(super) fn run(cases: &[(&str, Check)]) -> bool {
        let exe = std::env::current_exe().expect("this bench's path");
        let rounds = std::env::var("PEERS_SUBTRACT_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(ROUNDS);
        let mut ok = true;
        let mut rows: Vec<Row> = Vec::new();
        for _ in 0..rounds {
            for &(name, check) in cases {
                for threads in THREADS {
                    let Some((over, base, verdict)) = child_run(&exe, name, threads, check) else {
                        ok = false;
                        continue;
                    };
                    ok &= !verdict.contains("WRONG");
                    match rows
                        .iter_mut()
                        .find(|r| r.name == name && r.threads == threads)
                    {
                        Some(r) => {
                            r.over.push(over);
                            r.base.push(base);
                            if verdict.contains("WRONG") {
                                r.verdict = verdict;
                            }
                        }
                        None => rows.push(Row {
                            name: name.to_owned(),
                            threads,
                            over: vec![over],
                            base: vec![base],
                            verdict,
                        }),
                    }
                }
            }
        }
        let rows: Vec<(String, usize, Summary, f64, String)> = rows
            .into_iter()
            .map(|mut r| {
                let over = Summary::of(&mut r.over).expect("a round");
                let base = Summary::of(&mut r.base).expect("a round").median;
                (r.name, r.threads, over, base, r.verdict)
            })
            .collect();
        // A case's median over rounds at a thread count, if it ran.
        let median = |case: &str, threads: usize| {
            rows.iter()
                .find(|r| r.0 == case && r.1 == threads)
                .map(|r| r.2.median)
        };
        let floor = |threads: usize| median("floor: two TSC reads", threads).unwrap_or(f64::NAN);
        println!(
            "\nSecond harness: ns per call above the same loop calling the uninstrumented \
             function, each case in its own process, {rounds} rounds of processes with the \
             cases in turn; per process the median of {REPS} repetitions x threads of {} calls \
             per thread, instrumented and uninstrumented batches alternating; the table shows \
             the median over rounds and the lowest and highest round. Ratio: overhead / \
             overhead of two TSC reads at the same thread count.\n",
            BATCHES * BATCH
        );
        let name_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
        println!(
            "| {:<name_w$} | thr | overhead ns | rounds' range ns | x 2 TSC | uninstrumented ns/call | recorded calls",
            "case"
        );
        println!(
            "|{:-<w$}|-----|-------------|------------------|---------|------------------------|---------------",
            "",
            w = name_w + 2
        );
        for (name, threads, over, base, verdict) in &rows {
            let range = format!("{:.2} to {:.2}", over.min, over.max);
            println!(
                "| {name:<name_w$} | {threads:>3} | {:>11.2} | {range:>16} | {:>7.2} | {base:>22.2} | {verdict}",
                over.median,
                over.median / floor(*threads)
            );
        }
        println!("\nSecond harness against the targets (medians over rounds):");
        for threads in THREADS {
            let ours = median("profiler: enabled", threads);
            if let Some(d) = ours.map(|m| m - floor(threads)) {
                println!(
                    "- {threads} thread(s): enabled is the floor {d:+.2} ns (target: within +2 ns): {}",
                    if d <= 2.0 { "met" } else { "NOT met" }
                );
            }
            if let Some(disabled) = median("profiler: disabled at run time", threads) {
                let d = disabled - median("floor: empty call", threads).unwrap_or(f64::NAN);
                println!(
                    "- {threads} thread(s): disabled is the empty call {d:+.2} ns (target: within +1 ns): {}",
                    if d <= 1.0 { "met" } else { "NOT met" }
                );
            }
            let cheapest_peer = rows
                .iter()
                .filter(|r| r.1 == threads)
                .filter(|r| !r.0.starts_with("floor:") && !r.0.starts_with("profiler:"))
                .min_by(|a, b| a.2.median.total_cmp(&b.2.median));
            if let (Some(ours), Some(peer)) = (ours, cheapest_peer) {
                println!(
                    "- {threads} thread(s): every peer, Tracy included, costs more: {} \
                     (cheapest: {} at {:.2} ns above the loop against {ours:.2})",
                    if peer.2.median > ours {
                        "met"
                    } else {
                        "NOT met"
                    },
                    peer.0,
                    peer.2.median
                );
            }
            if let Some(logged) = median("profiler: timeline on, every scope logged", threads) {
                let x = logged / floor(threads);
                println!(
                    "- {threads} thread(s): every scope logged is {x:.2}x the floor (target: 1.10x): {}",
                    if x <= 1.10 { "met" } else { "NOT met" }
                );
            }
        }
        ok
    }
}
