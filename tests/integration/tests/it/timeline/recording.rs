//! Timeline recording: spans nest per thread, the minimum duration filters,
//! the per-thread memory cap holds and counts what it drops, and the
//! aggregated statistics stay exact whatever the timeline drops.
//!
//! Timeline settings are process-wide, so the phases run in one test, one
//! after the other, each on threads of its own.

use std::thread;
use std::time::Duration;

use integration::spin;
use profiler::{Profile, Span, ThreadProfile, TimelineConfig, profile_scope};

fn run(name: &str, f: impl FnOnce() + Send + 'static) -> Profile {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
    profiler::snapshot()
}

fn thread<'p>(p: &'p Profile, name: &str) -> &'p ThreadProfile {
    p.threads
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no thread {name}"))
}

fn site_name<'p>(p: &'p Profile, s: &Span) -> &'p str {
    &p.sites[s.site as usize].name
}

fn ncalls(p: &Profile, thread_name: &str, site: &str) -> u64 {
    let i = p
        .threads
        .iter()
        .position(|t| t.name == thread_name)
        .unwrap();
    let stats = p.thread_stats(i);
    stats
        .functions()
        .iter()
        .find(|f| p.sites[f.site as usize].name == site)
        .map_or(0, |f| f.figures.ncalls)
}

/// Any two spans of a thread are disjoint or one contains the other.
fn assert_nested(t: &ThreadProfile) {
    let mut spans = t.timeline.clone();
    spans.sort_by_key(|s| (s.start_ns, std::cmp::Reverse(s.end_ns())));
    let mut open: Vec<Span> = Vec::new();
    for s in spans {
        while open.last().is_some_and(|o| o.end_ns() <= s.start_ns) {
            open.pop();
        }
        if let Some(parent) = open.last() {
            assert!(
                s.end_ns() <= parent.end_ns(),
                "{s:?} overlaps {parent:?} on {}",
                t.name
            );
        }
        open.push(s);
    }
}

fn outer() {
    let _g = profile_scope!("tl.outer");
    for _ in 0..3 {
        inner();
    }
    spin(Duration::from_micros(50));
}

fn inner() {
    let _g = profile_scope!("tl.inner");
    spin(Duration::from_micros(30));
    let _q = profile_scope!("tl.quick"); // far below 20 µs
}

#[test]
fn timeline_phases() {
    // Own process: the timeline settings are process-wide.
    if integration::ran_in_own_process(module_path!(), "timeline_phases") {
        return;
    }
    // Off by default: nothing logged.
    let p = run("tl-off", outer);
    assert!(thread(&p, "tl-off").timeline.is_empty());

    // Everything, minimum zero: one span per call, properly nested.
    profiler::set_timeline(Some(TimelineConfig::default().min_duration(Duration::ZERO)));
    let p = run("tl-all", outer);
    let t = thread(&p, "tl-all");
    assert_eq!(t.timeline.len(), 1 + 3 + 3);
    assert_eq!(t.timeline_dropped, 0);
    assert_nested(t);
    // Ended order: the first inner's quick scope ends first, the outer last.
    assert_eq!(site_name(&p, &t.timeline[0]), "tl.quick");
    assert_eq!(site_name(&p, t.timeline.last().unwrap()), "tl.outer");
    // The outer span covers its children, and its duration matches the tree.
    let outer_span = t.timeline.last().unwrap();
    assert!(
        t.timeline
            .iter()
            .all(|s| s.start_ns >= outer_span.start_ns && s.end_ns() <= outer_span.end_ns())
    );

    // A minimum duration drops the quick scopes from the timeline only.
    profiler::set_timeline(Some(
        TimelineConfig::default().min_duration(Duration::from_micros(20)),
    ));
    let p = run("tl-min", outer);
    let t = thread(&p, "tl-min");
    let names: Vec<&str> = t.timeline.iter().map(|s| site_name(&p, s)).collect();
    assert_eq!(names, ["tl.inner", "tl.inner", "tl.inner", "tl.outer"]);
    assert_eq!(
        ncalls(&p, "tl-min", "tl.quick"),
        3,
        "statistics still count filtered scopes"
    );
    assert_nested(t);

    // A flood of short scopes against a small cap: the cap holds, the dropped
    // count is reported, and the statistics are exact.
    profiler::set_timeline(Some(
        TimelineConfig::default()
            .min_duration(Duration::ZERO)
            .max_events_per_thread(1000),
    ));
    let p = run("tl-flood", || {
        for _ in 0..100_000 {
            let _g = profile_scope!("tl.flood");
        }
    });
    let t = thread(&p, "tl-flood");
    assert_eq!(t.timeline.len(), 1000);
    assert_eq!(t.timeline_dropped, 99_000);
    assert_eq!(ncalls(&p, "tl-flood", "tl.flood"), 100_000);
    assert_nested(t);

    profiler::set_timeline(None);
    let p = run("tl-off-again", outer);
    assert!(thread(&p, "tl-off-again").timeline.is_empty());
    assert!(profiler::timeline().is_none());
}
