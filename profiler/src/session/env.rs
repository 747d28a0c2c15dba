//! Reading a session's settings from `PROFILER_*` environment variables.
//!
//! Every variable is checked when the session is configured; a value that
//! cannot be used becomes one line naming the variable, the value and the
//! fix, printed when the session starts (the setting keeps its default).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::config::{OUT, Session};

/// A variable's value, if set and not empty.
fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// A variable's value as text, or a problem line if it is not UTF-8.
fn text(name: &str, problems: &mut Vec<String>) -> Option<String> {
    let v = var(name)?;
    match v.into_string() {
        Ok(s) => Some(s.trim().to_owned()),
        Err(v) => {
            problems.push(format!(
                "{name}={}: not valid UTF-8; unset it or give a plain value",
                v.to_string_lossy()
            ));
            None
        }
    }
}

/// A `0`/`1` switch.
fn switch(name: &str, problems: &mut Vec<String>) -> Option<bool> {
    let v = text(name, problems)?;
    match v.as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => {
            problems.push(format!(
                "{name}={v}: not a switch; set it to 1 (on) or 0 (off)"
            ));
            None
        }
    }
}

/// A whole number no smaller than `min`.
fn number(
    name: &str,
    what: &str,
    example: u64,
    min: u64,
    problems: &mut Vec<String>,
) -> Option<u64> {
    let v = text(name, problems)?;
    match v.parse::<u64>() {
        Ok(n) if n >= min => Some(n),
        _ => {
            problems.push(format!(
                "{name}={v}: not a whole number of {what}{}; set it to e.g. {example}, or unset it",
                if min > 0 {
                    format!(" (at least {min})")
                } else {
                    String::new()
                }
            ));
            None
        }
    }
}

/// A signal name for `PROFILER_DUMP_SIGNAL`: `USR1`, `SIGUSR2`, or a number.
pub(crate) fn parse_dump_signal(v: &str) -> Option<i32> {
    let name = v.trim().to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    super::signals::dump_signal_number(name).or_else(|| {
        name.parse::<i32>()
            .ok()
            .filter(|&n| super::signals::is_dump_signal(n))
    })
}

impl Session {
    /// A session configured from the environment: `PROFILER_OUT=dir` writes
    /// every report into `dir` when the session ends (`%p` in `dir` becomes
    /// the process id); the README lists the other `PROFILER_*` variables.
    /// A value that cannot be used is reported, one line naming the variable
    /// and the fix, when the session starts.
    pub fn from_env() -> Self {
        from_env()
    }
}

/// The session that the environment describes, and the problems found.
fn from_env() -> Session {
    let mut s = Session::new();
    let mut problems = Vec::new();
    if let Some(dir) = var(OUT) {
        s.output_dir = Some(PathBuf::from(dir));
        s.output_from_env = true;
    }
    s.callgrind_per_thread = switch("PROFILER_CALLGRIND_THREADS", &mut problems).unwrap_or(false);
    let min_ns = number(
        "PROFILER_TIMELINE_MIN_NS",
        "nanoseconds",
        5000,
        0,
        &mut problems,
    );
    let timeline = switch("PROFILER_TIMELINE", &mut problems);
    if timeline == Some(true) || (timeline.is_none() && min_ns.is_some()) {
        let mut cfg = crate::TimelineConfig::default();
        if let Some(ns) = min_ns {
            cfg = cfg.min_duration(Duration::from_nanos(ns));
        }
        s.timeline = Some(cfg);
    }
    s.compensate = switch("PROFILER_COMPENSATE", &mut problems).unwrap_or(false);
    if let Some(on) = switch("PROFILER_SIGNALS", &mut problems) {
        s.signals = on;
    }
    s.checkpoint_every =
        number("PROFILER_CHECKPOINT_S", "seconds", 60, 1, &mut problems).map(Duration::from_secs);
    if let Some(v) = text("PROFILER_DUMP_SIGNAL", &mut problems) {
        match parse_dump_signal(&v) {
            Some(sig) => s.dump_signal = Some(sig),
            None => problems.push(format!(
                "PROFILER_DUMP_SIGNAL={v}: not a signal the profiler can take; set it to USR1 or USR2"
            )),
        }
    }
    if let Some(v) = text("PROFILER_CLOCK", &mut problems) {
        if v != "monotonic" && v != "tsc" {
            problems.push(format!(
                "PROFILER_CLOCK={v}: not a clock; set it to monotonic, or unset it for the TSC"
            ));
        }
    }
    s.problems = problems;
    s
}
