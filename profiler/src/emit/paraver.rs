//! Paraver traces (`trace.prv`, `trace.pcf`, `trace.row`) for BSC's Paraver,
//! following Extrae's conventions for user functions.
//!
//! # Objects
//!
//! One application; **one task per process** (each distinct
//! [`ThreadProfile::pid`](crate::ThreadProfile::pid), in the order the
//! profile first lists it), or, in a profile of an MPI program, **one task
//! per rank** (named `rank 3 @ host`), as Extrae writes the ranks of an MPI
//! run; its threads in the profile's order. The profiler does not record
//! which CPU a thread ran on, so the resource model has one CPU per thread,
//! numbered node by node, which keeps Paraver's CPU views readable: one node
//! (named after the program), or one per host of an MPI run, each task on
//! its rank's host's node. Every thread of the profile is in the trace, with
//! or without a timeline. With three threads in two processes:
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
//! - **MPI** (a profile with MPI timelines, recorded by `profiler::mpi`): each MPI
//!   call is an event of Extrae's type **50000001** (point-to-point),
//!   **50000002** (collective) or **50000003** (other), value = the
//!   routine in Extrae's encoding (1 `MPI_Send`, 2 `MPI_Recv`, 3
//!   `MPI_Isend`, 4 `MPI_Irecv`, 5 `MPI_Wait`, 6 `MPI_Waitall`, 7
//!   `MPI_Bcast`, 8 `MPI_Barrier`, 10 `MPI_Allreduce`...; a routine Extrae
//!   does not list is type 50000003 from value 1000), `0` at its end; over
//!   the call the thread is in Extrae's state for it (3 Waiting a message,
//!   4 Blocking Send, 5 Synchronization, 8 Wait/WaitAll, 10 Immediate Send,
//!   11 Immediate Receive, 13 Group Communication, 15 Others) instead of
//!   Running or Idle. Every paired message (see
//!   [`Profile::mpi_messages`]) is a communication record (`3:`): logical
//!   send = the send call's start, physical send = its end, logical
//!   receive = when the receive was posted, physical receive = the end of
//!   the call that completed it; size in bytes and tag.
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
//! states `0 Idle` and `1 Running` with their colours (and the MPI states,
//! for MPI timelines), and `EVENT_TYPE` `60000019 User function` with a
//! `VALUES` line per function (`0 End`); for MPI timelines, the three MPI
//! event types with Extrae's names of their values.
//! Function names are the sites' names with control characters as spaces; a
//! name shared by several sites is written `name (file:line)`. A comment line
//! at the top counts the scopes left off the timelines by the memory cap.
//!
//! The `.row` names the CPUs (`1.<node>`), the nodes (the program's name,
//! or the hosts), the application, the tasks (`<program> (pid <pid>)`, or
//! `rank <r> @ <host>`) and the threads (`THREAD 1.<task>.<thread>
//! (<name>)`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;
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
    /// Per task: its label and the indices of its threads in the profile.
    tasks: Vec<(String, Vec<usize>)>,
    /// Per thread of the profile: (task, thread in task), both 1-based.
    place: Vec<(usize, usize)>,
    /// Per thread of the profile: its CPU, 1-based.
    cpu: Vec<usize>,
    /// The nodes' names and, per node, its CPUs' count.
    nodes: Vec<(String, usize)>,
    /// Per task: its node, 1-based.
    task_node: Vec<usize>,
}

impl Layout {
    /// One task per MPI rank when the threads have ranks, else per process;
    /// one node per host in an MPI profile (else one, named after the
    /// program); one CPU per thread, numbered node by node.
    fn new(profile: &Profile) -> Layout {
        let program = names::label(&profile.meta.program);
        let program = if program.is_empty() {
            "node".to_owned()
        } else {
            program
        };
        let by_rank = profile.threads.iter().any(|t| t.rank.is_some());
        let host_of = |rank: Option<u32>| -> String {
            let host = rank.map_or(profile.meta.host.as_str(), |r| profile.rank_host(r));
            let host = names::label(host);
            if host.is_empty() {
                "host".to_owned()
            } else {
                host
            }
        };
        let mut tasks: Vec<(String, Vec<usize>)> = Vec::new();
        let mut task_of: HashMap<(Option<u32>, u32), usize> = HashMap::new();
        let mut task_node = Vec::new();
        let mut nodes: Vec<(String, usize)> = Vec::new();
        let mut place = Vec::with_capacity(profile.threads.len());
        for (i, t) in profile.threads.iter().enumerate() {
            let key = if by_rank {
                (t.rank, if t.rank.is_some() { 0 } else { t.pid })
            } else {
                (None, t.pid)
            };
            let k = *task_of.entry(key).or_insert_with(|| {
                let (label, node) = match (by_rank, t.rank) {
                    (true, Some(r)) => {
                        let host = host_of(Some(r));
                        (format!("rank {r} @ {host}"), host)
                    }
                    (true, None) => ("ranks merged".to_owned(), host_of(None)),
                    (false, _) => (format!("{program} (pid {})", t.pid), program.clone()),
                };
                let n = match nodes.iter().position(|(name, _)| *name == node) {
                    Some(n) => n,
                    None => {
                        nodes.push((node, 0));
                        nodes.len() - 1
                    }
                };
                task_node.push(n + 1);
                tasks.push((label, Vec::new()));
                tasks.len() - 1
            });
            tasks[k].1.push(i);
            nodes[task_node[k] - 1].1 += 1;
            place.push((k + 1, tasks[k].1.len()));
        }
        if nodes.is_empty() {
            nodes.push((program, 0));
        }
        // CPUs numbered node by node, threads in profile order within one.
        let mut first_cpu = Vec::with_capacity(nodes.len());
        let mut at = 0;
        for (_, n) in &nodes {
            first_cpu.push(at);
            at += n;
        }
        let mut next = first_cpu.clone();
        let cpu = place
            .iter()
            .map(|&(task, _)| {
                let n = task_node[task - 1] - 1;
                next[n] += 1;
                next[n]
            })
            .collect();
        Layout {
            tasks,
            place,
            cpu,
            nodes,
            task_node,
        }
    }

    /// Every node's CPU count (at least one each).
    fn node_cpus(&self) -> Vec<usize> {
        self.nodes.iter().map(|(_, n)| (*n).max(1)).collect()
    }
}

/// One record of a thread's part of the body, 16 bytes: its time, and what
/// it is packed with its payload (see [`Rec::new`]). A timeline of millions
/// of calls makes two records per call, so their size is the writer's
/// memory.
#[derive(Clone, Copy)]
struct Rec {
    time: u64,
    /// The kind in the top 2 bits, its payload below: the state's index in
    /// the thread's states, the user function's event value, the MPI event's
    /// index in the thread's calls times 2 (plus 1 for its end), or the
    /// message's index.
    packed: u64,
}

/// The kinds of [`Rec`], in the order records at equal times on one thread
/// are written: states, then events (user functions and MPI calls in the
/// order they were added), then messages.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    State = 0,
    Event = 1,
    Mpi = 2,
    Comm = 3,
}

impl Kind {
    fn rank(self) -> u8 {
        match self {
            Kind::State => 0,
            Kind::Event | Kind::Mpi => 1,
            Kind::Comm => 2,
        }
    }
}

impl Rec {
    const SHIFT: u32 = 62;

    fn new(time: u64, kind: Kind, payload: u64) -> Rec {
        Rec {
            time,
            packed: ((kind as u64) << Self::SHIFT) | (payload & ((1 << Self::SHIFT) - 1)),
        }
    }

    fn kind(self) -> Kind {
        match self.packed >> Self::SHIFT {
            0 => Kind::State,
            1 => Kind::Event,
            2 => Kind::Mpi,
            _ => Kind::Comm,
        }
    }

    fn payload(self) -> u64 {
        self.packed & ((1 << Self::SHIFT) - 1)
    }
}

/// One thread's records in the order they are written, and the states and
/// MPI calls they point to.
struct ThreadRecords<'m> {
    thread: usize,
    recs: Vec<Rec>,
    states: Vec<(u64, u64, u8)>,
    calls: &'m [Call],
}

/// Writes the `.prv` body.
fn prv_body(profile: &Profile, layout: &Layout, w: &mut dyn Write) -> io::Result<()> {
    let w = &mut io::BufWriter::with_capacity(1 << 16, w);
    let mpi = MpiTimeline::new(profile);
    let end = timeline::end_ns(profile).max(mpi.end);
    let appl = if layout.tasks.is_empty() {
        // A trace needs an object: one task of one thread, with no records.
        "1(1:1)".to_owned()
    } else {
        let per_task: Vec<String> = layout
            .tasks
            .iter()
            .zip(&layout.task_node)
            .map(|((_, threads), node)| format!("{}:{node}", threads.len()))
            .collect();
        format!("{}({})", layout.tasks.len(), per_task.join(","))
    };
    let cpus: Vec<String> = layout.node_cpus().iter().map(usize::to_string).collect();
    writeln!(
        w,
        "#Paraver ({}):{end}_ns:{}({}):1:{appl}",
        date(profile.meta.start_unix_s),
        cpus.len(),
        cpus.join(",")
    )?;

    // Each thread's records, sorted on their own; then merged by (time,
    // thread), which gives the order of a stable sort of all records by
    // (time, thread, kind): a thread's records keep their nesting order at
    // equal times.
    let mut sent: Vec<Vec<usize>> = vec![Vec::new(); profile.threads.len()];
    for (k, m) in mpi.messages.iter().enumerate() {
        if let Some(list) = sent.get_mut(m.from as usize) {
            list.push(k);
        }
    }
    let mut parts: Vec<ThreadRecords<'_>> = Vec::new();
    for (ti, t) in profile.threads.iter().enumerate() {
        let calls = mpi.calls.get(&ti).map_or(&[][..], Vec::as_slice);
        if t.timeline.is_empty() && calls.is_empty() && sent[ti].is_empty() {
            continue;
        }
        let placed = timeline::nest(t);
        // States: Running over the union of the top-level spans (touching
        // ones merged, zero-length ones left out), Idle in between, and
        // an MPI call's state over the call.
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for p in placed.iter().filter(|p| p.depth == 0) {
            match runs.last_mut() {
                Some(last) if p.start <= last.1 => last.1 = last.1.max(p.end),
                _ => runs.push((p.start, p.end)),
            }
        }
        runs.retain(|&(a, b)| b > a);
        let mut base: Vec<(u64, u64, u8)> = Vec::new();
        let mut at = 0u64;
        for (a, b) in runs {
            base.push((at, a, IDLE));
            base.push((a, b, RUNNING));
            at = b;
        }
        base.push((at, end, IDLE));
        base.retain(|&(a, b, _)| b > a);
        let states = if t.timeline.is_empty() && calls.is_empty() {
            Vec::new()
        } else {
            overlay(&base, calls)
        };
        let mut recs: Vec<Rec> = Vec::with_capacity(states.len() + 2 * placed.len());
        for (k, &(from, _, _)) in states.iter().enumerate() {
            recs.push(Rec::new(from, Kind::State, k as u64));
        }
        for e in timeline::walk(&placed) {
            let value = match e {
                Edge::Open(i) => u64::from(placed[i].site) + 1,
                Edge::Close(_) => 0,
            };
            recs.push(Rec::new(e.at(&placed), Kind::Event, value));
        }
        drop(placed);
        for (k, c) in calls.iter().enumerate() {
            recs.push(Rec::new(c.start, Kind::Mpi, 2 * k as u64));
            recs.push(Rec::new(c.end, Kind::Mpi, 2 * k as u64 + 1));
        }
        for &k in &sent[ti] {
            recs.push(Rec::new(mpi.messages[k].lsend, Kind::Comm, k as u64));
        }
        // Stable: at equal times, the order they were added.
        recs.sort_by_key(|r| (r.time, r.kind().rank()));
        parts.push(ThreadRecords {
            thread: ti,
            recs,
            states,
            calls,
        });
    }
    let mut heap: BinaryHeap<Reverse<(u64, usize, usize)>> = parts
        .iter()
        .enumerate()
        .filter_map(|(p, part)| part.recs.first().map(|r| Reverse((r.time, part.thread, p))))
        .collect();
    let mut next = vec![0usize; parts.len()];
    let mut line = String::new();
    while let Some(Reverse((time, ti, p))) = heap.pop() {
        let part = &parts[p];
        let r = part.recs[next[p]];
        next[p] += 1;
        if let Some(n) = part.recs.get(next[p]) {
            heap.push(Reverse((n.time, ti, p)));
        }
        let (task, thread) = layout.place[ti];
        let cpu = layout.cpu[ti];
        line.clear();
        match r.kind() {
            Kind::State => {
                let (_, to, state) = part.states[r.payload() as usize];
                let _ = write!(line, "1:{cpu}:1:{task}:{thread}:{time}:{to}:{state}");
            }
            Kind::Event => {
                let _ = write!(
                    line,
                    "2:{cpu}:1:{task}:{thread}:{time}:{USER_FUNCTION}:{}",
                    r.payload()
                );
            }
            Kind::Mpi => {
                let k = r.payload();
                let c = &part.calls[(k / 2) as usize];
                let (ty, value) = mpi.code(c.site);
                let value = if k % 2 == 1 { 0 } else { value };
                let _ = write!(line, "2:{cpu}:1:{task}:{thread}:{time}:{ty}:{value}");
            }
            Kind::Comm => {
                let m = &mpi.messages[r.payload() as usize];
                let ri = m.to as usize;
                let (rtask, rthread) = layout.place[ri];
                let rcpu = layout.cpu[ri];
                let _ = write!(
                    line,
                    "3:{cpu}:1:{task}:{thread}:{time}:{}:{rcpu}:1:{rtask}:{rthread}:{}:{}:{}:{}",
                    m.psend, m.lrecv, m.precv, m.size, m.tag
                );
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    w.flush()
}

/// `base` (a thread's Running and Idle intervals, in order, tiling the
/// axis) with each MPI call's interval in its call's state.
fn overlay(base: &[(u64, u64, u8)], calls: &[Call]) -> Vec<(u64, u64, u8)> {
    let mut mpi: Vec<(u64, u64, u8)> = calls
        .iter()
        .filter(|c| c.end > c.start)
        .map(|c| (c.start, c.end, c.state))
        .collect();
    mpi.sort_unstable();
    // Calls do not overlap on a thread; clip any that would.
    let mut clipped: Vec<(u64, u64, u8)> = Vec::with_capacity(mpi.len());
    for (a, b, st) in mpi {
        let a = clipped.last().map_or(a, |l| a.max(l.1));
        if b > a {
            clipped.push((a, b, st));
        }
    }
    let mut out = Vec::with_capacity(base.len() + 2 * clipped.len());
    let mut k = 0;
    for &(a, b, st) in base {
        let mut at = a;
        while at < b {
            while k < clipped.len() && clipped[k].1 <= at {
                k += 1;
            }
            match clipped.get(k) {
                Some(&(ca, cb, cs)) if ca < b => {
                    if ca > at {
                        out.push((at, ca, st));
                        at = ca;
                    }
                    let to = cb.min(b);
                    out.push((at, to, cs));
                    at = to;
                }
                _ => {
                    out.push((at, b, st));
                    at = b;
                }
            }
        }
    }
    // Touching pieces of one state make one interval.
    let mut merged: Vec<(u64, u64, u8)> = Vec::with_capacity(out.len());
    for piece in out {
        match merged.last_mut() {
            Some(l) if l.1 == piece.0 && l.2 == piece.2 => l.1 = piece.1,
            _ => merged.push(piece),
        }
    }
    merged
}

/// Extrae's MPI event types: point-to-point, collective, other.
pub const MPI_POINT_TO_POINT: u32 = 50_000_001;
/// See [`MPI_POINT_TO_POINT`].
pub const MPI_COLLECTIVE: u32 = 50_000_002;
/// See [`MPI_POINT_TO_POINT`].
pub const MPI_OTHER: u32 = 50_000_003;

/// Extrae's states for MPI calls (with Idle 0 and Running 1).
const MPI_STATES: [(u8, &str, &str); 7] = [
    (3, "Waiting a message", "{235,0,0}"),
    (4, "Blocking Send", "{255,0,174}"),
    (5, "Synchronization", "{179,0,0}"),
    (6, "Test/Probe", "{0,255,0}"),
    (8, "Wait/WaitAll", "{255,255,0}"),
    (10, "Immediate Send", "{172,174,41}"),
    (11, "Immediate Receive", "{255,144,26}"),
];
/// More of Extrae's states for MPI calls.
const MORE_MPI_STATES: [(u8, &str, &str); 2] = [
    (13, "Group Communication", "{255,144,26}"),
    (15, "Others", "{0,255,255}"),
];

/// Extrae's encoding of the MPI routines: (routine, event type, value,
/// state). Routines not listed are type [`MPI_OTHER`] with values from
/// [`FIRST_UNLISTED`], state 15 (Others).
const ROUTINES: [(&str, u32, u32, u8); 32] = [
    ("MPI_Send", MPI_POINT_TO_POINT, 1, 4),
    ("MPI_Recv", MPI_POINT_TO_POINT, 2, 3),
    ("MPI_Isend", MPI_POINT_TO_POINT, 3, 10),
    ("MPI_Irecv", MPI_POINT_TO_POINT, 4, 11),
    ("MPI_Wait", MPI_POINT_TO_POINT, 5, 8),
    ("MPI_Waitall", MPI_POINT_TO_POINT, 6, 8),
    ("MPI_Bcast", MPI_COLLECTIVE, 7, 13),
    ("MPI_Barrier", MPI_COLLECTIVE, 8, 5),
    ("MPI_Reduce", MPI_COLLECTIVE, 9, 13),
    ("MPI_Allreduce", MPI_COLLECTIVE, 10, 13),
    ("MPI_Alltoall", MPI_COLLECTIVE, 11, 13),
    ("MPI_Alltoallv", MPI_COLLECTIVE, 12, 13),
    ("MPI_Gather", MPI_COLLECTIVE, 13, 13),
    ("MPI_Gatherv", MPI_COLLECTIVE, 14, 13),
    ("MPI_Scatter", MPI_COLLECTIVE, 15, 13),
    ("MPI_Scatterv", MPI_COLLECTIVE, 16, 13),
    ("MPI_Allgather", MPI_COLLECTIVE, 17, 13),
    ("MPI_Allgatherv", MPI_COLLECTIVE, 18, 13),
    ("MPI_Comm_dup", MPI_OTHER, 22, 15),
    ("MPI_Comm_split", MPI_OTHER, 23, 15),
    ("MPI_Scan", MPI_COLLECTIVE, 30, 13),
    ("MPI_Init", MPI_OTHER, 31, 15),
    ("MPI_Finalize", MPI_OTHER, 32, 15),
    ("MPI_Bsend", MPI_POINT_TO_POINT, 33, 4),
    ("MPI_Ssend", MPI_POINT_TO_POINT, 34, 4),
    ("MPI_Rsend", MPI_POINT_TO_POINT, 35, 4),
    ("MPI_Test", MPI_POINT_TO_POINT, 39, 6),
    ("MPI_Sendrecv", MPI_POINT_TO_POINT, 41, 3),
    ("MPI_Waitany", MPI_POINT_TO_POINT, 59, 8),
    ("MPI_Probe", MPI_POINT_TO_POINT, 61, 6),
    ("MPI_Iprobe", MPI_POINT_TO_POINT, 62, 6),
    ("MPI_Reduce_scatter", MPI_COLLECTIVE, 80, 13),
];

/// The first value of the routines [`ROUTINES`] does not list.
const FIRST_UNLISTED: u32 = 1000;

/// One MPI call on a thread, for the states and events.
struct Call {
    start: u64,
    end: u64,
    site: u32,
    state: u8,
}

/// One paired message, its threads as indices into the profile's.
struct Msg {
    from: u32,
    to: u32,
    lsend: u64,
    psend: u64,
    lrecv: u64,
    precv: u64,
    size: u64,
    tag: i32,
}

/// The MPI side of the trace: every thread's MPI calls and the paired
/// messages, from [`Profile::mpi`].
#[derive(Default)]
struct MpiTimeline {
    /// By thread (index into the profile's threads).
    calls: HashMap<usize, Vec<Call>>,
    messages: Vec<Msg>,
    /// The latest time of any call or message.
    end: u64,
    /// Each routine site's (type, value, state).
    codes: HashMap<u32, (u32, u32, u8)>,
    /// The routines outside [`ROUTINES`]: (value, name).
    unlisted: Vec<(u32, String)>,
    /// Which event types occur.
    types: Vec<u32>,
}

impl MpiTimeline {
    fn new(profile: &Profile) -> MpiTimeline {
        let mut out = MpiTimeline::default();
        if profile.mpi.iter().all(|m| m.timeline.is_empty()) {
            return out;
        }
        let threads = profile.threads_by_rank();
        let find = |rank: u32, id: u64| threads.find(rank, id);
        for m in &profile.mpi {
            for c in &m.timeline {
                let Some(ti) = find(m.rank, c.thread) else {
                    continue;
                };
                let code = out.code_of(profile, c.site);
                out.calls.entry(ti).or_default().push(Call {
                    start: c.start_ns,
                    end: c.end_ns.max(c.start_ns),
                    site: c.site,
                    state: code.2,
                });
                out.end = out.end.max(c.end_ns);
            }
        }
        for c in out.calls.values_mut() {
            c.sort_by_key(|c| (c.start, c.end));
        }
        for m in profile.mpi_messages().paired {
            let (Some(from), Some(to)) = (find(m.from, m.send_thread), find(m.to, m.recv_thread))
            else {
                continue;
            };
            out.messages.push(Msg {
                from: from as u32,
                to: to as u32,
                lsend: m.send_start_ns,
                psend: m.send_end_ns,
                lrecv: m.recv_posted_ns,
                precv: m.recv_end_ns,
                size: m.bytes,
                tag: m.tag,
            });
        }
        out.types.sort_unstable();
        out.types.dedup();
        out
    }

    /// The (type, value, state) of a routine's site, numbering unlisted
    /// routines as they come.
    fn code_of(&mut self, profile: &Profile, site: u32) -> (u32, u32, u8) {
        if let Some(&c) = self.codes.get(&site) {
            return c;
        }
        let name = profile.site(site).map_or("", |s| s.name.as_str());
        let code = match ROUTINES.iter().find(|r| r.0 == name) {
            Some(&(_, ty, value, state)) => (ty, value, state),
            None => {
                let value = match self.unlisted.iter().find(|(_, n)| n == name) {
                    Some(&(v, _)) => v,
                    None => {
                        let v = FIRST_UNLISTED + self.unlisted.len() as u32;
                        self.unlisted.push((v, names::label(name)));
                        v
                    }
                };
                (MPI_OTHER, value, 15)
            }
        };
        self.types.push(code.0);
        self.codes.insert(site, code);
        code
    }

    /// The (type, value) of a routine's site.
    fn code(&self, site: u32) -> (u32, u32) {
        self.codes
            .get(&site)
            .map_or((MPI_OTHER, 0), |&(t, v, _)| (t, v))
    }

    fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
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
",
    )?;
    let mpi = MpiTimeline::new(profile);
    let mpi_states = || MPI_STATES.iter().chain(&MORE_MPI_STATES);
    if !mpi.is_empty() {
        for (n, label, _) in mpi_states() {
            writeln!(w, "{n:<4} {label}")?;
        }
    }
    w.write_all(
        b"
STATES_COLOR
0    {117,195,255}
1    {0,0,255}
",
    )?;
    if !mpi.is_empty() {
        for (n, _, colour) in mpi_states() {
            writeln!(w, "{n:<4} {colour}")?;
        }
    }
    writeln!(w)?;
    if !mpi.is_empty() {
        for (ty, label) in [
            (MPI_POINT_TO_POINT, "MPI Point-to-point"),
            (MPI_COLLECTIVE, "MPI Collective Comm"),
            (MPI_OTHER, "MPI Other"),
        ] {
            writeln!(w, "EVENT_TYPE\n0    {ty}    {label}\nVALUES")?;
            for &(name, t, v, _) in &ROUTINES {
                if t == ty {
                    writeln!(w, "{v:<6} {name}")?;
                }
            }
            if ty == MPI_OTHER {
                for (v, name) in &mpi.unlisted {
                    writeln!(w, "{v:<6} {name}")?;
                }
            }
            writeln!(w, "0      Outside MPI\n")?;
        }
    }
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
    let appl = if program.is_empty() {
        "node".to_owned()
    } else {
        program
    };
    let cpus = layout.node_cpus();
    writeln!(w, "LEVEL CPU SIZE {}", cpus.iter().sum::<usize>())?;
    let mut c = 0;
    for ((name, _), n) in layout.nodes.iter().zip(&cpus) {
        for _ in 0..*n {
            c += 1;
            writeln!(w, "{c}.{name}")?;
        }
    }
    writeln!(w, "\nLEVEL NODE SIZE {}", layout.nodes.len())?;
    for (name, _) in &layout.nodes {
        writeln!(w, "{name}")?;
    }
    writeln!(w, "\nLEVEL APPL SIZE 1\n{appl}\n")?;
    if layout.tasks.is_empty() {
        writeln!(w, "LEVEL TASK SIZE 1\n{appl}\n")?;
        writeln!(w, "LEVEL THREAD SIZE 1\nTHREAD 1.1.1 (no threads)")?;
        return w.flush();
    }
    writeln!(w, "LEVEL TASK SIZE {}", layout.tasks.len())?;
    for (label, _) in &layout.tasks {
        writeln!(w, "{label}")?;
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
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

    #[test]
    fn mpi_calls_overlay_the_running_states() {
        let call = |start, end, state| Call {
            start,
            end,
            site: 0,
            state,
        };
        let base = [(0, 10, IDLE), (10, 50, RUNNING), (50, 60, IDLE)];
        let calls = [call(20, 30, 3), call(45, 55, 4)];
        assert_eq!(
            overlay(&base, &calls),
            [
                (0, 10, IDLE),
                (10, 20, RUNNING),
                (20, 30, 3),
                (30, 45, RUNNING),
                (45, 55, 4),
                (55, 60, IDLE)
            ]
        );
        assert_eq!(overlay(&base, &[]), base);
    }

    #[test]
    fn routines_have_extrae_codes() {
        let sites = vec![
            SiteInfo::new("MPI_Recv", "mpi", "~", 0),
            SiteInfo::new("MPI_Allreduce", "mpi", "~", 0),
            SiteInfo::new("MPI_Custom", "mpi", "~", 0),
        ];
        let p = Profile::new(Metadata::default(), sites, Vec::new());
        let mut m = MpiTimeline::default();
        assert_eq!(m.code_of(&p, 0), (MPI_POINT_TO_POINT, 2, 3));
        assert_eq!(m.code_of(&p, 1), (MPI_COLLECTIVE, 10, 13));
        assert_eq!(m.code_of(&p, 2), (MPI_OTHER, FIRST_UNLISTED, 15));
        assert_eq!(m.unlisted, [(FIRST_UNLISTED, "MPI_Custom".to_owned())]);
    }

    #[test]
    fn ranks_are_tasks_on_their_hosts_nodes() {
        use crate::profile::RankMpi;
        let meta = Metadata {
            program: "prog".into(),
            duration_ns: 1000,
            start_unix_s: 1_795_239_000.0,
            ..Metadata::default()
        };
        let thread = |id, name: &str, rank| {
            let mut t = ThreadProfile::new(id, name, 10 + rank, Vec::new())
                .with_timeline(vec![Span::new(0, 0, 100)], 0);
            t.rank = Some(rank);
            t
        };
        let threads = vec![
            thread(1, "main", 0),
            thread(2, "worker", 0),
            thread(3, "main", 1),
            thread(4, "main", 2),
        ];
        let mut p = Profile::new(meta, vec![SiteInfo::new("f", "m", "f.rs", 1)], threads);
        p.mpi = vec![
            RankMpi::new(0, "alpha", 10, 1000),
            RankMpi::new(1, "beta", 11, 1000),
            RankMpi::new(2, "alpha", 12, 1000),
        ];
        let (mut prv, mut pcf, mut row) = (Vec::new(), Vec::new(), Vec::new());
        write(&p, &mut prv, &mut pcf, &mut row).unwrap();
        let prv = String::from_utf8(prv).unwrap();
        // Node 1 (alpha) holds ranks 0 and 2: CPUs 1-3; node 2 (beta) CPU 4.
        assert_eq!(
            prv.lines().next().unwrap(),
            "#Paraver (21/11/2026 at 05:30):1000_ns:2(3,1):1:3(2:1,1:2,1:1)"
        );
        assert!(prv.contains("\n1:4:1:2:1:0:100:1\n"), "{prv}");
        assert!(prv.contains("\n1:3:1:3:1:0:100:1\n"), "{prv}");
        let row = String::from_utf8(row).unwrap();
        assert!(
            row.starts_with(
                "LEVEL CPU SIZE 4\n1.alpha\n2.alpha\n3.alpha\n4.beta\n\nLEVEL NODE SIZE 2\nalpha\nbeta\n"
            ),
            "{row}"
        );
        assert!(
            row.contains("LEVEL TASK SIZE 3\nrank 0 @ alpha\nrank 1 @ beta\nrank 2 @ alpha\n"),
            "{row}"
        );
        // Without MPI timelines, no MPI states or types.
        let pcf = String::from_utf8(pcf).unwrap();
        assert!(!pcf.contains("50000001"), "{pcf}");
    }
}
