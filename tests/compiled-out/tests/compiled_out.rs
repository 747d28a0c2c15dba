//! With `enable` off, profiled code runs unchanged and records nothing.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use compiled_out::{Grid, fetch, fib, solve};

#[test]
fn guards_are_zero_sized() {
    assert_eq!(std::mem::size_of::<profiler::Guard>(), 0);
    let g = profiler::profile_scope!("scope");
    assert_eq!(std::mem::size_of_val(&g), 0);
}

#[test]
fn nothing_is_recorded() {
    assert_eq!(fib(15), 610);
    let mut xs = [2.0, 4.0];
    assert_eq!(solve(&mut xs), 3.0);
    let mut g = Grid {
        cells: vec![1.0; 4],
    };
    g.relax();
    assert_eq!(g.cells, [0.5; 4]);
    assert!(Grid::empty().cells.is_empty());
    let mut fut = pin!(fetch(1));
    assert_eq!(
        fut.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(2)
    );
    {
        let _g = profiler::profile_scope!("block");
    }

    let p = profiler::snapshot();
    assert!(p.sites.is_empty(), "sites: {:?}", p.sites);
    assert!(p.threads.is_empty(), "threads: {:?}", p.threads);
    assert_eq!(p.stats().total_calls(), 0);
}

/// Every report of a session says that recording was compiled out, so that
/// an empty report is never taken for a program that called nothing.
#[test]
fn every_report_says_recording_was_compiled_out() {
    let dir = std::env::temp_dir().join(format!("compiled-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let _session = profiler::Session::new().output_dir(&dir).start();
        assert_eq!(fib(10), 55);
    }
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let note = profiler::profile::COMPILED_OUT;
    assert!(note.starts_with("recording was compiled out"));
    assert!(read("pstats.txt").starts_with(&format!("Note: {note}.\n")));
    assert!(read("callgrind.out").contains(&format!("\ndesc: Note: {note}\n")));
    assert!(read("flamegraph.svg").contains("recording was compiled out"));
    assert!(read("report.html").contains("<strong>Note: recording was compiled out"));
    let json: serde_json::Value = serde_json::from_str(&read("profile.json")).unwrap();
    assert_eq!(json["profile"]["meta"]["compiled_out"], true, "{json}");
    // Nothing to record, so the session never measured the probe's cost
    // (which registers a site of its own).
    assert!(json["profile"]["meta"]["probe_cost"].is_null(), "{json}");
    assert!(profiler::snapshot().sites.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

/// The arguments and the item are still checked without `enable`: the same
/// errors as with it.
#[test]
fn attribute_errors_are_still_reported() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
}
