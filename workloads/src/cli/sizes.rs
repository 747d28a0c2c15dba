//! The size options shared by every subcommand that runs a workload: one
//! `clap::Args` struct per workload, whose defaults are the library's
//! (`Config::default()`), so that `--help` shows the library's values.

use std::path::PathBuf;

use clap::Args;
use workloads::{Sizes, amdahl, axpy, halo, imbalance, pi, recursion, sums};

/// Sizes of every workload and the seed of their random inputs.
#[derive(Args, Debug, Clone, PartialEq)]
pub(crate) struct SizeArgs {
    #[command(flatten)]
    axpy: AxpyArgs,
    #[command(flatten)]
    sums: SumsArgs,
    #[command(flatten)]
    pi: PiArgs,
    #[command(flatten)]
    imbalance: ImbalanceArgs,
    #[command(flatten)]
    amdahl: AmdahlArgs,
    #[command(flatten)]
    recursion: RecursionArgs,
    #[command(flatten)]
    halo: HaloArgs,
    /// Seed of the random inputs.
    #[arg(long, help_heading = "Sizes", default_value_t = workloads::DEFAULT_SEED)]
    seed: u64,
}

/// The sizes of [`axpy`] ([`axpy::Config`]).
#[derive(Args, Debug, Clone, PartialEq)]
struct AxpyArgs {
    /// axpy: pairs of input files.
    #[arg(long, help_heading = "Sizes", default_value_t = axpy::Config::default().files)]
    files: usize,
    /// axpy: numbers per file.
    #[arg(long, help_heading = "Sizes", default_value_t = axpy::Config::default().nums_per_file)]
    nums_per_file: usize,
    /// axpy: the scalar alpha.
    #[arg(
        long,
        help_heading = "Sizes",
        allow_negative_numbers = true,
        default_value_t = axpy::Config::default().alpha
    )]
    alpha: f64,
    /// axpy: folder for the work files [default: OUT/axpy for `run`, the
    /// system's temporary folder otherwise]; removed afterwards.
    #[arg(long, help_heading = "Sizes")]
    work_dir: Option<PathBuf>,
}

/// The sizes of [`sums`] ([`sums::Config`]).
#[derive(Args, Debug, Clone, PartialEq)]
struct SumsArgs {
    /// sums: arrays.
    #[arg(long, help_heading = "Sizes", default_value_t = sums::Config::default().arrays)]
    arrays: usize,
    /// sums: elements per array.
    #[arg(long, help_heading = "Sizes", default_value_t = sums::Config::default().len)]
    len: usize,
}

/// The sizes of [`pi`] ([`pi::Config`]).
#[derive(Args, Debug, Clone, PartialEq)]
struct PiArgs {
    /// pi: points drawn.
    #[arg(long, help_heading = "Sizes", default_value_t = pi::Config::default().samples)]
    samples: u64,
}

/// The sizes of [`imbalance`] ([`imbalance::Config`]).
#[derive(Args, Debug, Clone, PartialEq)]
struct ImbalanceArgs {
    /// imbalance: pixels per row.
    #[arg(long, help_heading = "Sizes", default_value_t = imbalance::Config::default().width)]
    width: usize,
    /// imbalance: rows.
    #[arg(long, help_heading = "Sizes", default_value_t = imbalance::Config::default().height)]
    height: usize,
    /// imbalance: iteration cap per pixel.
    #[arg(long, help_heading = "Sizes", default_value_t = imbalance::Config::default().max_iter)]
    max_iter: u32,
    /// imbalance: rows taken at a time in dynamic mode, and the most rows
    /// per rayon piece.
    #[arg(long, help_heading = "Sizes", default_value_t = imbalance::Config::default().chunk)]
    chunk: usize,
}

/// The sizes of [`amdahl`] ([`amdahl::Config`]).
#[derive(Args, Debug, Clone, PartialEq)]
struct AmdahlArgs {
    /// amdahl: units of work.
    #[arg(long, help_heading = "Sizes", default_value_t = amdahl::Config::default().units)]
    units: u64,
    /// amdahl: fraction of the units done serially.
    #[arg(
        long,
        help_heading = "Sizes",
        default_value_t = amdahl::Config::default().serial_fraction
    )]
    serial_fraction: f64,
}

/// The sizes of [`recursion`] ([`recursion::Config`]).
#[derive(Args, Debug, Clone, PartialEq)]
struct RecursionArgs {
    /// recursion: matrix rows and columns.
    #[arg(long, help_heading = "Sizes", default_value_t = recursion::Config::default().n)]
    matrix_size: usize,
    /// recursion: block size where the recursion stops.
    #[arg(long, help_heading = "Sizes", default_value_t = recursion::Config::default().leaf)]
    leaf_size: usize,
}

/// The sizes of [`halo`] ([`halo::Config`]).
#[derive(Args, Debug, Clone, PartialEq)]
struct HaloArgs {
    /// halo: points of the domain.
    #[arg(long, help_heading = "Sizes", default_value_t = halo::Config::default().points)]
    points: usize,
    /// halo: time steps.
    #[arg(long, help_heading = "Sizes", default_value_t = halo::Config::default().steps)]
    steps: usize,
}

impl SizeArgs {
    /// The sizes these options give (unvalidated).
    pub(crate) fn sizes(&self) -> Sizes {
        let (a, seed) = (&self.axpy, self.seed);
        let i = &self.imbalance;
        Sizes {
            axpy: axpy::Config {
                files: a.files,
                nums_per_file: a.nums_per_file,
                alpha: a.alpha,
                seed,
                work_dir: a.work_dir.clone(),
            },
            sums: sums::Config {
                arrays: self.sums.arrays,
                len: self.sums.len,
                seed,
            },
            pi: pi::Config {
                samples: self.pi.samples,
                seed,
            },
            imbalance: imbalance::Config {
                width: i.width,
                height: i.height,
                max_iter: i.max_iter,
                chunk: i.chunk,
            },
            amdahl: amdahl::Config {
                units: self.amdahl.units,
                serial_fraction: self.amdahl.serial_fraction,
            },
            recursion: recursion::Config {
                n: self.recursion.matrix_size,
                leaf: self.recursion.leaf_size,
                seed,
            },
            halo: halo::Config {
                points: self.halo.points,
                steps: self.halo.steps,
                seed,
            },
        }
    }

    /// The options as command-line arguments, to pass them on to another
    /// `workloads` program (every size, so that both run the same).
    pub(crate) fn to_args(&self) -> Vec<String> {
        let (a, i) = (&self.axpy, &self.imbalance);
        let mut args = vec![
            format!("--files={}", a.files),
            format!("--nums-per-file={}", a.nums_per_file),
            format!("--alpha={}", a.alpha),
            format!("--arrays={}", self.sums.arrays),
            format!("--len={}", self.sums.len),
            format!("--samples={}", self.pi.samples),
            format!("--width={}", i.width),
            format!("--height={}", i.height),
            format!("--max-iter={}", i.max_iter),
            format!("--chunk={}", i.chunk),
            format!("--units={}", self.amdahl.units),
            format!("--serial-fraction={}", self.amdahl.serial_fraction),
            format!("--matrix-size={}", self.recursion.matrix_size),
            format!("--leaf-size={}", self.recursion.leaf_size),
            format!("--points={}", self.halo.points),
            format!("--steps={}", self.halo.steps),
            format!("--seed={}", self.seed),
        ];
        if let Some(d) = &a.work_dir {
            args.push(format!("--work-dir={}", d.display()));
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A command with nothing but the size options.
    #[derive(Parser, Debug)]
    struct Sized {
        #[command(flatten)]
        sizes: SizeArgs,
    }

    fn parse(args: &[&str]) -> SizeArgs {
        let argv = std::iter::once("workloads").chain(args.iter().copied());
        Sized::try_parse_from(argv).expect("parse").sizes
    }

    /// Without options, the sizes are the library's defaults.
    #[test]
    fn no_options_give_the_library_defaults() {
        assert_eq!(parse(&[]).sizes(), Sizes::default());
    }

    /// Every option reaches its field, and passes on unchanged.
    #[test]
    fn size_options_round_trip() {
        let a = parse(&[
            "--files=3",
            "--nums-per-file=5",
            "--alpha=-0.75",
            "--work-dir=/tmp/x",
            "--arrays=4",
            "--len=6",
            "--samples=7",
            "--width=8",
            "--height=9",
            "--max-iter=10",
            "--chunk=11",
            "--units=12",
            "--serial-fraction=0.25",
            "--matrix-size=32",
            "--leaf-size=2",
            "--points=13",
            "--steps=14",
            "--seed=9",
        ]);
        let s = a.sizes();
        let expected = Sizes {
            axpy: axpy::Config {
                files: 3,
                nums_per_file: 5,
                alpha: -0.75,
                seed: 9,
                work_dir: Some(PathBuf::from("/tmp/x")),
            },
            sums: sums::Config {
                arrays: 4,
                len: 6,
                seed: 9,
            },
            pi: pi::Config {
                samples: 7,
                seed: 9,
            },
            imbalance: imbalance::Config {
                width: 8,
                height: 9,
                max_iter: 10,
                chunk: 11,
            },
            amdahl: amdahl::Config {
                units: 12,
                serial_fraction: 0.25,
            },
            recursion: recursion::Config {
                n: 32,
                leaf: 2,
                seed: 9,
            },
            halo: halo::Config {
                points: 13,
                steps: 14,
                seed: 9,
            },
        };
        assert_eq!(s, expected);
        let args = a.to_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(parse(&args), a);
    }
}
