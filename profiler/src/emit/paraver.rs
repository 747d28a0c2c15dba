//! Paraver traces (`trace.prv`, `trace.pcf`, `trace.row`) for BSC's Paraver,
//! following Extrae's conventions for user functions.
//!
//! # Objects
//!
//! One application; **one task per process** (each distinct
//! [`ThreadProfile::pid`](crate::ThreadProfile::pid), in the order the
//! profile first lists it), as Extrae writes the ranks of an MPI run; its
//! threads in the profile's order. The profiler does not record which CPU a
//! thread ran on, so the resource model has one node with one CPU per thread
//! (the `n`-th thread of the profile on CPU `n`), which keeps Paraver's CPU
//! views readable. Every thread of the profile is in the trace, with or
//! without a timeline. With three threads in two processes:
//!
//! ```text
//! #Paraver (21/11/2026 at 05:30):1000_ns:1(3):1:2(2:1,1:1)
//! ```
//!
//! The date is [`Metadata::start_unix_s`](crate::Metadata::start_unix_s) in
//! UTC (`dd/mm/yyyy at HH:MM`, a 4-digit year as the Paraver kernel needs);
//! the end time is in nanoseconds: the profile's duration, or the last span's
//! end if later. Times in records are nanoseconds since the start of
//! recording.
//!
//! # Records
//!
//! - **States**: a thread with a timeline is Running (`1`) while inside any
//!   top-level span (touching spans make one interval) and Idle (`0`)
//!   otherwise, from 0 to the end time, with no gap. A thread without a
//!   timeline has no records.
//! - **Events**: Extrae's user-function type **60000019**: value = function id
//!   when a span starts, `0` when it ends. The id of site `i` (an index into
//!   [`Profile::sites`]) is `i + 1`. Paraver's "Stacked Val" semantic pushes
//!   non-zero values and pops at `0`, which shows nested calls.
//! - Records are sorted by time. At equal times they go by thread (profile
//!   order), a thread's state before its events, and a thread's events in
//!   nesting order: the spans that end close (innermost first) before the
//!   next ones open (outermost first), and a zero-length span opens and
//!   closes in place (see [`emit::timeline`](crate::emit::timeline) for how ties
//!   are broken). The Paraver kernel keeps the file order of events with
//!   equal times, so "Stacked Val" sees every push and pop in order.
//!
//! # .pcf and .row
//!
//! The `.pcf` has Extrae's `DEFAULT_OPTIONS` and `DEFAULT_SEMANTIC`, the
//! states `0 Idle` and `1 Running` with their colours, and `EVENT_TYPE`
//! `60000019 User function` with a `VALUES` line per function (`0 End`).
//! Function names are the sites' names with control characters as spaces; a
//! name shared by several sites is written `name (file:line)`. A comment line
//! at the top counts the scopes left off the timelines by the memory cap.
//!
//! The `.row` names the CPUs (`1.<node>`), the node (the program's name),
//! the application, the tasks (`<program> (pid <pid>)`) and the threads
//! (`THREAD 1.<task>.<thread> (<name>)`).

use std::collections::HashMap;
use std::io::{self, Write};

use super::names;
use crate::emit::timeline::{self, Edge};
use crate::profile::Profile;

/// Extrae's event type for user functions.
pub const USER_FUNCTION: u32 = 60_000_019;

/// The state of a thread outside every span.
const IDLE: u8 = 0;
/// The state of a thread inside a top-level span.
const RUNNING: u8 = 1;

/// Writes `profile`'s timelines as a Paraver trace: the body to `prv`, the
/// configuration (state and function names) to `pcf` and the object names
/// to `row` (see the module docs).
pub fn write(
    profile: &Profile,
    prv: &mut dyn Write,
    pcf: &mut dyn Write,
    row: &mut dyn Write,
) -> io::Result<()> {
    let layout = Layout::new(profile);
    prv_body(profile, &layout, prv)?;
    write_pcf(profile, pcf)?;
    row_names(profile, &layout, row)
}

/// Writes the `.prv` (the trace body) of `profile` to `w`.
pub fn write_prv(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    prv_body(profile, &Layout::new(profile), w)
}

/// Writes the `.row` (the names of the trace's objects) of `profile` to `w`.
pub fn write_row(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    row_names(profile, &Layout::new(profile), w)
}

/// Where every thread of the profile goes in Paraver's object model.
struct Layout {
    /// Per task: its pid and the indices of its threads in the profile.
    tasks: Vec<(u32, Vec<usize>)>,
    /// Per thread of the profile: (task, thread in task), both 1-based.
    place: Vec<(usize, usize)>,
}

impl Layout {
    fn new(profile: &Profile) -> Layout {
        let mut tasks: Vec<(u32, Vec<usize>)> = Vec::new();
        let mut task_of: HashMap<u32, usize> = HashMap::new();
        let mut place = Vec::with_capacity(profile.threads.len());
        for (i, t) in profile.threads.iter().enumerate() {
            let k = *task_of.entry(t.pid).or_insert_with(|| {
                tasks.push((t.pid, Vec::new()));
                tasks.len() - 1
            });
            tasks[k].1.push(i);
            place.push((k + 1, tasks[k].1.len()));
        }
        Layout { tasks, place }
    }

    /// Number of CPUs: one per thread (at least one).
    fn cpus(&self) -> usize {
        self.place.len().max(1)
    }
}

/// One record of the body, before sorting.
#[derive(Clone, Copy)]
struct Record {
    time: u64,
    /// Index of the thread in the profile.
    thread: u32,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    /// A state interval from `time` to `end`.
    State { end: u64, state: u8 },
    /// A user-function event.
    Event { value: u64 },
}

/// Writes the `.prv` body.
fn prv_body(profile: &Profile, layout: &Layout, w: &mut dyn Write) -> io::Result<()> {
    let end = timeline::end_ns(profile);
    let appl = if layout.tasks.is_empty() {
        // A trace needs an object: one task of one thread, with no records.
        "1(1:1)".to_owned()
    } else {
        let per_task: Vec<String> = layout
            .tasks
            .iter()
            .map(|(_, threads)| format!("{}:1", threads.len()))
            .collect();
        format!("{}({})", layout.tasks.len(), per_task.join(","))
    };
    writeln!(
        w,
        "#Paraver ({}):{end}_ns:1({}):1:{appl}",
        date(profile.meta.start_unix_s),
        layout.cpus()
    )?;

    let mut records: Vec<Record> = Vec::new();
    for (ti, t) in profile.threads.iter().enumerate() {
        if t.timeline.is_empty() {
            continue;
        }
        let thread = ti as u32;
        let placed = timeline::nest(t);
        // States: Running over the union of the top-level spans (touching
        // ones merged, zero-length ones left out), Idle in between.
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for p in placed.iter().filter(|p| p.depth == 0) {
            match runs.last_mut() {
                Some(last) if p.start <= last.1 => last.1 = last.1.max(p.end),
                _ => runs.push((p.start, p.end)),
            }
        }
        runs.retain(|&(a, b)| b > a);
        let mut at = 0u64;
        let mut state = |from: u64, to: u64, state: u8| {
            if to > from {
                records.push(Record {
                    time: from,
                    thread,
                    kind: Kind::State { end: to, state },
                });
            }
        };
        for (a, b) in runs {
            state(at, a, IDLE);
            state(a, b, RUNNING);
            at = b;
        }
        state(at, end, IDLE);
        for e in timeline::walk(&placed) {
            let value = match e {
                Edge::Open(i) => u64::from(placed[i].site) + 1,
                Edge::Close(_) => 0,
            };
            records.push(Record {
                time: e.at(&placed),
                thread,
                kind: Kind::Event { value },
            });
        }
    }
    // Stable: a thread's events keep their nesting order at equal times.
    records.sort_by_key(|r| {
        let kind = match r.kind {
            Kind::State { .. } => 0u8,
            Kind::Event { .. } => 1,
        };
        (r.time, r.thread, kind)
    });
    for r in &records {
        let ti = r.thread as usize;
        let (task, thread) = layout.place[ti];
        let cpu = ti + 1;
        match r.kind {
            Kind::State { end, state } => {
                writeln!(w, "1:{cpu}:1:{task}:{thread}:{}:{end}:{state}", r.time)?
            }
            Kind::Event { value } => writeln!(
                w,
                "2:{cpu}:1:{task}:{thread}:{}:{USER_FUNCTION}:{value}",
                r.time
            )?,
        }
    }
    w.flush()
}

/// Writes the `.pcf` (the configuration: states and function names) of
/// `profile` to `w`.
pub fn write_pcf(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let dropped: u64 = profile.threads.iter().map(|t| t.timeline_dropped).sum();
    if dropped > 0 {
        writeln!(
            w,
            "# {dropped} scopes were left off the timelines (memory cap reached)\n"
        )?;
    }
    w.write_all(
        b"DEFAULT_OPTIONS

LEVEL               THREAD
UNITS               NANOSEC
LOOK_BACK           100
SPEED               1
FLAG_ICONS          ENABLED
NUM_OF_STATE_COLORS 1000
YMAX_SCALE          37

DEFAULT_SEMANTIC

THREAD_FUNC          State As Is

STATES
0    Idle
1    Running

STATES_COLOR
0    {117,195,255}
1    {0,0,255}

",
    )?;
    writeln!(
        w,
        "EVENT_TYPE\n0    {USER_FUNCTION}    User function\nVALUES"
    )?;
    writeln!(w, "0      End")?;
    for (i, name) in function_names(profile).iter().enumerate() {
        writeln!(w, "{:<6} {name}", i + 1)?;
    }
    // Sites that spans name but the profile lacks.
    let n = profile.sites.len();
    let mut unknown: Vec<u32> = profile
        .threads
        .iter()
        .flat_map(|t| t.timeline.iter().map(|s| s.site))
        .filter(|&s| s as usize >= n)
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    for s in unknown {
        writeln!(w, "{:<6} (unknown site {s})", u64::from(s) + 1)?;
    }
    writeln!(w)?;
    w.flush()
}

/// The label of every site's function id (see the module docs).
fn function_names(profile: &Profile) -> Vec<String> {
    let names: Vec<String> = (0..profile.sites.len())
        .map(|i| {
            let n = names::label(&names::site_name(profile, i as u32));
            if n.is_empty() {
                "(unnamed)".to_owned()
            } else {
                n
            }
        })
        .collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for n in &names {
        *count.entry(n.as_str()).or_insert(0) += 1;
    }
    names
        .iter()
        .zip(&profile.sites)
        .map(|(n, s)| {
            if count[n.as_str()] > 1 {
                format!("{n} ({}:{})", names::label(&s.file), s.line)
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Writes the `.row` object names.
fn row_names(profile: &Profile, layout: &Layout, w: &mut dyn Write) -> io::Result<()> {
    let program = names::label(&profile.meta.program);
    let node = if program.is_empty() {
        "node".to_owned()
    } else {
        program.clone()
    };
    let cpus = layout.cpus();
    writeln!(w, "LEVEL CPU SIZE {cpus}")?;
    for c in 1..=cpus {
        writeln!(w, "{c}.{node}")?;
    }
    writeln!(w, "\nLEVEL NODE SIZE 1\n{node}\n")?;
    writeln!(w, "LEVEL APPL SIZE 1\n{node}\n")?;
    if layout.tasks.is_empty() {
        writeln!(w, "LEVEL TASK SIZE 1\n{node}\n")?;
        writeln!(w, "LEVEL THREAD SIZE 1\nTHREAD 1.1.1 (no threads)")?;
        return w.flush();
    }
    writeln!(w, "LEVEL TASK SIZE {}", layout.tasks.len())?;
    for (pid, _) in &layout.tasks {
        writeln!(w, "{node} (pid {pid})")?;
    }
    writeln!(w, "\nLEVEL THREAD SIZE {}", profile.threads.len())?;
    for (t, (task, thread)) in profile.threads.iter().zip(&layout.place) {
        writeln!(w, "THREAD 1.{task}.{thread} ({})", names::label(&t.name))?;
    }
    w.flush()
}

/// `dd/mm/yyyy at HH:MM` (UTC) of a Unix time in seconds; times before 1970
/// or not finite read as 1970.
fn date(unix_s: f64) -> String {
    let secs = if unix_s.is_finite() && unix_s > 0.0 {
        unix_s.min(253_402_300_799.0) as i64 // 9999-12-31T23:59:59
    } else {
        0
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{d:02}/{m:02}/{y:04} at {:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60
    )
}

/// The proleptic Gregorian (year, month, day) of a number of days since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], from March
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, SiteInfo, Span, ThreadProfile};

    #[test]
    fn dates_are_utc_with_four_digit_years() {
        assert_eq!(date(0.0), "01/01/1970 at 00:00");
        assert_eq!(date(f64::NAN), "01/01/1970 at 00:00");
        // 2026-11-21T05:30:59Z
        assert_eq!(date(1_795_239_059.9), "21/11/2026 at 05:30");
        // 2000-02-29T23:59:00Z, a leap day.
        assert_eq!(date(951_868_740.0), "29/02/2000 at 23:59");
        assert_eq!(date(1e300), "31/12/9999 at 23:59");
        for (days, ymd) in [
            (0, (1970, 1, 1)),
            (-1, (1969, 12, 31)),
            (59, (1970, 3, 1)),
            (11_016, (2000, 2, 29)),
            (20_454, (2026, 1, 1)),
        ] {
            assert_eq!(civil_from_days(days), ymd);
        }
    }

    #[test]
    fn writes_the_sample() {
        // docs/formats.md's sample without the message and the extra event.
        let meta = Metadata {
            program: "myhost".into(),
            duration_ns: 1000,
            start_unix_s: 1_795_239_000.0,
            ..Metadata::default()
        };
        let sites = vec![
            SiteInfo::new("main", "m", "src/demo.rs", 10),
            SiteInfo::new("a", "m", "src/demo.rs", 20),
            SiteInfo::new("b", "m", "src/demo.rs", 30),
        ];
        let t1 = ThreadProfile::new(1, "main", 7, Vec::new()).with_timeline(
            vec![
                Span::new(2, 150, 250),
                Span::new(1, 100, 400),
                Span::new(0, 0, 1000),
            ],
            0,
        );
        let t2 = ThreadProfile::new(2, "worker", 7, Vec::new())
            .with_timeline(vec![Span::new(2, 200, 700)], 0);
        let p = Profile::new(meta, sites, vec![t1, t2]);
        let (mut prv, mut pcf, mut row) = (Vec::new(), Vec::new(), Vec::new());
        write(&p, &mut prv, &mut pcf, &mut row).unwrap();
        let prv = String::from_utf8(prv).unwrap();
        assert_eq!(
            prv,
            "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)
1:1:1:1:1:0:1000:1
2:1:1:1:1:0:60000019:1
1:2:1:1:2:0:200:0
2:1:1:1:1:100:60000019:2
2:1:1:1:1:150:60000019:3
1:2:1:1:2:200:900:1
2:2:1:1:2:200:60000019:3
2:1:1:1:1:400:60000019:0
2:1:1:1:1:500:60000019:0
1:2:1:1:2:900:1000:0
2:2:1:1:2:900:60000019:0
2:1:1:1:1:1000:60000019:0
"
        );
        let row = String::from_utf8(row).unwrap();
        assert!(
            row.starts_with("LEVEL CPU SIZE 2\n1.myhost\n2.myhost\n\nLEVEL NODE SIZE 1\nmyhost\n")
        );
        assert!(row.ends_with("LEVEL THREAD SIZE 2\nTHREAD 1.1.1 (main)\nTHREAD 1.1.2 (worker)\n"));
        let pcf = String::from_utf8(pcf).unwrap();
        assert!(pcf.contains("VALUES\n0      End\n1      main\n2      a\n3      b\n"));
    }
}
