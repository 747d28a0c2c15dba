//! Chrome trace event JSON: the JSON parses; `ts`/`dur` are microseconds
//! with at most three decimals; process and thread metadata name every
//! process and thread; the `X` events of each thread are exactly its spans,
//! and each lies inside its parent (no partial overlaps), as Perfetto nests
//! them.

use std::collections::{BTreeMap, BTreeSet};

use profiler::emit::chrome;
use profiler::{Profile, Span, ThreadProfile};
use regex::Regex;
use serde_json::Value;

use super::*;

// ------------------------------------------------------------- chrome trace

/// A complete event as read back.
#[derive(Clone, Debug)]
struct XEvent {
    name: String,
    start: u64,
    dur: u64,
}

/// Microseconds as written (`12.345`) to nanoseconds, exactly; `None` if
/// the text is not a plain decimal with at most three decimals.
fn micros_to_ns(text: &str) -> Option<u64> {
    let re = Regex::new(r"^(0|[1-9][0-9]*)(?:\.([0-9]{1,3}))?$").unwrap();
    let c = re.captures(text)?;
    let us: u64 = c[1].parse().ok()?;
    let frac = c.get(2).map_or("", |m| m.as_str());
    let ns: u64 = format!("{frac:0<3}").parse().ok()?;
    Some(us * 1000 + ns)
}

/// Checks a Chrome trace against `p` and returns the number of X events.
pub(super) fn check_chrome(p: &Profile, text: &str, what: &str) -> usize {
    let v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: trace.json: bad JSON: {e}"));
    assert_eq!(v["displayTimeUnit"], "ns", "{what}");
    let other = v["otherData"].as_object().expect("otherData");
    assert!(
        other["program"].is_string() && other["clock"].is_string(),
        "{what}"
    );
    let dropped: u64 = p.threads.iter().map(|t| t.timeline_dropped).sum();
    assert_eq!(other["timeline_dropped"], dropped, "{what}");
    let events = v["traceEvents"].as_array().expect("traceEvents");

    // Every ts and dur as written: microseconds, at most three decimals.
    let raw = Regex::new(r#""(ts|dur)":([^,}]*)"#).unwrap();
    let mut n_times = 0;
    for c in raw.captures_iter(text) {
        assert!(
            micros_to_ns(&c[2]).is_some(),
            "{what}: {} written as {:?}",
            &c[1],
            &c[2]
        );
        n_times += 1;
    }

    let mut process_names: BTreeMap<u64, String> = BTreeMap::new();
    let mut thread_names: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut sort_index: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut x: BTreeMap<(u64, u64), Vec<XEvent>> = BTreeMap::new();
    for e in events {
        let pid = e["pid"].as_u64().expect("pid");
        let tid = e["tid"].as_u64().expect("tid");
        match e["ph"].as_str().expect("ph") {
            "M" => {
                let args = &e["args"];
                match e["name"].as_str().unwrap() {
                    "process_name" => {
                        let name = args["name"].as_str().unwrap().to_owned();
                        assert!(
                            process_names.insert(pid, name).is_none(),
                            "{what}: two process_name"
                        );
                    }
                    "thread_name" => {
                        let name = args["name"].as_str().unwrap().to_owned();
                        assert!(
                            thread_names.insert((pid, tid), name).is_none(),
                            "{what}: two thread_name"
                        );
                    }
                    "thread_sort_index" => {
                        let i = args["sort_index"].as_u64().unwrap();
                        assert!(sort_index.insert((pid, tid), i).is_none(), "{what}");
                    }
                    other => panic!("{what}: unexpected metadata {other}"),
                }
            }
            "X" => {
                assert_eq!(e["cat"], "fn", "{what}");
                // No args: speedscope would append them to the names.
                assert!(e.get("args").is_none(), "{what}: args in {e}");
                let ns = |k: &str| {
                    let n = e[k]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{what}: {k} in {e}"));
                    (n * 1000.0).round() as u64
                };
                x.entry((pid, tid)).or_default().push(XEvent {
                    name: e["name"].as_str().unwrap().to_owned(),
                    start: ns("ts"),
                    dur: ns("dur"),
                });
            }
            other => panic!("{what}: unexpected phase {other}"),
        }
    }
    let n_x: usize = x.values().map(Vec::len).sum();
    assert_eq!(n_times, 2 * n_x, "{what}: ts and dur of every X event");

    // One process_name per process, one thread per profile thread.
    let pids: BTreeSet<u64> = p.threads.iter().map(|t| u64::from(t.pid)).collect();
    assert_eq!(
        process_names.keys().copied().collect::<BTreeSet<_>>(),
        pids,
        "{what}"
    );
    assert_eq!(thread_names.len(), p.threads.len(), "{what}");
    assert_eq!(sort_index.len(), p.threads.len(), "{what}");
    let mut track_of = vec![None; p.threads.len()];
    for (&(pid, tid), &i) in &sort_index {
        let t = &p.threads[i as usize];
        assert_eq!(pid, u64::from(t.pid), "{what}: thread {i}'s pid");
        assert_eq!(
            thread_names[&(pid, tid)],
            t.name,
            "{what}: thread {i}'s name"
        );
        track_of[i as usize] = Some((pid, tid));
    }

    for (i, t) in p.threads.iter().enumerate() {
        let track = track_of[i].unwrap();
        let got = x.remove(&track).unwrap_or_default();
        // The events are the spans, named as their sites.
        let mut spans: Vec<(String, u64, u64)> = got
            .iter()
            .map(|e| (e.name.clone(), e.start, e.start + e.dur))
            .collect();
        spans.sort_unstable();
        let mut expected: Vec<(String, u64, u64)> = expected_spans(t)
            .into_iter()
            .map(|(s, a, b)| (clean(&p.sites[s as usize].name), a, b))
            .collect();
        expected.sort_unstable();
        assert_eq!(spans, expected, "{what}: thread {i}");
        check_x_nesting(&got, &format!("{what}: thread {i}"));
    }
    assert!(x.is_empty(), "{what}: events on unknown tracks: {x:?}");
    n_x
}

/// Every X event of a track lies inside its parent: sorted by start (longer
/// first, then file order), each event is inside the innermost open event
/// that has not ended, and never overlaps one that has.
fn check_x_nesting(events: &[XEvent], what: &str) {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (events[i].start, std::cmp::Reverse(events[i].dur)));
    let mut stack: Vec<usize> = Vec::new();
    for i in order {
        let e = &events[i];
        let end = e.start + e.dur;
        while let Some(&top) = stack.last() {
            let t = &events[top];
            if end <= t.start + t.dur {
                break; // inside its parent
            }
            assert!(
                e.start >= t.start + t.dur,
                "{what}: {e:?} overlaps {t:?} without nesting"
            );
            stack.pop();
        }
        stack.push(i);
    }
}

pub(super) fn chrome_of(p: &Profile) -> String {
    let mut buf = Vec::new();
    chrome::write(p, &mut buf).unwrap();
    utf8(buf, "trace.json")
}

#[test]
fn chrome_trace_of_the_sample() {
    let p = sample();
    let text = chrome_of(&p);
    assert_eq!(check_chrome(&p, &text, "sample"), 5);
    // docs/formats.md's event shapes, with exact microseconds.
    assert!(
        text.contains(r#"{"name":"a","cat":"fn","ph":"X","ts":0.1,"dur":0.9,"pid":4242,"tid":1}"#)
    );
    assert!(text.contains(r#""ts":0.15,"dur":0.7,"#));
    assert!(
        text.contains(
            r#"{"name":"process_name","ph":"M","pid":4242,"tid":0,"args":{"name":"demo"}}"#
        )
    );
    assert!(text.contains(
        r#"{"name":"thread_name","ph":"M","pid":4242,"tid":2,"args":{"name":"worker"}}"#
    ));
}

#[test]
fn chrome_trace_of_every_profile() {
    for (what, p) in hand_built() {
        let text = chrome_of(&p);
        check_chrome(&p, &text, &what);
    }
}

#[test]
fn chrome_trace_keeps_names_processes_and_drops() {
    let p = rich();
    let text = chrome_of(&p);
    let v: Value = serde_json::from_str(&text).unwrap();
    // Two processes, named after the program.
    let procs: Vec<&Value> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "process_name")
        .collect();
    assert_eq!(procs.len(), 2);
    assert!(procs.iter().all(|e| e["args"]["name"] == "rich"));
    // Non-ASCII and escaped names survive.
    assert!(text.contains("ünïcødé 名前"));
    assert!(
        text.contains(r#""name":"Vec<[u8; 8]>::push & \"q\" ""#),
        "{text}"
    );
    // Dropped scopes are reported, per thread too.
    assert_eq!(v["otherData"]["timeline_dropped"], 5);
    assert_eq!(v["otherData"]["timeline_dropped_by_thread"]["200:1"], 5);
    // Thread 5 shares pid 200 and id 1 with thread 3: a fresh tid.
    let dup = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "thread_name" && e["args"]["name"] == "dup")
        .unwrap();
    assert_eq!(
        (dup["pid"].as_u64(), dup["tid"].as_u64()),
        (Some(200), Some(8))
    );
    // The thread without a timeline has metadata only.
    let nt = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tid"] == 7)
        .count();
    assert_eq!(nt, 2);
}

#[test]
fn micros_are_written_exactly() {
    assert_eq!(micros_to_ns("12.345"), Some(12_345));
    assert_eq!(micros_to_ns("0.1"), Some(100));
    assert_eq!(micros_to_ns("7"), Some(7000));
    assert_eq!(micros_to_ns("1.2345"), None);
    assert_eq!(micros_to_ns("1e3"), None);
    // Large times stay exact in the text.
    let sites = vec![site("x", "x.rs", 1)];
    let big = 86_400_000_000_123; // a day and 123 ns
    let t = ThreadProfile::new(1, "t", 1, Vec::new()).with_timeline(vec![Span::new(0, big, 1)], 0);
    let p = Profile::new(meta("big", 0), sites, vec![t]);
    let text = chrome_of(&p);
    assert!(
        text.contains(r#""ts":86400000000.123,"dur":0.001,"#),
        "{text}"
    );
}
