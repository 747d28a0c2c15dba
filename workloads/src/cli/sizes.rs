//! The size options shared by every subcommand that runs a workload.

use std::path::PathBuf;

use clap::Args;
use workloads::Sizes;

/// Sizes of the workloads; unset options keep the library's defaults.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct SizeArgs {
    /// axpy: pairs of input files [default: 32].
    #[arg(long, help_heading = "Sizes")]
    files: Option<usize>,
    /// axpy: numbers per file [default: 1000000].
    #[arg(long, help_heading = "Sizes")]
    nums_per_file: Option<usize>,
    /// axpy: the scalar alpha [default: 2.5].
    #[arg(long, help_heading = "Sizes", allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// axpy: folder for the work files [default: OUT/axpy for `run`, the
    /// system's temporary folder otherwise]; removed afterwards.
    #[arg(long, help_heading = "Sizes")]
    work_dir: Option<PathBuf>,
    /// sums: arrays [default: 8].
    #[arg(long, help_heading = "Sizes")]
    arrays: Option<usize>,
    /// sums: elements per array [default: 8000000].
    #[arg(long, help_heading = "Sizes")]
    len: Option<usize>,
    /// pi: points drawn [default: 400000000].
    #[arg(long, help_heading = "Sizes")]
    samples: Option<u64>,
    /// imbalance: pixels per row [default: 1600].
    #[arg(long, help_heading = "Sizes")]
    width: Option<usize>,
    /// imbalance: rows [default: 800].
    #[arg(long, help_heading = "Sizes")]
    height: Option<usize>,
    /// imbalance: iteration cap per pixel [default: 2000].
    #[arg(long, help_heading = "Sizes")]
    max_iter: Option<u32>,
    /// imbalance: rows taken at a time in dynamic mode, and the most rows
    /// per rayon piece [default: 2].
    #[arg(long, help_heading = "Sizes")]
    chunk: Option<usize>,
    /// amdahl: units of work [default: 16000].
    #[arg(long, help_heading = "Sizes")]
    units: Option<u64>,
    /// amdahl: fraction of the units done serially [default: 0.1].
    #[arg(long, help_heading = "Sizes")]
    serial_fraction: Option<f64>,
    /// recursion: matrix rows and columns [default: 1024].
    #[arg(long, help_heading = "Sizes")]
    matrix_size: Option<usize>,
    /// recursion: block size where the recursion stops [default: 64].
    #[arg(long, help_heading = "Sizes")]
    leaf_size: Option<usize>,
    /// Seed of the random inputs [default: 2024].
    #[arg(long, help_heading = "Sizes")]
    seed: Option<u64>,
}

impl SizeArgs {
    /// The library's defaults with these options applied.
    pub(crate) fn sizes(&self) -> Sizes {
        let mut s = Sizes::default();
        macro_rules! set {
            ($field:ident => $($target:expr),+) => {
                if let Some(v) = &self.$field { $( $target = v.clone(); )+ }
            };
        }
        set!(files => s.axpy.files);
        set!(nums_per_file => s.axpy.nums_per_file);
        set!(alpha => s.axpy.alpha);
        if let Some(d) = &self.work_dir {
            s.axpy.work_dir = Some(d.clone());
        }
        set!(arrays => s.sums.arrays);
        set!(len => s.sums.len);
        set!(samples => s.pi.samples);
        set!(width => s.imbalance.width);
        set!(height => s.imbalance.height);
        set!(max_iter => s.imbalance.max_iter);
        set!(chunk => s.imbalance.chunk);
        set!(units => s.amdahl.units);
        set!(serial_fraction => s.amdahl.serial_fraction);
        set!(matrix_size => s.recursion.n);
        set!(leaf_size => s.recursion.leaf);
        set!(seed => s.axpy.seed, s.sums.seed, s.pi.seed, s.recursion.seed);
        s
    }

    /// The options as command-line arguments (to pass them on).
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut push = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                a.push(format!("--{name}={v}"));
            }
        };
        push("files", self.files.map(|v| v.to_string()));
        push("nums-per-file", self.nums_per_file.map(|v| v.to_string()));
        push("alpha", self.alpha.map(|v| v.to_string()));
        push(
            "work-dir",
            self.work_dir.as_ref().map(|v| v.display().to_string()),
        );
        push("arrays", self.arrays.map(|v| v.to_string()));
        push("len", self.len.map(|v| v.to_string()));
        push("samples", self.samples.map(|v| v.to_string()));
        push("width", self.width.map(|v| v.to_string()));
        push("height", self.height.map(|v| v.to_string()));
        push("max-iter", self.max_iter.map(|v| v.to_string()));
        push("chunk", self.chunk.map(|v| v.to_string()));
        push("units", self.units.map(|v| v.to_string()));
        push(
            "serial-fraction",
            self.serial_fraction.map(|v| v.to_string()),
        );
        push("matrix-size", self.matrix_size.map(|v| v.to_string()));
        push("leaf-size", self.leaf_size.map(|v| v.to_string()));
        push("seed", self.seed.map(|v| v.to_string()));
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use clap::{CommandFactory, Parser};

    /// The defaults written in the option help match the library's.
    #[test]
    fn help_defaults_match_the_library() {
        let d = Sizes::default();
        let expected = [
            ("files", d.axpy.files.to_string()),
            ("nums_per_file", d.axpy.nums_per_file.to_string()),
            ("alpha", d.axpy.alpha.to_string()),
            ("arrays", d.sums.arrays.to_string()),
            ("len", d.sums.len.to_string()),
            ("samples", d.pi.samples.to_string()),
            ("width", d.imbalance.width.to_string()),
            ("height", d.imbalance.height.to_string()),
            ("max_iter", d.imbalance.max_iter.to_string()),
            ("chunk", d.imbalance.chunk.to_string()),
            ("units", d.amdahl.units.to_string()),
            ("serial_fraction", d.amdahl.serial_fraction.to_string()),
            ("matrix_size", d.recursion.n.to_string()),
            ("leaf_size", d.recursion.leaf.to_string()),
            ("seed", d.pi.seed.to_string()),
        ];
        let cmd = Cli::command();
        let run = cmd.find_subcommand("run").expect("run");
        for (id, value) in expected {
            let arg = run
                .get_arguments()
                .find(|a| a.get_id() == id)
                .unwrap_or_else(|| panic!("no --{id}"));
            let help = arg.get_help().expect("help").to_string();
            assert!(
                help.ends_with(&format!("[default: {value}]")),
                "--{id}: {help:?} should end with [default: {value}]"
            );
        }
    }

    #[test]
    fn size_options_round_trip() {
        let a = SizeArgs {
            files: Some(3),
            serial_fraction: Some(0.25),
            work_dir: Some(PathBuf::from("/tmp/x")),
            seed: Some(9),
            ..SizeArgs::default()
        };
        #[derive(Parser)]
        struct Sized {
            #[command(flatten)]
            sizes: SizeArgs,
        }
        let mut argv = vec!["workloads".to_owned()];
        argv.extend(a.to_args());
        let t = Sized::try_parse_from(argv).expect("parse");
        assert_eq!(t.sizes.sizes(), a.sizes());
        assert_eq!(a.sizes().sums.seed, 9);
        assert_eq!(a.sizes().axpy.files, 3);
    }
}
