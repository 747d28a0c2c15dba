//! Paraver: a strict reader of the `.prv` grammar (header, record field
//! counts, object ranges, sorted times), of the `.pcf` sections and of the
//! `.row` blocks; it accepts docs/formats.md's verified sample and rejects its bad
//! lines. Replaying the 60000019 events as Paraver's "Stacked Val" does
//! gives back every thread's spans, and the Running states are the times
//! inside a top-level span.

use std::collections::{BTreeMap, HashMap};

use profiler::Profile;
use profiler::emit::paraver;
use regex::Regex;

use super::*;

// ------------------------------------------------------------------ paraver

/// A strict reader of Paraver traces, written from docs/formats.md
/// section 5 (after paraver-kernel's `utils/traceparser`).
pub(crate) mod prv {
    use std::collections::BTreeMap;

    use regex::Regex;

    /// The `.prv` header.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct Header {
        pub(crate) date: (u32, u32, u32, u32, u32),
        pub(crate) end: u64,
        pub(crate) unit: String,
        /// CPUs per node.
        pub(crate) nodes: Vec<u32>,
        /// Per application, per task: (threads, node).
        pub(crate) appls: Vec<Vec<(u32, u32)>>,
        pub(crate) communicators: u32,
    }

    impl Header {
        pub(crate) fn cpus(&self) -> u32 {
            self.nodes.iter().sum()
        }
    }

    /// A body record (objects 1-based; cpu 0 = unknown).
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Record {
        State {
            obj: Obj,
            begin: u64,
            end: u64,
            state: u32,
        },
        Event {
            obj: Obj,
            time: u64,
            pairs: Vec<(u32, i64)>,
        },
        Comm {
            obj: Obj,
            lsend: u64,
            psend: u64,
            to: Obj,
            lrecv: u64,
            precv: u64,
            size: u64,
            tag: i64,
        },
    }

    /// cpu, appl, task, thread.
    pub(crate) type Obj = (u32, u32, u32, u32);

    fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
        let ok = !s.is_empty()
            && s.bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-' && s.len() > 1));
        if !ok {
            return Err(format!("{what}: {s:?} is not an integer"));
        }
        s.parse().map_err(|_| format!("{what}: {s:?} out of range"))
    }

    pub(crate) fn header(line: &str) -> Result<Header, String> {
        let re = Regex::new(
            r"^#Paraver \(([0-9]{2})/([0-9]{2})/([0-9]{4}) at ([0-9]{2}):([0-9]{2})\):([0-9]+)(_ns|_ms)?:(.*)$",
        )
        .unwrap();
        let c = re
            .captures(line)
            .ok_or_else(|| format!("bad header {line:?}"))?;
        let n = |i: usize| c[i].parse::<u32>().unwrap();
        let date = (n(1), n(2), n(3), n(4), n(5));
        if !(1..=31).contains(&date.0) || !(1..=12).contains(&date.1) || date.3 > 23 || date.4 > 59
        {
            return Err(format!("bad date in {line:?}"));
        }
        let end = num(&c[6], "end time")?;
        let unit = c.get(7).map_or("us", |m| &m.as_str()[1..]).to_owned();
        let rest = &c[8];
        // RESOURCES: `0` or `n(c1,...,cn)`, then `:N_APPL:APPL...[,N_COMM]`.
        let (nodes, rest) = if let Some(r) = rest.strip_prefix("0:") {
            (Vec::new(), r)
        } else {
            let open = rest.find('(').ok_or("resources without '('")?;
            let close = rest.find(')').ok_or("resources without ')'")?;
            let n: usize = num(&rest[..open], "nodes")?;
            let cpus: Vec<u32> = rest[open + 1..close]
                .split(',')
                .map(|s| num(s, "cpus"))
                .collect::<Result<_, _>>()?;
            if cpus.len() != n || n == 0 {
                return Err(format!("{n} nodes but {} CPU counts", cpus.len()));
            }
            let r = rest[close + 1..]
                .strip_prefix(':')
                .ok_or("no ':' after resources")?;
            (cpus, r)
        };
        let colon = rest.find(':').ok_or("no applications")?;
        let n_appl: usize = num(&rest[..colon], "applications")?;
        let mut rest = &rest[colon + 1..];
        let mut appls = Vec::new();
        for k in 0..n_appl {
            let open = rest.find('(').ok_or("application without '('")?;
            let close = rest.find(')').ok_or("application without ')'")?;
            let n_tasks: usize = num(&rest[..open], "tasks")?;
            let mut tasks = Vec::new();
            for t in rest[open + 1..close].split(',') {
                let (th, node) = t.split_once(':').ok_or("task without ':node'")?;
                let th: u32 = num(th, "threads")?;
                let node: u32 = num(node, "node")?;
                if th == 0 || node == 0 || (!nodes.is_empty() && node as usize > nodes.len()) {
                    return Err(format!("task {t:?}: bad threads or node"));
                }
                tasks.push((th, node));
            }
            if tasks.len() != n_tasks || n_tasks == 0 {
                return Err(format!("{n_tasks} tasks but {} listed", tasks.len()));
            }
            appls.push(tasks);
            rest = &rest[close + 1..];
            if k + 1 < n_appl {
                rest = rest
                    .strip_prefix(':')
                    .ok_or("applications not separated by ':'")?;
            }
        }
        let communicators = match rest {
            "" => 0,
            r => num(
                r.strip_prefix(',').ok_or("junk after the applications")?,
                "communicators",
            )?,
        };
        if appls.is_empty() {
            return Err("no application".into());
        }
        Ok(Header {
            date,
            end,
            unit,
            nodes,
            appls,
            communicators,
        })
    }

    fn obj(h: &Header, f: &[&str], what: &str) -> Result<Obj, String> {
        let cpu: u32 = num(f[0], "cpu")?;
        let appl: u32 = num(f[1], "appl")?;
        let task: u32 = num(f[2], "task")?;
        let thread: u32 = num(f[3], "thread")?;
        if cpu > h.cpus() {
            return Err(format!("{what}: cpu {cpu} of {}", h.cpus()));
        }
        let tasks = h
            .appls
            .get((appl as usize).wrapping_sub(1))
            .ok_or(format!("{what}: appl {appl} of {}", h.appls.len()))?;
        let (threads, _) = tasks
            .get((task as usize).wrapping_sub(1))
            .ok_or(format!("{what}: task {task} of {}", tasks.len()))?;
        if thread == 0 || thread > *threads {
            return Err(format!("{what}: thread {thread} of {threads}"));
        }
        Ok((cpu, appl, task, thread))
    }

    /// Reads a whole `.prv`: the header, then the records, strictly.
    pub(crate) fn read(text: &str) -> Result<(Header, Vec<Record>), String> {
        let mut lines = text.lines();
        let h = header(lines.next().ok_or("empty file")?)?;
        for k in 0..h.communicators {
            let l = lines.next().ok_or("missing communicator line")?;
            if !l.starts_with("c:") {
                return Err(format!("communicator {k}: {l:?}"));
            }
        }
        let mut out = Vec::new();
        let mut last = 0u64;
        for (no, line) in lines.enumerate() {
            let what = format!("record {} {line:?}", no + 1);
            if line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            let (time, rec) = match f[0] {
                "1" => {
                    if f.len() != 8 {
                        return Err(format!("{what}: a state has 8 fields"));
                    }
                    let obj = obj(&h, &f[1..5], &what)?;
                    let begin: u64 = num(f[5], "begin")?;
                    let end: u64 = num(f[6], "end")?;
                    if begin > end || end > h.end {
                        return Err(format!("{what}: bad interval"));
                    }
                    let state = num(f[7], "state")?;
                    (
                        begin,
                        Record::State {
                            obj,
                            begin,
                            end,
                            state,
                        },
                    )
                }
                "2" => {
                    if f.len() < 8 || f.len() & 1 != 0 {
                        return Err(format!("{what}: an event has type:value pairs"));
                    }
                    let obj = obj(&h, &f[1..5], &what)?;
                    let time: u64 = num(f[5], "time")?;
                    let pairs = f[6..]
                        .chunks(2)
                        .map(|p| Ok((num(p[0], "type")?, num(p[1], "value")?)))
                        .collect::<Result<Vec<_>, String>>()?;
                    (time, Record::Event { obj, time, pairs })
                }
                "3" => {
                    if f.len() != 15 {
                        return Err(format!("{what}: a communication has 15 fields"));
                    }
                    let from = obj(&h, &f[1..5], &what)?;
                    let t: Vec<u64> = [5, 6, 11, 12]
                        .iter()
                        .map(|&i| num(f[i], "time"))
                        .collect::<Result<_, _>>()?;
                    let to = obj(&h, &f[7..11], &what)?;
                    let size = num::<u64>(f[13], "size")?;
                    let tag = num::<i64>(f[14], "tag")?;
                    if t.iter().any(|&x| x > h.end) {
                        return Err(format!("{what}: time past the end"));
                    }
                    if t[0] > t[1] || t[2] > t[3] {
                        return Err(format!("{what}: a logical time after its physical time"));
                    }
                    (
                        t[0],
                        Record::Comm {
                            obj: from,
                            lsend: t[0],
                            psend: t[1],
                            to,
                            lrecv: t[2],
                            precv: t[3],
                            size,
                            tag,
                        },
                    )
                }
                other => return Err(format!("{what}: unknown record type {other:?}")),
            };
            if time < last {
                return Err(format!("{what}: time {time} before {last}: not sorted"));
            }
            if time > h.end {
                return Err(format!("{what}: time past the end"));
            }
            last = time;
            out.push(rec);
        }
        Ok((h, out))
    }

    /// The `.pcf`: options, states, colours and event types.
    #[derive(Debug, Default)]
    pub(crate) struct Pcf {
        pub(crate) options: BTreeMap<String, String>,
        pub(crate) semantic: BTreeMap<String, String>,
        pub(crate) states: BTreeMap<u32, String>,
        pub(crate) colors: BTreeMap<u32, (u8, u8, u8)>,
        /// type -> (label, values)
        pub(crate) types: BTreeMap<u32, (String, BTreeMap<i64, String>)>,
    }

    pub(crate) fn pcf(text: &str) -> Result<Pcf, String> {
        #[derive(PartialEq)]
        enum Sec {
            None,
            Options,
            Semantic,
            States,
            Colors,
            Types,
            Values,
        }
        let mut out = Pcf::default();
        let mut sec = Sec::None;
        // The types of the current EVENT_TYPE block.
        let mut block: Vec<u32> = Vec::new();
        let split = |l: &str| -> Option<(String, String)> {
            let (a, b) = l.split_once(' ')?;
            let b = b.trim_start();
            (!b.is_empty()).then(|| (a.to_owned(), b.to_owned()))
        };
        for (no, raw) in text.lines().enumerate() {
            let line = raw.replace('\t', " ");
            let line = line.trim();
            let what = format!(".pcf line {} {raw:?}", no + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line {
                "DEFAULT_OPTIONS" => sec = Sec::Options,
                "DEFAULT_SEMANTIC" => sec = Sec::Semantic,
                "STATES" => sec = Sec::States,
                "STATES_COLOR" => sec = Sec::Colors,
                "EVENT_TYPE" => {
                    sec = Sec::Types;
                    block.clear();
                }
                "VALUES" if sec == Sec::Types && !block.is_empty() => sec = Sec::Values,
                "GRADIENT_COLOR" | "GRADIENT_NAMES" => return Err(format!("{what}: deprecated")),
                _ => {
                    let (k, v) = split(line).ok_or(format!("{what}: key without value"))?;
                    match sec {
                        Sec::None => return Err(format!("{what}: outside any section")),
                        Sec::Options => {
                            const KEYS: [&str; 7] = [
                                "LEVEL",
                                "UNITS",
                                "LOOK_BACK",
                                "SPEED",
                                "FLAG_ICONS",
                                "NUM_OF_STATE_COLORS",
                                "YMAX_SCALE",
                            ];
                            if !KEYS.contains(&k.as_str()) {
                                return Err(format!("{what}: unknown option"));
                            }
                            out.options.insert(k, v);
                        }
                        Sec::Semantic => {
                            out.semantic.insert(k, v);
                        }
                        Sec::States => {
                            let s: u32 = num(&k, &what)?;
                            if out.states.insert(s, v).is_some() {
                                return Err(format!("{what}: state {s} twice"));
                            }
                        }
                        Sec::Colors => {
                            let s: u32 = num(&k, &what)?;
                            let rgb = v
                                .strip_prefix('{')
                                .and_then(|v| v.strip_suffix('}'))
                                .ok_or(format!("{what}: colour not {{r,g,b}}"))?;
                            let c: Vec<u8> = rgb
                                .split(',')
                                .map(|x| num(x, &what))
                                .collect::<Result<_, _>>()?;
                            if c.len() != 3 {
                                return Err(format!("{what}: colour not {{r,g,b}}"));
                            }
                            out.colors.insert(s, (c[0], c[1], c[2]));
                        }
                        Sec::Types => {
                            num::<u32>(&k, &what)?; // gradient colour
                            let (ty, label) =
                                split(&v).ok_or(format!("{what}: type without label"))?;
                            let ty: u32 = num(&ty, &what)?;
                            block.push(ty);
                            if out.types.insert(ty, (label, BTreeMap::new())).is_some() {
                                return Err(format!("{what}: type {ty} twice"));
                            }
                        }
                        Sec::Values => {
                            if k == "PRECISION" {
                                num::<u32>(&v, &what)?;
                                continue;
                            }
                            let val: i64 = num(&k, &what)?;
                            for ty in &block {
                                let values = &mut out.types.get_mut(ty).unwrap().1;
                                if values.insert(val, v.clone()).is_some() {
                                    return Err(format!("{what}: value {val} twice"));
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The `.row`: labels per level.
    pub(crate) fn row(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
        let re = Regex::new(r"^LEVEL (CPU|NODE|SYSTEM|WORKLOAD|APPL|TASK|THREAD) SIZE ([0-9]+)$")
            .unwrap();
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut lines = text.lines().enumerate();
        while let Some((no, line)) = lines.next() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let c = re.captures(line).ok_or(format!(
                ".row line {}: {line:?} is not a LEVEL line",
                no + 1
            ))?;
            let n: usize = c[2].parse().unwrap();
            let mut labels = Vec::new();
            for _ in 0..n {
                match lines.next() {
                    Some((_, l)) if !l.is_empty() && !l.starts_with("LEVEL ") => {
                        labels.push(l.to_owned())
                    }
                    other => {
                        return Err(format!(
                            ".row: LEVEL {} SIZE {n} has {} labels (then {other:?})",
                            &c[1],
                            labels.len()
                        ));
                    }
                }
            }
            if out.insert(c[1].to_owned(), labels).is_some() {
                return Err(format!(".row: LEVEL {} twice", &c[1]));
            }
        }
        Ok(out)
    }
}

/// A Paraver trace as written.
pub(super) struct Trace {
    pub(super) prv: String,
    pub(super) pcf: String,
    pub(super) row: String,
}

pub(super) fn paraver_of(p: &Profile) -> Trace {
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    paraver::write(p, &mut a, &mut b, &mut c).unwrap();
    Trace {
        prv: utf8(a, ".prv"),
        pcf: utf8(b, ".pcf"),
        row: utf8(c, ".row"),
    }
}

/// The function labels the .pcf must hold: the name, with `(file:line)` when
/// several sites share it.
fn function_labels(p: &Profile) -> Vec<String> {
    let names: Vec<String> = p
        .sites
        .iter()
        .map(|s| clean(&s.name).trim().to_owned())
        .collect();
    names
        .iter()
        .zip(&p.sites)
        .map(|(n, s)| {
            if names.iter().filter(|m| *m == n).count() > 1 {
                format!("{n} ({}:{})", s.file, s.line)
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Reads a trace strictly and checks it against `p`.
pub(super) fn check_paraver(p: &Profile, t: &Trace, what: &str) {
    let (h, records) = prv::read(&t.prv).unwrap_or_else(|e| panic!("{what}: .prv: {e}\n{}", t.prv));
    let pcf = prv::pcf(&t.pcf).unwrap_or_else(|e| panic!("{what}: .pcf: {e}"));
    let row = prv::row(&t.row).unwrap_or_else(|e| panic!("{what}: .row: {e}"));
    let end = expected_end(p);

    // Header: ns, the end, a 4-digit year, one application of one task per
    // process, one CPU per thread.
    assert_eq!((h.unit.as_str(), h.end), ("ns", end), "{what}");
    assert_eq!(h.date, (21, 11, 2026, 5, 30), "{what}");
    assert_eq!(h.appls.len(), 1, "{what}");
    let mut pids: Vec<u32> = Vec::new();
    for th in &p.threads {
        if !pids.contains(&th.pid) {
            pids.push(th.pid);
        }
    }
    let tasks = &h.appls[0];
    if p.threads.is_empty() {
        assert_eq!(tasks, &[(1, 1)], "{what}");
    } else {
        assert_eq!(tasks.len(), pids.len(), "{what}: one task per process");
        for (k, pid) in pids.iter().enumerate() {
            let n = p.threads.iter().filter(|t| t.pid == *pid).count() as u32;
            assert_eq!(tasks[k], (n, 1), "{what}: task {k}");
        }
        assert_eq!(h.cpus() as usize, p.threads.len(), "{what}");
    }

    // .row: sizes match the header; threads named in profile order.
    assert_eq!(row["CPU"].len(), h.cpus() as usize, "{what}");
    assert_eq!(row["NODE"].len(), h.nodes.len(), "{what}");
    assert_eq!(row["APPL"].len(), 1, "{what}");
    assert_eq!(row["TASK"].len(), tasks.len(), "{what}");
    let n_threads: u32 = tasks.iter().map(|t| t.0).sum();
    assert_eq!(row["THREAD"].len(), n_threads as usize, "{what}");
    // (task, thread) of every profile thread, from the .row labels.
    let label = Regex::new(r"^THREAD 1\.([0-9]+)\.([0-9]+) \((.*)\)$").unwrap();
    let mut obj_of: HashMap<(u32, u32), usize> = HashMap::new();
    for (i, th) in p.threads.iter().enumerate() {
        let l = &row["THREAD"][i];
        let c = label
            .captures(l)
            .unwrap_or_else(|| panic!("{what}: .row label {l:?}"));
        let task: u32 = c[1].parse().unwrap();
        let thread: u32 = c[2].parse().unwrap();
        assert_eq!(&c[3], clean(&th.name).trim(), "{what}");
        assert_eq!(
            pids[task as usize - 1],
            th.pid,
            "{what}: task of thread {i}"
        );
        assert!(
            obj_of.insert((task, thread), i).is_none(),
            "{what}: {l} twice"
        );
    }

    // .pcf: states and the user-function names.
    assert_eq!(pcf.options["LEVEL"], "THREAD");
    assert_eq!(pcf.options["UNITS"], "NANOSEC");
    assert_eq!(pcf.semantic["THREAD_FUNC"], "State As Is");
    assert_eq!(pcf.states[&0], "Idle");
    assert_eq!(pcf.states[&1], "Running");
    assert!(pcf.colors.contains_key(&0) && pcf.colors.contains_key(&1));
    let (fn_label, values) = &pcf.types[&60_000_019];
    assert_eq!(fn_label, "User function");
    assert_eq!(values[&0], "End");
    for (i, l) in function_labels(p).iter().enumerate() {
        assert_eq!(&values[&(i as i64 + 1)], l, "{what}: function {}", i + 1);
    }

    // Records, per thread: replay "Stacked Val" and the states.
    let mut states: BTreeMap<usize, Vec<(u64, u64, u32)>> = BTreeMap::new();
    let mut stacks: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    let mut spans: BTreeMap<usize, Vec<(u32, u64, u64)>> = BTreeMap::new();
    // Per thread: the intervals with something on the stack.
    let mut busy: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    for r in &records {
        match r {
            prv::Record::State {
                obj,
                begin,
                end,
                state,
            } => {
                let i = obj_of[&(obj.2, obj.3)];
                assert_eq!(obj.0 as usize, i + 1, "{what}: thread {i}'s CPU");
                states.entry(i).or_default().push((*begin, *end, *state));
            }
            prv::Record::Event { obj, time, pairs } => {
                let i = obj_of[&(obj.2, obj.3)];
                for &(ty, value) in pairs {
                    assert_eq!(ty, 60_000_019, "{what}");
                    let stack = stacks.entry(i).or_default();
                    if value != 0 {
                        assert!(values.contains_key(&value), "{what}: value {value} unnamed");
                        if stack.is_empty() {
                            busy.entry(i).or_default().push((*time, u64::MAX));
                        }
                        stack.push((value as u64, *time));
                    } else {
                        let (v, start) = stack
                            .pop()
                            .unwrap_or_else(|| panic!("{what}: thread {i}: 0 with nothing open"));
                        spans
                            .entry(i)
                            .or_default()
                            .push((v as u32 - 1, start, *time));
                        if stack.is_empty() {
                            busy.get_mut(&i).unwrap().last_mut().unwrap().1 = *time;
                        }
                    }
                }
            }
            prv::Record::Comm { .. } => panic!("{what}: no communications expected"),
        }
    }
    for (i, th) in p.threads.iter().enumerate() {
        assert!(
            stacks.get(&i).is_none_or(Vec::is_empty),
            "{what}: thread {i} ends inside a function"
        );
        let mut got = spans.remove(&i).unwrap_or_default();
        got.sort_unstable();
        assert_eq!(got, expected_spans(th), "{what}: thread {i}'s spans");
        let st = states.remove(&i).unwrap_or_default();
        if th.timeline.is_empty() {
            assert!(
                st.is_empty(),
                "{what}: thread {i} has no timeline but states"
            );
            continue;
        }
        // States cover [0, end] without gaps; Running = busy, merged.
        let mut at = 0;
        for &(b, e, s) in &st {
            assert_eq!(b, at, "{what}: thread {i}: state gap or overlap at {b}");
            assert!(b < e, "{what}: empty state");
            assert!(s <= 1, "{what}: state {s}");
            at = e;
        }
        assert_eq!(at, end, "{what}: thread {i}: states end at {at}");
        let running: Vec<(u64, u64)> = st.iter().filter(|s| s.2 == 1).map(|s| (s.0, s.1)).collect();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for &(b, e) in busy.get(&i).map_or(&[][..], Vec::as_slice) {
            match merged.last_mut() {
                Some(last) if b <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((b, e)),
            }
        }
        merged.retain(|&(b, e)| e > b);
        // Idle states also separate Running ones.
        for w in st.windows(2) {
            assert_ne!(
                w[0].2, w[1].2,
                "{what}: thread {i}: equal states not merged"
            );
        }
        assert_eq!(
            running, merged,
            "{what}: thread {i}: Running = inside a top-level span"
        );
    }
}

#[test]
fn paraver_reader_accepts_the_verified_sample() {
    // docs/formats.md section 5, verbatim (read by BSC's own parser there).
    let prv = "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)
1:1:1:1:1:0:1000:1
2:1:1:1:1:0:60000019:1
1:2:1:1:2:0:200:0
2:1:1:1:1:100:60000019:2
2:1:1:1:1:150:60000019:3:42000000:7
1:2:1:1:2:200:900:1
2:2:1:1:2:200:60000019:3
3:1:1:1:1:300:310:2:1:1:2:320:330:64:7
2:1:1:1:1:400:60000019:0
2:1:1:1:1:500:60000019:0
1:2:1:1:2:900:1000:0
2:2:1:1:2:900:60000019:0
2:1:1:1:1:1000:60000019:0
";
    let pcf = "DEFAULT_OPTIONS

LEVEL               THREAD
UNITS               NANOSEC

DEFAULT_SEMANTIC

THREAD_FUNC          State As Is

STATES
0    Idle
1    Running

STATES_COLOR
0    {117,195,255}
1    {0,0,255}

EVENT_TYPE
0    60000019    User function
VALUES
0      End
1      main
2      a
3      b

EVENT_TYPE
0    42000000    Allocated bytes
";
    let row = "LEVEL CPU SIZE 2
1.myhost
2.myhost

LEVEL NODE SIZE 1
myhost

LEVEL THREAD SIZE 2
THREAD 1.1.1 (main)
THREAD 1.1.2 (worker)
";
    let (h, records) = prv::read(prv).unwrap();
    assert_eq!((h.end, h.unit.as_str(), h.cpus()), (1000, "ns", 2));
    assert_eq!(h.appls, [vec![(2, 1)]]);
    assert_eq!(records.len(), 13);
    assert!(records.contains(&prv::Record::Event {
        obj: (1, 1, 1, 1),
        time: 150,
        pairs: vec![(60_000_019, 3), (42_000_000, 7)]
    }));
    let pcf = prv::pcf(pcf).unwrap();
    assert_eq!(pcf.types[&60_000_019].1.len(), 4);
    assert_eq!(pcf.types[&42_000_000].0, "Allocated bytes");
    let row = prv::row(row).unwrap();
    assert_eq!(
        row["THREAD"],
        ["THREAD 1.1.1 (main)", "THREAD 1.1.2 (worker)"]
    );

    // The header grammar beyond the sample.
    let h = prv::header("#Paraver (01/02/2025 at 10:00):5:2(4,4):2:2(1:1,3:2):1(1:1),2").unwrap();
    assert_eq!(h.unit, "us");
    assert_eq!(h.nodes, [4, 4]);
    assert_eq!(h.appls, [vec![(1, 1), (3, 2)], vec![(1, 1)]]);
    assert_eq!(h.communicators, 2);
}

#[test]
fn paraver_reader_rejects_bad_lines() {
    let header = "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)\n";
    let ok = "2:1:1:1:2:100:60000019:2\n";
    assert!(prv::read(&format!("{header}{ok}")).is_ok());
    for (bad, why) in [
        // docs/formats.md's three bad lines, rejected by BSC's parser.
        ("2:1:1:1:3:100:60000019:2", "thread 3 of 2"),
        ("2:1:1:1:1:100:60000019", "an odd number of event fields"),
        ("1:3:1:1:1:0:1000:1", "cpu 3 of 2"),
        // More of the grammar.
        ("2:1:1:2:1:100:60000019:2", "task 2 of 1"),
        ("2:1:2:1:1:100:60000019:2", "appl 2 of 1"),
        ("2:1:1:1:0:100:60000019:2", "thread 0"),
        ("1:1:1:1:1:0:1000", "a state of 7 fields"),
        ("1:1:1:1:1:0:1000:1:9", "a state of 9 fields"),
        ("1:1:1:1:1:500:400:1", "a state ending before it begins"),
        ("2:1:1:1:1:x:60000019:2", "a time that is not a number"),
        ("2:1:1:1:1: 100:60000019:2", "a padded field"),
        ("2:1:1:1:1:2000:60000019:2", "a time past the end"),
        (
            "3:1:1:1:1:300:310:2:1:1:3:320:330:64",
            "a communication of 14 fields",
        ),
        ("5:1:1:1:1:100", "an unknown record type"),
    ] {
        let text = format!("{header}{bad}\n");
        assert!(prv::read(&text).is_err(), "accepted {why}: {bad}");
    }
    // Records out of time order.
    let unsorted = format!("{header}2:1:1:1:1:200:60000019:2\n2:1:1:1:1:100:60000019:0\n");
    assert!(prv::read(&unsorted).unwrap_err().contains("not sorted"));
    // Headers.
    for bad in [
        "#Paraver (21/11/26 at 05:30):1000_ns:1(2):1:1(2:1)", // 2-digit year
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:2(2:1)", // 2 tasks, 1 listed
        "#Paraver (21/11/2026 at 05:30):1000_ns:2(2):1:1(2:1)", // 2 nodes, 1 count
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:3)", // node 3 of 1
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):2:1(2:1)", // 2 appls, 1 listed
        "#Paraver (32/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)", // day 32
        "Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)",
    ] {
        assert!(prv::header(bad).is_err(), "accepted header {bad}");
    }
    // .pcf and .row.
    for bad in [
        "0 Idle\n",                                     // outside any section
        "STATES\n0\n",                                  // no label
        "STATES_COLOR\n0 {1,2}\n",                      // not r,g,b
        "EVENT_TYPE\n0 60000019 F\nVALUES\n1 a\n1 b\n", // value twice
        "DEFAULT_OPTIONS\nCOLOUR blue\n",               // unknown option
    ] {
        assert!(prv::pcf(bad).is_err(), "accepted .pcf {bad:?}");
    }
    for bad in [
        "LEVEL CPU SIZE 2\n1.a\n",
        "LEVEL CPU SIZE 1\n1.a\nLEVEL CPU SIZE 1\n1.a\n",
        "LEVEL CORE SIZE 1\nx\n",
        "LEVEL THREAD SIZE 2\nTHREAD 1.1.1 (a)\n\nTHREAD 1.1.2 (b)\n",
    ] {
        assert!(prv::row(bad).is_err(), "accepted .row {bad:?}");
    }
}

#[test]
fn paraver_of_the_sample_matches_formats_md() {
    let p = sample();
    let t = paraver_of(&p);
    check_paraver(&p, &t, "sample");
    let body: Vec<&str> = t.prv.lines().collect();
    assert_eq!(
        body[0],
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)"
    );
    assert_eq!(
        &body[1..5],
        [
            "1:1:1:1:1:0:1000:1",
            "2:1:1:1:1:0:60000019:1",
            "1:2:1:1:2:0:200:0",
            "2:1:1:1:1:100:60000019:2",
        ]
    );
    assert!(
        t.row
            .contains("LEVEL THREAD SIZE 2\nTHREAD 1.1.1 (main)\nTHREAD 1.1.2 (worker)\n")
    );
    assert!(
        t.pcf
            .contains("VALUES\n0      End\n1      main\n2      a\n3      b\n4      job\n")
    );
}

#[test]
fn paraver_of_every_profile() {
    for (what, p) in hand_built() {
        let t = paraver_of(&p);
        check_paraver(&p, &t, &what);
    }
}

#[test]
fn paraver_orders_ties_for_stacked_val() {
    let p = rich();
    let t = paraver_of(&p);
    // Two processes: two tasks, one CPU per thread.
    assert!(
        t.prv
            .starts_with("#Paraver (21/11/2026 at 05:30):1500_ns:1(5):1:2(2:1,3:1)\n")
    );
    assert!(
        t.row
            .contains("LEVEL TASK SIZE 2\nrich (pid 100)\nrich (pid 200)\n")
    );
    assert!(
        t.row
            .contains("THREAD 1.2.2 (no timeline)\nTHREAD 1.2.3 (dup)\n")
    );
    // Shared names get their place; control characters become spaces.
    assert!(t.pcf.contains("3      leaf (src/w.rs:3)\n"));
    assert!(t.pcf.contains("6      leaf (src/other.rs:6)\n"));
    assert!(t.pcf.contains("4      ünïcødé 名前\n"));
    assert!(t.pcf.contains("5      Vec<[u8; 8]>::push & \"q\"\n"));
    assert!(t.pcf.starts_with("# 5 scopes"));
    // Thread 1 at t=400: ünï and work close (innermost first), the next
    // work opens, then the zero-length span at its start opens and closes
    // inside it; at t=200, leaf closes before ünï opens and the zero-length
    // span at ünï's start opens and closes inside it.
    let at = |time: u64| -> Vec<String> {
        t.prv
            .lines()
            .filter(|l| l.starts_with(&format!("2:1:1:1:1:{time}:")))
            .map(|l| l.rsplit(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(at(400), ["0", "0", "2", "7", "0"]);
    assert_eq!(at(200), ["0", "4", "7", "0"]);
    assert_eq!(at(1000), ["0", "0", "8"]);
    // Thread 1 runs [0, 1200] (main then step 3, touching), idles after;
    // the zero-length span at 1300 runs in the Idle state.
    assert!(t.prv.contains("\n1:1:1:1:1:0:1200:1\n"));
    assert!(t.prv.contains("\n1:1:1:1:1:1200:1500:0\n"));
}
