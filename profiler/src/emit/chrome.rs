//! Chrome trace event JSON (`trace.json`) for the Perfetto UI
//! (ui.perfetto.dev), `chrome://tracing` and speedscope.
//!
//! The file is the object form of the format:
//!
//! ```json
//! {"displayTimeUnit":"ns",
//!  "otherData":{"program":"demo","clock":"tsc","profiler_version":"0.1.0","start_unix_s":1700000000.5,"timeline_dropped":0},
//!  "traceEvents":[
//!   {"name":"process_name","ph":"M","pid":4242,"tid":0,"args":{"name":"demo"}},
//!   {"name":"thread_name","ph":"M","pid":4242,"tid":1,"args":{"name":"main"}},
//!   {"name":"thread_sort_index","ph":"M","pid":4242,"tid":1,"args":{"sort_index":0}},
//!   {"name":"main","cat":"fn","ph":"X","ts":0,"dur":1,"pid":4242,"tid":1},
//!   {"name":"a","cat":"fn","ph":"X","ts":0.1,"dur":0.9,"pid":4242,"tid":1}]}
//! ```
//!
//! - Every process (distinct [`ThreadProfile::pid`](crate::ThreadProfile::pid))
//!   gets a `process_name` event (the program's name), and every thread a
//!   `thread_name` and a `thread_sort_index` (its place in
//!   [`Profile::threads`]), so the tracks keep the profile's thread order.
//!   `tid` is the thread's [`id`](crate::ThreadProfile::id); two threads of one
//!   process with the same id (possible in merged profiles) get distinct
//!   `tid`s above the largest id.
//! - In a profile of an MPI program, each rank is one process (its `pid`
//!   is the rank plus one), named `rank 3 @ host` and sorted by rank, its
//!   threads inside;
//!   each paired MPI message (see [`Profile::mpi_messages`]) is a flow
//!   arrow (`"ph":"s"` and `"ph":"f"` with `"bp":"e"`, category `mpi`, one
//!   `id` per message, `args` with the ranks, tag and bytes) from the middle
//!   of its send call to the middle of the call that completed its receive,
//!   each end inside (and bound to) that call's slice.
//! - Every span of a thread's timeline is one complete (`"ph":"X"`) event in
//!   category `fn`. `ts` and `dur` are in microseconds, written exactly from
//!   the integer nanoseconds (`12.345`, `0.1`, `7`): no floating-point
//!   rounding. Events are written in pre-order (by start, an enclosing span
//!   before the spans inside it) and nest properly on each thread (see
//!   [`emit::timeline`](crate::emit::timeline) for how ties are broken). Threads without a
//!   timeline get only their metadata events.
//! - Spans have no `args`: viewers that import Chrome traces as profiles
//!   (speedscope, and others built on its importer) append the JSON of a
//!   span's `args` to its frame name (`a {"file":"src/main.rs","line":20}`),
//!   so names stay clean only without them. A span's file and line are in
//!   every other report (pstats, callgrind, `report.html`); speedscope users
//!   have [`emit::speedscope`](crate::emit::speedscope), which carries them
//!   as frame fields.
//! - `otherData` carries the program, clock, crate version, start time and
//!   the number of scopes left off the timelines by the memory cap
//!   (`timeline_dropped`, and per thread, keyed `"<pid>:<tid>"`, in
//!   `timeline_dropped_by_thread` when any were).

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::names;
use super::{Lines, json};
use crate::emit::timeline;
use crate::profile::Profile;

/// `otherData`: what the trace is of.
#[derive(Serialize)]
struct OtherData<'a> {
    program: &'a str,
    clock: &'a str,
    profiler_version: &'a str,
    start_unix_s: f64,
    timeline_dropped: u64,
    #[serde(skip_serializing_if = "InOrder::is_empty")]
    timeline_dropped_by_thread: InOrder,
}

/// A JSON object whose members keep their order.
struct InOrder(Vec<(String, u64)>);

impl InOrder {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for InOrder {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A metadata (`"ph":"M"`) event.
#[derive(Serialize)]
struct Metadata<'a> {
    name: &'static str,
    ph: &'static str,
    pid: u32,
    tid: u64,
    args: MetaArgs<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum MetaArgs<'a> {
    Name { name: &'a str },
    SortIndex { sort_index: usize },
}

/// A complete (`"ph":"X"`) event: one span.
#[derive(Serialize)]
struct Complete<'a> {
    name: &'a str,
    cat: &'static str,
    ph: &'static str,
    ts: Micros,
    dur: Micros,
    pid: u32,
    tid: u64,
}

/// Writes `profile`'s timelines as Chrome trace event JSON to `w` (see the
/// module docs). Every value goes through serde; only the layout (one event
/// per line) is written here.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let tids = tids(profile);
    let program = if profile.meta.program.is_empty() {
        "process"
    } else {
        profile.meta.program.as_str()
    };
    let other = OtherData {
        program,
        clock: &profile.meta.clock,
        profiler_version: &profile.meta.crate_version,
        start_unix_s: finite_or_zero(profile.meta.start_unix_s),
        timeline_dropped: profile.threads.iter().map(|t| t.timeline_dropped).sum(),
        timeline_dropped_by_thread: InOrder(
            profile
                .threads
                .iter()
                .zip(&tids)
                .filter(|(t, _)| t.timeline_dropped > 0)
                .map(|(t, tid)| (format!("{}:{}", t.pid, tid), t.timeline_dropped))
                .collect(),
        ),
    };
    w.write_all(b"{\"displayTimeUnit\":\"ns\",\"otherData\":")?;
    json(w, &other)?;
    w.write_all(b",\"traceEvents\":[")?;

    let mut events = Lines::default();

    let mut seen_pids = HashSet::new();
    for t in &profile.threads {
        if seen_pids.insert(pid(t)) {
            let label = match t.rank {
                Some(r) => format!("rank {r} @ {}", profile.rank_host(r)),
                None => program.to_owned(),
            };
            let m = Metadata {
                name: "process_name",
                ph: "M",
                pid: pid(t),
                tid: 0,
                args: MetaArgs::Name { name: &label },
            };
            events.item(w, &m)?;
            if let Some(r) = t.rank {
                let order = Metadata {
                    name: "process_sort_index",
                    ph: "M",
                    pid: pid(t),
                    tid: 0,
                    args: MetaArgs::SortIndex {
                        sort_index: r as usize,
                    },
                };
                events.item(w, &order)?;
            }
        }
    }
    for (i, (t, &tid)) in profile.threads.iter().zip(&tids).enumerate() {
        let name = Metadata {
            name: "thread_name",
            ph: "M",
            pid: pid(t),
            tid,
            args: MetaArgs::Name { name: &t.name },
        };
        events.item(w, &name)?;
        let order = Metadata {
            name: "thread_sort_index",
            ph: "M",
            pid: pid(t),
            tid,
            args: MetaArgs::SortIndex { sort_index: i },
        };
        events.item(w, &order)?;
    }

    // Per site, its name, made once.
    let mut sites: HashMap<u32, String> = HashMap::new();
    for (t, &tid) in profile.threads.iter().zip(&tids) {
        for p in timeline::nest(t) {
            let name = sites
                .entry(p.site)
                .or_insert_with(|| names::site_name(profile, p.site));
            let span = Complete {
                name,
                cat: "fn",
                ph: "X",
                ts: Micros(p.start),
                dur: Micros(p.end - p.start),
                pid: pid(t),
                tid,
            };
            events.item(w, &span)?;
        }
    }
    flows(profile, &tids, w, &mut events)?;
    w.write_all(b"\n]}\n")?;
    w.flush()
}

/// A flow event (`"ph":"s"` or `"f"`): one end of a message's arrow.
#[derive(Serialize)]
struct Flow {
    name: &'static str,
    cat: &'static str,
    ph: &'static str,
    id: usize,
    ts: Micros,
    pid: u32,
    tid: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    bp: Option<&'static str>,
    args: FlowArgs,
}

/// A message's figures, on both ends of its arrow.
#[derive(Serialize)]
struct FlowArgs {
    from: u32,
    to: u32,
    tag: i32,
    bytes: u64,
}

/// One arrow per paired MPI message (see [`Profile::mpi_messages`]), from
/// the middle of its send call to the middle of the call that completed
/// its receive: each end inside its call's slice, which it binds to.
fn flows(profile: &Profile, tids: &[u64], w: &mut dyn Write, events: &mut Lines) -> io::Result<()> {
    if profile.mpi.iter().all(|m| m.messages.is_empty()) {
        return Ok(());
    }
    let threads = profile.threads_by_rank();
    let mid = |a: u64, b: u64| a + b.saturating_sub(a) / 2;
    for (id, m) in profile.mpi_messages().paired.iter().enumerate() {
        let (Some(s), Some(r)) = (
            threads.find(m.from, m.send_thread),
            threads.find(m.to, m.recv_thread),
        ) else {
            continue;
        };
        // One end of the arrow, on thread `ti` at `ts`.
        let end = |ph, ti: usize, ts, bp| Flow {
            name: "MPI message",
            cat: "mpi",
            ph,
            id,
            ts: Micros(ts),
            pid: pid(&profile.threads[ti]),
            tid: tids[ti],
            bp,
            args: FlowArgs {
                from: m.from,
                to: m.to,
                tag: m.tag,
                bytes: m.bytes,
            },
        };
        events.item(w, &end("s", s, mid(m.send_start_ns, m.send_end_ns), None))?;
        events.item(
            w,
            &end("f", r, mid(m.recv_start_ns, m.recv_end_ns), Some("e")),
        )?;
    }
    Ok(())
}

/// The trace's `pid` of a thread: its rank + 1 for a thread of an MPI
/// rank (one process per rank, whatever the processes' ids; 0 is left
/// out, the idle process to some viewers), else its process id.
fn pid(t: &crate::ThreadProfile) -> u32 {
    t.rank.map_or(t.pid, |r| r.saturating_add(1))
}

/// The `tid` of every thread: its id, or a fresh number when another thread
/// of the same process already has that id.
fn tids(profile: &Profile) -> Vec<u64> {
    let mut used: HashSet<(u32, u64)> = HashSet::new();
    let mut next = profile
        .threads
        .iter()
        .map(|t| t.id)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    profile
        .threads
        .iter()
        .map(|t| {
            let mut tid = t.id;
            if !used.insert((pid(t), tid)) {
                tid = next;
                next += 1;
                used.insert((pid(t), tid));
            }
            tid
        })
        .collect()
}

/// Nanoseconds written as microseconds, exactly: `12345` as `12.345`, `100`
/// as `0.1`, `7000` as `7`. A whole number is an integer; below 10^15 ns
/// (11 days) a fraction is the double nearest the decimal, which JSON
/// writes with the shortest digits that read back as that double: the
/// decimal itself (15 significant digits at most); beyond, the decimal's
/// digits are written as they are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Micros(pub(crate) u64);

impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_u64(self.0 / 1000)
        } else if self.0 < 1_000_000_000_000_000 {
            s.serialize_f64(self.0 as f64 / 1000.0)
        } else {
            let digits = serde_json::value::RawValue::from_string(self.to_string())
                .map_err(serde::ser::Error::custom)?;
            digits.serialize(s)
        }
    }
}

impl std::fmt::Display for Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (us, ns) = (self.0 / 1000, self.0 % 1000);
        match ns {
            0 => write!(f, "{us}"),
            n if n % 100 == 0 => write!(f, "{us}.{}", n / 100),
            n if n % 10 == 0 => write!(f, "{us}.{:02}", n / 10),
            n => write!(f, "{us}.{n:03}"),
        }
    }
}

/// A JSON number for `x` (`0` for a value JSON cannot hold).
fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, SiteInfo, Span, ThreadProfile};

    #[test]
    fn micros_are_exact() {
        let s = |n| serde_json::to_string(&Micros(n)).unwrap();
        assert_eq!(s(0), "0");
        assert_eq!(s(7000), "7");
        assert_eq!(s(100), "0.1");
        assert_eq!(s(120), "0.12");
        assert_eq!(s(12_345), "12.345");
        assert_eq!(s(1_000_001), "1000.001");
        assert_eq!(s(999_999_999_999_999), "999999999999.999");
        assert_eq!(s(u64::MAX), "18446744073709551.615");
    }

    #[test]
    fn writes_the_sample_shape() {
        let meta = Metadata {
            program: "demo".into(),
            ..Metadata::default()
        };
        let sites = vec![
            SiteInfo::new("main", "m", "src/demo.rs", 10),
            SiteInfo::new("a\"b", "m", "src/demo.rs", 20),
        ];
        let t1 = ThreadProfile::new(1, "main", 4242, Vec::new())
            .with_timeline(vec![Span::new(1, 100, 900), Span::new(0, 0, 1000)], 0);
        let t2 = ThreadProfile::new(1, "dup", 4242, Vec::new());
        let p = Profile::new(meta, sites, vec![t1, t2]);
        let mut out = Vec::new();
        write(&p, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let ev = v["traceEvents"].as_array().unwrap();
        assert_eq!(ev.len(), 1 + 2 * 2 + 2);
        assert_eq!(ev[3]["tid"], 2, "a duplicate id gets a fresh tid");
        assert!(
            text.contains(
                r#"{"name":"main","cat":"fn","ph":"X","ts":0,"dur":1,"pid":4242,"tid":1}"#
            )
        );
        assert!(text.contains(r#""name":"a\"b","cat":"fn","ph":"X","ts":0.1,"dur":0.9,"#));
    }
}
