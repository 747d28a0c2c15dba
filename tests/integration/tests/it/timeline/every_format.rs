//! Every timeline format at once: storage order, cut overlaps, the files
//! and their names, and a recorded timeline through every format.

use std::time::Duration;

use profiler::emit::flamegraph::FlamegraphOptions;
use profiler::{Profile, ThreadProfile, profile};
use serde_json::Value;

use super::chrome::{check_chrome, chrome_of};
use super::flamechart::{check_flame_chart, flame_chart_svg};
use super::paraver::{Trace, check_paraver, paraver_of, prv};
use super::speedscope::{check_speedscope, replay_speedscope, speedscope_of};
use super::*;

/// Every output of a profile as text: trace.json, speedscope.json, the
/// .prv, .pcf and .row, and the flame chart SVG.
fn all_formats(p: &Profile) -> [String; 6] {
    let t = paraver_of(p);
    [
        chrome_of(p),
        speedscope_of(p),
        t.prv,
        t.pcf,
        t.row,
        flame_chart_svg(p, &FlamegraphOptions::new().min_width(0.0)),
    ]
}

#[test]
fn storage_order_does_not_matter_without_ties() {
    // A hand-edited file may list spans in any order; without ties the
    // nesting is the same.
    let p = sample();
    let mut q = sample();
    for t in &mut q.threads {
        t.timeline.reverse();
    }
    assert_eq!(all_formats(&p), all_formats(&q));
    let mut g = generated(7);
    for t in &mut g.threads {
        t.timeline.reverse();
    }
    let [json, scope, prv, pcf, row, svg] = all_formats(&g);
    check_chrome(&g, &json, "reversed");
    check_speedscope(&g, &scope, "reversed");
    check_paraver(&g, &Trace { prv, pcf, row }, "reversed");
    check_flame_chart(&g, &svg, "reversed");
}

#[test]
fn overlapping_spans_are_cut_to_nest() {
    // Spans that overlap without nesting (impossible in a recording) are cut
    // at the end of the span they start in, in every format.
    let sites = vec![
        site("a", "a.rs", 1),
        site("b", "b.rs", 2),
        site("c", "c.rs", 3),
    ];
    let bad = vec![
        span(0, 0, 10),
        span(1, 5, 15),
        span(2, 8, 30),
        span(2, 12, 20),
    ];
    let cut = vec![
        span(2, 8, 10),
        span(1, 5, 10),
        span(0, 0, 10),
        span(2, 12, 20),
    ];
    let p = |spans| {
        let t = ThreadProfile::new(1, "t", 1, Vec::new()).with_timeline(spans, 0);
        Profile::new(meta("cut", 40), sites.clone(), vec![t])
    };
    let (bad, cut) = (p(bad), p(cut));
    assert_eq!(all_formats(&bad), all_formats(&cut));
    let [json, scope, prv, pcf, row, svg] = all_formats(&bad);
    check_chrome(&cut, &json, "cut");
    check_speedscope(&cut, &scope, "cut");
    check_paraver(&cut, &Trace { prv, pcf, row }, "cut");
    check_flame_chart(&cut, &svg, "cut");
}

#[test]
fn files_are_written_under_the_documented_names() {
    let dir = scratch!("files");
    let p = rich();
    profiler::emit::Format::Chrome
        .save(&p, &dir.join("trace.json"))
        .unwrap();
    profiler::emit::Format::Speedscope
        .save(&p, &dir.join("speedscope.json"))
        .unwrap();
    profiler::emit::Format::Flamechart
        .save(&p, &dir.join("flamechart.svg"))
        .unwrap();
    profiler::emit::Format::Paraver.save(&p, &dir).unwrap();
    profiler::emit::Format::Paraver
        .save(&p, &dir.join("run"))
        .unwrap();
    profiler::emit::Format::Paraver
        .save(&p, &dir.join("other.prv"))
        .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "flamechart.svg",
            "other.pcf",
            "other.prv",
            "other.row",
            "run.pcf",
            "run.prv",
            "run.row",
            "speedscope.json",
            "trace.json",
            "trace.pcf",
            "trace.prv",
            "trace.row",
        ]
    );
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    check_chrome(&p, &read("trace.json"), "file");
    check_speedscope(&p, &read("speedscope.json"), "file");
    let t = Trace {
        prv: read("trace.prv"),
        pcf: read("trace.pcf"),
        row: read("trace.row"),
    };
    check_paraver(&p, &t, "file");
    assert_eq!(read("run.prv"), t.prv);
    // A destination that cannot be written: an error naming it, no files.
    let missing = dir.join("no/such/dir/trace");
    let err = profiler::emit::Format::Paraver
        .save(&p, &missing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no/such/dir"), "{err}");
    let err = profiler::emit::Format::Chrome
        .save(&p, &dir.join("no/trace.json"))
        .unwrap_err();
    assert!(err.to_string().contains("trace.json"));
}

// --------------------------------------------------------------- recording

#[profile]
fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn work(round: u32) -> u64 {
    let _g = profiler::profile_scope!("work");
    let mut sum = 0;
    for i in 0..3 {
        let _s = profiler::profile_scope!("step");
        sum += fib(6 + (round + i) % 4);
    }
    {
        let _e = profiler::profile_scope!("empty");
    }
    sum
}

#[test]
fn a_recorded_timeline_round_trips_through_every_format() {
    // Own process: the timeline settings are process-wide.
    if integration::ran_in_own_process(
        module_path!(),
        "a_recorded_timeline_round_trips_through_every_format",
    ) {
        return;
    }
    profiler::set_timeline(Some(
        profiler::TimelineConfig::default().min_duration(Duration::ZERO),
    ));
    let handles: Vec<_> = (0..3)
        .map(|k| {
            std::thread::Builder::new()
                .name(format!("tl-worker-{k}"))
                .spawn(move || (0..4 + k).map(work).sum::<u64>())
                .unwrap()
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total > 0);
    let mut p = profiler::snapshot();
    profiler::set_timeline(None);
    p.threads.retain(|t| t.name.starts_with("tl-worker-"));
    assert_eq!(
        p.threads.len(),
        3,
        "{:?}",
        p.threads.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    for t in &p.threads {
        // Nothing dropped and no minimum: one span per call.
        let calls: u64 = t.nodes.iter().map(|n| n.calls).sum();
        assert_eq!(t.timeline_dropped, 0);
        assert_eq!(t.timeline.len() as u64, calls, "{}", t.name);
    }

    check_chrome(&p, &chrome_of(&p), "recorded");
    check_speedscope(&p, &speedscope_of(&p), "recorded");
    let t = paraver_of(&p);
    // The recording's own date, not the hand-built one.
    let fixed = {
        let mut q = p.clone();
        q.meta.start_unix_s = 1_795_239_059.0;
        q
    };
    check_paraver(&fixed, &paraver_of(&fixed), "recorded");
    assert!(prv::read(&t.prv).unwrap().0.date.2 >= 2024);
    check_flame_chart(
        &p,
        &flame_chart_svg(&p, &FlamegraphOptions::new().min_width(0.0)),
        "recorded",
    );

    // The nesting in the files is the recorded one: every fib span sits in
    // a step or a fib span, every step in a work span.
    let v: Value = serde_json::from_str(&speedscope_of(&p)).unwrap();
    let frames: Vec<String> = v["shared"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    for prof in v["profiles"].as_array().unwrap() {
        let spans = replay_speedscope(prof["events"].as_array().unwrap(), u64::MAX, "recorded");
        let mut stack: Vec<&str> = Vec::new();
        for (f, _, _, depth) in &spans {
            stack.truncate(*depth);
            let name = frames[*f as usize].as_str();
            let parent = stack.last().copied();
            match name {
                "work" => assert_eq!(parent, None),
                "step" | "empty" => assert_eq!(parent, Some("work")),
                "fib" => assert!(matches!(parent, Some("step" | "fib")), "{parent:?}"),
                other => panic!("unexpected frame {other}"),
            }
            stack.push(name);
        }
    }
}
