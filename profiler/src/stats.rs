//! cProfile's statistics over a [`Profile`]: the function table, callers and
//! callees, sorting, filtering and limits.
//!
//! The definitions are CPython's `_lsprof` ones (see `docs/design.md`, "Semantics"):
//!
//! - `ncalls` = completed calls over every path; `pcalls` (primitive calls) =
//!   calls made while no other activation of the same function was open;
//! - `tottime` = self time summed over every call;
//! - `cumtime` = inclusive time of the outermost activations only, so recursion
//!   is not counted twice;
//! - an edge `caller -> callee` carries the same four figures for the calls
//!   made along it; an edge call is primitive when no activation of the same
//!   caller->callee pair was open.
//!
//! All times are integer nanoseconds, so the invariant "the sum of `tottime`
//! equals the sum of the roots' inclusive time" holds exactly.

use crate::hash::FastMap;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use regex::Regex;

use crate::profile::{Profile, SiteId};

/// The four figures cProfile keeps for a function or for an edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Figures {
    /// All calls (`nc`).
    pub ncalls: u64,
    /// Primitive calls (`cc`): calls not nested in another activation of the
    /// same function (for an edge: of the same caller->callee pair).
    pub pcalls: u64,
    /// Self time in nanoseconds (`tt`).
    pub tottime_ns: u64,
    /// Inclusive time of the primitive calls in nanoseconds (`ct`).
    pub cumtime_ns: u64,
}

/// One function's row: its figures and the edges to its callers and callees.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FunctionStats {
    /// The function's site.
    pub site: SiteId,
    /// The function's own figures.
    pub figures: Figures,
    /// Calls into this function, per calling site (sorted by site id).
    pub callers: Vec<(SiteId, Figures)>,
    /// Calls out of this function, per called site (sorted by site id).
    pub callees: Vec<(SiteId, Figures)>,
}

/// A pstats sort key (`Stats.sort_stats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortKey {
    /// `calls`/`ncalls`: call count, descending.
    Calls,
    /// `cumulative`/`cumtime`: cumulative time, descending.
    Cumulative,
    /// `time`/`tottime`: internal time, descending.
    Time,
    /// `pcalls`: primitive call count, descending.
    PrimitiveCalls,
    /// `filename`/`module`: file name, ascending.
    Filename,
    /// `line`: line number, ascending.
    Line,
    /// `name`: function name, ascending.
    Name,
    /// `nfl`: name, then file, then line, ascending.
    NameFileLine,
    /// `stdname`: the printed `file:line(name)`, ascending as text.
    StdName,
}

impl SortKey {
    /// Every key, in the order of pstats' `SortKey` enum.
    pub const ALL: [SortKey; 9] = [
        SortKey::Calls,
        SortKey::Cumulative,
        SortKey::Filename,
        SortKey::Line,
        SortKey::Name,
        SortKey::NameFileLine,
        SortKey::PrimitiveCalls,
        SortKey::StdName,
        SortKey::Time,
    ];

    /// The key's pstats name (`SortKey.CUMULATIVE.value`): `calls`,
    /// `cumulative`, `filename`, `line`, `name`, `nfl`, `pcalls`, `stdname`
    /// or `time`.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Calls => "calls",
            SortKey::Cumulative => "cumulative",
            SortKey::Time => "time",
            SortKey::PrimitiveCalls => "pcalls",
            SortKey::Filename => "filename",
            SortKey::Line => "line",
            SortKey::Name => "name",
            SortKey::NameFileLine => "nfl",
            SortKey::StdName => "stdname",
        }
    }

    /// The text pstats prints after `Ordered by:` for this key, e.g.
    /// `cumulative time` (several keys are joined with `", "`).
    pub fn description(self) -> &'static str {
        match self {
            SortKey::Calls => "call count",
            SortKey::Cumulative => "cumulative time",
            SortKey::Time => "internal time",
            SortKey::PrimitiveCalls => "primitive call count",
            SortKey::Filename => "file name",
            SortKey::Line => "line number",
            SortKey::Name => "function name",
            SortKey::NameFileLine => "name/file/line",
            SortKey::StdName => "standard name",
        }
    }

    /// The fields this key compares, major first, each ascending (`true`) or
    /// descending (`false`): pstats' `sort_arg_dict_default`.
    pub(crate) fn fields(self) -> &'static [(SortField, bool)] {
        match self {
            SortKey::Calls => &[(SortField::NCalls, false)],
            SortKey::Cumulative => &[(SortField::CumTime, false)],
            SortKey::Time => &[(SortField::TotTime, false)],
            SortKey::PrimitiveCalls => &[(SortField::PCalls, false)],
            SortKey::Filename => &[(SortField::File, true)],
            SortKey::Line => &[(SortField::Line, true)],
            SortKey::Name => &[(SortField::Name, true)],
            SortKey::NameFileLine => &[
                (SortField::Name, true),
                (SortField::File, true),
                (SortField::Line, true),
            ],
            SortKey::StdName => &[(SortField::StdName, true)],
        }
    }
}

/// Every name `sort_stats` accepts, in the order of pstats'
/// `sort_arg_dict_default` (the order matters for prefix resolution).
const SORT_KEY_NAMES: [(&str, SortKey); 13] = [
    ("calls", SortKey::Calls),
    ("ncalls", SortKey::Calls),
    ("cumtime", SortKey::Cumulative),
    ("cumulative", SortKey::Cumulative),
    ("filename", SortKey::Filename),
    ("line", SortKey::Line),
    ("module", SortKey::Filename),
    ("name", SortKey::Name),
    ("nfl", SortKey::NameFileLine),
    ("pcalls", SortKey::PrimitiveCalls),
    ("stdname", SortKey::StdName),
    ("time", SortKey::Time),
    ("tottime", SortKey::Time),
];

/// Shows the `Ordered by:` text (see [`SortKey::description`]).
impl fmt::Display for SortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Parses a pstats sort name: `calls`/`ncalls`, `cumulative`/`cumtime`,
/// `time`/`tottime`, `pcalls`, `filename`/`module`, `line`, `name`, `nfl`,
/// `stdname`, or a prefix of one of them. As in pstats'
/// `get_sort_arg_defs`, a prefix is accepted when no two names share it
/// (`cumu`, `tott`, `pc`), even where both would mean the same key (`cum`
/// and `t` are refused). Case-sensitive, like pstats.
impl FromStr for SortKey {
    type Err = ParseSortKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // pstats' algorithm: every name adds its prefixes, longest first, until
        // one is already taken; taken ones are then dropped as ambiguous.
        let mut table: Vec<(&str, SortKey)> = Vec::new();
        let mut ambiguous: Vec<&str> = Vec::new();
        for (word, key) in SORT_KEY_NAMES {
            let mut fragment = word;
            while !fragment.is_empty() {
                if table.iter().any(|(f, _)| *f == fragment) {
                    ambiguous.push(fragment);
                    break;
                }
                table.push((fragment, key));
                fragment = &fragment[..fragment.len() - 1];
            }
        }
        if ambiguous.contains(&s) {
            let matches: Vec<&str> = SORT_KEY_NAMES
                .iter()
                .map(|(w, _)| *w)
                .filter(|w| w.starts_with(s))
                .collect();
            return Err(ParseSortKeyError {
                input: s.to_owned(),
                candidates: matches,
            });
        }
        table
            .iter()
            .find(|(f, _)| *f == s)
            .map(|(_, k)| *k)
            .ok_or_else(|| ParseSortKeyError {
                input: s.to_owned(),
                candidates: Vec::new(),
            })
    }
}

/// A string that names no pstats sort key, or an ambiguous prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseSortKeyError {
    input: String,
    /// Names sharing an ambiguous prefix; empty for an unknown name.
    candidates: Vec<&'static str>,
}

impl ParseSortKeyError {
    /// The text that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Whether the text is a prefix of several names (pstats refuses those).
    pub fn is_ambiguous(&self) -> bool {
        !self.candidates.is_empty()
    }
}

impl fmt::Display for ParseSortKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.candidates.is_empty() {
            write!(
                f,
                "unknown sort key `{}`: expected one of calls, ncalls, cumulative, cumtime, \
                 time, tottime, pcalls, filename, module, line, name, nfl, stdname, \
                 or a unique prefix of one",
                self.input
            )
        } else {
            write!(
                f,
                "ambiguous sort key `{}`: a prefix of {}; give more letters",
                self.input,
                self.candidates.join(", ")
            )
        }
    }
}

impl std::error::Error for ParseSortKeyError {}

/// A column that sort keys compare (pstats' sort tuple fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortField {
    /// Primitive calls (`cc`).
    PCalls,
    /// All calls (`nc`).
    NCalls,
    /// Self time (`tt`), compared as seconds.
    TotTime,
    /// Cumulative time (`ct`), compared as seconds.
    CumTime,
    /// The file name.
    File,
    /// The line number.
    Line,
    /// The function name.
    Name,
    /// The printed `file:line(name)`.
    StdName,
}

/// The values one row offers to [`compare_rows`]: pstats' sort tuple
/// `(cc, nc, tt, ct, file, line, name, stdname)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SortValues<'a> {
    pub(crate) pcalls: u64,
    pub(crate) ncalls: u64,
    /// Seconds, as written to the `.prof` file.
    pub(crate) tottime: f64,
    /// Seconds, as written to the `.prof` file.
    pub(crate) cumtime: f64,
    pub(crate) file: &'a str,
    pub(crate) line: u32,
    pub(crate) name: &'a str,
    pub(crate) std_name: &'a str,
}

/// Compares two rows as pstats' `TupleComp` does for `keys` (major first).
/// Rows that compare equal keep their order under a stable sort. Strings
/// compare by code point, like Python's (UTF-8 byte order is the same).
pub(crate) fn compare_rows(keys: &[SortKey], a: &SortValues<'_>, b: &SortValues<'_>) -> Ordering {
    for key in keys {
        for &(field, ascending) in key.fields() {
            let ord = match field {
                SortField::PCalls => a.pcalls.cmp(&b.pcalls),
                SortField::NCalls => a.ncalls.cmp(&b.ncalls),
                SortField::TotTime => a.tottime.partial_cmp(&b.tottime).unwrap_or(Ordering::Equal),
                SortField::CumTime => a.cumtime.partial_cmp(&b.cumtime).unwrap_or(Ordering::Equal),
                SortField::File => a.file.cmp(b.file),
                SortField::Line => a.line.cmp(&b.line),
                SortField::Name => a.name.cmp(b.name),
                SortField::StdName => a.std_name.cmp(b.std_name),
            };
            let ord = if ascending { ord } else { ord.reverse() };
            if ord != Ordering::Equal {
                return ord;
            }
        }
    }
    Ordering::Equal
}

/// pstats' `func_std_string`: `file:line(name)`, except that a built-in
/// (file `~`, line 0) prints as `{name}` when its name is `<name>`, else as
/// its bare name.
pub(crate) fn std_name(file: &str, line: u32, name: &str) -> String {
    if file == "~" && line == 0 {
        if name.len() >= 2 && name.starts_with('<') && name.ends_with('>') {
            return format!("{{{}}}", &name[1..name.len() - 1]);
        }
        return name.to_owned();
    }
    format!("{file}:{line}({name})")
}

/// What names a function for [`Stats::function`]: its [`SiteId`], or its
/// name as a `&str`.
pub trait FunctionKey {
    /// The row this key names in `stats`, if any.
    fn find<'s>(self, stats: &'s Stats<'_>) -> Option<&'s FunctionStats>;
}

impl FunctionKey for SiteId {
    fn find<'s>(self, stats: &'s Stats<'_>) -> Option<&'s FunctionStats> {
        stats
            .functions
            .binary_search_by_key(&self, |f| f.site)
            .ok()
            .map(|i| &stats.functions[i])
    }
}

impl FunctionKey for &str {
    fn find<'s>(self, stats: &'s Stats<'_>) -> Option<&'s FunctionStats> {
        let sites = &stats.profile.sites;
        stats
            .functions
            .iter()
            .find(|f| sites.get(f.site as usize).is_some_and(|s| s.name == self))
    }
}

/// How many rows to keep after sorting and filtering (`print_stats(amount)`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Limit {
    /// At most this many rows.
    Count(usize),
    /// This fraction (0.0 to 1.0) of the rows, rounded as pstats does.
    Fraction(f64),
}

impl FromStr for Limit {
    type Err = ParseLimitError;

    /// A row count (`20`) or a fraction of the rows (`0.25`, with a dot).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(n) = s.parse::<usize>() {
            return Ok(Limit::Count(n));
        }
        match s.parse::<f64>() {
            Ok(f) if s.contains('.') && f.is_finite() => Ok(Limit::Fraction(f)),
            _ => Err(ParseLimitError {
                input: s.to_owned(),
            }),
        }
    }
}

/// A [`Limit`] that did not parse: neither a row count nor a fraction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLimitError {
    input: String,
}

impl fmt::Display for ParseLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected a row count or a fraction such as 0.25, not {:?}",
            self.input
        )
    }
}

impl std::error::Error for ParseLimitError {}

impl From<usize> for Limit {
    fn from(n: usize) -> Self {
        Limit::Count(n)
    }
}

impl From<f64> for Limit {
    fn from(f: f64) -> Self {
        Limit::Fraction(f)
    }
}

/// cProfile's statistics of a profile, with a chosen order, filter and limit.
///
/// `Display` prints pstats' `print_stats` layout; [`Stats::callers`] and
/// [`Stats::callees`] give the other two reports.
#[derive(Clone, Debug)]
pub struct Stats<'p> {
    pub(crate) profile: &'p Profile,
    /// The thread these statistics cover, or `None` for all threads merged.
    pub(crate) thread: Option<usize>,
    pub(crate) functions: Vec<FunctionStats>,
    pub(crate) sort: Vec<SortKey>,
    pub(crate) filters: Vec<Regex>,
    pub(crate) limit: Option<Limit>,
    /// Print the line saying what the header's seconds are (see
    /// [`Stats::time_note`]).
    pub(crate) time_note: bool,
}

impl<'p> Stats<'p> {
    /// Computes the statistics of `profile`, merged over all threads or for one.
    pub(crate) fn new(profile: &'p Profile, thread: Option<usize>) -> Self {
        let threads: Vec<usize> = match thread {
            Some(t) => vec![t]
                .into_iter()
                .filter(|&t| t < profile.threads.len())
                .collect(),
            None => (0..profile.threads.len()).collect(),
        };
        let functions = compute(profile, &threads);
        Stats {
            profile,
            thread,
            functions,
            sort: Vec::new(),
            filters: Vec::new(),
            limit: None,
            time_note: false,
        }
    }

    /// Adds a line under cProfile's header `N function calls in T seconds`
    /// saying what T is: the run's wall time, and T as thread-seconds
    /// summed over N threads (cProfile's figure, one thread's time, when one
    /// thread ran), with their CPU time where known. Default is off, so that
    /// `print_stats` output matches Python's line for line; `pstats.txt`
    /// has it on.
    pub fn time_note(mut self, on: bool) -> Self {
        self.time_note = on;
        self
    }

    /// Orders rows by `key` (replacing any earlier order).
    pub fn sort_by(mut self, key: SortKey) -> Self {
        self.sort = vec![key];
        self
    }

    /// Orders rows by several keys, major first (pstats `sort_stats(k1, k2, ...)`).
    pub fn sort_by_keys(mut self, keys: &[SortKey]) -> Self {
        self.sort = keys.to_vec();
        self
    }

    /// Keeps only rows whose printed `file:line(name)` matches `pattern`
    /// (pstats' string restriction). Several filters apply one after the other.
    pub fn filter(mut self, pattern: Regex) -> Self {
        self.filters.push(pattern);
        self
    }

    /// Keeps at most `limit` rows (a count, or a fraction as `f64`) after
    /// sorting and filtering.
    pub fn limit(mut self, limit: impl Into<Limit>) -> Self {
        self.limit = Some(limit.into());
        self
    }

    /// The thread these statistics cover (an index into
    /// [`Profile::threads`]), or `None` when merged over all threads.
    pub fn thread(&self) -> Option<usize> {
        self.thread
    }

    /// The profile these statistics describe.
    pub fn profile(&self) -> &'p Profile {
        self.profile
    }

    /// Every function's row, in site-id order (unsorted, unfiltered).
    pub fn functions(&self) -> &[FunctionStats] {
        &self.functions
    }

    /// The row of a function, if it was called: by its site id, or by its
    /// name (`stats.function("fib")`; of several sites with that name, the
    /// first in site order).
    pub fn function(&self, key: impl FunctionKey) -> Option<&FunctionStats> {
        key.find(self)
    }

    /// Total calls over every function (pstats `total_calls`).
    pub fn total_calls(&self) -> u64 {
        self.functions.iter().map(|f| f.figures.ncalls).sum()
    }

    /// Total primitive calls (pstats `prim_calls`).
    pub fn primitive_calls(&self) -> u64 {
        self.functions.iter().map(|f| f.figures.pcalls).sum()
    }

    /// Total self time in nanoseconds (pstats `total_tt`): equals the roots'
    /// inclusive time.
    pub fn total_time_ns(&self) -> u64 {
        self.functions.iter().map(|f| f.figures.tottime_ns).sum()
    }
}

/// Computes every function's figures and edges over the given threads.
///
/// Per thread, the nodes are first copied to their places in a depth-first
/// preorder (see [`ThreadProfile::preorder`]), so that the walk that follows
/// the tree reads memory in order. The walk keeps the open activations on a
/// stack, which gives each node its caller's site, and counts of open
/// activations per site and per edge: an activation is primitive for its
/// function when no activation of the same function is open above it, and
/// for its edge when none of the same caller->callee pair is.
///
/// [`ThreadProfile::preorder`]: crate::profile::ThreadProfile
fn compute(profile: &Profile, threads: &[usize]) -> Vec<FunctionStats> {
    let n_sites = profile.sites.len();
    let mut funcs: Vec<Option<Figures>> = vec![None; n_sites];
    // Edges (caller site, callee site) get dense ids: through a sites x
    // sites table when that is small, through a hash map otherwise.
    let mut edges = EdgeIds::new(n_sites);
    let mut edge_keys: Vec<(SiteId, SiteId)> = Vec::new();
    let mut edge_figs: Vec<Figures> = Vec::new();
    let mut open_edge: Vec<u32> = Vec::new();
    let mut open_site = vec![0u32; n_sites];
    const NONE: u32 = u32::MAX;

    /// A node at its preorder place.
    #[derive(Clone, Copy)]
    struct Visit {
        site: SiteId,
        /// The parent's preorder place, or `NONE` for a root.
        parent_at: u32,
        calls: u64,
        time_ns: u64,
        self_ns: u64,
    }

    /// An open activation on the walk's stack.
    struct Open {
        at: u32,
        site: SiteId,
        edge: u32,
    }

    for &ti in threads {
        let t = &profile.threads[ti];
        let at = t.preorder();
        let self_ns = t.self_times();
        let reached = at.iter().filter(|&&a| a != NONE).count();
        let mut visits = vec![
            Visit {
                site: 0,
                parent_at: NONE,
                calls: 0,
                time_ns: 0,
                self_ns: 0,
            };
            reached
        ];
        for (i, node) in t.nodes.iter().enumerate() {
            if at[i] == NONE {
                continue;
            }
            visits[at[i] as usize] = Visit {
                site: node.site,
                parent_at: node.parent().map_or(NONE, |p| at[p]),
                calls: node.calls,
                time_ns: node.time_ns,
                self_ns: self_ns[i],
            };
        }
        drop((at, self_ns));
        let mut stack: Vec<Open> = Vec::new();
        for (k, v) in visits.iter().enumerate() {
            while let Some(top) = stack.last() {
                if top.at == v.parent_at {
                    break;
                }
                open_site[top.site as usize] -= 1;
                if top.edge != NONE {
                    open_edge[top.edge as usize] -= 1;
                }
                stack.pop();
            }
            let add = |fig: &mut Figures, primitive: bool| {
                fig.ncalls += v.calls;
                fig.tottime_ns += v.self_ns;
                if primitive {
                    fig.pcalls += v.calls;
                    fig.cumtime_ns += v.time_ns;
                }
            };
            let site = v.site as usize;
            add(
                funcs[site].get_or_insert_with(Figures::default),
                open_site[site] == 0,
            );
            open_site[site] += 1;
            let edge = match stack.last() {
                None => NONE,
                Some(parent) => {
                    let key = (parent.site, v.site);
                    let id = edges.id(key, || {
                        edge_keys.push(key);
                        edge_figs.push(Figures::default());
                        open_edge.push(0);
                        (edge_keys.len() - 1) as u32
                    });
                    add(&mut edge_figs[id as usize], open_edge[id as usize] == 0);
                    open_edge[id as usize] += 1;
                    id
                }
            };
            stack.push(Open {
                at: k as u32,
                site: v.site,
                edge,
            });
        }
        for top in stack {
            open_site[top.site as usize] -= 1;
            if top.edge != NONE {
                open_edge[top.edge as usize] -= 1;
            }
        }
    }

    let mut callers: Vec<Vec<(SiteId, Figures)>> = vec![Vec::new(); n_sites];
    let mut callees: Vec<Vec<(SiteId, Figures)>> = vec![Vec::new(); n_sites];
    match &edges {
        // The table lists the edges by (caller, callee) already: read in
        // that order, every list comes out sorted.
        EdgeIds::Table { n, table } => {
            for (slot, &id) in table.iter().enumerate() {
                if id != u32::MAX {
                    let (c, s) = (slot / n, slot % n);
                    let fig = edge_figs[id as usize];
                    callers[s].push((c as SiteId, fig));
                    callees[c].push((s as SiteId, fig));
                }
            }
        }
        EdgeIds::Map(_) => {
            for (&(c, s), fig) in edge_keys.iter().zip(&edge_figs) {
                callers[s as usize].push((c, *fig));
                callees[c as usize].push((s, *fig));
            }
            for list in callers.iter_mut().chain(callees.iter_mut()) {
                list.sort_unstable_by_key(|e| e.0);
            }
        }
    }
    let mut out = Vec::new();
    for (site, f) in funcs.into_iter().enumerate() {
        let Some(figures) = f else { continue };
        let cr = std::mem::take(&mut callers[site]);
        let ce = std::mem::take(&mut callees[site]);
        out.push(FunctionStats {
            site: site as SiteId,
            figures,
            callers: cr,
            callees: ce,
        });
    }
    out
}

/// Dense ids of (caller, callee) site pairs.
enum EdgeIds {
    /// `table[caller * n + callee]`, `u32::MAX` for none yet.
    Table {
        n: usize,
        table: Vec<u32>,
    },
    Map(FastMap<(SiteId, SiteId), u32>),
}

impl EdgeIds {
    /// Up to this many sites, a full table (16 MiB at most) beats hashing.
    const TABLE_SITES: usize = 2048;

    fn new(n_sites: usize) -> Self {
        if n_sites <= Self::TABLE_SITES {
            EdgeIds::Table {
                n: n_sites,
                table: vec![u32::MAX; n_sites * n_sites],
            }
        } else {
            EdgeIds::Map(FastMap::default())
        }
    }

    /// The id of `key`, made by `new_id` on first sight.
    fn id(&mut self, key: (SiteId, SiteId), new_id: impl FnOnce() -> u32) -> u32 {
        match self {
            EdgeIds::Table { n, table } => {
                let slot = &mut table[key.0 as usize * *n + key.1 as usize];
                if *slot == u32::MAX {
                    *slot = new_id();
                }
                *slot
            }
            EdgeIds::Map(map) => *map.entry(key).or_insert_with(new_id),
        }
    }
}

impl Profile {
    /// cProfile's statistics, merged over all threads.
    pub fn stats(&self) -> Stats<'_> {
        Stats::new(self, None)
    }

    /// cProfile's statistics of one thread (an index into [`Profile::threads`]).
    pub fn thread_stats(&self, thread: usize) -> Stats<'_> {
        Stats::new(self, Some(thread))
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::{Metadata, NO_PARENT, Node, Profile, SiteInfo, ThreadProfile};

    /// A deterministic tree over `n_sites` sites with recursion and repeated edges.
    fn profile(n_sites: u32, extra_unused_sites: u32) -> Profile {
        let sites = (0..n_sites + extra_unused_sites)
            .map(|i| SiteInfo::new(format!("f{i}"), "m", "m.rs", i + 1))
            .collect();
        let mut x = 12345u64;
        let mut nodes: Vec<Node> = Vec::new();
        for i in 0..5000usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let parent = if i < 3 {
                NO_PARENT
            } else {
                (x % i as u64) as u32
            };
            nodes.push(Node::new(
                (x >> 20) as u32 % n_sites,
                parent,
                1 + x % 5,
                1 + (x >> 8) % 1000,
            ));
        }
        for i in (0..nodes.len()).rev() {
            if let Some(p) = nodes[i].parent() {
                nodes[p].time_ns += nodes[i].time_ns;
            }
        }
        Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "t", 1, nodes)],
        )
    }

    #[test]
    fn a_tree_stored_children_first_gives_the_same_statistics() {
        // The same tree with its nodes in reverse order: every parent after
        // its children, which only a profile built by hand can have.
        let p = profile(40, 0);
        let nodes = &p.threads[0].nodes;
        let n = nodes.len() as u32;
        let reversed: Vec<Node> = nodes
            .iter()
            .rev()
            .map(|node| {
                let parent = node.parent().map_or(NO_PARENT, |q| n - 1 - q as u32);
                Node::new(node.site, parent, node.calls, node.time_ns)
            })
            .collect();
        let q = Profile::new(
            Metadata::default(),
            p.sites.clone(),
            vec![ThreadProfile::new(1, "t", 1, reversed)],
        );
        assert_eq!(p.stats().functions(), q.stats().functions());
    }

    #[test]
    fn edge_table_and_edge_map_give_the_same_statistics() {
        // 40 sites: the table path; the same sites plus 3000 unused ones: the map path.
        let small = profile(40, 0);
        let large = profile(40, 3000);
        assert!(large.sites.len() > super::EdgeIds::TABLE_SITES);
        assert_eq!(small.stats().functions(), large.stats().functions());
        assert_eq!(small.stats().total_time_ns(), small.root_time_ns());
    }
}
