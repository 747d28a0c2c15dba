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
    /// Default is 1,000,000 (16 MB per thread at most: 16 bytes a scope); the ceiling is
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

/// One slot of a log: a scope's start tick, and its site in the low half of
/// `packed` with its duration in the high half. A scope of [`LONG`] ticks
/// or more (over 1.6 s on a 2.6 GHz TSC) takes two slots: the first says
/// `LONG` where the duration goes, the second holds the duration in
/// `start`. So a scope takes 16 bytes, not 24: a third fewer pages to
/// fault in, and a third less memory.
struct Slot {
    start: AtomicU64,
    packed: AtomicU64,
}

/// The duration field's mark of a scope whose duration is in the next slot.
const LONG: u64 = u32::MAX as u64;

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
    /// Slots written (a long scope takes two).
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

    /// Appends a scope. Owner thread only. Inlined into its callers, which
    /// are themselves out of the recorder's fast paths.
    #[inline(always)]
    pub(crate) fn push(&self, site: u32, start: u64, ticks: u64) {
        let idx = self.len.load(Relaxed);
        let long = ticks >= LONG;
        let need = 1 + usize::from(long);
        if idx + need > CAP.load(Relaxed) {
            self.dropped.store(self.dropped.load(Relaxed) + 1, Relaxed);
            return;
        }
        let first = self.slot(idx);
        first.start.store(start, Relaxed);
        let mark = if long { LONG } else { ticks };
        first.packed.store(mark << 32 | u64::from(site), Relaxed);
        if long {
            let second = self.slot(idx + 1);
            second.start.store(ticks, Relaxed);
            second.packed.store(0, Relaxed);
        }
        self.len.store(idx + need, Release);
    }

    /// Slot `idx`, its chunk made if it is the chunk's first. Owner thread
    /// only, and `idx` below the ceiling (`CHUNK * MAX_CHUNKS`).
    #[inline(always)]
    fn slot(&self, idx: usize) -> &Slot {
        let (c, off) = (idx / CHUNK, idx % CHUNK);
        let table = self.chunks.get_or_init(|| {
            (0..MAX_CHUNKS)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect()
        });
        let mut chunk = table[c].load(Acquire);
        if chunk.is_null() {
            chunk = new_chunk();
            table[c].store(chunk, Release);
        }
        // SAFETY: chunk `c` holds `CHUNK` slots, `off < CHUNK`, and chunks
        // are freed only when the log is dropped.
        unsafe { &*chunk.add(off) }
    }

    /// Reads every published scope and the dropped count (from any thread).
    pub(crate) fn read(&self) -> (Vec<RawSpan>, u64) {
        let len = self.len.load(Acquire);
        let dropped = self.dropped.load(Relaxed);
        let Some(table) = self.chunks.get() else {
            return (Vec::new(), dropped);
        };
        let slot = |idx: usize| {
            let chunk = table[idx / CHUNK].load(Acquire);
            // SAFETY: as in `slot`: in range, published before `len`, and a
            // published slot's chunk is never null.
            (!chunk.is_null()).then(|| unsafe { &*chunk.add(idx % CHUNK) })
        };
        let mut out = Vec::with_capacity(len);
        let mut idx = 0;
        while idx < len {
            let Some(first) = slot(idx) else { break };
            let packed = first.packed.load(Relaxed);
            let mut ticks = packed >> 32;
            idx += 1;
            if ticks == LONG {
                let Some(second) = slot(idx).filter(|_| idx < len) else {
                    break;
                };
                ticks = second.start.load(Relaxed);
                idx += 1;
            }
            out.push(RawSpan {
                site: packed as u32,
                start: first.start.load(Relaxed),
                ticks,
            });
        }
        (out, dropped)
    }
}

/// The layout of a chunk.
fn chunk_layout() -> std::alloc::Layout {
    std::alloc::Layout::array::<Slot>(CHUNK).expect("a chunk's size fits")
}

/// A chunk of `CHUNK` zeroed slots whose pages are already in memory.
/// `alloc_zeroed` does not write memory the allocator knows to be zero
/// (fresh from the operating system), and on Linux `MADV_POPULATE_WRITE`
/// (5.14 and later; elsewhere the pages come in on first touch, as before)
/// brings the chunk's pages in with one system call rather than one page
/// fault per 4 KiB page in the middle of the pushes: a third less time per
/// logged scope on the machine of `BENCHMARKS.md`.
fn new_chunk() -> *mut Slot {
    let layout = chunk_layout();
    // SAFETY: the layout has a non-zero size; all-zero bytes are valid
    // slots (atomic integers).
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    #[cfg(target_os = "linux")]
    {
        // The whole pages inside the chunk (madvise takes page-aligned
        // ranges; a page shared with other memory is left to fault in).
        // SAFETY: `sysconf` has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let from = (p as usize).next_multiple_of(page);
        let to = (p as usize + layout.size()) / page * page;
        if to > from {
            // SAFETY: `[from, to)` lies inside the allocation just made,
            // which nothing else uses; populating its pages changes no
            // byte of it. An error (an older kernel) changes nothing either.
            unsafe {
                libc::madvise(
                    from as *mut libc::c_void,
                    to - from,
                    libc::MADV_POPULATE_WRITE,
                )
            };
        }
    }
    p.cast::<Slot>()
}

impl Drop for Log {
    fn drop(&mut self) {
        let Some(table) = self.chunks.get() else {
            return;
        };
        for chunk in table.iter() {
            let p = chunk.load(Acquire);
            if !p.is_null() {
                // SAFETY: `p` came from `new_chunk`, with this layout, and is
                // freed only here, once. Slots need no drop.
                unsafe { std::alloc::dealloc(p.cast::<u8>(), chunk_layout()) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_scopes_read_back_across_chunks() {
        // Only the cap matters to `push` (its callers test the minimum), and
        // no other test of this crate's lib sets it lower.
        CAP.fetch_max(CHUNK * 3, Relaxed);
        let log = Log::new();
        let mut want = Vec::new();
        // Long scopes at the end of a chunk put their two slots in two chunks.
        for i in 0..(CHUNK as u64 * 2 + 10) {
            let ticks = match i % 7 {
                0 => LONG,
                3 => u64::MAX,
                5 => LONG - 1,
                _ => i * 3,
            };
            let span = RawSpan {
                site: (i % 1000) as u32 + u32::from(i == 4) * (u32::MAX - 2000),
                start: i << 20,
                ticks,
            };
            log.push(span.site, span.start, span.ticks);
            want.push(span);
        }
        let (got, dropped) = log.read();
        assert_eq!(dropped, 0);
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
        assert!(
            log.len.load(Relaxed) > CHUNK * 2,
            "long scopes take two slots"
        );
    }
}
