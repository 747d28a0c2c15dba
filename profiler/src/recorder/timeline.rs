//! Per-thread timeline logs: completed scopes (site, start, duration), kept
//! only when timeline recording is on and the scope lasted at least the
//! configured minimum; past a per-thread cap, scopes are counted as dropped.
//!
//! The log is append-only, in fixed chunks that never move, written only by
//! the owning thread with relaxed stores and published with a release store of
//! its length, so snapshots read it from any thread (as the arena).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::time::Duration;

/// Scopes per chunk.
const CHUNK: usize = 4096;
/// Chunks per thread: the hard ceiling on a thread's log (16 Mi scopes).
const MAX_CHUNKS: usize = 4096;

/// Minimum duration in ticks for a scope to be logged; `u64::MAX` = off.
static MIN_TICKS: AtomicU64 = AtomicU64::new(u64::MAX);
/// Per-thread cap on logged scopes.
static CAP: AtomicUsize = AtomicUsize::new(0);

/// Timeline recording settings (see [`set_timeline`](crate::set_timeline)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimelineConfig {
    /// Scopes shorter than this are left off the timeline (they still count
    /// in the statistics). Default is 5 µs; zero keeps every scope.
    pub min_duration: Duration,
    /// The most scopes kept per thread; later ones are counted as dropped.
    /// Default is 1,000,000 (24 MB per thread at most); the ceiling is
    /// 16,777,216.
    pub max_events_per_thread: usize,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig {
            min_duration: Duration::from_micros(5),
            max_events_per_thread: 1_000_000,
        }
    }
}

impl TimelineConfig {
    /// Sets [`min_duration`](Self::min_duration).
    pub fn min_duration(mut self, d: Duration) -> Self {
        self.min_duration = d;
        self
    }

    /// Sets [`max_events_per_thread`](Self::max_events_per_thread).
    pub fn max_events_per_thread(mut self, n: usize) -> Self {
        self.max_events_per_thread = n;
        self
    }
}

/// Turns timeline recording on with `config`, or off with `None`. Applies to
/// scopes that close from now on, on every thread.
pub fn set_timeline(config: Option<TimelineConfig>) {
    match config {
        None => MIN_TICKS.store(u64::MAX, Relaxed),
        Some(c) => {
            CAP.store(c.max_events_per_thread.min(CHUNK * MAX_CHUNKS), Relaxed);
            let ns = u64::try_from(c.min_duration.as_nanos()).unwrap_or(u64::MAX - 1);
            let ticks = (ns as f64 * crate::clock::estimate_ticks_per_ns()) as u64;
            MIN_TICKS.store(ticks.min(u64::MAX - 1), Relaxed);
        }
    }
}

/// The current settings, or `None` when timeline recording is off.
pub fn timeline() -> Option<TimelineConfig> {
    let min = MIN_TICKS.load(Relaxed);
    (min != u64::MAX).then(|| TimelineConfig {
        min_duration: Duration::from_nanos(
            (min as f64 / crate::clock::estimate_ticks_per_ns()) as u64,
        ),
        max_events_per_thread: CAP.load(Relaxed),
    })
}

/// The logging threshold, for the exit path.
#[inline(always)]
pub(crate) fn min_ticks() -> u64 {
    MIN_TICKS.load(Relaxed)
}

#[derive(Default)]
struct Slot {
    site: AtomicU64,
    start: AtomicU64,
    ticks: AtomicU64,
}

/// A logged scope, as a snapshot reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawSpan {
    pub(crate) site: u32,
    pub(crate) start: u64,
    pub(crate) ticks: u64,
}

/// One thread's log.
pub(crate) struct Log {
    /// The chunk table, allocated on the first logged scope.
    chunks: OnceLock<Box<[AtomicPtr<Slot>]>>,
    len: AtomicUsize,
    dropped: AtomicU64,
}

impl Log {
    pub(crate) fn new() -> Self {
        Log {
            chunks: OnceLock::new(),
            len: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Appends a scope. Owner thread only.
    #[cold]
    #[inline(never)]
    pub(crate) fn push(&self, site: u32, start: u64, ticks: u64) {
        let idx = self.len.load(Relaxed);
        if idx >= CAP.load(Relaxed) {
            self.dropped.store(self.dropped.load(Relaxed) + 1, Relaxed);
            return;
        }
        let (c, off) = (idx / CHUNK, idx % CHUNK);
        let table = self.chunks.get_or_init(|| {
            (0..MAX_CHUNKS)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect()
        });
        let mut chunk = table[c].load(Acquire);
        if chunk.is_null() {
            let slots: Box<[Slot]> = (0..CHUNK).map(|_| Slot::default()).collect();
            chunk = Box::into_raw(slots).cast::<Slot>();
            table[c].store(chunk, Release);
        }
        // SAFETY: chunk `c` holds `CHUNK` slots, `off < CHUNK`, and chunks
        // are freed only when the log is dropped.
        let slot = unsafe { &*chunk.add(off) };
        slot.site.store(u64::from(site), Relaxed);
        slot.start.store(start, Relaxed);
        slot.ticks.store(ticks, Relaxed);
        self.len.store(idx + 1, Release);
    }

    /// Reads every published scope and the dropped count (from any thread).
    pub(crate) fn read(&self) -> (Vec<RawSpan>, u64) {
        let len = self.len.load(Acquire);
        let dropped = self.dropped.load(Relaxed);
        let Some(table) = self.chunks.get() else {
            return (Vec::new(), dropped);
        };
        let mut out = Vec::with_capacity(len);
        for idx in 0..len {
            let chunk = table[idx / CHUNK].load(Acquire);
            if chunk.is_null() {
                break;
            }
            // SAFETY: as in `push`: in range, published before `len`.
            let slot = unsafe { &*chunk.add(idx % CHUNK) };
            out.push(RawSpan {
                site: slot.site.load(Relaxed) as u32,
                start: slot.start.load(Relaxed),
                ticks: slot.ticks.load(Relaxed),
            });
        }
        (out, dropped)
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        let Some(table) = self.chunks.get() else {
            return;
        };
        for chunk in table.iter() {
            let p = chunk.load(Acquire);
            if !p.is_null() {
                // SAFETY: `p` came from `Box::into_raw` of a `CHUNK`-slot slice
                // in `push` and is freed only here, once.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, CHUNK)) });
            }
        }
    }
}
