//! Operating-system probes: thread ids, per-thread CPU time and scheduler
//! states. Cold paths only (thread registration and exit, snapshots, the
//! sampler thread); never called when a scope is entered or left.
//!
//! On Linux everything comes from procfs, except the calling thread's own
//! CPU time, read from its CPU clock (`clock_gettime`, the one `unsafe`
//! call here), which unlike procfs includes the slice running now:
//! - a thread's id: the link `/proc/thread-self` (`<pid>/task/<tid>`);
//! - a thread's CPU time: the first field of `/proc/self/task/<tid>/schedstat`
//!   (nanoseconds on a CPU), or `utime + stime` of `/proc/self/task/<tid>/stat`
//!   (clock ticks of 10 ms) where schedstat is missing;
//! - a thread's scheduler state: the third field of `.../stat` (`R` is
//!   running or runnable);
//! - the machine's runnable tasks: the fourth field of `/proc/loadavg`
//!   (`running/total`).
//!
//! Elsewhere (no procfs) every probe answers `None`: the analysis then falls
//! back to the profiled (inclusive) time, as before, and says so.

mod cores;

pub use cores::available_cores;

use std::path::PathBuf;

/// The calling thread's OS id, when the platform tells it.
pub(crate) fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

fn task_dir(tid: u32) -> PathBuf {
    PathBuf::from(format!("/proc/self/task/{tid}"))
}

/// Nanoseconds on a CPU of thread `tid` of this process, read from any
/// thread while `tid` is alive.
pub(crate) fn thread_cpu_ns(tid: u32) -> Option<u64> {
    let dir = task_dir(tid);
    if let Some(ns) = std::fs::read_to_string(dir.join("schedstat"))
        .ok()
        .and_then(|s| parse_schedstat(&s))
    {
        return Some(ns);
    }
    std::fs::read_to_string(dir.join("stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .map(|st| st.cpu_ns)
}

/// Thread `tid`'s time on a CPU and time waiting on a run queue (runnable
/// but not running), in nanoseconds: the first two fields of its schedstat.
pub(crate) fn thread_sched_ns(tid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(task_dir(tid).join("schedstat")).ok()?;
    let mut it = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// The calling thread's time on a CPU (exact, from its CPU clock) and
/// waiting on a run queue (schedstat), in nanoseconds.
pub(crate) fn current_thread_sched_ns() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    let (cpu, wait) = (it.next()??, it.next()??);
    Some((thread_clock_ns().unwrap_or(cpu), wait))
}

/// The calling thread's CPU time, in nanoseconds.
pub(crate) fn current_thread_cpu_ns() -> Option<u64> {
    thread_clock_ns().or_else(|| {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| parse_schedstat(&s))
    })
}

/// The calling thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`): unlike
/// schedstat, it includes the slice running now.
#[cfg(target_os = "linux")]
fn thread_clock_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the
    // call, and CLOCK_THREAD_CPUTIME_ID is a clock every Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    Some(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

#[cfg(not(target_os = "linux"))]
fn thread_clock_ns() -> Option<u64> {
    None
}

/// The first field of a schedstat file: time on a CPU, in nanoseconds.
pub(crate) fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// What a task's `stat` file says that the analysis uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskStat {
    /// The scheduler state letter (`R`, `S`, `D`, ...).
    pub(crate) state: char,
    /// `utime + stime` in nanoseconds (clock ticks of 10 ms).
    pub(crate) cpu_ns: u64,
}

/// Parses a `stat` line: `pid (comm) S ppid ...`; the name may hold spaces
/// and parentheses, so fields are counted after the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<TaskStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state: ppid pgrp session tty_nr tpgid flags minflt cminflt
    // majflt cmajflt utime stime (fields 4..=15 of proc(5)).
    let mut fields = fields.skip(10);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture this crate builds for.
    Some(TaskStat {
        state,
        cpu_ns: (utime + stime).saturating_mul(10_000_000),
    })
}

/// The number of this process's threads that are running or runnable
/// (state `R`), leaving out `except` (the asking thread). `None` without
/// procfs.
pub(crate) fn runnable_threads(except: Option<u32>) -> Option<u32> {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if Some(tid) == except {
            continue;
        }
        if let Some(st) = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
        {
            if st.state == 'R' {
                n += 1;
            }
        }
    }
    Some(n)
}

/// The machine's running or runnable tasks, the asking one included
/// (`/proc/loadavg`'s fourth field, `running/total`).
pub(crate) fn machine_runnable() -> Option<u32> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

/// The running count of a `/proc/loadavg` line.
pub(crate) fn parse_loadavg(text: &str) -> Option<u32> {
    text.split_whitespace()
        .nth(3)?
        .split_once('/')?
        .0
        .parse()
        .ok()
}

/// The machine's online CPUs (`/sys/devices/system/cpu/online`), whatever
/// this process's affinity mask and cgroup quota: the cores that the
/// machine's runnable tasks compete for.
pub(crate) fn online_cpus() -> Option<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").ok()?;
    cores::parse_cpu_list(text.trim()).and_then(|n| u32::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        assert_eq!(
            parse_schedstat("310673109 74225085 115\n"),
            Some(310_673_109)
        );
        assert_eq!(parse_schedstat(""), None);
        let stat = "4853 (a (b) c) R 4847 4847 2646 0 -1 4194304 98 0 0 0 29 1 0 0 20 0 1 0";
        assert_eq!(
            parse_stat(stat),
            Some(TaskStat {
                state: 'R',
                cpu_ns: 300_000_000
            })
        );
        assert_eq!(parse_stat("1 (x) S"), None);
        assert_eq!(parse_loadavg("1.86 0.59 0.21 3/98 4851\n"), Some(3));
        assert_eq!(parse_loadavg("1 2 3"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn probes_work_on_linux() {
        let tid = current_tid().expect("tid");
        let t0 = current_thread_cpu_ns().expect("own cpu time");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let t1 = thread_cpu_ns(tid).expect("cpu time by tid");
        assert!(t1 > t0, "{t1} > {t0}");
        assert!(machine_runnable().expect("loadavg") >= 1);
        assert!(runnable_threads(None).expect("states") >= 1);
        assert!(online_cpus().expect("online") >= 1);
    }
}
