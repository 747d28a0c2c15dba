//! Uneven work per item under static and dynamic scheduling.
//!
//! The items are the rows of a Mandelbrot image of the upper half-plane,
//! x in [-2, 1], y in [0, 1.5]: rows near the real axis cross the set and
//! cost up to `--max-iter` iterations per pixel, rows near the top escape at
//! once. Cut into contiguous blocks (`threads`: a static schedule), the first
//! worker gets nearly all the work and the others wait; taking small chunks
//! of rows from a shared counter (`dynamic`) or letting rayon steal work
//! (`rayon`) keeps every worker busy. `workloads run imbalance` prints each
//! worker's busy time and the load balance (average / maximum).
//!
//! With the `mpi` feature, two schedules over ranks: `mpi`, a contiguous
//! block of rows per rank (static: rank 0 gets nearly all the work), and
//! `mpi-dynamic`, master-worker: rank 0 hands out `--chunk` rows at a time
//! to the ranks that ask (`MPI_Send`/`MPI_Recv`; a worker asks for its next
//! chunk before it renders the current one, so the answer is usually there
//! when it needs it) and renders rows itself, one at a time, answering
//! requests between rows (a chunk would keep a worker waiting for its next
//! one while the master renders). Each rank's
//! sums reach rank 0 by `MPI_Reduce`. The MPI load balance (time outside
//! MPI, mean over max, over ranks) is low for the first and near 1 for the
//! second.
//!
//! The answer (total iterations and points inside) is an integer sum, the
//! same for every schedule.

use std::sync::atomic::{AtomicUsize, Ordering};

use profiler::profile;
use rayon::prelude::*;

use crate::{Error, Mode, Workload, block_range, pool, scoped_workers};

/// Sizes of the `imbalance` workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Pixels per row (`--width`).
    pub width: usize,
    /// Rows: the items scheduled (`--height`).
    pub height: usize,
    /// Iteration cap per pixel (`--max-iter`).
    pub max_iter: u32,
    /// Rows taken at a time in `dynamic` mode (`--chunk`).
    pub chunk: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            width: 1600,
            height: 800,
            max_iter: 2000,
            chunk: 2,
        }
    }
}

impl Config {
    /// Small sizes for tests.
    pub fn small() -> Self {
        Config {
            width: 120,
            height: 61,
            max_iter: 200,
            chunk: 2,
        }
    }

    /// Checks the sizes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.width == 0 || self.height == 0 {
            return Err(Error::Invalid(
                "--width and --height must be at least 1".into(),
            ));
        }
        if self.max_iter == 0 {
            return Err(Error::Invalid("--max-iter must be at least 1".into()));
        }
        if self.chunk == 0 {
            return Err(Error::Invalid("--chunk must be at least 1".into()));
        }
        if (self.width as u128) * (self.height as u128) * (self.max_iter as u128) > 1 << 50 {
            return Err(Error::Invalid(
                "--width x --height x --max-iter must be at most 2^50".into(),
            ));
        }
        Ok(())
    }
}

/// The result: iterations summed over the image, and pixels in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Iterations {
    /// Iterations over every pixel.
    pub total: u64,
    /// Pixels that reached `max_iter` (taken to be in the set).
    pub inside: u64,
}

impl std::ops::Add for Iterations {
    type Output = Iterations;
    fn add(self, o: Iterations) -> Iterations {
        Iterations {
            total: self.total + o.total,
            inside: self.inside + o.inside,
        }
    }
}

impl std::iter::Sum for Iterations {
    fn sum<I: Iterator<Item = Iterations>>(iter: I) -> Iterations {
        iter.fold(Iterations::default(), |a, b| a + b)
    }
}

impl std::fmt::Display for Iterations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} iterations, {} pixels inside the set",
            self.total, self.inside
        )
    }
}

/// Renders the image in `mode` on `threads` threads.
pub fn run(cfg: &Config, mode: Mode, threads: usize) -> Result<Iterations, Error> {
    cfg.validate()?;
    match mode {
        Mode::Seq => Ok(render_seq(cfg)),
        Mode::Threads => render_static(cfg, threads),
        Mode::Dynamic => render_dynamic(cfg, threads),
        Mode::Rayon => render_rayon(cfg, threads),
        other => Err(Workload::Imbalance.mode_error(other)),
    }
}

/// One row: escape-time iterations of each pixel.
#[profile]
pub fn mandelbrot_row(cfg: &Config, row: usize) -> Iterations {
    let dx = 3.0 / cfg.width as f64;
    let dy = 1.5 / cfg.height as f64;
    let ci = (row as f64 + 0.5) * dy;
    let mut out = Iterations::default();
    for col in 0..cfg.width {
        let cr = -2.0 + (col as f64 + 0.5) * dx;
        let (mut zr, mut zi) = (0.0f64, 0.0f64);
        let mut n = 0;
        while n < cfg.max_iter && zr * zr + zi * zi <= 4.0 {
            let t = zr * zr - zi * zi + cr;
            zi = 2.0 * zr * zi + ci;
            zr = t;
            n += 1;
        }
        out.total += u64::from(n);
        out.inside += u64::from(n == cfg.max_iter);
    }
    out
}

/// Sequential: row after row.
#[profile]
pub fn render_seq(cfg: &Config) -> Iterations {
    (0..cfg.height).map(|r| mandelbrot_row(cfg, r)).sum()
}

/// Static schedule: worker `t` renders the `t`-th contiguous block of rows.
#[profile]
pub fn render_static(cfg: &Config, threads: usize) -> Result<Iterations, Error> {
    let parts = scoped_workers(Workload::Imbalance, Mode::Threads, threads, |t| {
        static_worker(cfg, block_range(cfg.height, threads, t))
    })?;
    Ok(parts.into_iter().sum())
}

/// One worker of the static schedule.
#[profile]
fn static_worker(cfg: &Config, rows: std::ops::Range<usize>) -> Iterations {
    rows.map(|r| mandelbrot_row(cfg, r)).sum()
}

/// Dynamic schedule: workers take `chunk` rows at a time from a shared
/// counter until none are left.
#[profile]
pub fn render_dynamic(cfg: &Config, threads: usize) -> Result<Iterations, Error> {
    let next = AtomicUsize::new(0);
    let parts = scoped_workers(Workload::Imbalance, Mode::Dynamic, threads, |_| {
        dynamic_worker(cfg, &next)
    })?;
    Ok(parts.into_iter().sum())
}

/// One worker of the dynamic schedule.
#[profile]
fn dynamic_worker(cfg: &Config, next: &AtomicUsize) -> Iterations {
    let mut acc = Iterations::default();
    loop {
        let start = next.fetch_add(cfg.chunk, Ordering::Relaxed);
        if start >= cfg.height {
            return acc;
        }
        for r in start..(start + cfg.chunk).min(cfg.height) {
            acc = acc + mandelbrot_row(cfg, r);
        }
    }
}

/// A rayon pool: rows split and stolen, in pieces of at most `chunk` rows.
///
/// Without `with_max_len`, rayon's adaptive splitting cuts the range only
/// about log2(threads) times unless a piece is stolen, so the expensive
/// first rows stay in one piece on one worker: on 2 threads the load balance
/// was about 0.75 and the speed-up 1.46, against 1.99 with the cap.
#[profile]
pub fn render_rayon(cfg: &Config, threads: usize) -> Result<Iterations, Error> {
    let pool = pool(Workload::Imbalance, Mode::Rayon, threads)?;
    Ok(pool.install(|| {
        (0..cfg.height)
            .into_par_iter()
            .with_max_len(cfg.chunk)
            .map(|r| mandelbrot_row(cfg, r))
            .sum()
    }))
}

#[cfg(feature = "mpi")]
pub use self::ranks::{render_mpi_dynamic, render_mpi_static};

/// The MPI schedules (the `mpi` feature).
#[cfg(feature = "mpi")]
mod ranks {
    use ::mpi::collective::SystemOperation;
    use ::mpi::topology::SimpleCommunicator;
    use ::mpi::traits::*;
    use profiler::mpi::{MpiCollectives, MpiPointToPoint};
    use profiler::profile;

    use super::{Config, Iterations, mandelbrot_row};
    use crate::block_range;

    /// The answer to a worker that asks for rows when none are left.
    const STOP: u64 = u64::MAX;

    /// `mpi` mode: rank `r` renders the `r`-th contiguous block of rows;
    /// the sums on rank 0 (`None` on the others).
    #[profile]
    pub fn render_mpi_static(cfg: &Config, world: &SimpleCommunicator) -> Option<Iterations> {
        let rows = block_range(cfg.height, world.size() as usize, world.rank() as usize);
        let mine = rank_rows(cfg, rows);
        reduce(world, mine)
    }

    /// One rank's block of rows.
    #[profile]
    fn rank_rows(cfg: &Config, rows: std::ops::Range<usize>) -> Iterations {
        rows.map(|r| mandelbrot_row(cfg, r)).sum()
    }

    /// `mpi-dynamic` mode: master-worker (rank 0 the master); the sums on
    /// rank 0 (`None` on the others).
    #[profile]
    pub fn render_mpi_dynamic(cfg: &Config, world: &SimpleCommunicator) -> Option<Iterations> {
        let mine = if world.rank() == 0 {
            master(cfg, world)
        } else {
            worker(cfg, world)
        };
        reduce(world, mine)
    }

    /// Rank 0: answers every waiting request, renders one row itself, and
    /// so on until the rows are gone and every worker was told to stop.
    #[profile]
    fn master(cfg: &Config, world: &SimpleCommunicator) -> Iterations {
        let workers = world.size() as usize - 1;
        let mut next = 0;
        let mut stopped = 0;
        let mut acc = Iterations::default();
        while stopped < workers || next < cfg.height {
            while let Some(status) =
                profiler::mpi_scope!("MPI_Iprobe", { world.any_process().immediate_probe() })
            {
                stopped += usize::from(hand_out(cfg, world, status.source_rank(), &mut next));
            }
            if next < cfg.height {
                acc = acc + mandelbrot_row(cfg, next);
                next += 1;
            } else if stopped < workers {
                let status = profiler::mpi_scope!("MPI_Probe", { world.any_process().probe() });
                stopped += usize::from(hand_out(cfg, world, status.source_rank(), &mut next));
            }
        }
        acc
    }

    /// Takes `rank`'s request and answers it with the first row of its
    /// next chunk, or [`STOP`]; true when it was told to stop.
    fn hand_out(cfg: &Config, world: &SimpleCommunicator, rank: i32, next: &mut usize) -> bool {
        let p = world.process_at_rank(rank);
        let mut request = [0u64];
        p.mpi_recv_into(&mut request);
        if *next < cfg.height {
            p.mpi_send(&[*next as u64]);
            *next = (*next + cfg.chunk).min(cfg.height);
            false
        } else {
            p.mpi_send(&[STOP]);
            true
        }
    }

    /// Another rank: asks rank 0 for rows until told to stop, asking for
    /// the next chunk before rendering the current one.
    #[profile]
    fn worker(cfg: &Config, world: &SimpleCommunicator) -> Iterations {
        let master = world.process_at_rank(0);
        let mut acc = Iterations::default();
        master.mpi_send(&[0u64]);
        loop {
            let mut start = [0u64];
            master.mpi_recv_into(&mut start);
            if start[0] == STOP {
                return acc;
            }
            master.mpi_send(&[0u64]);
            let start = start[0] as usize;
            for r in start..(start + cfg.chunk).min(cfg.height) {
                acc = acc + mandelbrot_row(cfg, r);
            }
        }
    }

    /// Every rank's sums to rank 0 (`MPI_Reduce`).
    fn reduce(world: &SimpleCommunicator, mine: Iterations) -> Option<Iterations> {
        let mut all = [0u64; 2];
        world.mpi_reduce(
            0,
            &[mine.total, mine.inside],
            &mut all,
            SystemOperation::sum(),
        );
        (world.rank() == 0).then_some(Iterations {
            total: all[0],
            inside: all[1],
        })
    }
}
