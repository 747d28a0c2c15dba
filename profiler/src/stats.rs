//! cProfile's statistics over a [`Profile`]: the function table, callers and
//! callees, sorting, filtering and limits.
//!
//! The definitions are CPython's `_lsprof` ones (see `design.md`, "Semantics"):
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

use std::collections::HashMap;

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

/// How many rows to keep after sorting and filtering (`print_stats(amount)`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Limit {
    /// At most this many rows.
    Count(usize),
    /// This fraction (0.0 to 1.0) of the rows, rounded as pstats does.
    Fraction(f64),
}

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
        }
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

    /// The row of one site, if it was called.
    pub fn function(&self, site: SiteId) -> Option<&FunctionStats> {
        self.functions
            .binary_search_by_key(&site, |f| f.site)
            .ok()
            .map(|i| &self.functions[i])
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
fn compute(profile: &Profile, threads: &[usize]) -> Vec<FunctionStats> {
    let n_sites = profile.sites.len();
    let mut funcs: Vec<Option<Figures>> = vec![None; n_sites];
    let mut edges: HashMap<(SiteId, SiteId), Figures> = HashMap::new();

    for &ti in threads {
        let t = &profile.threads[ti];
        let self_ns = t.self_times();
        let (roots, kids) = t.children();
        // Depth-first walk with per-site and per-edge counts of open activations.
        let mut active_site = vec![0u32; n_sites];
        let mut active_edge: HashMap<(SiteId, SiteId), u32> = HashMap::new();
        // (node, entering?) so that counts are undone on the way out.
        let mut stack: Vec<(u32, bool)> = roots.iter().rev().map(|&r| (r, true)).collect();
        while let Some((i, entering)) = stack.pop() {
            let node = &t.nodes[i as usize];
            let site = node.site;
            let caller = node.parent().map(|p| t.nodes[p].site);
            if !entering {
                active_site[site as usize] -= 1;
                if let Some(c) = caller {
                    if let Some(a) = active_edge.get_mut(&(c, site)) {
                        *a -= 1;
                    }
                }
                continue;
            }
            let primitive = active_site[site as usize] == 0;
            let f = funcs[site as usize].get_or_insert_with(Figures::default);
            f.ncalls += node.calls;
            f.tottime_ns += self_ns[i as usize];
            if primitive {
                f.pcalls += node.calls;
                f.cumtime_ns += node.time_ns;
            }
            if let Some(c) = caller {
                let open = active_edge.entry((c, site)).or_insert(0);
                let e = edges.entry((c, site)).or_default();
                e.ncalls += node.calls;
                e.tottime_ns += self_ns[i as usize];
                if *open == 0 {
                    e.pcalls += node.calls;
                    e.cumtime_ns += node.time_ns;
                }
                *open += 1;
            }
            active_site[site as usize] += 1;
            stack.push((i, false));
            for &k in kids[i as usize].iter().rev() {
                stack.push((k, true));
            }
        }
    }

    let mut callers: Vec<Vec<(SiteId, Figures)>> = vec![Vec::new(); n_sites];
    let mut callees: Vec<Vec<(SiteId, Figures)>> = vec![Vec::new(); n_sites];
    for (&(c, s), fig) in &edges {
        callers[s as usize].push((c, *fig));
        callees[c as usize].push((s, *fig));
    }
    let mut out = Vec::new();
    for (site, f) in funcs.into_iter().enumerate() {
        let Some(figures) = f else { continue };
        let mut cr = std::mem::take(&mut callers[site]);
        let mut ce = std::mem::take(&mut callees[site]);
        cr.sort_by_key(|e| e.0);
        ce.sort_by_key(|e| e.0);
        out.push(FunctionStats {
            site: site as SiteId,
            figures,
            callers: cr,
            callees: ce,
        });
    }
    out
}
