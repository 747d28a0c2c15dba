//! Flame chart SVGs of a profile's timelines, drawn by inferno
//! (`flame_chart` mode): time runs from left to right and nothing is merged,
//! so each call is its own frame, under the call stack it ran in.
//!
//! Every thread with a timeline (or only [`FlamegraphOptions::thread`]) is a
//! root frame named after the thread (numbered when names repeat), as wide as
//! the whole run (from the start of recording to the profile's duration or
//! the last span's end); the threads sit side by side, in profile order. A
//! thread's frames are its spans, nested as they ran (see
//! [`emit::timeline`](crate::emit::timeline)); time outside every span is the
//! thread frame's own. Tooltips count `ns`.
//!
//! From [`FlamegraphOptions`]: `title` (default "Flame Chart", followed by
//! the program's name), `subtitle`, `icicle`, `thread`, `min_width` (inferno
//! prunes frames narrower than that percentage of the total width) and
//! `max_depth` (deeper calls count in the deepest frame kept). `per_thread` and `normalize` do
//! not apply. Back-to-back calls of the same function stay separate frames.
//! Without any timeline the SVG says so.

use std::collections::HashMap;
use std::io::{self, Write};

use super::flamegraph::FlamegraphOptions;
use super::svg::{self, frame_name, thread_frames};
use super::timeline::{self, Edge};
use crate::profile::Profile;

/// Writes a flame chart SVG of `profile`'s timelines to `w`, with default
/// options: see [`write_with`].
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    write_with(profile, &FlamegraphOptions::default(), w)
}

/// Writes a flame chart SVG of `profile`'s timelines to `w`, drawn as
/// `options` say (see the [module docs](self) for those that apply).
pub fn write_with(
    profile: &Profile,
    options: &FlamegraphOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let lines = folded_lines(profile, options);
    let title = options.title_for(profile, "Flame Chart");
    if !lines.iter().any(|(_, n)| *n > 0) {
        return svg::placeholder(&title, "No timeline was recorded.", w);
    }
    // inferno draws the last line leftmost: newest first.
    let text: Vec<String> = lines
        .iter()
        .rev()
        .map(|(stack, n)| format!("{stack} {n}"))
        .collect();
    let mut o = options.inferno(title, options.subtitle_for(profile));
    o.flame_chart = true;
    inferno::flamegraph::from_lines(&mut o, text.iter().map(String::as_str), &mut *w)?;
    w.flush()
}

/// The flame chart's folded lines in time order, oldest first: one per
/// stretch of time with one call stack, `(stack, ns)`. A zero-count line
/// separates a call that ends from one that starts at the same time, so
/// that inferno does not merge them.
fn folded_lines(profile: &Profile, options: &FlamegraphOptions) -> Vec<(String, u64)> {
    let end = timeline::end_ns(profile);
    let roots = thread_frames(profile);
    let max_depth = options.max_depth.max(1);
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut out = Vec::new();
    for (ti, t) in profile.threads.iter().enumerate() {
        if t.timeline.is_empty() || options.thread.is_some_and(|only| only != ti) {
            continue;
        }
        let placed = timeline::nest(t);
        let edges = timeline::walk(&placed);
        // The path of open frames, and its length before each open span.
        let mut path = roots[ti].clone();
        let mut lens: Vec<usize> = Vec::new();
        let mut now = 0u64;
        for (k, e) in edges.iter().enumerate() {
            let at = e.at(&placed);
            if at > now {
                out.push((path.clone(), at - now));
                now = at;
            }
            match *e {
                Edge::Open(i) => {
                    lens.push(path.len());
                    // The stack holds the thread's frame and one per open span.
                    if lens.len() < max_depth {
                        let site = placed[i].site;
                        let name = names.entry(site).or_insert_with(|| {
                            match profile.sites.get(site as usize) {
                                Some(s) => frame_name(&s.name),
                                None => format!("(unknown site {site})"),
                            }
                        });
                        path.push(';');
                        path.push_str(name);
                    }
                }
                Edge::Close(_) => {
                    if let Some(len) = lens.pop() {
                        path.truncate(len);
                    }
                    let next_opens_now = matches!(
                        edges.get(k + 1),
                        Some(&n @ Edge::Open(_)) if n.at(&placed) == at
                    );
                    if next_opens_now {
                        out.push((path.clone(), 0));
                    }
                }
            }
        }
        if end > now {
            out.push((path, end - now));
        }
    }
    out
}
