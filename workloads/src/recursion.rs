//! A recursive computation: the cache-oblivious block matrix product
//! C = A * B of two `n` x `n` matrices.
//!
//! C is cut into a fixed 4 x 4 grid of output blocks: the tasks. A task
//! computes its block as the sum over k of A(i,k) * B(k,j), each product
//! by `multiply_block`, which splits its operands into quadrants and calls
//! itself eight times until the blocks are `--leaf-size` wide, where
//! `leaf_kernel` does the arithmetic. Every task is computed the same way
//! wherever it runs, so C is the same, bit for bit, in every mode, and so
//! are the call counts: with the defaults (n = 1024, leaf 64) the report
//! reads `4672/64` for `multiply_block`: 4672 calls, 64 of them primitive
//! (from `multiply_task`; the rest recursive).

use profiler::profile;
use rayon::prelude::*;

use crate::rng::{Fnv, Xoshiro256pp};
use crate::{Error, Mode, Workload, block_range, pool, scoped_workers};

/// The output grid is `GRID` x `GRID` blocks (the tasks).
pub const GRID: usize = 4;

/// Sizes of the `recursion` workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Rows and columns of the matrices (`--matrix-size`).
    pub n: usize,
    /// Block size at which the recursion stops (`--leaf-size`).
    pub leaf: usize,
    /// Seed of the matrices' contents (`--seed`).
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            n: 1024,
            leaf: 64,
            seed: crate::DEFAULT_SEED,
        }
    }
}

impl Config {
    /// Small sizes for tests.
    pub fn small() -> Self {
        Config {
            n: 64,
            leaf: 4,
            ..Config::default()
        }
    }

    /// Checks the sizes: `n / 4` must be `leaf` times a power of two.
    pub fn validate(&self) -> Result<(), Error> {
        if self.leaf == 0 {
            return Err(Error::Invalid("--leaf-size must be at least 1".into()));
        }
        if self.n > 1 << 15 {
            return Err(Error::Invalid("--matrix-size must be at most 32768".into()));
        }
        let ok = self.n % GRID == 0
            && (self.n / GRID) % self.leaf == 0
            && (self.n / GRID / self.leaf).is_power_of_two();
        if !ok {
            return Err(Error::Invalid(format!(
                "--matrix-size must be 4 x --leaf-size x a power of two (got {} and {})",
                self.n, self.leaf
            )));
        }
        Ok(())
    }
}

/// The two input matrices, row-major.
#[derive(Debug)]
pub struct Input {
    /// Rows and columns.
    pub n: usize,
    /// Block size at which the recursion stops.
    pub leaf: usize,
    /// The left factor.
    pub a: Vec<f64>,
    /// The right factor.
    pub b: Vec<f64>,
}

/// The result: a fingerprint of C.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Product {
    /// Rows and columns of C.
    pub n: usize,
    /// The sum of C's elements in row-major order.
    pub sum: f64,
    /// C's trace.
    pub trace: f64,
    /// FNV-1a of the bits of every element of C, row-major.
    pub hash: u64,
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "C = A*B ({n}x{n}): sum {:.6}, trace {:.6}, hash {:#018x}",
            self.sum,
            self.trace,
            self.hash,
            n = self.n
        )
    }
}

/// Builds A and B, entries uniform in [-1, 1) (untimed set-up).
#[profile]
pub fn prepare(cfg: &Config, _threads: usize) -> Result<Input, Error> {
    cfg.validate()?;
    let mut g = Xoshiro256pp::seed_from_u64(cfg.seed);
    let a = random_matrix(&mut g, cfg.n);
    let b = random_matrix(&mut g, cfg.n);
    Ok(Input {
        n: cfg.n,
        leaf: cfg.leaf,
        a,
        b,
    })
}

/// An `n` x `n` matrix with entries uniform in [-1, 1).
#[profile]
fn random_matrix(g: &mut Xoshiro256pp, n: usize) -> Vec<f64> {
    (0..n * n).map(|_| 2.0 * g.next_f64() - 1.0).collect()
}

/// Multiplies in `mode` on `threads` threads.
pub fn run(input: &Input, mode: Mode, threads: usize) -> Result<Product, Error> {
    let c = match mode {
        Mode::Seq => matmul_seq(input),
        Mode::Threads => matmul_threads(input, threads)?,
        Mode::Rayon => matmul_rayon(input, threads)?,
        other => return Err(Workload::Recursion.mode_error(other)),
    };
    let n = input.n;
    let mut hash = Fnv::default();
    let mut sum = 0.0;
    for &x in &c {
        sum += x;
        hash.write_u64(x.to_bits());
    }
    let trace = (0..n).map(|i| c[i * n + i]).sum();
    Ok(Product {
        n,
        sum,
        trace,
        hash: hash.finish(),
    })
}

/// A square block of a row-major matrix.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f64],
    stride: usize,
    row: usize,
    col: usize,
}

impl<'a> View<'a> {
    fn quadrant(self, qi: usize, qj: usize, half: usize) -> View<'a> {
        View {
            row: self.row + qi * half,
            col: self.col + qj * half,
            ..self
        }
    }

    fn row_slice(&self, i: usize, len: usize) -> &'a [f64] {
        let start = (self.row + i) * self.stride + self.col;
        &self.data[start..start + len]
    }
}

/// The mutable output block, row-major with its own stride.
struct Out<'a> {
    data: &'a mut [f64],
    stride: usize,
}

/// C(ci.., cj..) += A * B for `size` x `size` blocks, recursively.
#[profile]
fn multiply_block(
    a: View<'_>,
    b: View<'_>,
    c: &mut Out<'_>,
    ci: usize,
    cj: usize,
    size: usize,
    leaf: usize,
) {
    if size <= leaf {
        leaf_kernel(a, b, c, ci, cj, size);
        return;
    }
    let h = size / 2;
    for (qi, qj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        for k in 0..2 {
            multiply_block(
                a.quadrant(qi, k, h),
                b.quadrant(k, qj, h),
                c,
                ci + qi * h,
                cj + qj * h,
                h,
                leaf,
            );
        }
    }
}

/// C(ci.., cj..) += A * B for one leaf block (i-k-j loops: the inner loop
/// runs along rows and vectorises).
#[profile]
fn leaf_kernel(a: View<'_>, b: View<'_>, c: &mut Out<'_>, ci: usize, cj: usize, size: usize) {
    for i in 0..size {
        let arow = a.row_slice(i, size);
        let start = (ci + i) * c.stride + cj;
        let crow = &mut c.data[start..start + size];
        for (k, &aik) in arow.iter().enumerate() {
            let brow = b.row_slice(k, size);
            for (cij, &bkj) in crow.iter_mut().zip(brow) {
                *cij += aik * bkj;
            }
        }
    }
}

/// One task: output block (bi, bj) of C, as its own `n/4` x `n/4` matrix.
#[profile]
fn multiply_task(input: &Input, task: usize) -> Vec<f64> {
    let (bi, bj) = (task / GRID, task % GRID);
    let bs = input.n / GRID;
    let mut block = vec![0.0; bs * bs];
    let mut out = Out {
        data: &mut block,
        stride: bs,
    };
    let whole = |data| View {
        data,
        stride: input.n,
        row: 0,
        col: 0,
    };
    for k in 0..GRID {
        let a = whole(&input.a).quadrant(bi, k, bs);
        let b = whole(&input.b).quadrant(k, bj, bs);
        multiply_block(a, b, &mut out, 0, 0, bs, input.leaf);
    }
    block
}

/// Copies the task blocks (in task order) into C.
fn assemble(n: usize, blocks: &[Vec<f64>]) -> Vec<f64> {
    let bs = n / GRID;
    let mut c = vec![0.0; n * n];
    for (task, block) in blocks.iter().enumerate() {
        let (bi, bj) = (task / GRID, task % GRID);
        for r in 0..bs {
            let dst = (bi * bs + r) * n + bj * bs;
            c[dst..dst + bs].copy_from_slice(&block[r * bs..(r + 1) * bs]);
        }
    }
    c
}

/// Sequential: task after task.
#[profile]
pub fn matmul_seq(input: &Input) -> Vec<f64> {
    let blocks: Vec<Vec<f64>> = (0..GRID * GRID).map(|t| multiply_task(input, t)).collect();
    assemble(input.n, &blocks)
}

/// `std::thread` workers, each with a contiguous block of tasks.
#[profile]
pub fn matmul_threads(input: &Input, threads: usize) -> Result<Vec<f64>, Error> {
    let tasks = GRID * GRID;
    let parts = scoped_workers(Workload::Recursion, Mode::Threads, threads, |t| {
        block_range(tasks, threads, t)
            .map(|task| multiply_task(input, task))
            .collect::<Vec<_>>()
    })?;
    Ok(assemble(input.n, &parts.concat()))
}

/// A rayon pool: tasks handed out by work stealing.
#[profile]
pub fn matmul_rayon(input: &Input, threads: usize) -> Result<Vec<f64>, Error> {
    let pool = pool(Workload::Recursion, Mode::Rayon, threads)?;
    let blocks: Vec<Vec<f64>> = pool.install(|| {
        (0..GRID * GRID)
            .into_par_iter()
            .map(|t| multiply_task(input, t))
            .collect()
    });
    Ok(assemble(input.n, &blocks))
}
