//! Timelines put back into their call stacks: the one nesting rule that
//! the timeline exporters and the parallel analysis share.
//!
//! A thread's [`Span`](super::Span)s are stored in the order they ended, so
//! children come before their parents. [`nest`] sorts them into **pre-order**
//! (by start; an enclosing span before the spans inside it) and gives each its
//! depth.
//!
//! # Ties
//!
//! Times alone do not always tell which span encloses which. They are broken
//! so that a recorded timeline comes back as it ran:
//!
//! - two spans with the same start and end: the one stored later (it ended
//!   later: a parent is stored after its children) encloses the other;
//! - a zero-length span at the very end of another span is inside it only if
//!   it was stored before it (otherwise it ran just after it);
//! - a zero-length span at the very start of another is put inside it.
//!
//! At equal times, the exporters' walk closes the spans that end (innermost first) before
//! it opens the next ones (outermost first); a zero-length span opens and
//! closes in place.
//!
//! Spans that overlap without nesting (impossible in a recording, possible in
//! a hand-edited file) are cut at the end of the span they start in, so that
//! every exporter still writes well-nested output.

use super::{SiteId, ThreadProfile};

/// A span placed in its thread's call stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Placed {
    /// The span's site.
    pub site: SiteId,
    /// Start, in ns since the start of recording.
    pub start: u64,
    /// End, in ns; never past the end of the enclosing span.
    pub end: u64,
    /// Number of enclosing spans (0 for a top-level span).
    pub depth: u32,
    /// The span's index in [`ThreadProfile::timeline`].
    pub index: u32,
}

/// The spans of `thread` in pre-order, with their depths (see the module
/// docs).
pub fn nest(thread: &ThreadProfile) -> Vec<Placed> {
    nest_counting(thread).0
}

/// How many spans of `thread` overlap a span they start in without nesting
/// in it, and are cut at its end by [`nest`] (none in a recording; a
/// hand-edited or merged-by-hand file may have some). Tools that export
/// timelines say so, as the output then differs from the file.
///
/// ```
/// use profiler::emit::timeline;
/// use profiler::{Span, ThreadProfile};
///
/// // [0, 100] and [50, 150] overlap: the second is cut at 100.
/// let t = ThreadProfile::new(1, "main", 1, Vec::new())
///     .with_timeline(vec![Span::new(0, 0, 100), Span::new(0, 50, 100)], 0);
/// assert_eq!(timeline::overlapping(&t), 1);
/// ```
pub fn overlapping(thread: &ThreadProfile) -> usize {
    nest_counting(thread).1
}

/// [`nest`], and the number of spans it cut.
fn nest_counting(thread: &ThreadProfile) -> (Vec<Placed>, usize) {
    let spans = &thread.timeline;
    let mut cut = 0usize;
    let mut order: Vec<u32> = (0..spans.len() as u32).collect();
    // By start, then the longer first, then the later-stored (the enclosing
    // one, for identical intervals) first.
    order.sort_unstable_by(|&a, &b| {
        let (x, y) = (&spans[a as usize], &spans[b as usize]);
        x.start_ns
            .cmp(&y.start_ns)
            .then(y.end_ns().cmp(&x.end_ns()))
            .then(b.cmp(&a))
    });
    let mut out = Vec::with_capacity(spans.len());
    // (end, stored index) of the open spans.
    let mut stack: Vec<(u64, u32)> = Vec::new();
    for i in order {
        let s = &spans[i as usize];
        let start = s.start_ns;
        let mut end = s.end_ns();
        while let Some(&(top_end, top_idx)) = stack.last() {
            if start < top_end {
                // Starts inside the open span: inside it, cut if it overlaps.
                if end > top_end {
                    cut += 1;
                    end = top_end;
                }
                break;
            }
            if start == top_end && end == top_end && i < top_idx {
                // Zero-length at the open span's end, stored before it.
                break;
            }
            stack.pop();
        }
        out.push(Placed {
            site: s.site,
            start,
            end,
            depth: stack.len() as u32,
            index: i,
        });
        stack.push((end, i));
    }
    (out, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Span;

    fn thread(spans: &[(u32, u64, u64)]) -> ThreadProfile {
        let tl = spans.iter().map(|&(s, a, d)| Span::new(s, a, d)).collect();
        ThreadProfile::new(1, "t", 1, Vec::new()).with_timeline(tl, 0)
    }

    fn shape(placed: &[Placed]) -> Vec<(u32, u64, u64, u32)> {
        placed
            .iter()
            .map(|p| (p.site, p.start, p.end, p.depth))
            .collect()
    }

    #[test]
    fn end_order_comes_back_as_pre_order() {
        // main [0,100] > a [10,60] > b [20,30]; c [70,90]; stored by end.
        let t = thread(&[(2, 20, 10), (1, 10, 50), (3, 70, 20), (0, 0, 100)]);
        let p = nest(&t);
        assert_eq!(
            shape(&p),
            [
                (0, 0, 100, 0),
                (1, 10, 60, 1),
                (2, 20, 30, 2),
                (3, 70, 90, 1)
            ]
        );
    }

    #[test]
    fn ties_follow_the_stored_order() {
        // Identical intervals: the later-stored encloses.
        let t = thread(&[(1, 5, 5), (0, 5, 5)]);
        assert_eq!(shape(&nest(&t)), [(0, 5, 10, 0), (1, 5, 10, 1)]);
        // Zero-length at the end of a span: inside if stored before it.
        let t = thread(&[(1, 10, 0), (0, 0, 10)]);
        assert_eq!(shape(&nest(&t)), [(0, 0, 10, 0), (1, 10, 10, 1)]);
        let t = thread(&[(0, 0, 10), (1, 10, 0), (2, 10, 5)]);
        assert_eq!(
            shape(&nest(&t)),
            [(0, 0, 10, 0), (2, 10, 15, 0), (1, 10, 10, 1)]
        );
        // Back to back: siblings.
        let t = thread(&[(0, 0, 10), (1, 10, 10)]);
        assert_eq!(shape(&nest(&t)), [(0, 0, 10, 0), (1, 10, 20, 0)]);
    }

    #[test]
    fn overlaps_are_cut() {
        let t = thread(&[(0, 0, 10), (1, 5, 10)]);
        let p = nest(&t);
        assert_eq!(shape(&p), [(0, 0, 10, 0), (1, 5, 10, 1)]);
        assert_eq!(overlapping(&t), 1);
    }
}
