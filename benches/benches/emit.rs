//! Building every report from a one-million-node profile (target: each under
//! a second). The profile is synthetic and deterministic: 1,000 sites, each
//! node's parent drawn from the nodes before it, so paths are deep and wide.
//!
//! Run with `cargo bench -p benches --bench emit`.

use std::hint::black_box;
use std::io::sink;
use std::sync::OnceLock;

use profiler::emit::{callgrind, flamegraph, html, prof, pstats};
use profiler::{Profile, SortKey};

fn main() {
    divan::main();
}

const NODES: usize = 1_000_000;
const SITES: u32 = 1_000;

fn profile() -> &'static Profile {
    static P: OnceLock<Profile> = OnceLock::new();
    P.get_or_init(|| benches::synthetic_profile(NODES, SITES))
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn stats() {
    black_box(profile().stats().total_calls());
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn pstats() {
    let stats = profile().stats().sort_by(SortKey::Cumulative);
    black_box(format!("{stats}").len());
}

/// A session's `pstats.txt`: the table, then every caller and callee line.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn pstats_with_callers_callees() {
    pstats::write(profile(), &mut sink()).unwrap();
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn prof() {
    prof::write(profile(), &mut sink()).unwrap();
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn callgrind_merged() {
    callgrind::write(profile(), None, &mut sink()).unwrap();
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn flamegraph_svg() {
    flamegraph::write_svg(profile(), &mut sink()).unwrap();
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn html_report() {
    html::write(profile(), &mut sink()).unwrap();
}
