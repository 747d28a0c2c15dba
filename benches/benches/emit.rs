//! Building every report from a one-million-node profile (target: each under
//! a second). The profile is synthetic and deterministic: 1,000 sites, each
//! node's parent drawn from the nodes before it, so paths are deep and wide.
//!
//! Run with `cargo bench -p benches --bench emit`.

use std::hint::black_box;
use std::io::sink;
use std::sync::OnceLock;

use profiler::emit::{callgrind, flamegraph, prof};
use profiler::{Metadata, Node, Profile, SiteInfo, SortKey, ThreadProfile};

fn main() {
    divan::main();
}

const NODES: usize = 1_000_000;
const SITES: u32 = 1_000;

fn profile() -> &'static Profile {
    static P: OnceLock<Profile> = OnceLock::new();
    P.get_or_init(|| {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let sites = (0..SITES)
            .map(|i| {
                SiteInfo::new(
                    format!("module::func_{i}"),
                    "module",
                    format!("src/file_{}.rs", i % 50),
                    i + 1,
                )
            })
            .collect();
        let mut nodes: Vec<Node> = Vec::with_capacity(NODES);
        for i in 0..NODES {
            let parent = if i < 100 {
                profiler::profile::NO_PARENT
            } else {
                (next() % i as u64) as u32
            };
            nodes.push(Node::new(
                (next() % u64::from(SITES)) as u32,
                parent,
                1 + next() % 100,
                1 + next() % 10_000,
            ));
        }
        // Make every node's time cover its children's.
        for i in (0..NODES).rev() {
            if let Some(p) = nodes[i].parent() {
                nodes[p].time_ns += nodes[i].time_ns;
            }
        }
        let threads = vec![ThreadProfile::new(1, "main", 1, nodes)];
        Profile::new(Metadata::default(), sites, threads)
    })
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

#[divan::bench(sample_count = 5, sample_size = 1)]
fn pstats_with_callers_callees() {
    let stats = profile().stats().sort_by(SortKey::Cumulative);
    let text = format!("{stats}{}{}", stats.callers(), stats.callees());
    black_box(text.len());
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
