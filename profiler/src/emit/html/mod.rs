//! `report.html`: one self-contained page to look at and to share.
//!
//! The page holds everything it shows: its script and style inline (written
//! for this crate, no library, no network at view time) and the profile's
//! figures as JSON in a `<script type="application/json" id="report-data">`
//! element, so it opens from `file://` by double-click and can be attached
//! to an issue. Top to bottom it shows the run, "Where the time goes"
//! ([`Profile::bounds`]), the pstats table (every column, sortable by every
//! key, searchable, callers and callees of a row one click away), an icicle
//! of the call trees (merged or per thread, zoom and search), the timeline
//! per thread when one was recorded, the parallel summary, and the MPI
//! summary with the communication matrix for an MPI program.
//!
//! Without JavaScript (printed, or in a locked-down viewer) the run, "Where
//! the time goes" and the top of the table are plain HTML.
//!
//! # The embedded data (`version` 1)
//!
//! - `run`: the header's fields, from [`Metadata`](crate::Metadata);
//! - `sites`: `[name, file, line]` per site;
//! - `rows`: one per pstats function in the base order of the `.prof`
//!   (`[label, file, line, name, ncalls, pcalls, tottime_ns, cumtime_ns]`),
//!   and `callers`, pstats' caller entries: per row a flat list of five
//!   numbers per caller, in row order: the caller's row less the previous
//!   caller's (the first less -1), ncalls, ncalls less primitive calls,
//!   tottime_ns, cumtime_ns;
//! - `threads`: per thread its name, id, rank, busy time, its call tree in
//!   pre-order (`tree.site`, `tree.depth`, `tree.calls`, `tree.time`,
//!   inclusive nanoseconds), and its timeline (`timeline.site`, `.start`,
//!   `.dur`, `.depth`, nanoseconds), of which at most [`MAX_SPANS`] spans in
//!   all are kept (the longest; `timeline.left_out` counts the others);
//! - `bounds`, `parallel` (the [`ParallelSummary`](crate::analysis::ParallelSummary)'s
//!   fields), `mpi` (summary text, ranks' times, matrix), `scaling`.
//!
//! Inside the element every `<` is written `\u003c`, so no name can end it.

use std::io::{self, Write};

use serde::Serialize;

use crate::analysis::{Bounds, FindingKind};
use crate::diff::ProfileDiff;
use crate::emit::names;
use crate::emit::names::markup_escape as esc;
use crate::emit::pstats::Table;
use crate::profile::{Profile, ThreadProfile};

/// The most timeline spans a report embeds over all threads; beyond it the
/// longest are kept (they are what a zoomed-out timeline shows) and the page
/// says how many shorter ones were left out, pointing to `trace.json`.
pub const MAX_SPANS: usize = 500_000;

/// Rows of the pstats table written as plain HTML, for readers without
/// JavaScript.
pub const STATIC_ROWS: usize = 40;

const SCRIPT: &str = include_str!("report.js");
const STYLE: &str = include_str!("report.css");

/// Writes `profile`'s report page to `w`.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let data = ProfileData::new(profile);
    let title = format!("profile of {}", run_title(profile));
    page(w, &title, &data, |w| {
        write_header(w, &data.run)?;
        write_bounds(w, profile, &data)?;
        write_static_table(w, &data)
    })
}

/// Writes the page of a comparison of two profiles (`profiler diff
/// --html`): both runs, and every function's figures before, after and
/// their change, sortable and searchable.
pub fn write_diff(
    diff: &ProfileDiff,
    before: &Profile,
    after: &Profile,
    labels: [&str; 2],
    w: &mut dyn Write,
) -> io::Result<()> {
    let data = DiffData {
        version: 1,
        kind: "diff",
        labels,
        runs: [
            Run::of(before, before.stats().total_calls()),
            Run::of(after, after.stats().total_calls()),
        ],
        rows: diff
            .rows()
            .iter()
            .map(|r| {
                let f =
                    |x: &crate::stats::Figures| [x.ncalls, x.pcalls, x.tottime_ns, x.cumtime_ns];
                (r.name.clone(), f(&r.before), f(&r.after))
            })
            .collect(),
    };
    let title = format!("{} vs {}", labels[0], labels[1]);
    page(w, &format!("profile diff: {title}"), &data, |w| {
        writeln!(
            w,
            "<section id=\"run\"><h2>Comparison</h2><table class=\"kv\">"
        )?;
        for (label, run) in labels.iter().zip(&data.runs) {
            writeln!(
                w,
                "<tr><th>{}</th><td>{} on {}, {} wall, {} function calls</td></tr>",
                esc(label),
                esc(&run.command),
                esc(&run.host),
                crate::analysis::duration_text(run.wall_ns),
                run.calls,
            )?;
        }
        writeln!(w, "</table></section>")?;
        writeln!(
            w,
            "<section id=\"static-table\"><h2>Largest changes</h2><table class=\"stats\">\
             <tr><th>before tottime</th><th>after tottime</th><th>change</th>\
             <th>function</th></tr>"
        )?;
        for (name, b, a) in data.rows.iter().take(STATIC_ROWS) {
            writeln!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{:+.6}</td><td class=\"name\">{}</td></tr>",
                secs(b[2]),
                secs(a[2]),
                (a[2] as f64 - b[2] as f64) / 1e9,
                esc(name)
            )?;
        }
        writeln!(w, "</table></section>")
    })
}

/// A scaling study: a workload's median run times over thread counts, and
/// the fitted serial fraction (Amdahl's law), for
/// [`write_scaling`].
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct Scaling {
    /// What was run (the workload and its mode).
    pub title: String,
    /// The command line that reproduces it.
    pub command: String,
    /// Cores available.
    pub cores: u32,
    /// Per thread count: the thread count and every run's time in seconds.
    pub points: Vec<(usize, Vec<f64>)>,
    /// The serial fraction of the Amdahl fit, when one was made.
    pub serial_fraction: Option<f64>,
    /// The one-thread time of the fit, in seconds.
    pub fit_t1: Option<f64>,
}

impl Scaling {
    /// A study of `title`, reproduced by `command`, on `cores` cores.
    pub fn new(title: impl Into<String>, command: impl Into<String>, cores: u32) -> Self {
        Scaling {
            title: title.into(),
            command: command.into(),
            cores,
            ..Scaling::default()
        }
    }

    /// The study with one more thread count and its runs' times (seconds).
    pub fn point(mut self, threads: usize, seconds: Vec<f64>) -> Self {
        self.points.push((threads, seconds));
        self
    }

    /// The study with an Amdahl fit: `T(p) = t1 * (s + (1 - s) / p)`.
    pub fn fit(mut self, t1: f64, serial_fraction: f64) -> Self {
        self.fit_t1 = Some(t1);
        self.serial_fraction = Some(serial_fraction);
        self
    }
}

/// Writes the page of a scaling study: speed-up and efficiency against
/// thread count, measured and as the Amdahl fit predicts.
pub fn write_scaling(scaling: &Scaling, w: &mut dyn Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Data<'a> {
        version: u32,
        kind: &'static str,
        scaling: &'a Scaling,
    }
    let data = Data {
        version: 1,
        kind: "scaling",
        scaling,
    };
    page(w, &format!("scaling of {}", scaling.title), &data, |w| {
        writeln!(
            w,
            "<section id=\"run\"><h2>Scaling: {}</h2><p><code>{}</code> on {} core(s)</p>",
            esc(&scaling.title),
            esc(&scaling.command),
            scaling.cores
        )?;
        writeln!(
            w,
            "<table class=\"stats\" id=\"static-table\"><tr><th>threads</th><th>median time (s)</th>\
             <th>speed-up</th><th>efficiency</th></tr>"
        )?;
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            match v.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => v[n / 2],
                n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            }
        };
        let t1 = scaling
            .points
            .iter()
            .find(|p| p.0 == 1)
            .map(|p| median(&p.1));
        for (p, times) in &scaling.points {
            let m = median(times);
            let (s, e) = match t1 {
                Some(t1) => (
                    format!("{:.2}", t1 / m),
                    format!("{:.2}", t1 / m / *p as f64),
                ),
                None => ("-".into(), "-".into()),
            };
            writeln!(
                w,
                "<tr><td>{p}</td><td>{m:.4}</td><td>{s}</td><td>{e}</td></tr>"
            )?;
        }
        writeln!(w, "</table>")?;
        if let Some(s) = scaling.serial_fraction {
            writeln!(
                w,
                "<p>Amdahl fit: serial fraction {:.3}, speed-up at most {:.1}.</p>",
                s,
                if s > 0.0 { 1.0 / s } else { f64::INFINITY }
            )?;
        }
        writeln!(w, "</section>")
    })
}

/// The whole page around `body`, the static part, with `data` embedded.
fn page<T: Serialize>(
    w: &mut dyn Write,
    title: &str,
    data: &T,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"profiler {}\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>{}</h1></header>\n<main id=\"report\">",
        env!("CARGO_PKG_VERSION"),
        esc(title),
        esc(title),
    )?;
    body(w)?;
    writeln!(w, "</main>")?;
    w.write_all(b"<script type=\"application/json\" id=\"report-data\">")?;
    {
        let mut escaped = EscapeLt(&mut *w);
        crate::emit::json(&mut escaped, data)?;
    }
    writeln!(
        w,
        "</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>"
    )
}

/// Writes through, every `<` as `\u003c` (only JSON strings hold one).
struct EscapeLt<'a>(&'a mut dyn Write);

impl Write for EscapeLt<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'<') {
            self.0.write_all(&rest[..i])?;
            self.0.write_all(b"\\u003c")?;
            rest = &rest[i + 1..];
        }
        self.0.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Nanoseconds as pstats' `%8.3f` seconds, trimmed.
fn secs(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e9)
}

/// The program and its arguments, for the title.
fn run_title(profile: &Profile) -> String {
    let m = &profile.meta;
    let args = m.args.iter().skip(1).cloned().collect::<Vec<_>>().join(" ");
    let program = names::label_or(&m.program, "a program");
    if args.is_empty() {
        program
    } else {
        format!("{program} {}", names::label(&args))
    }
}

/// The run, as the header shows it.
#[derive(Serialize)]
struct Run {
    program: String,
    command: String,
    host: String,
    pid: u32,
    cores: u32,
    threads: usize,
    ranks: usize,
    wall_ns: u64,
    cpu_ns: Option<u64>,
    calls: u64,
    start_unix_s: f64,
    ended: String,
    version: String,
    clock: String,
    ticks_per_second: f64,
    compensation: String,
    timeline_spans: usize,
    /// [`crate::profile::COMPILED_OUT`] when recording was compiled out.
    #[serde(skip_serializing_if = "Option::is_none")]
    compiled_out: Option<&'static str>,
}

impl Run {
    fn of(profile: &Profile, calls: u64) -> Run {
        let m = &profile.meta;
        let cpu: Vec<u64> = profile.threads.iter().filter_map(|t| t.cpu_ns).collect();
        let ended = match (&m.ended_by, &m.still_running) {
            (Some(by), _) => format!("ended by {by}"),
            (None, Some(why)) => format!("still running (written on {why})"),
            (None, None) => "returned normally".to_owned(),
        };
        let compensation = match (&m.probe_cost, m.compensated) {
            (Some(c), true) => format!(
                "probe cost subtracted ({:.1} ns inner, {:.1} ns outer per call; {} in all)",
                c.inner_ns,
                c.outer_ns,
                crate::analysis::duration_text(m.compensated_ns)
            ),
            (Some(c), false) => format!(
                "not subtracted (probe cost measured: {:.1} ns inner, {:.1} ns outer per call)",
                c.inner_ns, c.outer_ns
            ),
            (None, _) => "none (probe cost not measured)".to_owned(),
        };
        Run {
            program: names::label(&m.program),
            command: names::label(&m.args.join(" ")),
            host: names::label(&m.host),
            pid: m.pid,
            cores: m.available_cores,
            threads: profile
                .threads
                .iter()
                .map(|t| t.folded_threads.max(1) as usize)
                .sum(),
            ranks: profile.rank_count(),
            wall_ns: m.duration_ns,
            cpu_ns: (!cpu.is_empty()).then(|| cpu.iter().sum()),
            calls,
            start_unix_s: m.start_unix_s,
            ended,
            compiled_out: m.compiled_out.then_some(crate::profile::COMPILED_OUT),
            version: m.crate_version.clone(),
            clock: format!("{} ({:.0} ticks/s)", m.clock, m.ticks_per_second),
            ticks_per_second: m.ticks_per_second,
            compensation,
            timeline_spans: profile.threads.iter().map(|t| t.timeline.len()).sum(),
        }
    }
}

/// A thread's call tree in pre-order.
#[derive(Serialize, Default)]
struct Tree {
    site: Vec<u32>,
    depth: Vec<u32>,
    calls: Vec<u64>,
    time: Vec<u64>,
}

/// A thread's timeline, as kept.
#[derive(Serialize, Default)]
struct Lane {
    site: Vec<u32>,
    start: Vec<u64>,
    dur: Vec<u64>,
    depth: Vec<u32>,
    left_out: u64,
}

#[derive(Serialize)]
struct ThreadData {
    name: String,
    id: u64,
    rank: Option<u32>,
    folded: u64,
    busy_ns: u64,
    cpu_ns: Option<u64>,
    tree: Tree,
    timeline: Lane,
}

#[derive(Serialize)]
struct FindingData {
    kind: &'static str,
    name: String,
    time_ns: u64,
    share: f64,
    saving: Option<f64>,
    evidence: String,
    fix: String,
}

#[derive(Serialize)]
struct BoundsData {
    runtime_ns: u64,
    cores: Option<u32>,
    critical_thread: Option<usize>,
    critical_busy_ns: u64,
    findings: Vec<FindingData>,
    /// `[name, calls, time_ns, share, twice_as_fast]`.
    functions: Vec<(String, u64, u64, f64, f64)>,
}

impl BoundsData {
    fn of(b: &Bounds) -> Self {
        BoundsData {
            runtime_ns: b.runtime_ns,
            cores: b.cores,
            critical_thread: b.critical_thread,
            critical_busy_ns: b.critical_busy_ns,
            findings: b
                .findings
                .iter()
                .map(|f| FindingData {
                    kind: f.kind.name(),
                    name: names::label(&f.name),
                    time_ns: f.time_ns,
                    share: f.share,
                    saving: f.saving,
                    evidence: f.evidence.clone(),
                    fix: f.fix.clone(),
                })
                .collect(),
            functions: b
                .functions
                .iter()
                .map(|f| {
                    (
                        names::label(&f.name),
                        f.calls,
                        f.time_ns,
                        f.share,
                        f.twice_as_fast,
                    )
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct MpiData {
    text: String,
    /// `[rank, host, app_ns, mpi_ns]`.
    ranks: Vec<(u32, String, u64, u64)>,
    bytes: Vec<Vec<u64>>,
    messages: Vec<Vec<u64>>,
}

/// A pstats row: `[label, file, line, name, ncalls, pcalls, tottime_ns,
/// cumtime_ns]`.
type RowData = (String, String, u32, String, u64, u64, u64, u64);

#[derive(Serialize)]
struct ProfileData {
    version: u32,
    kind: &'static str,
    run: Run,
    sites: Vec<(String, String, u32)>,
    rows: Vec<RowData>,
    callers: Vec<Vec<u64>>,
    threads: Vec<ThreadData>,
    bounds: BoundsData,
    parallel: Option<crate::profile::ParallelSummary>,
    parallel_text: Option<String>,
    mpi: Option<MpiData>,
}

impl ProfileData {
    fn new(profile: &Profile) -> Self {
        let stats = profile.stats();
        let table = Table::with_callers(&stats);
        let rows = table
            .rows
            .iter()
            .map(|r| {
                let f = &r.figures;
                (
                    names::clean(&r.label),
                    names::clean(r.file),
                    r.line,
                    names::clean(r.name),
                    f.ncalls,
                    f.pcalls,
                    f.tottime_ns,
                    f.cumtime_ns,
                )
            })
            .collect();
        // Per row, its callers (sorted by row), five numbers each: the
        // caller's row as the difference from the previous caller's (the
        // first from -1), ncalls, ncalls - primitive calls, tottime and
        // cumtime in ns.
        let callers = table
            .rows
            .iter()
            .map(|r| {
                let mut prev: i64 = -1;
                let mut flat = Vec::with_capacity(5 * r.callers.len());
                for (c, f) in &r.callers {
                    flat.push((*c as i64 - prev) as u64);
                    prev = *c as i64;
                    flat.extend([
                        f.ncalls,
                        f.ncalls.saturating_sub(f.pcalls),
                        f.tottime_ns,
                        f.cumtime_ns,
                    ]);
                }
                flat
            })
            .collect();
        let kept = span_threshold(profile);
        let threads = profile
            .threads
            .iter()
            .map(|t| ThreadData {
                name: names::label(&t.name),
                id: t.id,
                rank: t.rank,
                folded: t.folded_threads,
                busy_ns: t.root_time_ns(),
                cpu_ns: t.cpu_ns,
                tree: tree(t),
                timeline: lane(t, kept),
            })
            .collect();
        let parallel = profile.parallel_section();
        let summary = parallel
            .clone()
            .unwrap_or_else(|| profile.parallel_summary());
        let bounds = crate::analysis::bounds::bounds_from(profile, &summary, Some(&stats));
        let mpi = profile.mpi_summary().map(|s| MpiData {
            text: s.to_string(),
            ranks: s
                .ranks
                .iter()
                .map(|r| (r.rank, names::label(&r.host), r.app_ns, r.mpi_ns))
                .collect(),
            bytes: s.matrix.bytes.clone(),
            messages: s.matrix.messages.clone(),
        });
        ProfileData {
            version: 1,
            kind: "profile",
            run: Run::of(profile, stats.total_calls()),
            sites: profile
                .sites
                .iter()
                .map(|s| (names::clean(&s.name), names::clean(&s.file), s.line))
                .collect(),
            rows,
            callers,
            threads,
            bounds: BoundsData::of(&bounds),
            parallel_text: parallel.as_ref().map(ToString::to_string),
            parallel,
            mpi,
        }
    }
}

/// The shortest duration of the spans kept: 0 when every span fits in
/// [`MAX_SPANS`], else the duration of the `MAX_SPANS`-th longest, ties
/// broken by leaving out the later threads' and spans'.
fn span_threshold(profile: &Profile) -> (u64, usize) {
    let total: usize = profile.threads.iter().map(|t| t.timeline.len()).sum();
    if total <= MAX_SPANS {
        return (0, usize::MAX);
    }
    let mut durations: Vec<u64> = profile
        .threads
        .iter()
        .flat_map(|t| t.timeline.iter().map(|s| s.duration_ns))
        .collect();
    let k = total - MAX_SPANS;
    let (_, &mut at, _) = durations.select_nth_unstable(k);
    // Spans longer than `at` are all kept; of those equal to it, this many.
    let longer = durations.iter().filter(|&&d| d > at).count();
    (at, MAX_SPANS - longer)
}

/// A thread's tree in preorder with depths. Positions come from
/// [`ThreadProfile::preorder`], so the nodes are read in their stored order
/// rather than by following child lists.
fn tree(t: &ThreadProfile) -> Tree {
    const NONE: u32 = crate::profile::NO_PARENT;
    let at = t.preorder();
    let reached = at.iter().filter(|&&a| a != NONE).count();
    let mut out = Tree {
        site: vec![0; reached],
        depth: vec![0; reached],
        calls: vec![0; reached],
        time: vec![0; reached],
    };
    let mut parent_at = vec![NONE; reached];
    for (node, &k) in t.nodes.iter().zip(&at) {
        if k == NONE {
            continue;
        }
        let k = k as usize;
        out.site[k] = node.site;
        out.calls[k] = node.calls;
        out.time[k] = node.time_ns;
        parent_at[k] = node.parent().map_or(NONE, |p| at[p]);
    }
    // A parent comes before its children in preorder.
    for (k, &p) in parent_at.iter().enumerate() {
        if let Some(&d) = out.depth.get(p as usize) {
            out.depth[k] = d + 1;
        }
    }
    out
}

/// A thread's timeline with the spans shorter than the threshold left out
/// (and, of those equal to it, those past the allowance).
fn lane(t: &ThreadProfile, (at, allowance): (u64, usize)) -> Lane {
    let mut out = Lane::default();
    let mut equal_left = allowance;
    for p in crate::profile::nest(t) {
        let d = p.end - p.start;
        let span_d = t.timeline[p.index as usize].duration_ns;
        let keep = span_d > at
            || (span_d == at && {
                let ok = equal_left > 0;
                equal_left = equal_left.saturating_sub(1);
                ok
            });
        if !keep {
            out.left_out += 1;
            continue;
        }
        out.site.push(p.site);
        out.start.push(p.start);
        out.dur.push(d);
        out.depth.push(p.depth);
    }
    out
}

fn write_header(w: &mut dyn Write, run: &Run) -> io::Result<()> {
    writeln!(w, "<section id=\"run\"><h2>The run</h2>")?;
    if let Some(note) = run.compiled_out {
        writeln!(
            w,
            "<p class=\"compiled-out\"><strong>Note: {}.</strong></p>",
            esc(note)
        )?;
    }
    writeln!(w, "<table class=\"kv\">")?;
    let start = utc(run.start_unix_s);
    let rows: [(&str, String); 14] = [
        ("program", run.program.clone()),
        ("command line", run.command.clone()),
        ("host", run.host.clone()),
        ("cores available", run.cores.to_string()),
        ("threads", run.threads.to_string()),
        (
            "ranks",
            if run.ranks == 0 {
                "not an MPI program".to_owned()
            } else {
                run.ranks.to_string()
            },
        ),
        ("wall time", crate::analysis::duration_text(run.wall_ns)),
        (
            "CPU time",
            run.cpu_ns
                .map_or_else(|| "not known".to_owned(), crate::analysis::duration_text),
        ),
        ("function calls", run.calls.to_string()),
        ("started", start),
        ("how it ended", run.ended.clone()),
        ("profiler", run.version.clone()),
        ("clock", run.clock.clone()),
        ("compensation", run.compensation.clone()),
    ];
    for (k, v) in rows {
        writeln!(
            w,
            "<tr><th>{k}</th><td data-field=\"{}\">{}</td></tr>",
            k.replace(' ', "-"),
            esc(&v)
        )?;
    }
    writeln!(w, "</table></section>")
}

/// Seconds since the Unix epoch as `2026-12-02 00:31:05 UTC`.
fn utc(unix_s: f64) -> String {
    let secs = if unix_s.is_finite() && unix_s > 0.0 {
        unix_s.min(253_402_300_799.0) as i64
    } else {
        0
    };
    let (y, m, d) = super::paraver::civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn write_bounds(w: &mut dyn Write, profile: &Profile, data: &ProfileData) -> io::Result<()> {
    let b = &data.bounds;
    writeln!(w, "<section id=\"where\"><h2>Where the time goes</h2>")?;
    writeln!(
        w,
        "<p>Shares are of the run's runtime, {} (not of CPU time summed over threads). {}</p>",
        crate::analysis::duration_text(b.runtime_ns),
        if data.run.timeline_spans == 0 {
            "Serial phases and parallel regions need a timeline: record one \
             (<code>PROFILER_TIMELINE=1</code>, <code>workloads run --timeline</code>) to see them."
        } else {
            ""
        }
    )?;
    if b.findings.is_empty() {
        writeln!(
            w,
            "<p class=\"ok\">No parallel problem found: no serial phase, load imbalance or \
             oversubscription costs {} of the run or more.</p>",
            percent(crate::analysis::bounds::MIN_FINDING_SHARE)
        )?;
    } else {
        writeln!(w, "<ol id=\"findings\">")?;
        for f in &b.findings {
            let saving = match f.saving {
                Some(s) => format!(
                    "Fixed ({}), the run would take {} less",
                    esc(&f.fix),
                    percent(s)
                ),
                None => format!("Fix: {} (what it costs is not known)", esc(&f.fix)),
            };
            let class = if f.kind == FindingKind::SerialPhase.name() {
                "serial"
            } else {
                "problem"
            };
            writeln!(
                w,
                "<li class=\"finding {class}\" data-kind=\"{}\"><b>{}</b>: <code>{}</code>, {} of \
                 the run. {}. <span class=\"evidence\">{}</span></li>",
                f.kind,
                esc(f.kind),
                esc(&f.name),
                percent(f.share),
                saving,
                esc(&f.evidence),
            )?;
        }
        writeln!(w, "</ol>")?;
    }
    if let Some(t) = b.critical_thread {
        writeln!(
            w,
            "<h3>The critical thread: {}, busy {} ({} of the run)</h3>",
            esc(&profile.threads[t].name),
            crate::analysis::duration_text(b.critical_busy_ns),
            percent(b.critical_busy_ns as f64 / b.runtime_ns.max(1) as f64)
        )?;
        writeln!(
            w,
            "<table class=\"stats\" id=\"bound-functions\"><tr><th>function</th><th>calls</th>\
             <th>time on it</th><th>share of the run</th><th>twice as fast here</th></tr>"
        )?;
        for (name, calls, time, share, twice) in &b.functions {
            writeln!(
                w,
                "<tr><td class=\"name\">{}</td><td>{calls}</td><td>{}</td><td>{}</td>\
                 <td>the run takes {} less</td></tr>",
                esc(name),
                crate::analysis::duration_text(*time),
                percent(*share),
                percent(*twice)
            )?;
        }
        writeln!(w, "</table>")?;
    }
    writeln!(w, "</section>")
}

fn write_static_table(w: &mut dyn Write, data: &ProfileData) -> io::Result<()> {
    let mut order: Vec<usize> = (0..data.rows.len()).collect();
    // pstats' sort_stats("cumulative"): stable, the base order breaking ties.
    order.sort_by(|&a, &b| data.rows[b].7.cmp(&data.rows[a].7));
    writeln!(
        w,
        "<section id=\"static-table\"><h2>Functions</h2><p>{} function calls; the {} with the \
         most cumulative time:</p><table class=\"stats\"><tr><th>ncalls</th><th>tottime</th>\
         <th>percall</th><th>cumtime</th><th>percall</th><th>filename:lineno(function)</th></tr>",
        data.run.calls,
        order.len().min(STATIC_ROWS)
    )?;
    for &i in order.iter().take(STATIC_ROWS) {
        let (label, _, _, _, nc, pc, tt, ct) = &data.rows[i];
        let calls = if nc == pc {
            nc.to_string()
        } else {
            format!("{nc}/{pc}")
        };
        let per = |t: u64, n: u64| {
            if n == 0 {
                "0.000".to_owned()
            } else {
                format!("{:.3}", t as f64 / 1e9 / n as f64)
            }
        };
        writeln!(
            w,
            "<tr><td>{calls}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"name\">{}</td></tr>",
            secs(*tt),
            per(*tt, *nc),
            secs(*ct),
            per(*ct, *pc),
            esc(label)
        )?;
    }
    writeln!(w, "</table></section>")
}

#[derive(Serialize)]
struct DiffData<'a> {
    version: u32,
    kind: &'static str,
    labels: [&'a str; 2],
    runs: [Run; 2],
    /// `[label, before [nc, pc, tt, ct], after [...]]`.
    rows: Vec<(String, [u64; 4], [u64; 4])>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, SiteInfo, Span};

    fn profile(name: &str) -> Profile {
        let sites = vec![
            SiteInfo::new(name, "app", "app.rs", 1),
            SiteInfo::new("leaf", "app", "app.rs", 9),
        ];
        let t = ThreadProfile::new(
            1,
            "main",
            1,
            vec![Node::new(0, NO_PARENT, 1, 100), Node::new(1, 0, 3, 60)],
        )
        .with_timeline(vec![Span::new(0, 0, 100), Span::new(1, 10, 60)], 0);
        Profile::new(Metadata::default(), sites, vec![t])
    }

    fn page_of(p: &Profile) -> String {
        let mut out = Vec::new();
        write(p, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn no_name_ends_the_data_element() {
        let html = page_of(&profile("</script><script>alert(1)</script>"));
        let data = html.split("id=\"report-data\">").nth(1).unwrap();
        let json = data.split("</script>").next().unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["sites"][0][0], "</script><script>alert(1)</script>");
        assert!(html.contains("&lt;/script&gt;"));
    }

    #[test]
    fn trees_are_in_pre_order_with_depths() {
        let html = page_of(&profile("main"));
        let json = html
            .split("id=\"report-data\">")
            .nth(1)
            .unwrap()
            .split("</script>")
            .next()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let tree = &v["threads"][0]["tree"];
        assert_eq!(tree["site"], serde_json::json!([0, 1]));
        assert_eq!(tree["depth"], serde_json::json!([0, 1]));
        assert_eq!(tree["calls"], serde_json::json!([1, 3]));
        assert_eq!(
            v["threads"][0]["timeline"]["start"],
            serde_json::json!([0, 10])
        );
    }

    #[test]
    fn an_empty_profile_gives_a_page() {
        let html = page_of(&Profile::new(Metadata::default(), Vec::new(), Vec::new()));
        assert!(html.contains("id=\"report-data\""));
        assert!(html.contains("No parallel problem found"));
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn the_longest_spans_are_kept() {
        let t = ThreadProfile::new(1, "t", 1, Vec::new());
        let spans: Vec<Span> = (0..MAX_SPANS as u64 + 10)
            .map(|i| Span::new(0, i * 10, if i < 5 { 2 } else { 5 }))
            .collect();
        let p = Profile::new(
            Metadata::default(),
            vec![SiteInfo::new("f", "m", "f.rs", 1)],
            vec![t.with_timeline(spans, 0)],
        );
        let kept = span_threshold(&p);
        let lane = lane(&p.threads[0], kept);
        assert_eq!(lane.site.len(), MAX_SPANS);
        assert_eq!(lane.left_out, 10);
        assert!(lane.dur.iter().all(|&d| d == 5));
    }
}
