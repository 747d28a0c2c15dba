//! Timelines put back into their call stacks: what the timeline exporters
//! ([`chrome`](super::chrome), [`paraver`](super::paraver),
//! [`speedscope`](super::speedscope) and the
//! [flame chart](super::flamechart)) share.
//!
//! A thread's [`Span`](crate::Span)s are stored in the order they ended, so
//! children come before their parents. [`nest`] sorts them into **pre-order**
//! (by start; an enclosing span before the spans inside it) and gives each its
//! depth, and [`walk`] turns them into open/close edges that nest properly,
//! with times that never decrease.
//!
//! ```
//! use profiler::emit::timeline::{self, Edge};
//! use profiler::{Span, ThreadProfile};
//!
//! // main [0, 100] encloses a [10, 60]; stored in the order they ended.
//! let t = ThreadProfile::new(1, "main", 1, Vec::new())
//!     .with_timeline(vec![Span::new(1, 10, 50), Span::new(0, 0, 100)], 0);
//! let placed = timeline::nest(&t);
//! assert_eq!((placed[0].site, placed[0].depth), (0, 0));
//! assert_eq!((placed[1].site, placed[1].depth), (1, 1));
//! let edges = timeline::walk(&placed);
//! assert_eq!(edges, [Edge::Open(0), Edge::Open(1), Edge::Close(1), Edge::Close(0)]);
//! ```
//!
//! The nesting rule (ties, overlaps) is the data model's, shared with the
//! parallel analysis: see [`nest`].

use crate::profile::Profile;
pub use crate::profile::{Placed, nest, overlapping};

/// An open or a close of a placed span, as [`walk`] lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// The span (an index into the placed spans) opens at its start.
    Open(usize),
    /// The span closes at its end.
    Close(usize),
}

impl Edge {
    /// The index of the span.
    pub fn index(self) -> usize {
        match self {
            Edge::Open(i) | Edge::Close(i) => i,
        }
    }

    /// The time of the edge.
    pub fn at(self, placed: &[Placed]) -> u64 {
        match self {
            Edge::Open(i) => placed[i].start,
            Edge::Close(i) => placed[i].end,
        }
    }
}

/// The opens and closes of `placed` (from [`nest`]) in time order, properly
/// bracketed: at equal times the spans that end close (innermost first)
/// before the next ones open (outermost first), and a zero-length span opens
/// and closes in place.
pub fn walk(placed: &[Placed]) -> Vec<Edge> {
    let mut out = Vec::with_capacity(placed.len() * 2);
    let mut stack: Vec<usize> = Vec::new();
    for (i, p) in placed.iter().enumerate() {
        while stack.len() > p.depth as usize {
            out.push(Edge::Close(stack.pop().unwrap_or_default()));
        }
        out.push(Edge::Open(i));
        stack.push(i);
    }
    while let Some(i) = stack.pop() {
        out.push(Edge::Close(i));
    }
    out
}

/// The end of the timeline axis: the profile's duration, or the last span's
/// end if that is later.
pub fn end_ns(profile: &Profile) -> u64 {
    profile
        .threads
        .iter()
        .flat_map(|t| t.timeline.iter().map(|s| s.end_ns()))
        .fold(profile.meta.duration_ns, u64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Span, ThreadProfile};

    #[test]
    fn walks_in_time_order() {
        // main [0,100] > a [10,60] > b [20,30]; c [70,90]; stored by end.
        let tl = [(2, 20, 10), (1, 10, 50), (3, 70, 20), (0, 0, 100)]
            .iter()
            .map(|&(s, a, d)| Span::new(s, a, d))
            .collect();
        let t = ThreadProfile::new(1, "t", 1, Vec::new()).with_timeline(tl, 0);
        let p = nest(&t);
        let w = walk(&p);
        let ats: Vec<u64> = w.iter().map(|e| e.at(&p)).collect();
        assert_eq!(ats, [0, 10, 20, 30, 60, 70, 90, 100]);
        let t = ThreadProfile::new(1, "t", 1, Vec::new())
            .with_timeline(vec![Span::new(0, 0, 10), Span::new(1, 5, 10)], 0);
        assert_eq!(
            walk(&nest(&t)),
            [Edge::Open(0), Edge::Open(1), Edge::Close(1), Edge::Close(0)]
        );
    }
}
