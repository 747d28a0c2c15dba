//! Folded stacks and flamegraph SVGs (drawn by inferno).
//!
//! # Folded stacks
//!
//! One line per call path with self time, root first:
//! `main;solve;relax 1200`, where the count is the path's **self** time in
//! nanoseconds (paths without self time are left out). Identical paths of
//! different threads are added together, or, with
//! [`FlamegraphOptions::per_thread`], each thread's paths sit under a root
//! frame named after the thread. A frame's width in the SVG is then its
//! inclusive time along that path.
//!
//! Frame names are the sites' [`name`](crate::SiteInfo::name)s, made safe for
//! the format: `;` (the frame separator) becomes `,`, control characters
//! become spaces, names are trimmed, and a name whose last word is a number
//! (`step 3`) has the space before that word replaced by a no-break space
//! (U+00A0, drawn as a space), as inferno would otherwise read the number as
//! a second count; so does the space of a name starting with `# ` (a comment
//! line to inferno). Sites with the same name on the same path share a frame.
//!
//! # SVG
//!
//! [`write_svg`] and [`write_svg_with`] draw the folded stacks with
//! [`inferno::flamegraph::from_lines`], counting `ns`, with deterministic
//! colours (a function keeps its colour from one graph to the next).
//! Frames narrower than [`FlamegraphOptions::min_width`] are left out before
//! inferno sees them (their time stays in their parent's width, as inferno
//! would draw it), so that a profile of a million call paths draws quickly;
//! stacks deeper than [`FlamegraphOptions::max_depth`] are cut.
//! [`write_differential`] compares two profiles: frame widths are the second
//! profile's, and each path's frame is red where its self time grew and blue
//! where it shrank.
//!
//! The timelines, drawn with time running left to right, are the
//! [flame chart](super::flamechart).

use std::collections::HashMap;
use std::io::{self, Write};

use inferno::flamegraph::{Direction, Options};

use super::names;
use super::svg::{self, frame_name, thread_frames};
use crate::hash::FastMap;
use crate::profile::Profile;

/// How to draw a flamegraph. Build it with [`FlamegraphOptions::default`]
/// (or [`new`](FlamegraphOptions::new)) and the setters:
///
/// ```
/// use profiler::emit::flamegraph::FlamegraphOptions;
///
/// let opts = FlamegraphOptions::new().icicle(true).per_thread(true).title("solver");
/// assert!(opts.icicle && opts.per_thread);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FlamegraphOptions {
    /// The title drawn at the top. Default is `None`: "Flame Graph" ("Icicle
    /// Graph" when [`icicle`](Self::icicle), "Differential Flame Graph" for
    /// [`write_differential`]), followed by the program's name and
    /// arguments when the profile has them.
    pub title: Option<String>,
    /// A second line under the title. Default is `None`: the totals
    /// (`1234 calls, 1.234 s in profiled scopes, 3 threads`).
    pub subtitle: Option<String>,
    /// Draw an icicle graph: roots at the top, callees below their callers
    /// (inferno's `Direction::Inverted`). Default is `false` (roots at the
    /// bottom).
    pub icicle: bool,
    /// Keep threads apart: each thread's stacks go under a root frame named
    /// after the thread (threads that share a name are numbered `#1`, `#2`...
    /// in thread order). Default is `false`: identical stacks of every thread
    /// are added together.
    pub per_thread: bool,
    /// Draw only this thread (an index into [`Profile::threads`]). Default is
    /// `None` (every thread). An index out of range draws nothing.
    pub thread: Option<usize>,
    /// Frames narrower than this percentage of the total width are left out
    /// of the SVG (inferno's `min_width`; their time stays in their parent's
    /// width): it keeps the SVG of a large profile small and quick to draw.
    /// `0.0` keeps every frame. Folded stacks are never pruned. Default is
    /// `0.01` (inferno's default), which leaves out frames under 1/10,000 of
    /// the total time.
    pub min_width: f64,
    /// The most frames in a stack (a per-thread root frame included): the
    /// time of deeper calls is counted in the deepest frame kept. Very deep
    /// recursion would otherwise make the folded stacks grow with the square
    /// of its depth. Default is 1000.
    pub max_depth: usize,
    /// Differential graphs only: scale the first ("before") profile's counts
    /// so that its total equals the second's, to compare shapes rather than
    /// durations. Default is `false`.
    pub normalize: bool,
}

impl Default for FlamegraphOptions {
    fn default() -> Self {
        FlamegraphOptions {
            title: None,
            subtitle: None,
            icicle: false,
            per_thread: false,
            thread: None,
            min_width: 0.01,
            max_depth: 1000,
            normalize: false,
        }
    }
}

impl FlamegraphOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the [`title`](Self::title).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the [`subtitle`](Self::subtitle).
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Sets [`icicle`](Self::icicle).
    pub fn icicle(mut self, icicle: bool) -> Self {
        self.icicle = icicle;
        self
    }

    /// Sets [`per_thread`](Self::per_thread).
    pub fn per_thread(mut self, per_thread: bool) -> Self {
        self.per_thread = per_thread;
        self
    }

    /// Sets [`thread`](Self::thread).
    pub fn thread(mut self, thread: Option<usize>) -> Self {
        self.thread = thread;
        self
    }

    /// Sets [`min_width`](Self::min_width) (a percentage of the total width).
    pub fn min_width(mut self, min_width: f64) -> Self {
        self.min_width = min_width;
        self
    }

    /// Sets [`max_depth`](Self::max_depth) (at least 1).
    pub fn max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Sets [`normalize`](Self::normalize).
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.normalize = normalize;
        self
    }
}

impl FlamegraphOptions {
    /// The title to draw: [`title`](Self::title), or else `default`
    /// followed by what was run: the program's name and its arguments
    /// (`Flame Graph: workloads run imbalance --timeline`), when the profile
    /// has them.
    pub(crate) fn title_for(&self, profile: &Profile, default: &str) -> String {
        if let Some(t) = &self.title {
            return t.clone();
        }
        let m = &profile.meta;
        let mut run = names::label(&m.program);
        for a in m.args.iter().skip(1) {
            run.push(' ');
            run.push_str(&names::label(a));
        }
        let run = run.trim();
        if run.is_empty() {
            default.to_owned()
        } else {
            format!("{default}: {run}")
        }
    }

    /// The subtitle to draw: [`subtitle`](Self::subtitle), or else the
    /// profile's totals (`1234 calls, 1.234 s in profiled scopes, 3
    /// threads`).
    pub(crate) fn subtitle_for(&self, profile: &Profile) -> String {
        if let Some(s) = &self.subtitle {
            return s.clone();
        }
        if profile.meta.compiled_out {
            return crate::profile::COMPILED_OUT.to_owned();
        }
        let calls: u64 = profile
            .threads
            .iter()
            .flat_map(|t| t.nodes.iter().map(|n| n.calls))
            .fold(0, u64::saturating_add);
        let threads: u64 = profile
            .threads
            .iter()
            .map(|t| t.folded_threads.max(1))
            .sum();
        format!(
            "{calls} calls, {} in profiled scopes, {threads} thread{}",
            crate::analysis::duration_text(profile.root_time_ns()),
            if threads == 1 { "" } else { "s" }
        )
    }

    /// inferno's options for every SVG drawn with these options (flame
    /// graphs, differential graphs and flame charts): the title and
    /// subtitle, `ns` counts, deterministic colours, `min_width` and the
    /// direction.
    pub(crate) fn inferno(&self, title: String, subtitle: String) -> Options<'static> {
        let mut o = Options::default();
        o.title = title;
        o.subtitle = Some(subtitle);
        o.count_name = "ns".to_owned();
        o.deterministic = true;
        o.min_width = self.min_width;
        o.direction = if self.icicle {
            Direction::Inverted
        } else {
            Direction::Straight
        };
        o
    }
}

/// The folded stacks of `profile`: `(path, self ns)` pairs, sorted by path,
/// without zero counts.
pub fn folded_stacks(profile: &Profile, options: &FlamegraphOptions) -> Vec<(String, u64)> {
    let st = Stacks::build(profile, options);
    let counts = st.self_ns.clone();
    st.lines(&counts)
}

/// Call paths merged by frame name (a trie): what a flamegraph draws.
struct Stacks {
    /// Per path: the parent path (`NONE` at the top), its frame's name (an
    /// index into `names`) and its self time. A parent comes before its
    /// children.
    parent: Vec<u32>,
    name: Vec<u32>,
    self_ns: Vec<u64>,
    names: Vec<String>,
}

const NONE: u32 = u32::MAX;

impl Stacks {
    fn build(profile: &Profile, options: &FlamegraphOptions) -> Stacks {
        let mut st = Stacks {
            parent: Vec::new(),
            name: Vec::new(),
            self_ns: Vec::new(),
            names: Vec::new(),
        };
        let mut index: FastMap<u64, u32> = FastMap::default();
        let mut site_name: Vec<u32> = vec![NONE; profile.sites.len()];
        let mut name_ids: HashMap<String, u32> = HashMap::new();
        let max_depth = options.max_depth.max(1);
        let threads: Vec<usize> = match options.thread {
            Some(t) => (t < profile.threads.len())
                .then_some(t)
                .into_iter()
                .collect(),
            None => (0..profile.threads.len()).collect(),
        };
        let thread_names = thread_frames(profile);
        let mut child = |st: &mut Stacks, parent: u32, name: u32| -> u32 {
            let next = st.parent.len() as u32;
            let key = (u64::from(parent) << 32) | u64::from(name);
            let id = *index.entry(key).or_insert(next);
            if id == next {
                st.parent.push(parent);
                st.name.push(name);
                st.self_ns.push(0);
            }
            id
        };
        for &ti in &threads {
            let t = &profile.threads[ti];
            let n = t.nodes.len();
            // A parent that does not come before its node (an invalid tree)
            // is treated as no parent.
            let parent = |i: usize| t.nodes[i].parent().filter(|&p| p < i);
            let mut self_ns: Vec<u64> = t.nodes.iter().map(|n| n.time_ns).collect();
            for i in (0..n).rev() {
                if let Some(p) = parent(i) {
                    self_ns[p] = self_ns[p].saturating_sub(t.nodes[i].time_ns);
                }
            }
            let (base, base_depth) = if options.per_thread {
                let name = intern(&mut st.names, &mut name_ids, thread_names[ti].clone());
                (child(&mut st, NONE, name), 1)
            } else {
                (NONE, 0)
            };
            let mut path = vec![NONE; n];
            let mut depth = vec![0usize; n];
            for (i, node) in t.nodes.iter().enumerate() {
                let (up, d) = match parent(i) {
                    Some(p) => (path[p], depth[p] + 1),
                    None => (base, base_depth + 1),
                };
                if d > max_depth {
                    // Too deep: counted in the deepest frame kept.
                    path[i] = up;
                    depth[i] = d - 1;
                } else {
                    let site = node.site as usize;
                    let name = match site_name.get(site) {
                        Some(&id) if id != NONE => id,
                        _ => {
                            let text = match profile.sites.get(site) {
                                Some(s) => frame_name(&s.name),
                                None => format!("(unknown site {site})"),
                            };
                            let id = intern(&mut st.names, &mut name_ids, text);
                            if let Some(slot) = site_name.get_mut(site) {
                                *slot = id;
                            }
                            id
                        }
                    };
                    path[i] = child(&mut st, up, name);
                    depth[i] = d;
                }
                let c = &mut st.self_ns[path[i] as usize];
                *c = c.saturating_add(self_ns[i]);
            }
        }
        st
    }

    /// Inclusive time of every path.
    fn inclusive(&self) -> Vec<u64> {
        let mut incl = self.self_ns.clone();
        for i in (0..incl.len()).rev() {
            let p = self.parent[i];
            if p != NONE {
                incl[p as usize] = incl[p as usize].saturating_add(incl[i]);
            }
        }
        incl
    }

    /// Leaves out the paths that inferno would not draw, frames narrower than
    /// `min_width` percent of the total, and returns the counts to write:
    /// a pruned path's time goes to its nearest drawn ancestor, so every
    /// drawn frame keeps its width. Paths at the top are always written
    /// (inferno prunes them itself) so that the total is unchanged.
    fn pruned_counts(&self, min_width: f64) -> Vec<u64> {
        let incl = self.inclusive();
        let total = (0..incl.len())
            .filter(|&i| self.parent[i] == NONE)
            .fold(0u64, |s, i| s.saturating_add(incl[i]));
        let mut counts = self.self_ns.clone();
        if total == 0 || min_width <= 0.0 {
            return counts;
        }
        // inferno's own arithmetic, so that both agree on every frame.
        let min_time = min_width / (100.0 / total as f64);
        let mut kept = vec![false; incl.len()];
        for i in 0..incl.len() {
            let p = self.parent[i];
            if p == NONE || (kept[p as usize] && incl[i] as f64 >= min_time) {
                kept[i] = true;
            } else {
                counts[i] = 0;
                if kept[p as usize] {
                    counts[p as usize] = counts[p as usize].saturating_add(incl[i]);
                }
            }
        }
        counts
    }

    /// `(path, count)` for every path with a non-zero count, sorted by path.
    fn lines(&self, counts: &[u64]) -> Vec<(String, u64)> {
        let n = self.parent.len();
        let mut first = vec![NONE; n];
        let mut next = vec![NONE; n];
        let mut top = NONE;
        for i in (0..n).rev() {
            match self.parent[i] {
                NONE => {
                    next[i] = top;
                    top = i as u32;
                }
                p => {
                    next[i] = first[p as usize];
                    first[p as usize] = i as u32;
                }
            }
        }
        // Subtrees without any count are skipped.
        let mut any = counts.iter().map(|&c| c > 0).collect::<Vec<_>>();
        for i in (0..n).rev() {
            let p = self.parent[i];
            if any[i] && p != NONE {
                any[p as usize] = true;
            }
        }
        let mut out = Vec::new();
        let mut path = String::new();
        // (path index, length of `path` before its frame).
        let mut stack: Vec<(u32, usize)> = Vec::new();
        let mut r = top;
        while r != NONE {
            stack.push((r, 0));
            r = next[r as usize];
        }
        while let Some((i, len)) = stack.pop() {
            let i = i as usize;
            if !any[i] {
                continue;
            }
            path.truncate(len);
            if len > 0 {
                path.push(';');
            }
            path.push_str(&self.names[self.name[i] as usize]);
            if counts[i] > 0 {
                out.push((path.clone(), counts[i]));
            }
            let here = path.len();
            let mut k = first[i];
            while k != NONE {
                stack.push((k, here));
                k = next[k as usize];
            }
        }
        out.sort_unstable();
        out
    }
}

/// The id of frame name `text` (identical names share one).
fn intern(names: &mut Vec<String>, ids: &mut HashMap<String, u32>, text: String) -> u32 {
    let next = names.len() as u32;
    *ids.entry(text).or_insert_with_key(|t| {
        names.push(t.clone());
        next
    })
}

fn to_text(lines: &[(String, u64)]) -> String {
    let mut s = String::new();
    for (path, n) in lines {
        s.push_str(path);
        s.push(' ');
        s.push_str(&n.to_string());
        s.push('\n');
    }
    s
}

/// The folded stacks of `profile` as text, one `path count` line each (see
/// the module docs), sorted by path.
pub fn folded(profile: &Profile, options: &FlamegraphOptions) -> String {
    to_text(&folded_stacks(profile, options))
}

/// Writes the folded stacks of `profile`, every thread merged, to `w`.
pub fn write_folded_default(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    write_folded(profile, &FlamegraphOptions::default(), w)
}

/// Writes the folded stacks of `profile` to `w`.
pub fn write_folded(
    profile: &Profile,
    options: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    w.write_all(folded(profile, options).as_bytes())?;
    w.flush()
}

/// Writes the flamegraph SVG of `profile` (all threads merged, default
/// options) to `w`.
pub fn write_svg(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    write_svg_with(profile, &FlamegraphOptions::default(), w)
}

/// Writes the flamegraph SVG of `profile`, drawn as `options` say, to `w`.
/// A profile without any recorded time gives a small SVG saying so.
pub fn write_svg_with(
    profile: &Profile,
    options: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let st = Stacks::build(profile, options);
    let text = to_text(&st.lines(&st.pruned_counts(options.min_width)));
    let default_title = if options.icicle {
        "Icicle Graph"
    } else {
        "Flame Graph"
    };
    let title = options.title_for(profile, default_title);
    render(&text, title, options.subtitle_for(profile), options, w)
}

/// Writes a differential flamegraph SVG to `w`: the stacks of `after`, each
/// frame coloured by how its self time changed from `before` (red: grew,
/// blue: shrank), with default options.
pub fn write_differential(before: &Profile, after: &Profile, w: &mut dyn Write) -> io::Result<()> {
    write_differential_with(before, after, &FlamegraphOptions::default(), w)
}

/// Writes a differential flamegraph SVG of `before` and `after`, drawn as
/// `options` say (see [`FlamegraphOptions::normalize`]), to `w`.
pub fn write_differential_with(
    before: &Profile,
    after: &Profile,
    options: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let a = folded(before, options);
    let b = folded(after, options);
    let mut two = Vec::new();
    let diff = inferno::differential::Options {
        normalize: options.normalize,
        strip_hex: false,
    };
    inferno::differential::from_readers(diff, a.as_bytes(), b.as_bytes(), &mut two)?;
    let text = String::from_utf8(two).map_err(io::Error::other)?;
    let title = options.title_for(after, "Differential Flame Graph");
    render(&text, title, options.subtitle_for(after), options, w)
}

/// Draws folded (or differential) lines with inferno.
fn render(
    lines: &str,
    title: String,
    subtitle: String,
    options: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let has_time = lines.lines().any(|l| {
        l.rsplit(' ')
            .next()
            .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n > 0))
    });
    if !has_time {
        if subtitle == crate::profile::COMPILED_OUT {
            let note = format!("No profiled time: {subtitle}.");
            return svg::placeholder(&title, &note, w);
        }
        return svg::placeholder(&title, "No profiled time was recorded.", w);
    }
    let mut o = options.inferno(title, subtitle);
    inferno::flamegraph::from_lines(&mut o, lines.lines(), &mut *w)?;
    w.flush()
}

impl Profile {
    /// The folded stacks of every thread merged (see [`folded`]), as text.
    pub fn folded(&self) -> String {
        folded(self, &FlamegraphOptions::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, SiteInfo, ThreadProfile};

    #[test]
    fn folded_lines_merge_threads() {
        let sites = vec![
            SiteInfo::new("m", "", "f.rs", 1),
            SiteInfo::new("w", "", "f.rs", 2),
        ];
        let t = |id| {
            ThreadProfile::new(
                id,
                "t",
                1,
                vec![Node::new(0, NO_PARENT, 1, 10), Node::new(1, 0, 1, 4)],
            )
        };
        let p = Profile::new(Metadata::default(), sites, vec![t(1), t(2)]);
        assert_eq!(p.folded(), "m 12\nm;w 8\n");
        let per = folded(&p, &FlamegraphOptions::new().per_thread(true));
        assert_eq!(per, "t #1;m 6\nt #1;m;w 4\nt #2;m 6\nt #2;m;w 4\n");
    }

    #[test]
    fn same_names_share_a_line_and_depth_is_capped() {
        let sites = vec![
            SiteInfo::new("m", "", "f.rs", 1),
            SiteInfo::new("w", "", "f.rs", 2),
            SiteInfo::new("w", "", "g.rs", 2),
        ];
        let nodes = vec![
            Node::new(0, NO_PARENT, 1, 100),
            Node::new(1, 0, 1, 30),
            Node::new(2, 0, 1, 20),
            Node::new(1, 2, 1, 5),
        ];
        let p = Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "t", 1, nodes)],
        );
        assert_eq!(p.folded(), "m 50\nm;w 45\nm;w;w 5\n");
        let capped = folded(&p, &FlamegraphOptions::new().max_depth(2));
        assert_eq!(capped, "m 50\nm;w 50\n");
        let top = folded(&p, &FlamegraphOptions::new().max_depth(0));
        assert_eq!(top, "m 100\n");
    }

    #[test]
    fn pruning_keeps_widths_and_total() {
        let sites = vec![
            SiteInfo::new("m", "", "f.rs", 1),
            SiteInfo::new("big", "", "f.rs", 2),
            SiteInfo::new("tiny", "", "f.rs", 3),
            SiteInfo::new("top", "", "f.rs", 4),
        ];
        let nodes = vec![
            Node::new(0, NO_PARENT, 1, 1_000_000),
            Node::new(1, 0, 1, 600_000),
            Node::new(2, 1, 1, 50),
            Node::new(3, NO_PARENT, 1, 10),
        ];
        let p = Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "t", 1, nodes)],
        );
        let st = Stacks::build(&p, &FlamegraphOptions::default());
        let lines = st.lines(&st.pruned_counts(0.01));
        let expect = [("m", 400_000), ("m;big", 600_000), ("top", 10)];
        let expect: Vec<(String, u64)> = expect.iter().map(|(a, b)| (a.to_string(), *b)).collect();
        assert_eq!(lines, expect);
        assert_eq!(st.lines(&st.pruned_counts(0.0)).len(), 4);
    }
}
