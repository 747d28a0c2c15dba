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
    let drawn = |ti: usize, t: &crate::profile::ThreadProfile| {
        !t.timeline.is_empty() && options.thread.is_none_or(|only| only == ti)
    };
    // inferno leaves out frames narrower than `min_width` percent of the
    // total (every drawn thread is `end` wide): such calls, and everything
    // inside them, are left out here already, their time staying in their
    // caller's frame as inferno would draw it. A timeline of millions of
    // short calls then makes lines for the calls that can be seen only.
    let lanes = profile
        .threads
        .iter()
        .enumerate()
        .filter(|&(ti, t)| drawn(ti, t))
        .count();
    let min_ns = options.min_width.max(0.0) / 100.0 * end as f64 * lanes as f64;
    for (ti, t) in profile.threads.iter().enumerate() {
        if !drawn(ti, t) {
            continue;
        }
        let placed = timeline::nest(t);
        let edges = timeline::walk(&placed);
        // The path of open frames, and its length before each open span.
        let mut path = roots[ti].clone();
        let mut lens: Vec<usize> = Vec::new();
        let mut now = 0u64;
        // The call too narrow to draw that is open, if any.
        let mut hidden: Option<usize> = None;
        for (k, e) in edges.iter().enumerate() {
            let at = e.at(&placed);
            if at > now {
                // The stretches around a hidden call are one stretch of
                // its caller (inferno would merge them as well).
                match out.last_mut() {
                    Some((stack, n)) if *n > 0 && *stack == path => *n += at - now,
                    _ => out.push((path.clone(), at - now)),
                }
                now = at;
            }
            if let Some(h) = hidden {
                if *e == Edge::Close(h) {
                    hidden = None;
                }
                continue;
            }
            match *e {
                Edge::Open(i) if ((placed[i].end - placed[i].start) as f64) < min_ns => {
                    hidden = Some(i);
                }
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

#[cfg(test)]
mod tests {
    use super::folded_lines;
    use crate::emit::flamegraph::FlamegraphOptions;
    use crate::profile::{Metadata, NO_PARENT, Node, Profile, SiteInfo, Span, ThreadProfile};

    #[test]
    fn calls_too_narrow_to_draw_make_no_lines_and_keep_their_time() {
        // One 1 s call holding 100,000 calls of 10 ns, each far below
        // min_width (0.01 % of 1 s is 100 us), and one 200 ms call.
        let mut timeline: Vec<Span> = (0..100_000u64)
            .map(|k| Span::new(1, 1_000 + k * 1_000, 10))
            .collect();
        timeline.push(Span::new(2, 400_000_000, 200_000_000));
        timeline.push(Span::new(0, 0, 1_000_000_000));
        let nodes = vec![
            Node::new(0, NO_PARENT, 1, 1_000_000_000),
            Node::new(1, 0, 100_000, 1_000_000),
            Node::new(2, 0, 1, 200_000_000),
        ];
        let sites = ["outer", "tiny", "wide"]
            .iter()
            .map(|n| SiteInfo::new(*n, "m", "m.rs", 1))
            .collect();
        let profile = Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "main", 1, nodes).with_timeline(timeline, 0)],
        );
        let lines = folded_lines(&profile, &FlamegraphOptions::default());
        assert!(lines.len() < 10, "{} lines", lines.len());
        assert!(lines.iter().all(|(stack, _)| !stack.contains("tiny")));
        assert!(lines.iter().any(|(stack, _)| stack.ends_with("outer;wide")));
        let total: u64 = lines.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 1_000_000_000);
        // With min_width 0 every call is drawn.
        let all = folded_lines(&profile, &FlamegraphOptions::default().min_width(0.0));
        assert!(
            all.iter()
                .filter(|(stack, _)| stack.ends_with("tiny"))
                .count()
                == 100_000
        );
    }
}
