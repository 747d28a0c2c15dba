//! pstats-style text: `print_stats`, `print_callers` and `print_callees`,
//! character for character as CPython's `pstats` prints them.
//!
//! - `Display` for [`Stats`] is `print_stats()`: the summary line, the order,
//!   any "List reduced" lines, the column header and one row per function.
//!   A live profile has no file, so pstats' `<date>    <path>` header line
//!   and the blank line after it are left out.
//! - [`Stats::callers`] and [`Stats::callees`] are `print_callers()` and
//!   `print_callees()`.
//!
//! # Rows and their identity
//!
//! A row is a pstats function key `(file, line, name)` taken from the
//! site's [`SiteInfo`](crate::SiteInfo) `file`, `line` and `name`, and is
//! printed `file:line(name)`, e.g. `src/main.rs:10(fib)` (pstats'
//! `func_std_string`; a site with file `~` and line 0 prints like a
//! built-in, `{name}`). Sites that share a key (the same name at the same
//! line of the same file, which only macro expansions or merged profiles
//! produce) are one row whose figures and edges are summed, as pstats'
//! `Stats.add` sums entries with the same key. The `.prof` writer
//! ([`prof`](crate::emit::prof)) uses the same rows, so Python
//! loading that file prints exactly this text.
//!
//! # Order
//!
//! The base order of rows is the order of their first site id (the order
//! sites were first entered in a live profile); it is also the order of the
//! `.prof` dict. With no sort key pstats lists its dict in that order
//! ("Random listing order was used"). Sort keys compare as pstats'
//! `sort_stats` does (times as the `f64` seconds written to the `.prof`),
//! with a stable sort, so rows equal under every key keep the base order:
//! the same order Python gives when it loads our `.prof`.
//!
//! # Selection
//!
//! Regex filters ([`Stats::filter`]) apply first, in the order given, each
//! keeping the rows whose `file:line(name)` it matches anywhere
//! (`re.search`); then the limit ([`Stats::limit`]). pstats' rules apply: a
//! count limits only when it is below the number of rows, a fraction only
//! when it is in `[0, 1)` (`int(rows * fraction + 0.5)` rows), and every
//! selection that drops rows adds a `List reduced from A to B due to
//! restriction <R>` line, where `R` is Python's `repr` of the argument.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::{self, Write};

use crate::profile::Profile;
use crate::stats::{Figures, Limit, SortValues, Stats, compare_rows, std_name};

/// One pstats function: a `(file, line, name)` key with the summed figures
/// and edges of every site that has that key.
#[derive(Clone, Debug)]
pub(crate) struct Row<'a> {
    pub(crate) file: &'a str,
    pub(crate) line: u32,
    pub(crate) name: &'a str,
    /// `func_std_string` of the key.
    pub(crate) label: String,
    pub(crate) figures: Figures,
    /// Callers as (row index, edge figures), sorted by row index.
    pub(crate) callers: Vec<(usize, Figures)>,
    /// Callees as (row index, edge figures), sorted by row index.
    pub(crate) callees: Vec<(usize, Figures)>,
}

/// The rows of a [`Stats`], in base order (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Table<'a> {
    pub(crate) rows: Vec<Row<'a>>,
}

/// Nanoseconds as the seconds pstats holds (the `.prof` value).
pub(crate) fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn add(a: &mut Figures, b: &Figures) {
    a.ncalls = a.ncalls.saturating_add(b.ncalls);
    a.pcalls = a.pcalls.saturating_add(b.pcalls);
    a.tottime_ns = a.tottime_ns.saturating_add(b.tottime_ns);
    a.cumtime_ns = a.cumtime_ns.saturating_add(b.cumtime_ns);
}

/// Sorts edges by partner and sums those with the same partner.
fn merge_edges(mut edges: Vec<(usize, Figures)>) -> Vec<(usize, Figures)> {
    edges.sort_by_key(|e| e.0);
    let mut out: Vec<(usize, Figures)> = Vec::with_capacity(edges.len());
    for (row, fig) in edges {
        match out.last_mut() {
            Some(last) if last.0 == row => add(&mut last.1, &fig),
            _ => out.push((row, fig)),
        }
    }
    out
}

impl<'a> Table<'a> {
    /// Groups the functions of `stats` by pstats key, with their callers
    /// and callees.
    pub(crate) fn new(stats: &Stats<'a>) -> Self {
        Self::build(stats, true, true)
    }

    /// [`new`](Self::new) with the callers only (what a `.prof` holds).
    pub(crate) fn with_callers(stats: &Stats<'a>) -> Self {
        Self::build(stats, true, false)
    }

    /// [`new`](Self::new) without the callers and callees, for the listing
    /// alone (a large profile has millions of edges).
    pub(crate) fn rows_only(stats: &Stats<'a>) -> Self {
        Self::build(stats, false, false)
    }

    fn build(stats: &Stats<'a>, with_callers: bool, with_callees: bool) -> Self {
        let profile = stats.profile();
        let sites = &profile.sites;
        let mut by_key: HashMap<(&'a str, u32, &'a str), usize> = HashMap::new();
        let mut site_row: Vec<Option<usize>> = vec![None; sites.len()];
        let mut rows: Vec<Row<'a>> = Vec::new();
        for f in stats.functions() {
            let Some(site) = sites.get(f.site as usize) else {
                continue;
            };
            let key = (site.file.as_str(), site.line, site.name.as_str());
            let row = *by_key.entry(key).or_insert_with(|| {
                rows.push(Row {
                    file: key.0,
                    line: key.1,
                    name: key.2,
                    label: std_name(key.0, key.1, key.2),
                    figures: Figures::default(),
                    callers: Vec::new(),
                    callees: Vec::new(),
                });
                rows.len() - 1
            });
            site_row[f.site as usize] = Some(row);
            add(&mut rows[row].figures, &f.figures);
        }
        if !with_callers && !with_callees {
            return Table { rows };
        }
        let mut callers: Vec<Vec<(usize, Figures)>> = vec![Vec::new(); rows.len()];
        let mut callees: Vec<Vec<(usize, Figures)>> = vec![Vec::new(); rows.len()];
        let row_of = |s: u32| site_row.get(s as usize).copied().flatten();
        for f in stats.functions() {
            let Some(row) = row_of(f.site) else { continue };
            if with_callers {
                for (c, fig) in &f.callers {
                    if let Some(cr) = row_of(*c) {
                        callers[row].push((cr, *fig));
                    }
                }
            }
            if with_callees {
                for (c, fig) in &f.callees {
                    if let Some(cr) = row_of(*c) {
                        callees[row].push((cr, *fig));
                    }
                }
            }
        }
        for (i, row) in rows.iter_mut().enumerate() {
            row.callers = merge_edges(std::mem::take(&mut callers[i]));
            row.callees = merge_edges(std::mem::take(&mut callees[i]));
        }
        Table { rows }
    }

    fn sort_values(&self, i: usize) -> SortValues<'_> {
        let r = &self.rows[i];
        SortValues {
            pcalls: r.figures.pcalls,
            ncalls: r.figures.ncalls,
            tottime: seconds(r.figures.tottime_ns),
            cumtime: seconds(r.figures.cumtime_ns),
            file: r.file,
            line: r.line,
            name: r.name,
            std_name: &r.label,
        }
    }

    /// pstats' `get_print_list`: the rows to print (indices, in order) and
    /// the message lines that precede the report (`Ordered by`, reductions).
    fn print_list(&self, stats: &Stats<'_>) -> (Vec<usize>, String) {
        let mut list: Vec<usize> = (0..self.rows.len()).collect();
        let mut msg = String::new();
        if stats.sort.is_empty() {
            msg.push_str("   Random listing order was used\n");
        } else {
            let values: Vec<SortValues<'_>> = list.iter().map(|&i| self.sort_values(i)).collect();
            list.sort_by(|&a, &b| compare_rows(&stats.sort, &values[a], &values[b]));
            let text: Vec<&str> = stats.sort.iter().map(|k| k.description()).collect();
            let _ = writeln!(msg, "   Ordered by: {}", text.join(", "));
        }
        for re in &stats.filters {
            let before = list.len();
            list.retain(|&i| re.is_match(&self.rows[i].label));
            reduced(&mut msg, before, list.len(), &py_repr_str(re.as_str()));
        }
        if let Some(limit) = stats.limit {
            let before = list.len();
            match limit {
                Limit::Count(n) => {
                    if n < before {
                        list.truncate(n);
                    }
                    reduced(&mut msg, before, list.len(), &n.to_string());
                }
                Limit::Fraction(f) => {
                    if (0.0..1.0).contains(&f) {
                        list.truncate((before as f64 * f + 0.5) as usize);
                    }
                    reduced(&mut msg, before, list.len(), &py_repr_f64(f));
                }
            }
        }
        (list, msg)
    }

    /// The name-column width of the call reports: the longest printed name
    /// among `list`, plus 2.
    fn name_width(&self, list: &[usize]) -> usize {
        list.iter()
            .map(|&i| self.rows[i].label.chars().count())
            .max()
            .unwrap_or(0)
            + 2
    }
}

fn reduced(msg: &mut String, before: usize, after: usize, restriction: &str) {
    if before != after {
        let _ = writeln!(
            msg,
            "   List reduced from {before} to {after} due to restriction <{restriction}>"
        );
    }
}

/// pstats' `f8`: `%8.3f`.
fn f8(x: f64) -> String {
    format!("{x:8.3}")
}

/// Which side [`push_padded`] pads.
#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Appends `n` spaces.
fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Appends `text` padded with spaces to `width` characters, as `{:<width$}`
/// or `{:>width$}` do.
fn push_padded(out: &mut String, text: &str, width: usize, align: Align) {
    let pad = width.saturating_sub(text.chars().count());
    match align {
        Align::Left => {
            out.push_str(text);
            push_spaces(out, pad);
        }
        Align::Right => {
            push_spaces(out, pad);
            out.push_str(text);
        }
    }
}

/// A short run of ASCII digits (and a `/`) built on the stack: room for
/// two `u64`s and a separator.
struct Digits {
    buf: [u8; 41],
    len: usize,
}

impl Digits {
    fn new() -> Self {
        Digits {
            buf: [0; 41],
            len: 0,
        }
    }

    fn push_byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// Appends `n` in decimal.
    fn push_u64(&mut self, n: u64) {
        let mut tmp = [0u8; 20];
        let mut at = tmp.len();
        let mut n = n;
        loop {
            at -= 1;
            tmp[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &tmp[at..] {
            self.push_byte(d);
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and '/' are ever pushed.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// Appends [`f8`] of `ns` nanoseconds as seconds: the same text as
/// `format!("{:8.3}", seconds(ns))` (and Python's `%8.3f`), without going
/// through floating point where that cannot change the result.
///
/// The double `ns / 1e9` is within one rounding (a relative 2^-53) of the
/// exact quotient: below 10^6 seconds, under 0.2 ns. A quotient that is not
/// exactly halfway between two thousandths is at least 1 ns from halfway,
/// so both round to the same thousandth, which integer arithmetic gives.
/// Exact halves (whose double may lie on either side) and larger values
/// take the float path.
fn push_f8(out: &mut String, ns: u64) {
    const NS_PER_MS: u64 = 1_000_000;
    if ns >= 1_000_000 * 1_000_000_000 || ns % NS_PER_MS == NS_PER_MS / 2 {
        let _ = write!(out, "{:8.3}", seconds(ns));
        return;
    }
    let ms = (ns + NS_PER_MS / 2) / NS_PER_MS;
    let mut text = Digits::new();
    text.push_u64(ms / 1000);
    text.push_byte(b'.');
    let frac = ms % 1000;
    for digit in [frac / 100, frac / 10 % 10, frac % 10] {
        text.push_byte(b'0' + digit as u8);
    }
    push_padded(out, text.as_str(), 8, Align::Right);
}

/// `nc`, or `nc/cc` when they differ.
fn calls_text(ncalls: u64, pcalls: u64) -> String {
    if ncalls == pcalls {
        ncalls.to_string()
    } else {
        format!("{ncalls}/{pcalls}")
    }
}

/// Python's `repr` of a `str`: quotes and escapes as CPython does. Which
/// characters are printable is decided for controls, the Latin-1 range and
/// the common Unicode spaces, separators and format characters; other
/// characters are taken as printable (Python checks the full Unicode
/// database).
pub(crate) fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if py_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable` for one character.
fn py_printable(c: char) -> bool {
    let u = c as u32;
    !matches!(u,
        0x00..=0x1f | 0x7f..=0xa0 | 0xad
        | 0x0600..=0x0605 | 0x061c | 0x06dd | 0x070f | 0x1680 | 0x180e
        | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f
        | 0x3000 | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..=0x10ffff)
}

/// Python's `repr` of a `float` (shortest round-trip digits; exponent form
/// below 1e-4 and from 1e16).
pub(crate) fn py_repr_f64(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `-1.25e-5`.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.unsigned_abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.0")
    } else {
        let (i, frac) = digits.split_at(int_len);
        format!("{sign}{i}.{frac}")
    }
}

/// The line under cProfile's first line that says what its seconds are:
/// the run's wall time, and that the total is thread-seconds summed over the
/// threads (cProfile's own figure, one thread's time, when one ran), with
/// their CPU time when the operating system told it. Nothing for a profile
/// without a wall time (`duration_ns` 0), so cProfile's header stays alone.
fn write_time_note(
    f: &mut dyn fmt::Write,
    profile: &crate::Profile,
    thread: Option<usize>,
) -> fmt::Result {
    let wall = profile.meta.duration_ns;
    if wall == 0 {
        return Ok(());
    }
    let threads: Vec<&crate::ThreadProfile> = match thread {
        Some(t) => profile.threads.get(t).into_iter().collect(),
        None => profile
            .threads
            .iter()
            .filter(|t| !t.nodes.is_empty())
            .collect(),
    };
    let cpu: Option<u64> = threads
        .iter()
        .map(|t| t.cpu_ns)
        .sum::<Option<u64>>()
        .filter(|_| !threads.is_empty());
    let cpu = cpu.map_or_else(String::new, |c| {
        format!(" ({:.3} of them on a CPU)", c as f64 * 1e-9)
    });
    let wall = wall as f64 * 1e-9;
    match (thread, threads.len()) {
        (Some(_), _) | (None, 0) => writeln!(
            f,
            "         wall time {wall:.3} seconds; the seconds above are this thread's{cpu}"
        ),
        (None, 1) => writeln!(
            f,
            "         wall time {wall:.3} seconds; one thread ran: the seconds above are its \
             time, as in cProfile{cpu}"
        ),
        (None, n) => writeln!(
            f,
            "         wall time {wall:.3} seconds; the seconds above are thread-seconds summed \
             over {n} threads{cpu}"
        ),
    }
}

/// `print_stats`: the pstats table (see the module docs).
impl fmt::Display for Stats<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_table(self, &Table::rows_only(self), f)
    }
}

/// `print_stats` of `stats`, whose rows are `table`.
fn write_table(stats: &Stats<'_>, table: &Table<'_>, f: &mut dyn fmt::Write) -> fmt::Result {
    let ncalls: u64 = table.rows.iter().map(|r| r.figures.ncalls).sum();
    let pcalls: u64 = table.rows.iter().map(|r| r.figures.pcalls).sum();
    // Summed in row order from the per-row seconds, as pstats sums them.
    let total: f64 = table
        .rows
        .iter()
        .fold(0.0, |acc, r| acc + seconds(r.figures.tottime_ns));
    write!(f, "         {ncalls} function calls ")?;
    if ncalls != pcalls {
        write!(f, "({pcalls} primitive calls) ")?;
    }
    writeln!(f, "in {total:.3} seconds")?;
    if stats.time_note {
        write_time_note(f, stats.profile, stats.thread)?;
    }
    writeln!(f)?;
    let (list, msg) = table.print_list(stats);
    if list.is_empty() {
        return Ok(());
    }
    writeln!(f, "{msg}")?;
    writeln!(
        f,
        "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)"
    )?;
    for &i in &list {
        let r = &table.rows[i];
        let fig = &r.figures;
        let tt = seconds(fig.tottime_ns);
        let ct = seconds(fig.cumtime_ns);
        write!(f, "{:>9} {} ", calls_text(fig.ncalls, fig.pcalls), f8(tt))?;
        if fig.ncalls == 0 {
            f.write_str("         ")?;
        } else {
            write!(f, "{} ", f8(tt / fig.ncalls as f64))?;
        }
        write!(f, "{} ", f8(ct))?;
        if fig.pcalls == 0 {
            f.write_str("         ")?;
        } else {
            write!(f, "{} ", f8(ct / fig.pcalls as f64))?;
        }
        writeln!(f, "{}", r.label)?;
    }
    writeln!(f)?;
    writeln!(f)
}

/// Which call report a [`CallReport`] prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Callers,
    Callees,
}

/// pstats' `print_callers()` or `print_callees()` report of a [`Stats`],
/// with the same order, filters and limit; made by [`Stats::callers`] and
/// [`Stats::callees`], printed with `Display`.
///
/// Layout: the `Ordered by` (and `List reduced`) lines and a blank line; a
/// heading `Function` padded to the name column (the longest listed name
/// plus 2) then `was called by...` or `called...`; the `ncalls  tottime
/// cumtime` subheader when any function has a caller; then each function,
/// its name padded to the column, `<-` or `->`, and its partners sorted by
/// `(file, line, name)`, one per line: `nc` or `nc/cc` right-justified to 7
/// on the first line and to 9 on continuation lines (indented by the name
/// column plus 1), `%8.3f` tottime, `%8.3f` cumtime, two spaces, the
/// partner's name. The figures are the edge's. Nothing is printed when no
/// row is selected.
#[derive(Clone, Copy, Debug)]
pub struct CallReport<'s, 'p> {
    stats: &'s Stats<'p>,
    direction: Direction,
}

impl<'p> Stats<'p> {
    /// pstats' `print_callers()`: for each listed function, the functions
    /// that called it, with the figures of each caller->function edge.
    pub fn callers(&self) -> CallReport<'_, 'p> {
        CallReport {
            stats: self,
            direction: Direction::Callers,
        }
    }

    /// pstats' `print_callees()`: for each listed function, the functions it
    /// called, with the figures of each function->callee edge.
    pub fn callees(&self) -> CallReport<'_, 'p> {
        CallReport {
            stats: self,
            direction: Direction::Callees,
        }
    }
}

impl fmt::Display for CallReport<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_calls(self.stats, &Table::new(self.stats), self.direction, f)
    }
}

/// `print_callers` or `print_callees` of `stats`, whose rows are `table`.
fn write_calls(
    stats: &Stats<'_>,
    table: &Table<'_>,
    direction: Direction,
    f: &mut dyn fmt::Write,
) -> fmt::Result {
    let (list, msg) = table.print_list(stats);
    if list.is_empty() {
        return Ok(());
    }
    writeln!(f, "{msg}")?;
    let width = table.name_width(&list);
    let (title, arrow) = match direction {
        Direction::Callers => ("was called by...", "<-"),
        Direction::Callees => ("called...", "->"),
    };
    writeln!(f, "{:<width$}{title}", "Function ")?;
    if table.rows.iter().any(|r| !r.callers.is_empty()) {
        writeln!(f, "{:width$}    ncalls  tottime  cumtime", "")?;
    }
    // Partners are listed by (file, line, name): rank the rows once
    // instead of comparing strings for every edge.
    let mut by_name: Vec<usize> = (0..table.rows.len()).collect();
    by_name.sort_by(|&a, &b| {
        let (x, y) = (&table.rows[a], &table.rows[b]);
        (x.file, x.line, x.name).cmp(&(y.file, y.line, y.name))
    });
    let mut rank = vec![0usize; table.rows.len()];
    for (r, &row) in by_name.iter().enumerate() {
        rank[row] = r;
    }
    let mut partners: Vec<&(usize, Figures)> = Vec::new();
    // Lines are built in `line` by hand: this report can run to millions
    // of lines, and `fmt`'s padding writes one character at a time.
    let mut line = String::new();
    for &i in &list {
        let row = &table.rows[i];
        line.clear();
        push_padded(&mut line, &row.label, width, Align::Left);
        line.push_str(arrow);
        line.push(' ');
        partners.clear();
        match direction {
            Direction::Callers => partners.extend(row.callers.iter()),
            Direction::Callees => partners.extend(row.callees.iter()),
        }
        if partners.is_empty() {
            line.push('\n');
            f.write_str(&line)?;
            continue;
        }
        partners.sort_by_key(|p| rank[p.0]);
        for (n, (p, fig)) in partners.iter().enumerate() {
            if n > 0 {
                line.clear();
                push_spaces(&mut line, width + 1);
            }
            let mut calls = Digits::new();
            calls.push_u64(fig.ncalls);
            if fig.ncalls != fig.pcalls {
                calls.push_byte(b'/');
                calls.push_u64(fig.pcalls);
            }
            let w = if n == 0 { 7 } else { 9 };
            push_padded(&mut line, calls.as_str(), w, Align::Right);
            line.push(' ');
            push_f8(&mut line, fig.tottime_ns);
            line.push(' ');
            push_f8(&mut line, fig.cumtime_ns);
            line.push_str("  ");
            line.push_str(&table.rows[*p].label);
            line.push('\n');
            f.write_str(&line)?;
        }
    }
    writeln!(f)?;
    writeln!(f)
}

/// The pstats text report (and the MPI summary of an MPI program, after the
/// parallel summary): how the run ended (when it did not return
/// normally) and the calls still running, then the table sorted by
/// cumulative time, the parallel summary when there is one, and the callers
/// and callees.
pub fn report(profile: &Profile) -> String {
    let mut out = String::new();
    // Writing to a `String` cannot fail.
    let _ = write_report(profile, &mut out);
    out
}

/// [`report`], written to `out`.
fn write_report(profile: &Profile, out: &mut dyn fmt::Write) -> fmt::Result {
    let stats = profile
        .stats()
        .sort_by(crate::stats::SortKey::Cumulative)
        .time_note(true);
    let mut section = profile
        .parallel_section()
        .map(|s| format!("{s}\n"))
        .unwrap_or_default();
    if profile.rank_count() > 1 {
        section.push_str(&format!(
            "Parallel summary: per rank, in each rank's own reports (rank-NNNN/); this profile \
             merges the threads of {} ranks, each its own process\n\n",
            profile.rank_count()
        ));
    }
    if let Some(mpi) = profile.mpi_summary() {
        section.push_str(&format!("{mpi}\n"));
    }
    let mut head = String::new();
    if profile.meta.compiled_out {
        head.push_str(&format!("Note: {}.\n", crate::profile::COMPILED_OUT));
    }
    if let Some(why) = &profile.meta.ended_by {
        head.push_str(&format!(
            "Ended by {why}: the figures are the calls made up to then.\n"
        ));
    }
    if let Some(why) = &profile.meta.still_running {
        head.push_str(&format!(
            "Written while the program was still running ({why}).\n"
        ));
    }
    if profile.meta.compensated {
        let (inner, outer) = profile
            .meta
            .probe_cost
            .map_or((0.0, 0.0), |c| (c.inner_ns, c.outer_ns));
        head.push_str(&format!(
            "Compensated: {:.6} seconds of probe cost subtracted ({inner:.1} ns per call inside the call, {outer:.1} ns in all).\n",
            profile.meta.compensated_ns as f64 / 1e9
        ));
        for w in &profile.meta.compensation_warnings {
            head.push_str(&format!(
                "WARNING: compensation removed more than half of the time of {w}\n"
            ));
        }
    }
    let open: usize = profile.threads.iter().map(|t| t.open.len()).sum();
    if open > 0 {
        head.push_str(&format!(
            "{open} call(s) were still running: each counts as one call, with its time so far.\n"
        ));
    }
    if !head.is_empty() {
        head.push('\n');
    }
    // One table for the three listings.
    let table = Table::new(&stats);
    out.write_str(&head)?;
    write_table(&stats, &table, out)?;
    out.write_str(&section)?;
    write_calls(&stats, &table, Direction::Callers, out)?;
    write_calls(&stats, &table, Direction::Callees, out)
}

/// Writes the pstats text report of `profile` (see [`report`]) to `w`: the
/// `pstats.txt` of a session. The text goes out as it is made, so a large
/// profile's report (millions of caller and callee lines) is never held
/// whole in memory.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let mut out = IoText {
        w: io::BufWriter::with_capacity(1 << 16, w),
        error: None,
    };
    match write_report(profile, &mut out) {
        Ok(()) => out.w.flush(),
        Err(fmt::Error) => Err(out
            .error
            .unwrap_or_else(|| io::Error::other("formatting the pstats report failed"))),
    }
}

/// A [`fmt::Write`] that passes text on to an [`io::Write`], keeping the
/// first I/O error (which `fmt` can only report as [`fmt::Error`]).
struct IoText<W: Write> {
    w: W,
    error: Option<io::Error>,
}

impl<W: Write> fmt::Write for IoText<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.w.write_all(s.as_bytes()).map_err(|e| {
            self.error.get_or_insert(e);
            fmt::Error
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn integer_seconds_match_float_formatting() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut cases: Vec<u64> = vec![
            0,
            1,
            499_999,
            500_000,
            500_001,
            1_500_000,
            2_500_000,
            999_999_999,
            999_500_000,
            9_999_499_999,
            9_999_500_000,
            123_456_789_012_345,
            999_999_999_999_999,
            1_000_000_000_000_000,
            u64::MAX,
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Every magnitude from nanoseconds to centuries, halves included.
            let v = x >> (x % 64);
            cases.push(v);
            cases.push(v / 1_000_000 * 1_000_000 + 500_000);
        }
        for ns in cases {
            let mut ours = String::new();
            push_f8(&mut ours, ns);
            assert_eq!(ours, format!("{:8.3}", seconds(ns)), "{ns} ns");
        }
    }

    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, Profile, SiteInfo, ThreadProfile};
    use crate::stats::SortKey;
    use regex::Regex;

    /// docs/formats.md's sample: main -> a -> b -> b -> b, plus a built-in and a
    /// function called 2^40 times in a non-ASCII file.
    fn sample() -> Profile {
        let sites = vec![
            SiteInfo::new("main", "demo", "src/main.rs", 10),
            SiteInfo::new("a", "demo", "src/main.rs", 20),
            SiteInfo::new("b", "demo", "src/main.rs", 30),
            SiteInfo::new("<built-in method alloc>", "demo", "~", 0),
            SiteInfo::new("naïve", "demo", "src/ünï.rs", 5),
        ];
        let ms = 1_000_000;
        let nodes = vec![
            Node::new(0, NO_PARENT, 1, 1000 * ms),
            Node::new(1, 0, 1, 900 * ms),
            Node::new(2, 1, 1, 700 * ms),
            Node::new(2, 2, 1, 400 * ms),
            Node::new(2, 3, 1, 50 * ms),
            Node::new(3, 1, 2, 40 * ms),
            Node::new(4, NO_PARENT, 1 << 40, 10 * ms),
        ];
        Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "main", 1, nodes)],
        )
    }

    #[test]
    fn print_stats_layout() {
        let p = sample();
        let text = p.stats().sort_by(SortKey::Cumulative).to_string();
        let expected =
            "         1099511627783 function calls (1099511627781 primitive calls) in 1.010 seconds

   Ordered by: cumulative time

   ncalls  tottime  percall  cumtime  percall filename:lineno(function)
        1    0.100    0.100    1.000    1.000 src/main.rs:10(main)
        1    0.160    0.160    0.900    0.900 src/main.rs:20(a)
      3/1    0.700    0.233    0.700    0.700 src/main.rs:30(b)
        2    0.040    0.020    0.040    0.020 {built-in method alloc}
1099511627776    0.010    0.000    0.010    0.000 src/ünï.rs:5(naïve)


";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn random_order_filter_and_limit() {
        let p = sample();
        let text = p
            .stats()
            .filter(Regex::new(r"main\.rs").unwrap())
            .limit(2)
            .to_string();
        let expected =
            "         1099511627783 function calls (1099511627781 primitive calls) in 1.010 seconds

   Random listing order was used
   List reduced from 5 to 3 due to restriction <'main\\\\.rs'>
   List reduced from 3 to 2 due to restriction <2>

   ncalls  tottime  percall  cumtime  percall filename:lineno(function)
        1    0.100    0.100    1.000    1.000 src/main.rs:10(main)
        1    0.160    0.160    0.900    0.900 src/main.rs:20(a)


";
        assert_eq!(text, expected, "\n{text}");
        let none = p.stats().limit(0).to_string();
        assert_eq!(
            none,
            "         1099511627783 function calls (1099511627781 primitive calls) in 1.010 seconds\n\n"
        );
        let half = p.stats().sort_by(SortKey::Time).limit(0.5).to_string();
        assert!(half.contains("   List reduced from 5 to 3 due to restriction <0.5>\n"));
    }

    #[test]
    fn callers_layout() {
        let p = sample();
        let stats = p.stats().sort_by(SortKey::Line);
        let text = stats.callers().to_string();
        let expected = "   Ordered by: line number

Function                 was called by...
                             ncalls  tottime  cumtime
{built-in method alloc}  <-       2    0.040    0.040  src/main.rs:20(a)
src/ünï.rs:5(naïve)      <- 
src/main.rs:10(main)     <- 
src/main.rs:20(a)        <-       1    0.160    0.900  src/main.rs:10(main)
src/main.rs:30(b)        <-       1    0.300    0.700  src/main.rs:20(a)
                                2/1    0.400    0.400  src/main.rs:30(b)


";
        assert_eq!(text, expected, "\n{text}");
        // Partners sort by key: ("src/main.rs", ..) before ("~", 0, ..).
        let text = stats.callees().to_string();
        let expected = "   Ordered by: line number

Function                 called...
                             ncalls  tottime  cumtime
{built-in method alloc}  -> 
src/ünï.rs:5(naïve)      -> 
src/main.rs:10(main)     ->       1    0.160    0.900  src/main.rs:20(a)
src/main.rs:20(a)        ->       1    0.300    0.700  src/main.rs:30(b)
                                  2    0.040    0.040  {built-in method alloc}
src/main.rs:30(b)        ->     2/1    0.400    0.400  src/main.rs:30(b)


";
        assert_eq!(text, expected, "\n{text}");
        // A restriction narrows the name column to the listed rows.
        let narrow = p
            .stats()
            .filter(Regex::new(r"\(b\)").unwrap())
            .callers()
            .to_string();
        let expected = "   Random listing order was used
   List reduced from 5 to 1 due to restriction <'\\\\(b\\\\)'>

Function           was called by...
                       ncalls  tottime  cumtime
src/main.rs:30(b)  <-       1    0.300    0.700  src/main.rs:20(a)
                          2/1    0.400    0.400  src/main.rs:30(b)


";
        assert_eq!(narrow, expected, "\n{narrow}");
    }

    #[test]
    fn no_callers_no_subheader() {
        let p = Profile::new(
            Metadata::default(),
            vec![SiteInfo::new("x", "m", "f.rs", 1)],
            vec![ThreadProfile::new(
                1,
                "t",
                1,
                vec![Node::new(0, NO_PARENT, 0, 5)],
            )],
        );
        let stats = p.stats();
        assert_eq!(
            stats.callers().to_string(),
            "   Random listing order was used\n\nFunction   was called by...\nf.rs:1(x)  <- \n\n\n"
        );
        // nc = 0: both percall columns blank.
        assert!(
            stats
                .to_string()
                .contains("        0    0.000             0.000          f.rs:1(x)\n")
        );
    }

    #[test]
    fn colliding_sites_merge() {
        let p = Profile::new(
            Metadata::default(),
            vec![
                SiteInfo::new("x", "m", "f.rs", 1),
                SiteInfo::new("x", "m2", "f.rs", 1),
            ],
            vec![ThreadProfile::new(
                1,
                "t",
                1,
                vec![
                    Node::new(0, NO_PARENT, 2, 3_000_000),
                    Node::new(1, NO_PARENT, 3, 4_000_000),
                ],
            )],
        );
        let text = p.stats().to_string();
        assert!(
            text.contains("        5    0.007    0.001    0.007    0.001 f.rs:1(x)\n"),
            "{text}"
        );
        assert_eq!(text.matches("f.rs:1(x)").count(), 1);
    }

    #[test]
    fn python_reprs() {
        assert_eq!(py_repr_str("a.b"), "'a.b'");
        assert_eq!(py_repr_str(r"a\.b"), r"'a\\.b'");
        assert_eq!(py_repr_str("it's"), "\"it's\"");
        assert_eq!(py_repr_str("'\""), "'\\'\"'");
        assert_eq!(py_repr_str("naïve\n\u{7}\u{a0}"), "'naïve\\n\\x07\\xa0'");
        assert_eq!(py_repr_str("\u{2028}🦀"), "'\\u2028🦀'");
        for (x, s) in [
            (0.5, "0.5"),
            (0.1, "0.1"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (0.3333333333333333, "0.3333333333333333"),
            (1.0, "1.0"),
            (12345.5, "12345.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(py_repr_f64(x), s, "{x}");
        }
    }

    #[test]
    fn sort_key_names() {
        use std::str::FromStr;
        for (s, k) in [
            ("calls", SortKey::Calls),
            ("ncalls", SortKey::Calls),
            ("nc", SortKey::Calls),
            ("ca", SortKey::Calls),
            ("cumulative", SortKey::Cumulative),
            ("cumtime", SortKey::Cumulative),
            ("cumu", SortKey::Cumulative),
            ("cu", SortKey::Cumulative),
            ("tott", SortKey::Time),
            ("to", SortKey::Time),
            ("ti", SortKey::Time),
            ("pc", SortKey::PrimitiveCalls),
            ("p", SortKey::PrimitiveCalls),
            ("module", SortKey::Filename),
            ("f", SortKey::Filename),
            ("l", SortKey::Line),
            ("na", SortKey::Name),
            ("nf", SortKey::NameFileLine),
            ("s", SortKey::StdName),
        ] {
            assert_eq!(SortKey::from_str(s), Ok(k), "{s}");
        }
        for s in ["cum", "c", "t", "n"] {
            let e = SortKey::from_str(s).unwrap_err();
            assert!(e.is_ambiguous(), "{s}");
        }
        for s in ["", "x", "Calls", "callsx"] {
            let e = SortKey::from_str(s).unwrap_err();
            assert!(!e.is_ambiguous(), "{s}");
        }
        for k in SortKey::ALL {
            assert_eq!(k.name().parse::<SortKey>(), Ok(k));
        }
        assert_eq!(SortKey::Cumulative.to_string(), "cumulative time");
        let text = sample()
            .stats()
            .sort_by_keys(&[SortKey::Calls, SortKey::Name])
            .to_string();
        assert!(text.contains("   Ordered by: call count, function name\n"));
    }
}
