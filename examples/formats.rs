//! Writes every output format of one profile, for library users who want
//! the files without a `Session`: one loop over [`Format::ALL`].
//!
//! ```sh
//! cargo run --release -p examples --example formats -- out-dir
//! ```

use std::path::PathBuf;

use profiler::emit::Format;
use profiler::emit::flamegraph::{self, FlamegraphOptions};
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

    // Every format, each under the name a session gives it: pstats text,
    // profile.json, Python's .prof (pstats, snakeviz, gprof2dot -f pstats),
    // callgrind (KCacheGrind, callgrind_annotate), the flamegraph and its
    // folded stacks (the trace formats need a recorded timeline).
    for format in Format::ALL {
        if !format.needs_timeline() {
            let name = format.files()[0].file_name;
            format.save(&p, &dir.join(name))?;
        }
    }
    // A flamegraph with options of its own: an icicle graph.
    profiler::emit::write_output(&dir.join("icicle.svg"), |w| {
        flamegraph::write_svg_with(&p, &FlamegraphOptions::new().icicle(true), w)
    })?;

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
