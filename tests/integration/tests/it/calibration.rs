//! When the probe's cost is measured: a session that only reports it
//! measures it once, when it ends, never at its start (where it cost every
//! program about 20 ms before its first line) nor during its run; one that
//! subtracts it measures it before the run. The measurement registers a call
//! site of its own, which is how these tests see whether it ran.

use profiler::{Session, profile};

fn calibrated() -> bool {
    profiler::snapshot()
        .sites
        .iter()
        .any(|s| s.name == "<profiler calibration>")
}

#[profile]
fn some_work(n: u64) -> u64 {
    (0..n).fold(0, |a, x| a ^ x.rotate_left(3))
}

#[test]
fn reporting_sessions_measure_the_probe_when_they_end() {
    if integration::ran_in_own_process(
        module_path!(),
        "reporting_sessions_measure_the_probe_when_they_end",
    ) {
        return;
    }
    let dir = integration::scratch!("report-only");
    {
        let _s = Session::new().output_dir(&dir).start();
        assert!(!calibrated(), "measured at the session's start");
        std::hint::black_box(some_work(1000));
        assert!(!calibrated(), "measured during the run");
    }
    assert!(calibrated(), "not measured when the session ended");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("profile.json")).unwrap()).unwrap();
    let cost = &json["profile"]["meta"]["probe_cost"];
    assert!(cost["outer_ns"].as_f64().is_some(), "{cost}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn compensating_sessions_measure_the_probe_before_the_run() {
    if integration::ran_in_own_process(
        module_path!(),
        "compensating_sessions_measure_the_probe_before_the_run",
    ) {
        return;
    }
    let _s = Session::new().compensate(true).start();
    assert!(calibrated(), "not measured before a compensated run");
}

#[test]
fn a_session_with_recording_off_never_measures_it() {
    if integration::ran_in_own_process(
        module_path!(),
        "a_session_with_recording_off_never_measures_it",
    ) {
        return;
    }
    let dir = integration::scratch!("off");
    profiler::set_enabled(false);
    {
        let _s = Session::new().output_dir(&dir).start();
        std::hint::black_box(some_work(10));
    }
    assert!(!calibrated());
    std::fs::remove_dir_all(&dir).ok();
}
