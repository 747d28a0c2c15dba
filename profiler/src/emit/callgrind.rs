//! Callgrind profile files for KCacheGrind, QCacheGrind, `callgrind_annotate`
//! and `gprof2dot -f callgrind`.
//!
//! Two events are written: `ns` (wall-clock nanoseconds) and `calls`
//! (function entries). Every function gets a `fn=` block holding its **self**
//! cost (`tottime` and `ncalls` in cProfile's terms), then one arc per callee:
//!
//! ```text
//! cfn=(2) a
//! calls=<calls along the arc> <callee line>
//! <caller line> <inclusive ns> <inclusive calls>
//! ```
//!
//! # Arc costs
//!
//! Readers derive a function's inclusive cost from the arcs into it
//! (KCacheGrind: the sum of the incoming arcs that are not direct
//! self-recursion), so the arc costs are chosen for that rule to give
//! cProfile's `cumtime`:
//!
//! - an arc `f -> g` with `f != g` costs the inclusive time of the calls made
//!   along it, counting nested activations of the same arc once (the outermost
//!   only): that is the edge's `cumtime` in [`Stats`](crate::Stats), the
//!   figure pstats prints in `print_callers`;
//! - a self-recursive arc `f -> f` costs the sum of every inner call's
//!   inclusive time, as callgrind itself writes such arcs. KCacheGrind leaves
//!   self arcs out of inclusive costs; `callgrind_annotate --inclusive=yes`
//!   adds them in, so it shows recursive functions above 100%;
//! - the `calls` column of an arc holds the function entries under the arc
//!   (the callee's calls and every call below them), counted the same way.
//!
//! With these costs, KCacheGrind's inclusive cost of every function equals its
//! `cumtime` unless the function takes part in mutual recursion (a cycle
//! through two or more functions, such as `a -> b -> a`): there the arcs into
//! a cycle member carry calls nested inside the member's own outer activation,
//! which KCacheGrind adds up, as it does for callgrind's own data (its cycle
//! detection groups such functions). Self costs, the totals and every arc's
//! call count are exact in all cases.
//!
//! # Thread roots
//!
//! A function called at the top of a thread (no profiled caller) would have
//! no arc into it: KCacheGrind would show it "Called (0)" times, and where it
//! is *also* called by a function (itself included), the readers would
//! compute its inclusive cost from the arcs alone and miss the top-level
//! calls. So every file, the per-thread ones included, gets one extra
//! function per thread, `(thread <n>: <name>)` in file `???`, with no self
//! cost and one arc to each of the thread's top-level functions: every call
//! has an arc, and the extra functions show each thread's total time.
//!
//! # Header
//!
//! KCacheGrind names each part (file) "PID p, section 1, thread t" and shows
//! its `desc: Trigger:` line beside it, so that line names the thread
//! (`thread 2: rayon-worker-1`) or says how many threads were merged.
//!
//! # Paths
//!
//! `fl=` and `cfl=` lines hold the sites' files joined to the profile's
//! [`source_root`](crate::Metadata::source_root) when they are relative (as
//! `file!()` gives them for a workspace's packages), so that KCacheGrind's
//! source view finds them whichever folder it was started from. With
//! `PROFILER_SOURCE_ROOT=` (empty) at run time they stay relative.
//!
//! # Compressed
//!
//! Functions are named by [`SiteInfo::name`](crate::SiteInfo::name). KCacheGrind
//! identifies a function by its name and the *base name* of its file (older
//! versions by the name alone) and gprof2dot by its name alone, so a name
//! shared by several sites (same name in two files, or twice in one file) is
//! written as `name (file:line)` for each of them. Line breaks and other
//! control characters in names, file names and the command line are written
//! as spaces, and names are trimmed.
//!
//! Compressed are compressed (`fn=(3) name` once, `fn=(3)` after). A `cfl=` line
//! precedes every call into a function of another file (KCacheGrind forgets
//! it after each call, and without it the readers take the caller's file);
//! calls within a file leave it out, which keeps `callgrind_annotate`'s names
//! consistent when it shortens absolute `fl=` paths under its working
//! directory (it does not shorten `cfl=` ones).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::names;
use crate::error::Error;
use crate::hash::FastMap;
use crate::profile::{Profile, ThreadProfile};

/// Writes the callgrind file of every thread merged (see [`write()`]).
pub fn write_merged(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    write(profile, None, w)
}

/// Writes `profile` in callgrind format to `w`: every thread merged
/// (`thread = None`), or one thread (an index into
/// [`Profile::threads`], written with `thread: <index + 1>` and
/// `desc: Thread: <name>` headers). The `pid:` header is the profile's
/// process id, or the thread's own for one thread; `cmd:` is the recorded
/// command line.
///
/// Fails with [`io::ErrorKind::InvalidInput`] if the thread index is out of
/// range, and with the writer's error if writing fails.
pub fn write(profile: &Profile, thread: Option<usize>, w: &mut dyn Write) -> io::Result<()> {
    let threads: Vec<usize> = match thread {
        Some(t) if t >= profile.threads.len() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "thread index {t} is out of range: the profile has {} threads",
                    profile.threads.len()
                ),
            ));
        }
        Some(t) => vec![t],
        None => (0..profile.threads.len()).collect(),
    };
    let model = Model::build(profile, &threads);
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    write_model(profile, thread, &model, &mut w)?;
    w.flush()
}

/// Writes one callgrind file per thread into `dir` (created if needed), as
/// callgrind's `--separate-threads=yes` does: `callgrind.out.<pid>-<n>`, where
/// `<pid>` is the profile's process id and `<n>` the thread's position in
/// [`Profile::threads`] from 1, zero-padded to two digits (`-01`, `-02`, ...,
/// `-100`). Each file has a `thread: <n>` header and is written atomically.
/// Returns the paths written, in thread order.
///
/// Put these files in a directory of their own, not beside the merged
/// `callgrind.out`: KCacheGrind opens every file whose name starts with the
/// name of the file it is asked to open, so it would load the merged file and
/// the per-thread files together and count every call twice.
pub fn write_per_thread(profile: &Profile, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut written = Vec::with_capacity(profile.threads.len());
    for i in 0..profile.threads.len() {
        let path = dir.join(per_thread_file_name(profile.meta.pid, i));
        crate::fs::write_atomic(&path, |w| write(profile, Some(i), w))?;
        written.push(path);
    }
    Ok(written)
}

/// The file name [`write_per_thread`] gives the thread at `index` (from 0) of
/// process `pid`: `callgrind.out.<pid>-<index + 1, two digits at least>`.
pub fn per_thread_file_name(pid: u32, index: usize) -> String {
    format!("callgrind.out.{pid}-{:02}", index + 1)
}

/// A function as written: one per distinct (name, file, line) of the sites
/// called in the covered threads, plus the synthetic thread roots.
struct Func {
    /// Unique within the file, sanitized.
    name: String,
    /// Sanitized; `???` when unknown.
    file: String,
    line: u32,
    self_ns: u64,
    self_calls: u64,
    /// A thread root added for the readers (see the module docs).
    synthetic: bool,
}

/// Costs of one caller -> callee arc.
#[derive(Default, Clone, Copy)]
struct ArcCost {
    /// Calls made along the arc (every one, nested or not).
    calls: u64,
    /// Inclusive time (see the module docs for which calls count).
    ns: u64,
    /// Function entries under the arc, counted like `ns`.
    incl_calls: u64,
}

/// What a callgrind file says: functions, their self costs and the arcs.
struct Model {
    funcs: Vec<Func>,
    /// (caller, callee) and costs, sorted by caller then callee.
    arcs: Vec<((u32, u32), ArcCost)>,
}

impl Model {
    fn build(profile: &Profile, threads: &[usize]) -> Model {
        let mut funcs: Vec<Func> = Vec::new();
        let mut by_key: HashMap<(String, String, u32), u32> = HashMap::new();
        let mut site_fid: Vec<Option<u32>> = vec![None; profile.sites.len()];
        let mut table = ArcTable::default();
        // Per thread (position in `threads`): top-level function -> arc costs.
        let mut root_arcs: Vec<BTreeMap<u32, ArcCost>> = vec![BTreeMap::new(); threads.len()];

        for (ti, &t) in threads.iter().enumerate() {
            let t = &profile.threads[t];
            let fid: Vec<u32> = t
                .nodes
                .iter()
                .map(|n| {
                    let s = n.site as usize;
                    if let Some(f) = site_fid.get(s).copied().flatten() {
                        return f;
                    }
                    let (name, file, line) = match profile.sites.get(s) {
                        Some(site) => (
                            names::label_or(&site.name, "(unnamed)"),
                            names::label_or(&site.file, "???"),
                            site.line,
                        ),
                        None => (format!("(unknown site {s})"), "???".to_owned(), 0),
                    };
                    let next = funcs.len() as u32;
                    let f = *by_key
                        .entry((name.clone(), file.clone(), line))
                        .or_insert_with(|| {
                            funcs.push(Func {
                                name,
                                file,
                                line,
                                self_ns: 0,
                                self_calls: 0,
                                synthetic: false,
                            });
                            next
                        });
                    if let Some(slot) = site_fid.get_mut(s) {
                        *slot = Some(f);
                    }
                    f
                })
                .collect();
            walk_thread(t, &fid, &mut funcs, &mut table, &mut root_arcs[ti]);
        }

        let mut arcs = table.arcs;
        // Thread roots: one per thread, calling its top-level functions.
        {
            for (ti, &t) in threads.iter().enumerate() {
                if root_arcs[ti].is_empty() {
                    continue;
                }
                let th = &profile.threads[t];
                let root = funcs.len() as u32;
                funcs.push(Func {
                    name: format!(
                        "(thread {}: {})",
                        t + 1,
                        names::label_or(&th.name, "(unnamed)")
                    ),
                    file: "???".to_owned(),
                    line: 0,
                    self_ns: 0,
                    self_calls: 0,
                    synthetic: true,
                });
                for (&f, a) in &root_arcs[ti] {
                    arcs.push(((root, f), *a));
                }
            }
        }
        arcs.sort_unstable_by_key(|a| a.0);

        disambiguate(&mut funcs);
        Model { funcs, arcs }
    }
}

/// Arcs by (caller, callee), numbered in the order first seen.
#[derive(Default)]
struct ArcTable {
    index: FastMap<u64, u32>,
    arcs: Vec<((u32, u32), ArcCost)>,
}

impl ArcTable {
    fn id(&mut self, key: (u32, u32)) -> usize {
        let next = self.arcs.len() as u32;
        let packed = (u64::from(key.0) << 32) | u64::from(key.1);
        let id = *self.index.entry(packed).or_insert(next);
        if id == next {
            self.arcs.push((key, ArcCost::default()));
        }
        id as usize
    }
}

const NONE: u32 = u32::MAX;

/// Adds one thread's self costs and arcs. `fid[i]` is node `i`'s function.
fn walk_thread(
    t: &ThreadProfile,
    fid: &[u32],
    funcs: &mut [Func],
    table: &mut ArcTable,
    roots: &mut BTreeMap<u32, ArcCost>,
) {
    let n = t.nodes.len();
    // A parent that does not come before its node (an invalid tree) is
    // treated as no parent, so that nothing here can loop or panic.
    let parent = |i: usize| t.nodes[i].parent().filter(|&p| p < i);
    let mut self_ns: Vec<u64> = t.nodes.iter().map(|n| n.time_ns).collect();
    // Function entries in each node's subtree.
    let mut sub_calls: Vec<u64> = t.nodes.iter().map(|n| n.calls).collect();
    for i in (0..n).rev() {
        if let Some(p) = parent(i) {
            self_ns[p] = self_ns[p].saturating_sub(t.nodes[i].time_ns);
            sub_calls[p] = sub_calls[p].saturating_add(sub_calls[i]);
        }
    }
    // Each node's arc, and the self costs.
    let mut node_arc = vec![NONE; n];
    for (i, node) in t.nodes.iter().enumerate() {
        let f = &mut funcs[fid[i] as usize];
        f.self_ns = f.self_ns.saturating_add(self_ns[i]);
        f.self_calls = f.self_calls.saturating_add(node.calls);
        match parent(i) {
            Some(p) => node_arc[i] = table.id((fid[p], fid[i])) as u32,
            None => {
                let a = roots.entry(fid[i]).or_default();
                add(a, node.calls, node.time_ns, sub_calls[i], true);
            }
        }
    }
    // Depth-first, counting the open activations of each arc so that nested
    // calls along the same (non-self) arc are counted once. The walk goes
    // through the nodes in preorder, each with its parent's place, so that
    // it reads memory in order; it only marks the activations that count
    // in full, and the costs are added in node order afterwards.
    let at = crate::profile::preorder_of(n, parent);
    // (arc, parent's place, self-recursive arc?) at each node's place.
    let mut visits = vec![(NONE, NONE, false); n];
    for i in 0..n {
        visits[at[i] as usize] = match parent(i) {
            Some(p) => (node_arc[i], at[p], fid[p] == fid[i]),
            None => (NONE, NONE, false),
        };
    }
    let mut open = vec![0u32; table.arcs.len()];
    let mut outermost = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    for (k, &(arc, parent_at, self_arc)) in visits.iter().enumerate() {
        while let Some(&top) = stack.last() {
            if top == parent_at {
                break;
            }
            stack.pop();
            let closed = visits[top as usize].0;
            if closed != NONE {
                open[closed as usize] -= 1;
            }
        }
        if arc != NONE {
            // A self-recursive arc costs every inner call's inclusive
            // cost; another arc only its outermost calls'.
            outermost[k] = self_arc || open[arc as usize] == 0;
            open[arc as usize] += 1;
        }
        stack.push(k as u32);
    }
    for (i, node) in t.nodes.iter().enumerate() {
        let arc = node_arc[i];
        if arc != NONE {
            let a = &mut table.arcs[arc as usize].1;
            add(
                a,
                node.calls,
                node.time_ns,
                sub_calls[i],
                outermost[at[i] as usize],
            );
        }
    }
}

fn add(a: &mut ArcCost, calls: u64, ns: u64, incl_calls: u64, outermost: bool) {
    a.calls = a.calls.saturating_add(calls);
    if outermost {
        a.ns = a.ns.saturating_add(ns);
        a.incl_calls = a.incl_calls.saturating_add(incl_calls);
    }
}

/// Makes every function name unique: a name shared by several functions
/// becomes `name (file:line)` for each of them (then `#2`, `#3`... if even
/// that collides).
fn disambiguate(funcs: &mut [Func]) {
    let mut names: Vec<String> = funcs.iter().map(|f| f.name.clone()).collect();
    names::disambiguate(&mut names, |i| {
        let f = &funcs[i];
        format!("{} ({}:{})", f.name, f.file, f.line)
    });
    for (f, n) in funcs.iter_mut().zip(names) {
        f.name = n;
    }
}

/// The path written for a function's file `file`: joined to `root` when it
/// is relative and names a file (not `???`, `~` or `<...>`).
fn source_path(root: Option<&str>, file: &str) -> String {
    match root {
        Some(root)
            if !root.is_empty()
                && !file.is_empty()
                && !Path::new(file).is_absolute()
                && !matches!(file.as_bytes()[0], b'?' | b'~' | b'<') =>
        {
            names::label(&Path::new(root).join(file).to_string_lossy())
        }
        _ => file.to_owned(),
    }
}

/// Name compression: `(n) name` the first time, `(n)` after. Keys are
/// dense indices.
struct Compressed {
    ids: Vec<u32>,
    next: u32,
}

impl Compressed {
    fn new(keys: usize) -> Self {
        Compressed {
            ids: vec![0; keys],
            next: 1,
        }
    }

    /// Writes `prefix` and the spec for key `k` whose text is `text`.
    fn write(&mut self, w: &mut dyn Write, prefix: &str, k: u32, text: &str) -> io::Result<()> {
        match self.ids[k as usize] {
            0 => {
                let id = self.next;
                self.next += 1;
                self.ids[k as usize] = id;
                writeln!(w, "{prefix}({id}) {text}")
            }
            id => writeln!(w, "{prefix}({id})"),
        }
    }
}

fn write_model(
    profile: &Profile,
    thread: Option<usize>,
    m: &Model,
    w: &mut dyn Write,
) -> io::Result<()> {
    let total_ns = m
        .funcs
        .iter()
        .fold(0u64, |s, f| s.saturating_add(f.self_ns));
    let total_calls = m
        .funcs
        .iter()
        .fold(0u64, |s, f| s.saturating_add(f.self_calls));

    writeln!(w, "# callgrind format")?;
    writeln!(w, "version: 1")?;
    writeln!(w, "creator: profiler {}", env!("CARGO_PKG_VERSION"))?;
    let pid = match thread {
        Some(t) => profile.threads[t].pid,
        None => profile.meta.pid,
    };
    writeln!(w, "pid: {pid}")?;
    let cmd = if profile.meta.args.is_empty() {
        names::label(&profile.meta.program)
    } else {
        names::label(&profile.meta.args.join(" "))
    };
    if !cmd.is_empty() {
        writeln!(w, "cmd: {cmd}")?;
    }
    writeln!(w, "part: 1")?;
    // KCacheGrind names a part "PID p, section s, thread t" and shows the
    // `Trigger:` description beside it: the thread's name goes there.
    match thread {
        Some(t) => {
            writeln!(w, "thread: {}", t + 1)?;
            writeln!(
                w,
                "desc: Trigger: thread {}: {}",
                t + 1,
                names::label_or(&profile.threads[t].name, "(unnamed)")
            )?;
        }
        None => {
            let n = profile.threads.len();
            writeln!(
                w,
                "desc: Trigger: {n} thread{} merged",
                if n == 1 { "" } else { "s" }
            )?;
        }
    }
    if profile.meta.compiled_out {
        writeln!(w, "desc: Note: {}", crate::profile::COMPILED_OUT)?;
    }
    writeln!(w, "positions: line")?;
    writeln!(w, "event: ns : Wall-clock nanoseconds")?;
    writeln!(w, "event: calls : Calls")?;
    writeln!(w, "events: ns calls")?;
    writeln!(w, "summary: {total_ns} {total_calls}")?;

    // Functions in order: (file, line, name) for real ones, thread roots
    // (file `???`, line 0) with the others of that file.
    let mut order: Vec<u32> = (0..m.funcs.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (&m.funcs[a as usize], &m.funcs[b as usize]);
        (&fa.file, fa.line, &fa.name).cmp(&(&fb.file, fb.line, &fb.name))
    });
    let mut file_names: Vec<&str> = Vec::new();
    let mut file_of: Vec<u32> = Vec::with_capacity(m.funcs.len());
    {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        for f in &m.funcs {
            let id = *ids.entry(f.file.as_str()).or_insert_with(|| {
                file_names.push(f.file.as_str());
                file_names.len() as u32 - 1
            });
            file_of.push(id);
        }
    }
    // Written paths: relative ones joined to the source root, so that
    // KCacheGrind's source view finds them from any folder.
    let file_paths: Vec<String> = file_names
        .iter()
        .map(|f| source_path(profile.meta.source_root.as_deref(), f))
        .collect();
    let mut files = Compressed::new(file_names.len());
    let mut fns = Compressed::new(m.funcs.len());
    // The arcs of each caller: a range of the sorted arcs.
    let mut arcs_from = vec![0usize; m.funcs.len() + 1];
    for &((caller, _), _) in &m.arcs {
        arcs_from[caller as usize + 1] += 1;
    }
    for i in 0..m.funcs.len() {
        arcs_from[i + 1] += arcs_from[i];
    }

    for &fi in &order {
        let f = &m.funcs[fi as usize];
        let file = file_of[fi as usize];
        writeln!(w)?;
        files.write(w, "fl=", file, &file_paths[file as usize])?;
        fns.write(w, "fn=", fi, &f.name)?;
        if !f.synthetic {
            writeln!(w, "{} {} {}", f.line, f.self_ns, f.self_calls)?;
        }
        for &((_, ci), a) in &m.arcs[arcs_from[fi as usize]..arcs_from[fi as usize + 1]] {
            let c = &m.funcs[ci as usize];
            let cfile = file_of[ci as usize];
            // Without `cfl=`, the readers take the caller's file (and
            // KCacheGrind forgets `cfl=` after each call), so it is written
            // before every call into another file.
            if cfile != file {
                files.write(w, "cfl=", cfile, &file_paths[cfile as usize])?;
            }
            fns.write(w, "cfn=", ci, &c.name)?;
            writeln!(w, "calls={} {}", a.calls, c.line)?;
            writeln!(w, "{} {} {}", f.line, a.ns, a.incl_calls)?;
        }
    }
    writeln!(w)?;
    writeln!(w, "totals: {total_ns} {total_calls}")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, SiteInfo, ThreadProfile};

    fn text(p: &Profile, thread: Option<usize>) -> String {
        let mut buf = Vec::new();
        write(p, thread, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn header_order_and_totals() {
        let sites = vec![SiteInfo::new("main", "", "src/m.rs", 3)];
        let nodes = vec![Node::new(0, NO_PARENT, 2, 50)];
        let p = Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(7, "w\nx", 9, nodes)],
        );
        let t = text(&p, Some(0));
        let lines: Vec<&str> = t.lines().collect();
        let pos = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix)).unwrap();
        assert!(pos("pid: 9") < pos("thread: 1"));
        assert!(pos("thread: 1") < pos("event: ns"));
        assert!(pos("event: calls") < pos("events: ns calls"));
        assert_eq!(pos("events:") + 1, pos("summary: 50 2"));
        assert!(lines.contains(&"desc: Trigger: thread 1: w x"));
        assert!(lines.contains(&"3 50 2"));
        assert_eq!(lines.last(), Some(&"totals: 50 2"));
        // No command line known: no `cmd:` line (annotate rejects an empty one).
        assert!(!t.contains("cmd:"));
    }

    #[test]
    fn shared_names_are_made_unique() {
        let f = |name: &str, file: &str, line| Func {
            name: name.into(),
            file: file.into(),
            line,
            self_ns: 0,
            self_calls: 0,
            synthetic: false,
        };
        let mut funcs = vec![
            f("h", "a.rs", 1),
            f("h", "b.rs", 1),
            f("h (a.rs:1)", "c.rs", 5),
            f("g", "a.rs", 2),
        ];
        disambiguate(&mut funcs);
        let names: Vec<&str> = funcs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["h (a.rs:1) #2", "h (b.rs:1)", "h (a.rs:1)", "g"]);
    }

    #[test]
    fn nested_calls_along_one_arc_count_once() {
        // m -> a -> b -> a -> b: the inner b (nested in the same a -> b arc)
        // adds its calls but not its time.
        let sites = vec![
            SiteInfo::new("m", "", "f.rs", 1),
            SiteInfo::new("a", "", "f.rs", 2),
            SiteInfo::new("b", "", "f.rs", 3),
        ];
        let nodes = vec![
            Node::new(0, NO_PARENT, 1, 100),
            Node::new(1, 0, 1, 90),
            Node::new(2, 1, 1, 80),
            Node::new(1, 2, 1, 70),
            Node::new(2, 3, 2, 60),
        ];
        let p = Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "t", 1, nodes)],
        );
        let m = Model::build(&p, &[0]);
        let arc = |k| m.arcs.iter().find(|a| a.0 == k).unwrap().1;
        let a_b = arc((1, 2));
        assert_eq!((a_b.calls, a_b.ns, a_b.incl_calls), (3, 80, 4));
        let b_a = arc((2, 1));
        assert_eq!((b_a.calls, b_a.ns, b_a.incl_calls), (1, 70, 3));
        // The thread's root calls m once, with all of the thread's time.
        let root = m.funcs.iter().position(|f| f.synthetic).unwrap() as u32;
        assert_eq!(m.funcs[root as usize].name, "(thread 1: t)");
        let r_m = arc((root, 0));
        assert_eq!((r_m.calls, r_m.ns, r_m.incl_calls), (1, 100, 6));
    }

    #[test]
    fn relative_files_are_joined_to_the_source_root() {
        assert_eq!(source_path(Some("/ws"), "src/a.rs"), "/ws/src/a.rs");
        assert_eq!(source_path(Some("/ws"), "/abs/a.rs"), "/abs/a.rs");
        assert_eq!(source_path(Some("/ws"), "???"), "???");
        assert_eq!(source_path(Some("/ws"), "~"), "~");
        assert_eq!(source_path(Some(""), "src/a.rs"), "src/a.rs");
        assert_eq!(source_path(None, "src/a.rs"), "src/a.rs");
        let sites = vec![SiteInfo::new("main", "", "src/m.rs", 3)];
        let meta = Metadata {
            source_root: Some("/ws".into()),
            ..Metadata::default()
        };
        let p = Profile::new(
            meta,
            sites,
            vec![ThreadProfile::new(
                1,
                "t",
                1,
                vec![Node::new(0, NO_PARENT, 1, 5)],
            )],
        );
        let t = text(&p, None);
        assert!(t.contains("\ncfl=(2) /ws/src/m.rs\n"), "{t}");
    }
}
