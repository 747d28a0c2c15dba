//! speedscope: the file validates against speedscope's published JSON
//! schema (vendored in `tests/timeline/`, checked with Python's
//! `jsonschema`), and each thread's open/close events nest, never go back in
//! time and give back exactly its spans.
//!
//! The speedscope schema test needs Python 3 with `jsonschema`
//! (`python3 -m pip install jsonschema`); `PROFILER_TEST_PYTHON` picks
//! another interpreter.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use profiler::emit::speedscope;
use profiler::{Profile, ThreadProfile};
use serde_json::Value;

use super::*;

// --------------------------------------------------------------- speedscope

/// The vendored schema (see tests/timeline/README.md).
fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/timeline/speedscope-file-format-schema.json")
}

/// Validates `files` against `schema` with Python's `jsonschema`: `Ok` with
/// the report, or `Err` with the errors.
fn validate_schema(schema: &Path, files: &[PathBuf]) -> Result<String, String> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/timeline/validate_json_schema.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(schema)
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs Python 3 as `python3` on PATH (or PROFILER_TEST_PYTHON) \
                 with the `jsonschema` package; running `{}` failed: {e}",
                python()
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("No module named 'jsonschema'"),
        "this test needs Python's `jsonschema` package: `{} -m pip install jsonschema` \
         (CI's .ci/run installs it)",
        python()
    );
    match out.status.code() {
        Some(0) => Ok(text),
        Some(1) => Err(text),
        _ => panic!("the schema validator failed: {text}"),
    }
}

/// Checks a speedscope file against `p` (everything but the schema).
pub(super) fn check_speedscope(p: &Profile, text: &str, what: &str) {
    let v: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{what}: speedscope.json: bad JSON: {e}"));
    assert_eq!(
        v["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    let frames = v["shared"]["frames"].as_array().expect("frames");
    assert!(frames.len() >= p.sites.len(), "{what}");
    for (i, s) in p.sites.iter().enumerate() {
        assert_eq!(frames[i]["name"], clean(&s.name), "{what}: frame {i}");
        assert_eq!(frames[i]["file"], s.file, "{what}: frame {i}");
        assert_eq!(frames[i]["line"], s.line, "{what}: frame {i}");
    }
    let profiles = v["profiles"].as_array().expect("profiles");
    let with: Vec<&ThreadProfile> = p
        .threads
        .iter()
        .filter(|t| !t.timeline.is_empty())
        .collect();
    assert_eq!(
        profiles.len(),
        with.len(),
        "{what}: one profile per thread with a timeline"
    );
    let end = expected_end(p);
    let mut names = BTreeSet::new();
    for (prof, t) in profiles.iter().zip(with) {
        let name = prof["name"].as_str().unwrap();
        assert!(
            name.starts_with(&format!("thread {}", t.name)),
            "{what}: {name}"
        );
        assert!(
            names.insert(name.to_owned()),
            "{what}: two profiles named {name}"
        );
        assert_eq!(prof["type"], "evented");
        assert_eq!(prof["unit"], "nanoseconds");
        assert_eq!(prof["startValue"], 0);
        assert_eq!(prof["endValue"], end, "{what}");
        let spans = replay_speedscope(prof["events"].as_array().unwrap(), end, what);
        let mut flat: Vec<(u32, u64, u64)> = spans.iter().map(|&(f, a, b, _)| (f, a, b)).collect();
        flat.sort_unstable();
        assert_eq!(flat, expected_spans(t), "{what}: {name}");
    }
}

/// Replays evented O/C events as speedscope does (a close must close the
/// frame on top; values never decrease) and returns the spans in the order
/// they opened: `(frame, open, close, depth)`.
pub(super) fn replay_speedscope(
    events: &[Value],
    end: u64,
    what: &str,
) -> Vec<(u32, u64, u64, usize)> {
    let mut out: Vec<(u32, u64, u64, usize)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut last = 0;
    for e in events {
        let at = e["at"].as_u64().unwrap();
        let frame = e["frame"].as_u64().unwrap() as u32;
        assert!(at >= last, "{what}: `at` went back to {at}");
        assert!(at <= end, "{what}: `at` {at} past endValue");
        last = at;
        match e["type"].as_str().unwrap() {
            "O" => {
                out.push((frame, at, u64::MAX, open.len()));
                open.push(out.len() - 1);
            }
            "C" => {
                let top = open
                    .pop()
                    .unwrap_or_else(|| panic!("{what}: close with nothing open"));
                assert_eq!(
                    out[top].0, frame,
                    "{what}: closed frame {frame} over another"
                );
                out[top].2 = at;
            }
            other => panic!("{what}: event type {other}"),
        }
    }
    assert!(open.is_empty(), "{what}: frames left open");
    out
}

pub(super) fn speedscope_of(p: &Profile) -> String {
    let mut buf = Vec::new();
    speedscope::write(p, &mut buf).unwrap();
    utf8(buf, "speedscope.json")
}

#[test]
fn speedscope_files_validate_against_the_published_schema() {
    let dir = scratch!("speedscope-schema");
    let mut files = Vec::new();
    for (what, p) in hand_built() {
        let text = speedscope_of(&p);
        check_speedscope(&p, &text, &what);
        let path = dir.join(format!("{}.speedscope.json", what.replace(' ', "-")));
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    match validate_schema(&schema(), &files) {
        Ok(report) => assert_eq!(report.matches(": valid").count(), files.len(), "{report}"),
        Err(errors) => panic!("speedscope files fail the schema:\n{errors}"),
    }
    // The validator does reject what the schema forbids.
    let bad = dir.join("bad.speedscope.json");
    let text = speedscope_of(&sample()).replace("\"nanoseconds\"", "\"parsecs\"");
    std::fs::write(&bad, text).unwrap();
    assert!(validate_schema(&schema(), &[bad]).is_err());
}

#[test]
fn speedscope_of_the_sample_matches_formats_md() {
    let p = sample();
    let v: Value = serde_json::from_str(&speedscope_of(&p)).unwrap();
    let events = v["profiles"][0]["events"].as_array().unwrap();
    let got: Vec<(String, u64, u64)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["frame"].as_u64().unwrap(),
                e["at"].as_u64().unwrap(),
            )
        })
        .collect();
    let expect: Vec<(String, u64, u64)> = [
        ("O", 0, 0),
        ("O", 1, 100),
        ("O", 2, 150),
        ("O", 2, 200),
        ("C", 2, 600),
        ("C", 2, 850),
        ("C", 1, 1000),
        ("C", 0, 1000),
    ]
    .iter()
    .map(|&(k, f, a)| (k.to_owned(), f, a))
    .collect();
    assert_eq!(got, expect);
    assert_eq!(v["profiles"][0]["name"], "thread main");
    assert_eq!(v["profiles"][1]["name"], "thread worker");
    assert_eq!(v["name"], "demo");
}

#[test]
fn ties_nest_as_recorded() {
    // The rich profile's first thread, opened in pre-order with depths:
    // the documented tie rules (emit::timeline) applied to every boundary.
    let p = rich();
    let v: Value = serde_json::from_str(&speedscope_of(&p)).unwrap();
    let spans = replay_speedscope(v["profiles"][0]["events"].as_array().unwrap(), 1500, "rich");
    let expect = [
        (MAIN, 0, 1000, 0),
        (WORK, 0, 400, 1),
        (LEAF, 0, 100, 2),
        (LEAF, 100, 200, 2),
        (UNI, 200, 400, 2),  // longer first at the same start...
        (ZERO, 200, 200, 3), // ...and the zero-length span at its start inside it
        (WORK, 400, 1000, 1),
        (ZERO, 400, 400, 2), // stored after work [0,400]: inside the next work
        (VEC, 500, 600, 2),
        (ZERO, 600, 600, 3), // stored before Vec: inside it, at its end
        (STEP, 1000, 1200, 0),
        (ZERO, 1300, 1300, 0),
    ];
    assert_eq!(spans, expect);
    // Identical intervals: recursion, one inside the other.
    let spans = replay_speedscope(v["profiles"][1]["events"].as_array().unwrap(), 1500, "rich");
    assert_eq!(spans, [(LEAF2, 50, 950, 0), (LEAF2, 50, 950, 1)]);
    // Thread names that repeat, or processes that differ, are told apart.
    let names: Vec<&str> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "thread main (pid 100 tid 1)",
            "thread <unnamed> (pid 100 tid 2)",
            "thread <unnamed> (pid 200 tid 1)",
            "thread dup (pid 200 tid 1)",
        ]
    );
}
