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
//!   {"name":"main","cat":"fn","ph":"X","ts":0,"dur":1,"pid":4242,"tid":1,"args":{"file":"src/main.rs","line":10}},
//!   {"name":"a","cat":"fn","ph":"X","ts":0.1,"dur":0.9,"pid":4242,"tid":1,"args":{"file":"src/main.rs","line":20}}]}
//! ```
//!
//! - Every process (distinct [`ThreadProfile::pid`](crate::ThreadProfile::pid))
//!   gets a `process_name` event (the program's name), and every thread a
//!   `thread_name` and a `thread_sort_index` (its place in
//!   [`Profile::threads`]), so the tracks keep the profile's thread order.
//!   `tid` is the thread's [`id`](crate::ThreadProfile::id); two threads of one
//!   process with the same id (possible in merged profiles) get distinct
//!   `tid`s above the largest id.
//! - Every span of a thread's timeline is one complete (`"ph":"X"`) event in
//!   category `fn`. `ts` and `dur` are in microseconds, written exactly from
//!   the integer nanoseconds (`12.345`, `0.1`, `7`): no floating-point
//!   rounding. Events are written in pre-order (by start, an enclosing span
//!   before the spans inside it) and nest properly on each thread (see
//!   [`emit::timeline`](crate::emit::timeline) for how ties are broken). Threads without a
//!   timeline get only their metadata events.
//! - `args` holds the site's `file` and `line`, shown in Perfetto's details
//!   panel. **speedscope** appends the JSON of `args` to the frame name
//!   (`a {"file":"src/main.rs","line":20}`) and keys frames by name and args;
//!   since both are constant per site, a site is still one frame (args that
//!   vary per call would split frames, and these do not), only the names get
//!   longer. For speedscope, prefer [`emit::speedscope`](crate::emit::speedscope).
//! - `otherData` carries the program, clock, crate version, start time and
//!   the number of scopes left off the timelines by the memory cap
//!   (`timeline_dropped`, and per thread, keyed `"<pid>:<tid>"`, in
//!   `timeline_dropped_by_thread` when any were).

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

use super::names;
use crate::emit::timeline;
use crate::error::Error;
use crate::profile::Profile;

/// Writes `profile`'s timelines as Chrome trace event JSON to `w` (see the
/// module docs).
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let total_dropped: u64 = profile.threads.iter().map(|t| t.timeline_dropped).sum();
    let tids = tids(profile);
    let program = if profile.meta.program.is_empty() {
        "process"
    } else {
        profile.meta.program.as_str()
    };

    write!(w, "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{")?;
    write!(
        w,
        "\"program\":{},\"clock\":{},\"profiler_version\":{},\"start_unix_s\":{},\"timeline_dropped\":{}",
        json(program),
        json(&profile.meta.clock),
        json(&profile.meta.crate_version),
        json_f64(profile.meta.start_unix_s),
        total_dropped
    )?;
    if total_dropped > 0 {
        write!(w, ",\"timeline_dropped_by_thread\":{{")?;
        let mut first = true;
        for (t, tid) in profile.threads.iter().zip(&tids) {
            if t.timeline_dropped > 0 {
                let key = format!("{}:{}", t.pid, tid);
                write!(
                    w,
                    "{}{}:{}",
                    if first { "" } else { "," },
                    json(&key),
                    t.timeline_dropped
                )?;
                first = false;
            }
        }
        write!(w, "}}")?;
    }
    write!(w, "}},\"traceEvents\":[")?;

    let mut first = true;
    let mut sep = |w: &mut dyn Write| -> io::Result<()> {
        let s = if first { "\n" } else { ",\n" };
        first = false;
        w.write_all(s.as_bytes())
    };

    let mut seen_pids = HashSet::new();
    for t in &profile.threads {
        if seen_pids.insert(t.pid) {
            sep(w)?;
            write!(
                w,
                "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"tid\":0,\"args\":{{\"name\":{}}}}}",
                t.pid,
                json(program)
            )?;
        }
    }
    for (i, (t, tid)) in profile.threads.iter().zip(&tids).enumerate() {
        sep(w)?;
        write!(
            w,
            "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}}}",
            t.pid,
            tid,
            json(&t.name)
        )?;
        sep(w)?;
        write!(
            w,
            "{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{\"sort_index\":{}}}}}",
            t.pid, tid, i
        )?;
    }

    // Per site: `"name":…,"cat":"fn","ph":"X"` and `"args":{…}`, escaped once.
    let mut heads: HashMap<u32, (String, String)> = HashMap::new();
    for (t, tid) in profile.threads.iter().zip(&tids) {
        for p in timeline::nest(t) {
            let (head, args) = heads.entry(p.site).or_insert_with(|| {
                let name = names::site_name(profile, p.site);
                let args = match profile.sites.get(p.site as usize) {
                    Some(s) => format!(
                        "{{\"file\":{},\"line\":{}}}",
                        json(&names::clean(&s.file)),
                        s.line
                    ),
                    None => "{}".to_owned(),
                };
                (
                    format!("{{\"name\":{},\"cat\":\"fn\",\"ph\":\"X\"", json(&name)),
                    args,
                )
            });
            sep(w)?;
            write!(
                w,
                "{head},\"ts\":{},\"dur\":{},\"pid\":{},\"tid\":{},\"args\":{args}}}",
                Micros(p.start),
                Micros(p.end - p.start),
                t.pid,
                tid
            )?;
        }
    }
    writeln!(w, "\n]}}")?;
    w.flush()
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
            if !used.insert((t.pid, tid)) {
                tid = next;
                next += 1;
                used.insert((t.pid, tid));
            }
            tid
        })
        .collect()
}

/// Nanoseconds written as microseconds, exactly: `12345` as `12.345`, `100`
/// as `0.1`, `7000` as `7`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Micros(pub(crate) u64);

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

/// A JSON string literal.
fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A JSON number (`0` for a value JSON cannot hold).
fn json_f64(x: f64) -> String {
    if x.is_finite() {
        serde_json::to_string(&x).unwrap_or_else(|_| "0".to_owned())
    } else {
        "0".to_owned()
    }
}

impl Profile {
    /// Writes the timelines as Chrome trace event JSON to `path`, atomically
    /// (see [`emit::chrome`](crate::emit::chrome)): open it in the Perfetto
    /// UI, `chrome://tracing` or speedscope.
    pub fn write_chrome_trace(&self, path: &Path) -> Result<(), Error> {
        crate::emit::write_atomic(path, |w| write(self, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, SiteInfo, Span, ThreadProfile};

    #[test]
    fn micros_are_exact() {
        let s = |n| Micros(n).to_string();
        assert_eq!(s(0), "0");
        assert_eq!(s(7000), "7");
        assert_eq!(s(100), "0.1");
        assert_eq!(s(120), "0.12");
        assert_eq!(s(12_345), "12.345");
        assert_eq!(s(1_000_001), "1000.001");
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
        assert!(text.contains(
            r#"{"name":"main","cat":"fn","ph":"X","ts":0,"dur":1,"pid":4242,"tid":1,"args":{"file":"src/demo.rs","line":10}}"#
        ));
        assert!(text.contains(r#""name":"a\"b","cat":"fn","ph":"X","ts":0.1,"dur":0.9,"#));
    }
}
