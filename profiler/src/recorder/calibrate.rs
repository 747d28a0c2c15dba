//! Measuring the probe's own cost (as Python's `profile.calibrate` does), so
//! that it can be reported and, on request, subtracted from the times.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::clock;
use crate::fork::Lock;
use crate::site::{Site, SiteName};

/// Probe cost in ticks per call: (inside the call's interval, in all), the
/// lowest of every calibration so far (`None` before the first).
static PROBE_TICKS: Lock<Option<(f64, f64)>> = Lock::new(None);
static COMPENSATE: AtomicBool = AtomicBool::new(false);

/// Turns overhead compensation on or off: snapshots then subtract the probe's
/// measured cost per call from tottime and cumtime (see
/// [`Profile::compensate`](crate::Profile::compensate)). Turning it on
/// measures the cost first if it was never measured (a few milliseconds).
pub fn set_compensation(on: bool) {
    if on && measured_probe_ticks().is_none() {
        calibrate();
    }
    COMPENSATE.store(on, Ordering::Relaxed);
}

/// Whether snapshots subtract the probe's cost.
pub fn compensation() -> bool {
    COMPENSATE.load(Ordering::Relaxed)
}

/// The measured probe cost in ticks, if it was measured: the lowest inside
/// and in all of every calibration so far.
pub(crate) fn measured_probe_ticks() -> Option<(f64, f64)> {
    fork_safe();
    *PROBE_TICKS.lock()
}

/// Registers the calibration's `fork` hooks (before its lock is first
/// taken): its result is held across a `fork`.
fn fork_safe() {
    crate::fork::register(crate::fork::Part::Calibration, &CALIBRATION_FORK);
}

/// Measures the probe's cost again and returns the lowest so far, in ticks.
///
/// A session that subtracts the cost measures it when it starts and again
/// when it ends, so that a run has measurements spread over it; one that
/// only reports it measures it once, when it ends (so that measuring never
/// delays nor disturbs the program's run). A measurement on a loaded
/// machine can only come out high (preemption and cache misses add time;
/// nothing removes it), so the lowest is the closest to the probe's real
/// cost, and subtracting it can only under-compensate, never remove time the
/// program spent.
pub(crate) fn calibrate() -> (f64, f64) {
    fork_safe();
    let measured = std::thread::Builder::new()
        .name("profiler-calibration".into())
        .spawn(measure)
        .ok()
        .and_then(|h| h.join().ok());
    keep_lowest(measured)
}

/// Folds a measurement into the lowest so far and returns that.
fn keep_lowest(measured: Option<(f64, f64)>) -> (f64, f64) {
    let mut lowest = PROBE_TICKS.lock();
    if let Some((inner, outer)) = measured {
        *lowest = Some(match *lowest {
            Some((i, o)) => {
                let outer = o.min(outer);
                (i.min(inner).min(outer), outer)
            }
            None => (inner, outer),
        });
    }
    lowest.unwrap_or((0.0, 0.0))
}

static SITE: Site = Site::new(
    SiteName::Literal("<profiler calibration>"),
    module_path!(),
    file!(),
    line!(),
);

/// A function body of fixed work (some tens of nanoseconds). Calibrating
/// around real work matters: the clock reads overlap with the work in the
/// processor's out-of-order window, so an empty body would overstate the
/// share of the probe inside a call's interval.
#[inline(never)]
fn bare(x: u64) -> u64 {
    let mut v = black_box(x);
    for _ in 0..32 {
        v = black_box(v.rotate_left(7).wrapping_mul(0x2545_F491_4F6C_DD1D));
    }
    v
}

#[inline(never)]
fn probed(x: u64) -> u64 {
    let _g = super::scope::enter_enabled(&SITE);
    bare(x)
}

/// Runs on a hidden thread: rounds of calls to a fixed-work function with
/// and without the probe around it, back to back. Each round gives the
/// probe's cost per call in all (probed minus bare) and inside the call's own
/// interval (recorded minus bare); the lower quartile over rounds is kept,
/// which a noisy neighbour on a shared machine moves far less than a minimum
/// of unpaired rounds or the median. The inner cost is clamped to `[0, outer]`.
fn measure() -> (f64, f64) {
    super::registry::hide_current_thread();
    clock::init();
    const CALLS: u64 = 1_000;
    const ROUNDS: usize = 101;
    probed(0); // registers the thread and the site
    let node_ticks = || {
        super::scope::current()
            .map(|td| {
                td.arena
                    .read()
                    .iter()
                    .filter(|n| n.site_id == SITE.id())
                    .map(|n| n.ticks)
                    .sum::<u64>()
            })
            .unwrap_or(0)
    };
    let mut outer = Vec::with_capacity(ROUNDS);
    let mut inner = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t0 = clock::now();
        for i in 0..CALLS {
            bare(i);
        }
        let t1 = clock::now();
        let before = node_ticks();
        let t2 = clock::now();
        for i in 0..CALLS {
            probed(i);
        }
        let t3 = clock::now();
        let recorded = node_ticks() - before;
        let bare_ticks = (t1 - t0) as f64;
        outer.push(((t3 - t2) as f64 - bare_ticks) / CALLS as f64);
        inner.push((recorded as f64 - bare_ticks) / CALLS as f64);
    }
    // The lower quartile: on a loaded machine rounds are slowed, seldom
    // sped up, so the middle of the distribution sits above the probe's
    // cost; the lower quartile stays close to it, and idle it equals the
    // median.
    let lower_quartile = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 4]
    };
    let outer = lower_quartile(&mut outer).max(0.0);
    (lower_quartile(&mut inner).clamp(0.0, outer), outer)
}

/// What the calibration does around a `fork` (see [`crate::fork`]).
static CALIBRATION_FORK: crate::fork::Hooks = crate::fork::Hooks {
    prepare: hold_probe_ticks,
    child: crate::fork::nothing,
};

fn hold_probe_ticks() {
    crate::fork::hold(&PROBE_TICKS);
}
