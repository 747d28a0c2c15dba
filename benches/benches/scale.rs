//! How analysis and reports scale (issue targets in BENCHMARKS.md, "Scale"):
//!
//! - the parallel summary of a timeline of 10,000,000 spans on 64 threads
//!   (target: under 2 s), and at a quarter and a half of the spans, to show
//!   how it grows;
//! - a snapshot of 16 live threads with 100,000 call paths each (target:
//!   under 100 ms);
//! - every timeline format written from the 10,000,000 spans (target: each
//!   under 10 s, with the memory it adds under twice the spans' own size).
//!
//! Each case is timed `SCALE_ROUNDS` times (default 3) and the median is
//! printed. Memory is the growth of the peak resident set (`VmHWM`) while a
//! case runs, measured from a reset of the peak (`/proc/self/clear_refs`)
//! where the kernel allows it. `SCALE_SPANS=n` changes the number of spans
//! of the largest timeline.
//!
//! Run with `cargo bench -p benches --bench scale`.

use std::hint::black_box;
use std::io::{self, Write};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use benches::proc_status_kib;
use profiler::emit::Format;
use profiler::profile::NO_PARENT;
use profiler::{Metadata, Node, Profile, SiteInfo, Span, ThreadProfile};

const THREADS: usize = 64;

fn main() {
    let rounds: usize = env_or("SCALE_ROUNDS", 3);
    let spans: usize = env_or("SCALE_SPANS", 10_000_000);
    println!("scale: medians of {rounds} rounds\n");
    println!(
        "{:<58} {:>10} {:>12} {:>10}",
        "case", "median s", "peak +MiB", "target"
    );
    let mut missed = Vec::new();

    for (n, target) in [(spans / 4, None), (spans / 2, None), (spans, Some(2.0))] {
        let profile = timeline_profile(THREADS, n);
        let name = format!("parallel summary, {n} spans on {THREADS} threads");
        let (s, mib) = measure(rounds, || {
            black_box(profile.parallel_summary());
        });
        report(&name, s, mib, target, &mut missed);
    }

    let (s, mib) = snapshot_case(rounds);
    report(
        "snapshot of 16 live threads x 100,000 call paths",
        s,
        mib,
        Some(0.1),
        &mut missed,
    );

    let profile = timeline_profile(THREADS, spans);
    let spans_mib = (spans * std::mem::size_of::<Span>()) as f64 / (1 << 20) as f64;
    println!(
        "\n{spans} spans take {spans_mib:.0} MiB as stored (Span is {} bytes)",
        std::mem::size_of::<Span>()
    );
    for format in Format::ALL.iter().filter(|f| f.needs_timeline()) {
        for file in format.files() {
            let name = format!("{} ({}), {spans} spans", format.name(), file.file_name);
            let (s, mib) = measure(rounds, || {
                let mut out = Counting(0);
                (file.write)(&profile, &mut out).expect("writing to memory does not fail");
                black_box(out.0);
            });
            report(&name, s, mib, Some(10.0), &mut missed);
            if mib > 2.0 * spans_mib {
                println!("  memory: {mib:.0} MiB is more than twice the spans' {spans_mib:.0} MiB");
                missed.push(format!("{name}: memory"));
            }
        }
    }
    if missed.is_empty() {
        println!("\nevery target met");
    } else {
        println!("\ntargets missed: {}", missed.join("; "));
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(name: &str, s: f64, mib: f64, target: Option<f64>, missed: &mut Vec<String>) {
    let verdict = match target {
        Some(t) if s <= t => format!("< {t} s met"),
        Some(t) => {
            missed.push(name.to_owned());
            format!("< {t} s MISSED")
        }
        None => String::new(),
    };
    println!("{name:<58} {s:>10.3} {mib:>12.1} {verdict:>10}");
}

/// The median time of `rounds` runs of `f`, and the largest growth of the
/// peak resident set over one run, in MiB.
fn measure(rounds: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut times = Vec::with_capacity(rounds);
    let mut grew = 0.0f64;
    for _ in 0..rounds.max(1) {
        reset_peak();
        let before = proc_status_kib("VmRSS").unwrap_or(0);
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
        let peak = proc_status_kib("VmHWM").unwrap_or(0);
        grew = grew.max(peak.saturating_sub(before) as f64 / 1024.0);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], grew)
}

/// Resets `VmHWM` to the current resident set (Linux 4.0 and later).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A sink that counts bytes.
struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A program of parallel regions as a timeline: `threads` threads, each
/// running the same 50 regions (site 0); in each region the thread runs
/// tasks (site 1) that each call a leaf (site 2), with small per-thread
/// differences in length so that the load is not perfectly even. About
/// `spans` spans in all, stored as a recording stores them (in the order
/// they end), with a call tree that agrees with them.
fn timeline_profile(threads: usize, spans: usize) -> Profile {
    const REGIONS: usize = 50;
    let per_thread = spans / threads;
    let tasks = ((per_thread / REGIONS).saturating_sub(1) / 2).max(1);
    let sites = vec![
        SiteInfo::new("region", "scale", "scale.rs", 1),
        SiteInfo::new("task", "scale", "scale.rs", 2),
        SiteInfo::new("leaf", "scale", "scale.rs", 3),
    ];
    let region_len: u64 = 10_000 * tasks as u64;
    let list = (0..threads)
        .map(|t| {
            let mut timeline = Vec::with_capacity(REGIONS * (1 + 2 * tasks));
            let mut times = [0u64; 3];
            for r in 0..REGIONS {
                let start = r as u64 * (region_len + 100_000);
                let mut at = start + (t as u64 % 7) * 100;
                for k in 0..tasks {
                    let task = 8_000 + ((t * 31 + k * 17) % 1_000) as u64;
                    let leaf = task / 2;
                    timeline.push(Span::new(2, at + 100, leaf));
                    timeline.push(Span::new(1, at, task));
                    times[1] += task;
                    times[2] += leaf;
                    at += task + 50;
                }
                let end = at + 10;
                timeline.push(Span::new(0, start, end - start));
                times[0] += end - start;
            }
            let calls = [
                REGIONS as u64,
                (REGIONS * tasks) as u64,
                (REGIONS * tasks) as u64,
            ];
            let nodes = vec![
                Node::new(0, NO_PARENT, calls[0], times[0]),
                Node::new(1, 0, calls[1], times[1]),
                Node::new(2, 1, calls[2], times[2]),
            ];
            ThreadProfile::new(t as u64 + 1, format!("worker-{t}"), 1, nodes)
                .with_timeline(timeline, 0)
        })
        .collect();
    let mut meta = Metadata::default();
    meta.available_cores = threads as u32;
    meta.duration_ns = REGIONS as u64 * (region_len + 100_000);
    Profile::new(meta, sites, list)
}

/// Snapshots of 16 threads that each recorded 100,000 call paths and stay
/// alive while the snapshots are taken.
fn snapshot_case(rounds: usize) -> (f64, f64) {
    const LIVE: usize = 16;
    // 316 sites: 316 paths at depth 1 and 316 x 316 at depth 2 = 100,172.
    const FAN: usize = 316;
    let sites: &'static [profiler::__private::Site] = Box::leak(
        (0..FAN)
            .map(|i| {
                let name: &'static str = Box::leak(format!("scale::path_{i}").into_boxed_str());
                profiler::__private::Site::new(
                    profiler::__private::SiteName::Literal(name),
                    "scale",
                    "scale.rs",
                    i as u32 + 1,
                )
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let recorded = Arc::new(Barrier::new(LIVE + 1));
    let done = Arc::new(Barrier::new(LIVE + 1));
    let workers: Vec<_> = (0..LIVE)
        .map(|_| {
            let (recorded, done) = (recorded.clone(), done.clone());
            std::thread::spawn(move || {
                for a in sites {
                    let _outer = profiler::__private::enter(a);
                    for b in sites {
                        drop(profiler::__private::enter(b));
                    }
                }
                recorded.wait();
                done.wait();
            })
        })
        .collect();
    recorded.wait();
    let mut nodes = 0;
    let result = measure(rounds, || {
        let p = profiler::snapshot();
        nodes = p.threads.iter().map(|t| t.nodes.len()).sum::<usize>();
        black_box(p);
    });
    done.wait();
    for w in workers {
        w.join().expect("a snapshot worker panicked");
    }
    assert!(
        nodes >= LIVE * FAN * FAN,
        "the snapshot saw {nodes} nodes, fewer than the {} recorded",
        LIVE * FAN * FAN
    );
    result
}
