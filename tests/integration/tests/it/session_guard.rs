//! A session that cannot be dropped by mistake (issue 17, item 9):
//! `#[profiler::main]` keeps the session for the whole of `main`, and a
//! session that ends having recorded nothing says so, with the likely cause.

use std::path::PathBuf;
use std::process::Command;

use integration::{ncalls, scratch};
use profiler::Profile;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_session_guard"))
}

#[test]
fn main_attribute_profiles_the_whole_program() {
    let out = scratch!("attr");
    let o = Command::new(bin())
        .arg("attr")
        .env("PROFILER_OUT", &out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let p = Profile::load(out.join("profile.json")).unwrap();
    assert_eq!(ncalls(&p, "work"), 7);
    assert!(out.join("report.html").is_file());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_session_dropped_at_once_warns_that_it_recorded_nothing() {
    let out = scratch!("dropped");
    let o = Command::new(bin())
        .arg("dropped")
        .env("DROPPED_OUT", &out)
        .env_remove("PROFILER_OUT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("profiler: warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("recorded no calls")
            && warnings[0].contains("let _session = ...")
            && warnings[0].contains("#[profiler::main]"),
        "{stderr}"
    );
    // The (empty) reports were still written: nothing is lost silently.
    let p = Profile::load(out.join("profile.json")).unwrap();
    assert_eq!(ncalls(&p, "work"), 0);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn profiler_out_without_a_session_says_nothing_was_written() {
    let out = scratch!("no-session");
    let o = Command::new(env!("CARGO_BIN_EXE_no_session"))
        .env("PROFILER_OUT", &out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "profiler: warning: PROFILER_OUT is set but no session started, so no report was \
         written; start one (`let _session = profiler::Session::from_env().start();`) or put \
         #[profiler::main] on main\n"
    );
    // Nothing was written into the (existing, empty) folder.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    // Without PROFILER_OUT, nothing to say.
    let o = Command::new(env!("CARGO_BIN_EXE_no_session"))
        .env_remove("PROFILER_OUT")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}
