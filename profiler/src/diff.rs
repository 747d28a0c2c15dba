//! Comparing two profiles function by function: what `profiler diff`
//! prints, for any program to use.
//!
//! Functions are matched by their pstats key `(file, line, name)` (sites
//! that share a key are summed, as in the reports), so a profile and its
//! re-run, or a Python `.prof` and its Rust port, line up. Rows are ordered
//! by the size of the change in the chosen figure, largest first (ties keep
//! the after-profile's order, then the functions only the before-profile
//! has).
//!
//! ```
//! use profiler::diff::{DiffBy, ProfileDiff};
//! use profiler::profile::NO_PARENT;
//! use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};
//!
//! let run = |ns| {
//!     let t = ThreadProfile::new(1, "main", 1, vec![Node::new(0, NO_PARENT, 1, ns)]);
//!     Profile::new(Metadata::default(), vec![SiteInfo::new("solve", "app", "app.rs", 3)], vec![t])
//! };
//! let d = ProfileDiff::new(&run(2_000_000_000), &run(1_500_000_000), DiffBy::Tottime);
//! assert_eq!(d.rows()[0].name, "app.rs:3(solve)");
//! assert_eq!(d.rows()[0].change(DiffBy::Tottime), -500_000_000);
//! let text = d.labels("old.json", "new.json").to_string();
//! assert!(text.contains("(-0.500 seconds, -25%)"));
//! ```

use std::collections::HashMap;
use std::fmt;

use crate::profile::Profile;
use crate::stats::{Figures, std_name};

/// Which change orders the functions of a [`ProfileDiff`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffBy {
    /// Change in self time.
    #[default]
    Tottime,
    /// Change in cumulative time.
    Cumtime,
    /// Change in the number of calls.
    Ncalls,
}

/// One function's figures before and after.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FunctionDiff {
    /// pstats' `file:line(name)` (`{name}` for a built-in).
    pub name: String,
    /// The figures before (all zero for a new function).
    pub before: Figures,
    /// The figures after (all zero for a function that is gone).
    pub after: Figures,
}

impl FunctionDiff {
    /// After minus before, of the figure `by` (nanoseconds or calls).
    pub fn change(&self, by: DiffBy) -> i128 {
        let of = |f: &Figures| match by {
            DiffBy::Tottime => f.tottime_ns,
            DiffBy::Cumtime => f.cumtime_ns,
            DiffBy::Ncalls => f.ncalls,
        };
        i128::from(of(&self.after)) - i128::from(of(&self.before))
    }
}

/// The comparison of two profiles; its `Display` is `profiler diff`'s
/// report (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ProfileDiff {
    /// What orders the rows.
    pub by: DiffBy,
    /// Every function of either profile, the largest change first.
    rows: Vec<FunctionDiff>,
    /// Total calls and time (ns) before and after.
    totals: [(u64, u64); 2],
    /// How the report names the two profiles.
    labels: [String; 2],
    /// The most rows the report prints.
    limit: Option<usize>,
}

impl ProfileDiff {
    /// Compares `before` with `after`, ordering functions by `by`.
    pub fn new(before: &Profile, after: &Profile, by: DiffBy) -> Self {
        let b = by_key(before);
        let a = by_key(after);
        let mut rows: Vec<FunctionDiff> = Vec::with_capacity(a.len());
        let mut at: HashMap<&(String, u32, String), usize> = HashMap::new();
        for (k, f) in &a {
            at.insert(k, rows.len());
            rows.push(FunctionDiff {
                name: std_name(&k.0, k.1, &k.2),
                before: Figures::default(),
                after: *f,
            });
        }
        for (k, f) in &b {
            match at.get(k) {
                Some(&i) => rows[i].before = *f,
                None => rows.push(FunctionDiff {
                    name: std_name(&k.0, k.1, &k.2),
                    before: *f,
                    after: Figures::default(),
                }),
            }
        }
        // The other two figures break ties, then the order above (stable).
        let others = |by: DiffBy| match by {
            DiffBy::Tottime => [DiffBy::Tottime, DiffBy::Cumtime, DiffBy::Ncalls],
            DiffBy::Cumtime => [DiffBy::Cumtime, DiffBy::Tottime, DiffBy::Ncalls],
            DiffBy::Ncalls => [DiffBy::Ncalls, DiffBy::Tottime, DiffBy::Cumtime],
        };
        let key = |r: &FunctionDiff| others(by).map(|k| r.change(k).abs());
        rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
        let totals = |p: &Profile| {
            let st = p.stats();
            (st.total_calls(), st.total_time_ns())
        };
        ProfileDiff {
            by,
            rows,
            totals: [totals(before), totals(after)],
            labels: ["before".to_owned(), "after".to_owned()],
            limit: None,
        }
    }

    /// The same comparison, its report naming the two profiles (their file
    /// names, say). Default is `before` and `after`.
    pub fn labels(mut self, before: impl Into<String>, after: impl Into<String>) -> Self {
        self.labels = [before.into(), after.into()];
        self
    }

    /// The same comparison, its report printing at most `n` functions.
    /// Default is every function.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Every function of either profile, the largest change first.
    pub fn rows(&self) -> &[FunctionDiff] {
        &self.rows
    }
}

impl fmt::Display for ProfileDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [(nb, tb), (na, ta)] = self.totals;
        let [lb, la] = &self.labels;
        writeln!(
            f,
            "before: {lb}: {nb} function calls in {:.3} seconds",
            secs(tb)
        )?;
        writeln!(
            f,
            "after:  {la}: {na} function calls in {:.3} seconds ({:+.3} seconds, {})",
            secs(ta),
            signed_secs(i128::from(ta) - i128::from(tb)),
            percent(tb, ta)
        )?;
        let by = match self.by {
            DiffBy::Tottime => "change in tottime",
            DiffBy::Cumtime => "change in cumtime",
            DiffBy::Ncalls => "change in ncalls",
        };
        writeln!(f, "\n   Ordered by: {by}, largest first\n")?;
        let groups = format!("{:^39}{:^31}{:^23}", "tottime", "cumtime", "ncalls");
        writeln!(f, "{}", groups.trim_end())?;
        writeln!(
            f,
            "{:>10}{:>10}{:>10}{:>9}{:>11}{:>10}{:>10}{:>12}{:>11}  function",
            "before", "after", "change", "%", "before", "after", "change", "before", "after"
        )?;
        let n = self.limit.unwrap_or(self.rows.len()).min(self.rows.len());
        for r in &self.rows[..n] {
            let (fb, fa) = (&r.before, &r.after);
            writeln!(
                f,
                "{:>10.3}{:>10.3}{:>+10.3}{:>9}{:>11.3}{:>10.3}{:>+10.3}{:>12}{:>11}  {}",
                secs(fb.tottime_ns),
                secs(fa.tottime_ns),
                signed_secs(r.change(DiffBy::Tottime)),
                percent(fb.tottime_ns, fa.tottime_ns),
                secs(fb.cumtime_ns),
                secs(fa.cumtime_ns),
                signed_secs(r.change(DiffBy::Cumtime)),
                fb.ncalls,
                fa.ncalls,
                r.name,
            )?;
        }
        if n < self.rows.len() {
            writeln!(
                f,
                "   ({} more functions; see --limit)",
                self.rows.len() - n
            )?;
        }
        Ok(())
    }
}

/// Every function's figures, keyed by `(file, line, name)`, in site order.
fn by_key(p: &Profile) -> Vec<((String, u32, String), Figures)> {
    let mut out: Vec<((String, u32, String), Figures)> = Vec::new();
    let mut at: HashMap<(String, u32, String), usize> = HashMap::new();
    for f in p.stats().functions() {
        let Some(s) = p.sites.get(f.site as usize) else {
            continue;
        };
        let key = (s.file.clone(), s.line, s.name.clone());
        let i = *at.entry(key.clone()).or_insert_with(|| {
            out.push((key, Figures::default()));
            out.len() - 1
        });
        let g = &mut out[i].1;
        g.ncalls = g.ncalls.saturating_add(f.figures.ncalls);
        g.pcalls = g.pcalls.saturating_add(f.figures.pcalls);
        g.tottime_ns = g.tottime_ns.saturating_add(f.figures.tottime_ns);
        g.cumtime_ns = g.cumtime_ns.saturating_add(f.figures.cumtime_ns);
    }
    out
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn signed_secs(d: i128) -> f64 {
    d as f64 / 1e9
}

/// The change from `before` to `after` in percent, `new` or `gone`.
fn percent(before: u64, after: u64) -> String {
    match (before, after) {
        (0, 0) => "0%".to_owned(),
        (0, _) => "new".to_owned(),
        (_, 0) => "gone".to_owned(),
        (b, a) => format!("{:+.0}%", (a as f64 - b as f64) / b as f64 * 100.0),
    }
}
