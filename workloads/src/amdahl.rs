//! A serial part and a parallel part: Amdahl's law, with a configurable
//! serial fraction.
//!
//! `--units` units of identical work (each [`UNIT_ITERS`] rounds of a
//! 64-bit mixing function) are split into a serial part of
//! `round(serial_fraction * units)` units, run on one thread, and a parallel
//! part of the rest, spread over the workers. With one unit costing `u`, the
//! run takes about `T(p) = units * u * ((1 - F) + F / p)` with `F` the
//! parallel fraction: `workloads scale amdahl` fits `F` back from the
//! measured times.
//!
//! The answer is the wrapping sum of every unit's value: an integer, the
//! same for every mode and thread count.

use profiler::profile;
use rayon::prelude::*;

use crate::rng::mix64;
use crate::{Error, Mode, Workload, block_range, pool, scoped_workers};

/// Mixing rounds per unit of work (about 50 to 100 microseconds).
pub const UNIT_ITERS: u32 = 20_000;

/// Sizes of the `amdahl` workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Units of work in all (`--units`).
    pub units: u64,
    /// Fraction of the units done serially, 0 to 1 (`--serial-fraction`).
    pub serial_fraction: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            units: 16_000,
            serial_fraction: 0.1,
        }
    }
}

impl Config {
    /// Small sizes for tests.
    pub fn small() -> Self {
        Config {
            units: 40,
            serial_fraction: 0.25,
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.units == 0 {
            return Err(Error::Invalid("--units must be at least 1".into()));
        }
        if self.units > 1 << 40 {
            return Err(Error::Invalid("--units must be at most 2^40".into()));
        }
        if !(0.0..=1.0).contains(&self.serial_fraction) {
            return Err(Error::Invalid(format!(
                "--serial-fraction must be between 0 and 1 (got {})",
                self.serial_fraction
            )));
        }
        Ok(())
    }

    /// Units done serially: `round(serial_fraction * units)`.
    pub fn serial_units(&self) -> u64 {
        ((self.serial_fraction * self.units as f64).round() as u64).min(self.units)
    }
}

/// The result: the wrapping sum of every unit's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checksum {
    /// Units done serially.
    pub serial_units: u64,
    /// Units done in parallel.
    pub parallel_units: u64,
    /// Wrapping sum of the units' values.
    pub sum: u64,
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checksum {:#018x} ({} serial + {} parallel units)",
            self.sum, self.serial_units, self.parallel_units
        )
    }
}

/// Runs the serial part, then the parallel part in `mode` on `threads`
/// threads.
pub fn run(cfg: &Config, mode: Mode, threads: usize) -> Result<Checksum, Error> {
    cfg.validate()?;
    if !matches!(mode, Mode::Seq | Mode::Threads | Mode::Rayon) {
        return Err(Workload::Amdahl.mode_error(mode));
    }
    let sum = amdahl(cfg, mode, threads)?;
    let serial_units = cfg.serial_units();
    Ok(Checksum {
        serial_units,
        parallel_units: cfg.units - serial_units,
        sum,
    })
}

/// The whole computation: serial part, then parallel part.
#[profile]
fn amdahl(cfg: &Config, mode: Mode, threads: usize) -> Result<u64, Error> {
    let s = cfg.serial_units();
    let serial = serial_part(0..s);
    let parallel = match mode {
        Mode::Threads => parallel_threads(s..cfg.units, threads)?,
        Mode::Rayon => parallel_rayon(s..cfg.units, threads)?,
        _ => parallel_seq(s..cfg.units),
    };
    Ok(serial.wrapping_add(parallel))
}

/// One unit of work: `UNIT_ITERS` dependent rounds of mixing.
#[profile]
pub fn work_unit(i: u64) -> u64 {
    let mut x = i;
    for _ in 0..UNIT_ITERS {
        x = mix64(x.wrapping_add(0x9E37_79B9_7F4A_7C15));
    }
    x
}

fn sum_units(units: std::ops::Range<u64>) -> u64 {
    units.map(work_unit).fold(0, u64::wrapping_add)
}

/// The serial part: always on the calling thread.
#[profile]
pub fn serial_part(units: std::ops::Range<u64>) -> u64 {
    sum_units(units)
}

/// The parallel part, run sequentially (`seq` mode).
#[profile]
pub fn parallel_seq(units: std::ops::Range<u64>) -> u64 {
    sum_units(units)
}

/// The parallel part on `std::thread` workers, one contiguous block each.
#[profile]
pub fn parallel_threads(units: std::ops::Range<u64>, threads: usize) -> Result<u64, Error> {
    let n = (units.end - units.start) as usize;
    let parts = scoped_workers(Workload::Amdahl, Mode::Threads, threads, |t| {
        let r = block_range(n, threads, t);
        parallel_worker(units.start + r.start as u64..units.start + r.end as u64)
    })?;
    Ok(parts.into_iter().fold(0, u64::wrapping_add))
}

/// One worker's block of the parallel part.
#[profile]
fn parallel_worker(units: std::ops::Range<u64>) -> u64 {
    sum_units(units)
}

/// The parallel part on a rayon pool.
#[profile]
pub fn parallel_rayon(units: std::ops::Range<u64>, threads: usize) -> Result<u64, Error> {
    let pool = pool(Workload::Amdahl, Mode::Rayon, threads)?;
    Ok(pool.install(|| {
        units
            .into_par_iter()
            .map(work_unit)
            .reduce(|| 0, u64::wrapping_add)
    }))
}
