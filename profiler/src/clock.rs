//! The tick source and its conversion to nanoseconds.
//!
//! On x86-64 with an invariant TSC the recorder reads `rdtsc`; elsewhere it
//! reads a monotonic clock in nanoseconds. Ticks are converted to nanoseconds
//! when a snapshot is taken, with a ratio measured between the first use of the
//! clock and the snapshot, so the calibration baseline is as long as the run.
//! The conversion is a floor of a fixed-point product: monotone and
//! superadditive (`ns(a) + ns(b) <= ns(a + b)`), so a parent's converted time
//! is never below the sum of its children's and no self time goes negative.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

/// Which tick source is in use.
const MODE_UNSET: u8 = 0;
const MODE_TSC: u8 = 1;
const MODE_MONOTONIC: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(MODE_UNSET);

/// The instant and tick reading taken when the clock was first used.
struct Epoch {
    instant: Instant,
    ticks: u64,
}

static EPOCH: Lazy<Epoch> = Lazy::new(|| {
    let mode = if tsc_is_invariant() {
        MODE_TSC
    } else {
        MODE_MONOTONIC
    };
    MODE.store(mode, Ordering::Relaxed);
    // Take the monotonic base first so that `monotonic_ns` starts near zero.
    let instant = Instant::now();
    Epoch {
        instant,
        ticks: read(mode),
    }
});

/// Makes sure the clock is initialised (the mode chosen, the epoch taken).
pub(crate) fn init() {
    Lazy::force(&EPOCH);
}

/// Reads the current tick count. Call [`init`] once before the first read.
#[inline(always)]
pub(crate) fn now() -> u64 {
    read(MODE.load(Ordering::Relaxed))
}

/// Whether the clock is the TSC (once [`init`] has run; it never changes
/// after).
pub(crate) fn is_tsc() -> bool {
    MODE.load(Ordering::Relaxed) == MODE_TSC
}

/// The tick count, on a path that knows the clock is the TSC (one
/// instruction, no test of the mode).
///
/// # Safety
/// [`is_tsc`] must have returned true.
#[inline(always)]
pub(crate) unsafe fn tsc_known() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller saw MODE_TSC, which is only chosen after CPUID
    // reported an invariant TSC on this x86-64 processor.
    return unsafe { core::arch::x86_64::_rdtsc() };
    #[cfg(not(target_arch = "x86_64"))]
    now()
}

#[inline(always)]
fn read(mode: u8) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if mode == MODE_TSC {
        // SAFETY: `rdtsc` has no preconditions; MODE_TSC is only chosen after
        // CPUID reported an invariant TSC on this x86-64 processor.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    let _ = mode;
    monotonic_ns()
}

#[inline(never)]
fn monotonic_ns() -> u64 {
    static BASE: Lazy<Instant> = Lazy::new(Instant::now);
    u64::try_from(BASE.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn tsc_is_invariant() -> bool {
    if std::env::var_os("PROFILER_CLOCK").is_some_and(|v| v == "monotonic") {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::__cpuid;
        let max_ext = __cpuid(0x8000_0000).eax;
        if max_ext >= 0x8000_0007 {
            // Leaf 0x80000007 is supported, as checked just above.
            let edx = __cpuid(0x8000_0007).edx;
            return edx & (1 << 8) != 0;
        }
    }
    false
}

/// The name of the tick source in use ("tsc" or "monotonic").
pub(crate) fn source_name() -> &'static str {
    init();
    match MODE.load(Ordering::Relaxed) {
        MODE_TSC => "tsc",
        _ => "monotonic",
    }
}

/// A tick-to-nanosecond conversion: `ns = floor(ticks * mult / 2^32)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Conversion {
    mult: u128,
}

impl Conversion {
    /// The identity conversion (ticks already are nanoseconds).
    pub(crate) const IDENTITY: Conversion = Conversion { mult: 1 << 32 };

    /// Converts ticks to nanoseconds (floor).
    #[inline]
    pub(crate) fn ns(self, ticks: u64) -> u64 {
        u64::try_from((u128::from(ticks) * self.mult) >> 32).unwrap_or(u64::MAX)
    }

    /// The conversion whose [`ticks_per_second`](Self::ticks_per_second)
    /// is `tps` (exactly the one that gave it: the multiplier is well
    /// within `f64`'s precision).
    #[cfg(feature = "mpi")]
    pub(crate) fn from_ticks_per_second(tps: f64) -> Conversion {
        if !(tps.is_finite() && tps > 0.0) {
            return Conversion::IDENTITY;
        }
        let mult = ((1u128 << 32) as f64 * 1e9 / tps).round();
        Conversion {
            mult: (mult as u128).max(1),
        }
    }

    /// Ticks per second implied by this conversion.
    pub(crate) fn ticks_per_second(self) -> f64 {
        (1u128 << 32) as f64 * 1e9 / self.mult as f64
    }
}

/// A quick estimate of ticks per nanosecond (for thresholds set before a
/// snapshot's full calibration): measured over at least 2 ms since the first
/// use of the clock.
pub(crate) fn estimate_ticks_per_ns() -> f64 {
    init();
    if MODE.load(Ordering::Relaxed) != MODE_TSC {
        return 1.0;
    }
    let min = Duration::from_millis(2);
    let elapsed = EPOCH.instant.elapsed();
    if elapsed < min {
        std::thread::sleep(min - elapsed);
    }
    let ticks = now().wrapping_sub(EPOCH.ticks);
    ticks as f64 / EPOCH.instant.elapsed().as_nanos().max(1) as f64
}

/// The tick reading at the start of recording (time zero of timelines).
pub(crate) fn epoch_ticks() -> u64 {
    EPOCH.ticks
}

/// Minimum calibration baseline; a snapshot taken sooner after the first use
/// of the clock waits for the remainder.
const MIN_BASELINE: Duration = Duration::from_millis(20);

/// The current tick-to-nanosecond conversion, measured against the monotonic
/// clock since the first use of the clock.
pub(crate) fn conversion() -> Conversion {
    init();
    if MODE.load(Ordering::Relaxed) != MODE_TSC {
        return Conversion::IDENTITY;
    }
    let mut elapsed = EPOCH.instant.elapsed();
    if elapsed < MIN_BASELINE {
        std::thread::sleep(MIN_BASELINE - elapsed);
    }
    // Bracket the tick read between two instants to bound the pairing error;
    // on a loaded machine a preemption can fall inside the bracket, so keep
    // the tightest of a few tries (a wide bracket would shift every
    // converted time between two snapshots by up to half its width).
    let (mut before, mut ticks, mut after) = (Instant::now(), now(), Instant::now());
    for _ in 0..8 {
        if after - before <= Duration::from_micros(2) {
            break;
        }
        let (b, t, a) = (Instant::now(), now(), Instant::now());
        if a - b < after - before {
            (before, ticks, after) = (b, t, a);
        }
    }
    elapsed = before.duration_since(EPOCH.instant) + (after - before) / 2;
    let dticks = ticks.wrapping_sub(EPOCH.ticks).max(1);
    let mult = (elapsed.as_nanos() << 32) / u128::from(dticks);
    Conversion { mult: mult.max(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_is_superadditive_and_monotone() {
        let c = Conversion {
            mult: (1u128 << 32) * 10 / 24,
        }; // 2.4 GHz
        let (a, b) = (12_345u64, 67_891u64);
        assert!(c.ns(a) + c.ns(b) <= c.ns(a + b));
        assert!(c.ns(a) <= c.ns(a + 1));
        assert_eq!(Conversion::IDENTITY.ns(123), 123);
    }

    #[test]
    fn clock_advances_and_calibrates() {
        init();
        let a = now();
        std::thread::sleep(Duration::from_millis(2));
        let b = now();
        assert!(b > a);
        let c = conversion();
        let ns = c.ns(b - a);
        assert!(ns >= 1_000_000, "2 ms sleep measured as {ns} ns");
    }
}
