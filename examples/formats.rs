//! Writes every output format of one profile, one call per format, for
//! library users who want the files without a `Session`.
//!
//! ```sh
//! cargo run --release -p examples --example formats -- out-dir
//! ```

use std::path::PathBuf;

use profiler::emit::flamegraph::FlamegraphOptions;
use profiler::profile;

#[profile]
fn walk(depth: u32) -> u64 {
    if depth == 0 {
        1
    } else {
        walk(depth - 1) + leaf(depth)
    }
}

#[profile]
fn leaf(x: u32) -> u64 {
    (0..u64::from(x) * 1000).map(|i| i ^ (i >> 3)).sum()
}

fn main() -> Result<(), profiler::Error> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "formats-out".into()),
    );
    std::fs::create_dir_all(&dir).map_err(|e| profiler::Error::Io {
        path: dir.clone(),
        source: e,
    })?;
    for _ in 0..20 {
        walk(12);
    }
    let p = profiler::snapshot();

    // pstats text (print_stats + print_callers + print_callees)
    p.write_pstats_text(&dir.join("pstats.txt"))?;
    // Python's pstats / snakeviz / gprof2dot -f pstats
    p.write_prof(&dir.join("profile.prof"))?;
    // KCacheGrind / callgrind_annotate / gprof2dot -f callgrind
    p.write_callgrind(&dir.join("callgrind.out"))?;
    // Flamegraph SVGs: merged, icicle, and the folded stacks behind them
    p.write_flamegraph(&dir.join("flamegraph.svg"))?;
    p.write_flamegraph_with(
        &dir.join("icicle.svg"),
        &FlamegraphOptions::new().icicle(true),
    )?;
    p.write_folded(&dir.join("stacks.folded"))?;

    for entry in std::fs::read_dir(&dir).map_err(|e| profiler::Error::Io {
        path: dir.clone(),
        source: e,
    })? {
        let entry = entry.map_err(|e| profiler::Error::Io {
            path: dir.clone(),
            source: e,
        })?;
        println!("{}", entry.path().display());
    }
    Ok(())
}
