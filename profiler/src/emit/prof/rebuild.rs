//! From pstats figures to a calling-context tree.
//!
//! pstats keeps, per function `F`, `(cc, nc, tt, ct)` and, per caller `G`,
//! the same four figures for the calls along `G -> F`. This crate keeps a
//! calling-context tree and derives those figures from it
//! ([`stats`](crate::stats)). The import builds one tree (a thread named after
//! the file, process id 0) whose statistics are the file's:
//!
//! - One site per pstats key `(file, line, name)`, in the file's order, so
//!   rows keep pstats' order and print identically (`{built-in method ...}`
//!   included).
//! - Functions are visited callers first (a depth-first order in which every
//!   call edge goes forward unless it closes a cycle). Each function `F` owns
//!   a set of *outer* nodes: one node under a caller's node for each
//!   `G -> F` edge (split into several nodes where needed, see below), plus a
//!   root node for the calls from outside any profiled function (what is left
//!   of `nc`, `tt` and `ct` after the callers' shares).
//! - An outer node of edge `G -> F` has the edge's calls and self time
//!   (`tt` of the edge) and lasts `ct` of the edge; the rest of its time,
//!   `ct - tt`, is the room for its children. `F`'s children are laid end to
//!   end into that room: first the recursive calls (`F -> F`: a level-1 node
//!   holding the edge's primitive calls and lasting the edge's `ct`, with a
//!   level-2 node under it holding the nested calls), then one node per
//!   callee edge `F -> X` lasting that edge's `ct`. Where a child does not
//!   fit in one outer node it is split over consecutive ones (its calls on
//!   the first piece, its self time shared in proportion), and each piece
//!   becomes one of `X`'s outer nodes.
//! - Level-1 nodes are inside an outer `F`, so their calls are not primitive
//!   for `F`, and are the first `F -> F` on their path, so they are primitive
//!   for the edge; level-2 nodes are neither. Every other node is the
//!   outermost of its function and of its edge.
//!
//! **Exactness.** When the call graph has no cycles other than direct
//! recursion (`f` calling `f`), which covers most programs, every figure
//! comes out exactly, for every function and every edge: `nc` and `tt` of
//! functions and edges always (they are sums over nodes), and `cc` and `ct`
//! because in such a graph a call along `G -> F` is always an outermost call
//! of `F`, the room left in `F`'s outer nodes is exactly what its recursive
//! calls and callees need (pstats' figures satisfy `ct(F) = tt(F) +
//! sum over X != F of ct(F -> X)` exactly, cProfile's times being integer
//! nanoseconds), and a node's time is its self time plus its children's.
//! Times are the file's seconds rounded to nanoseconds (cProfile's own
//! unit), so the text reports print the same digits.
//!
//! **Limits.** Mutual recursion (`f -> g -> f`) cannot be rebuilt from pstats'
//! aggregates: which calls along `g -> f` were nested in another `f`, and how
//! the edges' times split between recursion levels, is not in the file. Such
//! an edge into a function already placed becomes leaf nodes holding its
//! calls and self time; `nc` and `tt` stay exact, while `cc` and `ct` of the
//! functions on the cycle (and the times of the functions calling them) may
//! differ. The import then checks its tree against the file (see `verify`).
//!
//! **Size.** A function reached along many paths gets one outer node per
//! piece of its callers' room, so the tree can hold more nodes than the file
//! has entries (in practice a small multiple); a file whose tree would need
//! more than 20 million nodes is refused.

use super::decode::PstatsFunction;
use crate::profile::{Metadata, NO_PARENT, Node, Profile, SiteInfo, ThreadProfile};
use crate::stats::Figures;

/// The most nodes an import may build (see the module docs, "Size").
const MAX_NODES: usize = 20_000_000;

/// The profile of parsed pstats functions: one thread named `thread_name`
/// holding the tree (see the module docs). Fails only when the tree would be
/// too large.
pub(super) fn profile(funcs: &[PstatsFunction], thread_name: &str) -> Result<Profile, String> {
    let tree = build_tree(funcs)?;
    let sites = funcs
        .iter()
        .map(|f| SiteInfo::new(f.name.clone(), "", f.file.clone(), f.line))
        .collect();
    let total: u64 = funcs
        .iter()
        .fold(0u64, |a, f| a.saturating_add(f.figures.tottime_ns));
    let meta = Metadata {
        program: thread_name.to_owned(),
        duration_ns: total,
        clock: "cProfile".to_owned(),
        ticks_per_second: 1e9,
        available_cores: 1,
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Metadata::default()
    };
    let thread = ThreadProfile::new(0, thread_name, 0, tree.nodes);
    Ok(Profile::new(meta, sites, vec![thread]))
}

/// An outer node of a function: a node already in the tree, how long it
/// lasts, and its self time.
#[derive(Clone, Copy, Debug)]
struct Piece {
    node: usize,
    len: u64,
    self_ns: u64,
}

#[derive(Clone, Copy, Debug)]
enum Owner {
    /// Directly under outer node `k`.
    Direct(usize),
    /// Under the level-1 recursion node of outer node `k`.
    Level1(usize),
}

#[derive(Clone, Copy, Debug)]
enum Item {
    /// Self time of the level-1 recursion nodes.
    Level1Self,
    /// The level-2 (nested recursion) nodes.
    Level2,
    /// Calls along an edge to a function not yet placed: `(callee, edge)`.
    Forward(usize, usize),
    /// Calls along an edge to a function already placed (a cycle).
    Back(usize, usize),
}

struct Tree {
    nodes: Vec<Node>,
    self_ns: Vec<u64>,
}

impl Tree {
    fn add(&mut self, site: usize, parent: Option<usize>, calls: u64, self_ns: u64) -> usize {
        let parent = parent.map_or(NO_PARENT, |p| p as u32);
        self.nodes.push(Node::new(site as u32, parent, calls, 0));
        self.self_ns.push(self_ns);
        self.nodes.len() - 1
    }
}

fn share(total: u64, done: u64, take: u64, len: u64) -> u64 {
    if len == 0 {
        return if done == 0 { total } else { 0 };
    }
    let at = |x: u64| (u128::from(total) * u128::from(x) / u128::from(len)) as u64;
    at(done.saturating_add(take).min(len)) - at(done.min(len))
}

/// The order in which functions are placed: reverse post-order of a
/// depth-first walk along calls. Every edge goes forward in it except those
/// that close a cycle. The walk starts from the functions called from
/// outside (or by nobody), largest cumtime first, and follows the edges with
/// the largest cumtime first, so that a cycle is entered where the program
/// entered it and its heaviest calls go forward.
fn order(funcs: &[PstatsFunction], callees: &[Vec<(usize, usize)>]) -> Vec<usize> {
    let n = funcs.len();
    let mut seen = vec![false; n];
    let mut post = Vec::with_capacity(n);
    let entered_from_outside = |i: usize| {
        let f = &funcs[i];
        let from_callers: u64 = f
            .callers
            .iter()
            .fold(0u64, |a, e| a.saturating_add(e.figures.ncalls));
        f.callers.iter().all(|e| e.caller == i) || f.figures.ncalls > from_callers
    };
    let mut starts: Vec<usize> = (0..n).filter(|&i| entered_from_outside(i)).collect();
    starts.sort_by_key(|&i| std::cmp::Reverse(funcs[i].figures.cumtime_ns));
    starts.extend((0..n).filter(|&i| !entered_from_outside(i)));
    let by_weight: Vec<Vec<usize>> = callees
        .iter()
        .map(|list| {
            let mut l: Vec<(usize, usize)> = list.clone();
            l.sort_by_key(|&(x, k)| std::cmp::Reverse(funcs[x].callers[k].figures.cumtime_ns));
            l.into_iter().map(|(x, _)| x).collect()
        })
        .collect();
    for s in starts {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        while let Some((v, next)) = stack.last_mut() {
            let v = *v;
            if let Some(&w) = by_weight[v].get(*next) {
                *next += 1;
                if !seen[w] {
                    seen[w] = true;
                    stack.push((w, 0));
                }
            } else {
                post.push(v);
                stack.pop();
            }
        }
    }
    post.reverse();
    post
}

fn build_tree(funcs: &[PstatsFunction]) -> Result<Tree, String> {
    let n = funcs.len();
    // callees[g] = (f, index of the edge in funcs[f].callers), without self edges.
    let mut callees: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (f, func) in funcs.iter().enumerate() {
        for (k, e) in func.callers.iter().enumerate() {
            if e.caller != f {
                callees[e.caller].push((f, k));
            }
        }
    }
    let order = order(funcs, &callees);
    let mut rank = vec![0usize; n];
    for (r, &f) in order.iter().enumerate() {
        rank[f] = r;
    }
    let mut tree = Tree {
        nodes: Vec::new(),
        self_ns: Vec::new(),
    };
    let mut pieces: Vec<Vec<Piece>> = vec![Vec::new(); n];
    for &f in &order {
        if tree.nodes.len() > MAX_NODES {
            return Err(format!(
                "the call tree rebuilt from this file would need more than {MAX_NODES} nodes"
            ));
        }
        let func = &funcs[f];
        let fig = func.figures;
        let mut in_nc = 0u64;
        let mut in_tt = 0u64;
        let mut forward_ct = 0u64;
        let mut recursion: Option<Figures> = None;
        for e in &func.callers {
            if e.caller == f {
                recursion = Some(e.figures);
                continue;
            }
            in_nc = in_nc.saturating_add(e.figures.ncalls);
            in_tt = in_tt.saturating_add(e.figures.tottime_ns);
            if rank[e.caller] < rank[f] {
                forward_ct =
                    forward_ct.saturating_add(e.figures.cumtime_ns.max(e.figures.tottime_ns));
            }
        }
        let rec = recursion.unwrap_or_default();
        let root_nc = fig.ncalls.saturating_sub(in_nc).saturating_sub(rec.ncalls);
        let root_tt = fig
            .tottime_ns
            .saturating_sub(in_tt)
            .saturating_sub(rec.tottime_ns);
        let root_ct = fig.cumtime_ns.saturating_sub(forward_ct);
        let mut outer = std::mem::take(&mut pieces[f]);
        if root_nc > 0 || root_tt > 0 || root_ct > 0 || outer.is_empty() {
            let node = tree.add(f, None, root_nc, root_tt);
            outer.push(Piece {
                node,
                len: root_ct.max(root_tt),
                self_ns: root_tt,
            });
        }

        // The room in the outer nodes, the first `span` of it inside level-1
        // recursion nodes.
        let span = recursion.map_or(0, |r| r.cumtime_ns.max(r.tottime_ns));
        let mut owners: Vec<(Owner, u64)> = Vec::new();
        if recursion.is_some() && span == 0 {
            owners.push((Owner::Level1(0), 0));
        }
        let mut pos = 0u64;
        for (k, p) in outer.iter().enumerate() {
            let room = p.len.saturating_sub(p.self_ns);
            let in_l1 = if pos < span { room.min(span - pos) } else { 0 };
            if in_l1 > 0 {
                owners.push((Owner::Level1(k), in_l1));
            }
            if room > in_l1 {
                owners.push((Owner::Direct(k), room - in_l1));
            }
            pos = pos.saturating_add(room);
        }
        if owners.is_empty() {
            let k = outer.len() - 1;
            owners.push((
                if recursion.is_some() {
                    Owner::Level1(k)
                } else {
                    Owner::Direct(k)
                },
                0,
            ));
        }

        // What goes into the room, in order.
        let mut items: Vec<(Item, u64)> = Vec::new();
        let (l1_self, l2_self) = match recursion {
            Some(r) => {
                let nested = r.ncalls.saturating_sub(r.pcalls);
                let l2 = if r.ncalls == 0 {
                    0
                } else {
                    (u128::from(r.tottime_ns) * u128::from(nested) / u128::from(r.ncalls)) as u64
                };
                items.push((Item::Level1Self, r.tottime_ns - l2));
                if nested > 0 || l2 > 0 {
                    items.push((Item::Level2, l2));
                }
                (r.pcalls, nested)
            }
            None => (0, 0),
        };
        for &(x, k) in &callees[f] {
            let e = funcs[x].callers[k].figures;
            if rank[x] > rank[f] {
                items.push((Item::Forward(x, k), e.cumtime_ns.max(e.tottime_ns)));
            } else {
                items.push((Item::Back(x, k), e.tottime_ns));
            }
        }

        // Lay the items into the room, splitting them where an owner ends;
        // the last owner takes whatever does not fit.
        let mut level1: Vec<Option<usize>> = vec![None; outer.len()];
        let mut level1_calls = Some(l1_self);
        let mut level2_calls = Some(l2_self);
        let mut oi = 0usize;
        let mut left = owners[0].1;
        for &(item, len) in &items {
            let mut rest = len;
            let mut done = 0u64;
            loop {
                while rest > 0 && left == 0 && oi + 1 < owners.len() {
                    oi += 1;
                    left = owners[oi].1;
                }
                let take = if oi + 1 == owners.len() {
                    rest
                } else {
                    rest.min(left)
                };
                let (owner, _) = owners[oi];
                let k = match owner {
                    Owner::Direct(k) | Owner::Level1(k) => k,
                };
                let mut level1_of = |tree: &mut Tree, k: usize| -> usize {
                    *level1[k].get_or_insert_with(|| {
                        let calls = level1_calls.take().unwrap_or(0);
                        tree.add(f, Some(outer[k].node), calls, 0)
                    })
                };
                let parent = match owner {
                    Owner::Direct(k) => outer[k].node,
                    Owner::Level1(k) => level1_of(&mut tree, k),
                };
                match item {
                    Item::Level1Self => {
                        let l1 = level1_of(&mut tree, k);
                        tree.self_ns[l1] += take;
                    }
                    Item::Level2 => {
                        let l1 = level1_of(&mut tree, k);
                        let calls = level2_calls.take().unwrap_or(0);
                        tree.add(f, Some(l1), calls, take);
                    }
                    Item::Forward(x, e) => {
                        let edge = funcs[x].callers[e].figures;
                        let calls = if done == 0 { edge.ncalls } else { 0 };
                        let self_ns = share(edge.tottime_ns, done, take, len);
                        let node = tree.add(x, Some(parent), calls, self_ns);
                        pieces[x].push(Piece {
                            node,
                            len: take,
                            self_ns,
                        });
                    }
                    Item::Back(x, e) => {
                        let edge = funcs[x].callers[e].figures;
                        let calls = if done == 0 { edge.ncalls } else { 0 };
                        tree.add(x, Some(parent), calls, take);
                    }
                }
                left = left.saturating_sub(take);
                rest -= take;
                done += take;
                if rest == 0 {
                    break;
                }
            }
        }
        // Recursion with no time at all still needs its nodes for the calls.
        if let Some(calls) = level1_calls.filter(|c| *c > 0) {
            let l1 = tree.add(f, Some(outer[0].node), calls, 0);
            if let Some(c2) = level2_calls.filter(|c| *c > 0) {
                tree.add(f, Some(l1), c2, 0);
            }
        }
    }
    // Inclusive times: self time plus the children's.
    let mut time = tree.self_ns.clone();
    for i in (0..tree.nodes.len()).rev() {
        if let Some(p) = tree.nodes[i].parent() {
            time[p] = time[p].saturating_add(time[i]);
        }
    }
    for (node, t) in tree.nodes.iter_mut().zip(time) {
        node.time_ns = t;
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::prof::{PstatsEdge, to_profile};

    fn fig(ncalls: u64, pcalls: u64, tt: u64, ct: u64) -> Figures {
        Figures {
            ncalls,
            pcalls,
            tottime_ns: tt,
            cumtime_ns: ct,
        }
    }

    fn func(name: &str, f: Figures, callers: &[(usize, Figures)]) -> PstatsFunction {
        PstatsFunction {
            file: "x.py".into(),
            line: 1,
            name: name.into(),
            figures: f,
            callers: callers
                .iter()
                .map(|&(caller, figures)| PstatsEdge {
                    caller,
                    figures,
                    counts_only: false,
                })
                .collect(),
            unknown_callers: 0,
        }
    }

    /// docs/formats.md's sample: main -> a -> b (recursing), plus a built-in
    /// called from main and from a.
    #[test]
    fn recursion_and_shared_callees_are_exact() {
        // main(1) self 100 calls a (860) and len (40); a self 200 calls b
        // twice (650) and len (10); b recurses 3 deep (8/2) and calls len
        // once, inside the recursion (50).
        let funcs = vec![
            func("main", fig(1, 1, 100, 1_000), &[]),
            func("a", fig(1, 1, 200, 860), &[(0, fig(1, 1, 200, 860))]),
            func(
                "b",
                fig(8, 2, 600, 650),
                &[(1, fig(2, 2, 150, 650)), (2, fig(6, 2, 450, 480))],
            ),
            func(
                "len",
                fig(3, 3, 100, 100),
                &[
                    (0, fig(1, 1, 40, 40)),
                    (1, fig(1, 1, 10, 10)),
                    (2, fig(1, 1, 50, 50)),
                ],
            ),
        ];
        let import = to_profile(&funcs, "t").unwrap();
        assert!(import.inexact.is_empty(), "{:#?}", import.inexact);
        import.profile.validate().unwrap();
    }

    #[test]
    fn mutual_recursion_is_reported() {
        // a -> b -> a -> b: times a0 = 10, b1 = 20, a2 = 30, b3 = 40.
        let funcs = vec![
            func("a", fig(2, 1, 40, 100), &[(1, fig(1, 1, 30, 70))]),
            func("b", fig(2, 1, 60, 90), &[(0, fig(2, 1, 60, 90))]),
        ];
        let import = to_profile(&funcs, "t").unwrap();
        import.profile.validate().unwrap();
        assert!(!import.inexact.is_empty());
        let st = import.profile.stats();
        // Calls and self times stay exact.
        for (i, f) in funcs.iter().enumerate() {
            let g = st.function(i as u32).unwrap().figures;
            assert_eq!(
                (g.ncalls, g.tottime_ns),
                (f.figures.ncalls, f.figures.tottime_ns)
            );
        }
    }
}
