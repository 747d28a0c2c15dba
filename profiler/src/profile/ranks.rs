//! The merge of an MPI run's ranks: one profile of the whole program, whose
//! memory grows with the distinct call paths, not with ranks x paths.
//!
//! The ranks' profiles are folded in one at a time (each may be dropped as
//! soon as it was folded in, see [`RankMerge`]):
//!
//! - sites are matched by `(name, file, line)`, as [`Profile::merge`] does;
//! - the threads of every rank that share a name (`main`, `worker-3`) fold
//!   into one tree, the union of their call paths, with the calls and times
//!   summed: the merged table is the sum of the ranks' tables. Such a tree
//!   counts the ranks it folds in [`ThreadProfile::folded_threads`] and has
//!   no rank, timeline, or CPU figures (each rank's own profile keeps
//!   them);
//! - but a rank recorded in timeline mode (one with a timeline on any
//!   thread) keeps its threads as they are, each with its rank, after the
//!   folded trees: their timelines and MPI calls are put on one time axis,
//!   rank 0's clock, each rank's times corrected by its [`ClockSync`]
//!   (the axis starts at the earliest corrected start, the merged
//!   [`Metadata::start_unix_s`](super::Metadata::start_unix_s)). An
//!   estimate is only as good as half its round trip (milliseconds on a
//!   busy machine), so a message could still seem received before it was
//!   sent: from the end of such a receive on, its rank's times are then
//!   moved forward by what it takes (a logical clock's repair, as
//!   Scalasca's controlled logical clock repairs what the linear
//!   correction leaves), the most a rank was moved recorded in
//!   [`ClockSync::shift_ns`];
//! - every rank's MPI figures ([`Profile::mpi`]) are kept, in rank order;
//!   they are what the MPI summary and POP's hybrid metrics are computed
//!   from;
//! - the metadata is the first rank's, with the earliest start, the
//!   longest duration, and [`MpiRun::rank`] 0.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;

use super::{
    ClockSync, MpiMessage, MpiRun, NO_PARENT, Node, Profile, SiteId, SiteInfo, ThreadProfile,
};
use crate::error::Error;
use crate::hash::FastMap;

/// One folded thread: its nodes, and the node of each (parent, site).
struct Folded {
    name: String,
    nodes: Vec<Node>,
    index: FastMap<(u32, SiteId), u32>,
    ranks: u64,
}

/// An MPI run's ranks being merged (see the module docs).
///
/// ```
/// use profiler::profile::{NO_PARENT, RankMerge};
/// use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};
///
/// let rank = |calls| {
///     let t = ThreadProfile::new(1, "main", 1, vec![Node::new(0, NO_PARENT, calls, 10)]);
///     Profile::new(Metadata::default(), vec![SiteInfo::new("step", "app", "app.rs", 1)], vec![t])
/// };
/// let mut merge = RankMerge::new();
/// merge.add(rank(2));
/// merge.add(rank(3));
/// let p = merge.finish();
/// assert_eq!(p.threads.len(), 1);
/// assert_eq!(p.threads[0].nodes[0].calls, 5);
/// assert_eq!(p.threads[0].folded_threads, 2);
/// ```
#[derive(Default)]
pub struct RankMerge {
    first: Option<Profile>,
    sites: Vec<SiteInfo>,
    /// The merged sites by the hash of their `(name, file, line)`.
    site_ids: FastMap<u64, Vec<SiteId>>,
    threads: Vec<Folded>,
    thread_of: HashMap<String, usize>,
    start_unix_s: f64,
    duration_ns: u64,
    ranks: u32,
    mpi: Vec<super::RankMpi>,
    /// Threads of ranks recorded in timeline mode, kept whole.
    kept: Vec<ThreadProfile>,
    kept_ranks: Vec<KeptRank>,
}

/// A rank whose threads were kept: its clock, and where its threads and
/// MPI figures went.
struct KeptRank {
    sync: ClockSync,
    /// Its threads in `kept`.
    threads: std::ops::Range<usize>,
    /// Its entries in `mpi`.
    mpi: std::ops::Range<usize>,
    duration_ns: u64,
}

impl RankMerge {
    /// An empty merge.
    pub fn new() -> Self {
        RankMerge::default()
    }

    /// Folds one rank's profile in.
    pub fn add(&mut self, mut rank: Profile) {
        let site_map: Vec<SiteId> = rank.sites.iter().map(|s| self.site(s)).collect();
        if rank.threads.iter().any(|t| !t.timeline.is_empty()) {
            self.keep(&mut rank, &site_map);
        }
        for t in &rank.threads {
            let k = match self.thread_of.get(&t.name) {
                Some(&k) => k,
                None => {
                    self.thread_of.insert(t.name.clone(), self.threads.len());
                    self.threads.push(Folded {
                        name: t.name.clone(),
                        nodes: Vec::new(),
                        index: FastMap::default(),
                        ranks: 0,
                    });
                    self.threads.len() - 1
                }
            };
            let folded = &mut self.threads[k];
            folded.ranks += 1;
            // A node's parent comes before it: map in order.
            let mut ids: Vec<u32> = Vec::with_capacity(t.nodes.len());
            for n in &t.nodes {
                let parent = n.parent().map_or(NO_PARENT, |p| ids[p]);
                let site = site_map.get(n.site as usize).copied().unwrap_or(n.site);
                let next = folded.nodes.len() as u32;
                let id = *folded.index.entry((parent, site)).or_insert(next);
                if id == next {
                    folded.nodes.push(Node::new(site, parent, 0, 0));
                }
                let m = &mut folded.nodes[id as usize];
                m.calls = m.calls.saturating_add(n.calls);
                m.time_ns = m.time_ns.saturating_add(n.time_ns);
                ids.push(id);
            }
        }
        let s = rank.meta.start_unix_s;
        if s > 0.0 && s.is_finite() && (self.start_unix_s == 0.0 || s < self.start_unix_s) {
            self.start_unix_s = s;
        }
        self.duration_ns = self.duration_ns.max(rank.meta.duration_ns);
        self.ranks = self
            .ranks
            .max(rank.meta.mpi.as_ref().map_or(0, |m| m.ranks));
        self.mpi.append(&mut rank.mpi);
        if self.first.is_none() {
            let mut first = rank;
            first.threads.clear();
            first.sites.clear();
            first.mpi.clear();
            self.first = Some(first);
        }
    }

    /// Keeps the threads of a rank recorded in timeline mode (moved out of
    /// `rank`), its sites mapped by `site_map`; its MPI figures' sites too.
    fn keep(&mut self, rank: &mut Profile, site_map: &[SiteId]) {
        let map = |s: SiteId| site_map.get(s as usize).copied().unwrap_or(s);
        let number = rank.meta.mpi.as_ref().map(|m| m.rank);
        let first = self.kept.len();
        for mut t in rank.threads.drain(..) {
            for n in &mut t.nodes {
                n.site = map(n.site);
            }
            for span in &mut t.timeline {
                span.site = map(span.site);
            }
            t.rank = t.rank.or(number);
            self.kept.push(t);
        }
        let mpi_first = self.mpi.len();
        for m in &mut rank.mpi {
            for c in &mut m.timeline {
                c.site = map(c.site);
            }
        }
        let sync = rank
            .mpi
            .iter()
            .find_map(|m| m.clock.clone())
            .unwrap_or_else(|| ClockSync {
                epoch_unix_ns: unix_ns(rank.meta.start_unix_s),
                ..ClockSync::default()
            });
        self.kept_ranks.push(KeptRank {
            sync,
            threads: first..self.kept.len(),
            mpi: mpi_first..mpi_first + rank.mpi.len(),
            duration_ns: rank.meta.duration_ns,
        });
    }

    /// Puts the kept ranks on one time axis (see the module docs) and
    /// numbers their threads after the `folded` trees; returns the axis's
    /// start in Unix nanoseconds.
    fn align(&mut self, folded: u64) -> Option<i128> {
        let origin = self
            .kept_ranks
            .iter()
            .map(|k| k.sync.to_reference(0))
            .min()?;
        let mut next_id = folded;
        for k in &self.kept_ranks {
            let at = |ns: u64| -> u64 {
                let t = k.sync.to_reference(ns).saturating_sub(origin);
                u64::try_from(t.max(0)).unwrap_or(u64::MAX)
            };
            let mut ids: HashMap<u64, u64> = HashMap::new();
            for t in &mut self.kept[k.threads.clone()] {
                next_id += 1;
                ids.insert(t.id, next_id);
                t.id = next_id;
                for span in &mut t.timeline {
                    let (a, b) = (at(span.start_ns), at(span.end_ns()));
                    *span = super::Span::new(span.site, a, b.saturating_sub(a));
                }
                t.started_ns = t.started_ns.map(at);
                t.ended_ns = t.ended_ns.map(at);
                for c in &mut t.cpu_samples {
                    c[0] = at(c[0]);
                }
            }
            for m in &mut self.mpi[k.mpi.clone()] {
                for c in &mut m.timeline {
                    c.thread = ids.get(&c.thread).copied().unwrap_or(c.thread);
                    c.start_ns = at(c.start_ns);
                    c.end_ns = at(c.end_ns).max(c.start_ns);
                }
                for side in &mut m.messages {
                    side.posted_ns = at(side.posted_ns);
                }
            }
            self.duration_ns = self.duration_ns.max(at(k.duration_ns));
        }
        Some(origin)
    }

    /// Folds in serialized rank profiles (`profile.json` bytes, what an
    /// MPI session gathers), parsed on every core the process may use and
    /// folded in their order. `each` sees every parsed profile first, on
    /// the thread that parsed it (a session writes each rank's reports
    /// there). A piece that does not parse is left out and its error
    /// returned (the first, by order) once the others are folded in.
    pub fn add_json(
        &mut self,
        pieces: &[(&Path, &[u8])],
        each: impl Fn(&Profile) + Sync,
    ) -> Result<(), Error> {
        let workers = (crate::sys::available_cores() as usize).clamp(1, pieces.len().max(1));
        let mut parsed: Vec<Option<Result<Profile, Error>>> = Vec::new();
        parsed.resize_with(pieces.len(), || None);
        std::thread::scope(|scope| {
            let each = &each;
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    scope.spawn(move || {
                        (w..pieces.len())
                            .step_by(workers)
                            .map(|i| {
                                let (path, bytes) = pieces[i];
                                let p = super::parse(bytes, path);
                                if let Ok(p) = &p {
                                    each(p);
                                }
                                (i, p)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                // A worker that panicked (in `each`) leaves its pieces
                // unparsed; the panic goes on in this thread.
                match h.join() {
                    Ok(done) => {
                        for (i, p) in done {
                            parsed[i] = Some(p);
                        }
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        let mut first_error = None;
        for p in parsed.into_iter().flatten() {
            match p {
                Ok(p) => self.add(p),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The merged profile.
    pub fn finish(mut self) -> Profile {
        let origin = self.align(self.threads.len() as u64);
        let mut meta = self.first.take().map(|p| p.meta).unwrap_or_default();
        meta.start_unix_s = match origin {
            Some(ns) => ns as f64 / 1e9,
            None => self.start_unix_s,
        };
        meta.duration_ns = self.duration_ns;
        meta.ended_by = None;
        meta.still_running = None;
        if let Some(m) = meta.mpi.as_mut() {
            m.rank = 0;
            m.ranks = m.ranks.max(self.ranks);
        } else if self.ranks > 0 {
            meta.mpi = Some(MpiRun::new(0, self.ranks, ""));
        }
        let threads = self
            .threads
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                f.nodes.shrink_to_fit();
                ThreadProfile::new(i as u64 + 1, f.name, meta.pid, f.nodes)
                    .with_folded_threads(f.ranks)
            })
            .chain(self.kept)
            .collect();
        let mut p = Profile::new(meta, self.sites, threads);
        let mut mpi = self.mpi;
        mpi.sort_by_key(|r| r.rank);
        p.mpi = mpi;
        if origin.is_some() {
            repair_order(&mut p);
        }
        p
    }

    /// The merged id of a rank's site (found without copying its strings).
    fn site(&mut self, s: &SiteInfo) -> SiteId {
        let mut h = std::hash::BuildHasher::build_hasher(&std::hash::BuildHasherDefault::<
            crate::hash::FastHasher,
        >::default());
        (&s.name, &s.file, s.line).hash(&mut h);
        let key = h.finish();
        let same = |t: &SiteInfo| t.name == s.name && t.file == s.file && t.line == s.line;
        let candidates = self.site_ids.entry(key).or_default();
        if let Some(&id) = candidates
            .iter()
            .find(|&&id| same(&self.sites[id as usize]))
        {
            return id;
        }
        let id = self.sites.len() as SiteId;
        self.sites.push(s.clone());
        candidates.push(id);
        id
    }
}

/// How far the repair moves a rank's times forward: a step function of
/// time, non-decreasing, its steps at the ends of the rank's receives.
struct Steps {
    /// The times a step may be at (the rank's receive ends), sorted.
    at: Vec<u64>,
    /// A Fenwick tree of the steps' sizes over `at`.
    tree: Vec<u64>,
}

impl Steps {
    fn new(mut at: Vec<u64>) -> Steps {
        at.sort_unstable();
        at.dedup();
        let n = at.len();
        Steps {
            at,
            tree: vec![0; n + 1],
        }
    }

    /// The shift at time `t`: every step at or before it.
    fn shift(&self, t: u64) -> u64 {
        let mut i = self.at.partition_point(|&a| a <= t);
        let mut sum = 0u64;
        while i > 0 {
            sum = sum.saturating_add(self.tree[i]);
            i &= i - 1;
        }
        sum
    }

    /// Adds a step of `by` at `t` (one of `at`).
    fn add(&mut self, t: u64, by: u64) {
        let Ok(k) = self.at.binary_search(&t) else {
            return;
        };
        let mut i = k + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].saturating_add(by);
            i += i & i.wrapping_neg();
        }
    }

    /// The step function applied to a time.
    fn map(&self, t: u64) -> u64 {
        t.saturating_add(self.shift(t))
    }
}

/// Moves every rank's times forward, from the end of any receive that
/// ends before its message was sent, by as much as it takes (a logical
/// clock's repair: each rank's times keep their order, a call around the
/// step gets longer, and later sends move with their rank, which the
/// next receives take into account). Passes over the messages until none
/// is out of order; the happened-before order of real messages has no
/// cycle, so this ends (a hostile file's after a bounded number of
/// passes).
fn repair_order(p: &mut Profile) {
    let messages = p.mpi_messages().paired;
    if messages.is_empty() {
        return;
    }
    let mut steps: HashMap<u32, Steps> = HashMap::new();
    let mut ends: HashMap<u32, Vec<u64>> = HashMap::new();
    for m in &messages {
        ends.entry(m.to).or_default().push(m.recv_end_ns);
    }
    for (r, at) in ends {
        steps.insert(r, Steps::new(at));
    }
    let mut order: Vec<&MpiMessage> = messages.iter().collect();
    order.sort_by_key(|m| m.recv_end_ns);
    let mut moved = false;
    for _ in 0..(p.mpi.len() + 8).min(64) {
        let mut changed = false;
        for m in &order {
            let sent = steps
                .get(&m.from)
                .map_or(m.send_start_ns, |s| s.map(m.send_start_ns));
            let Some(to) = steps.get_mut(&m.to) else {
                continue;
            };
            let got = to.map(m.recv_end_ns);
            if got < sent {
                to.add(m.recv_end_ns, sent - got);
                changed = true;
            }
        }
        moved |= changed;
        if !changed {
            break;
        }
    }
    if !moved {
        return;
    }
    let map = |r: Option<u32>, t: u64| match r.and_then(|r| steps.get(&r)) {
        Some(s) => s.map(t),
        None => t,
    };
    let mut end = p.meta.duration_ns;
    for t in &mut p.threads {
        let r = t.rank;
        for span in &mut t.timeline {
            let (a, b) = (map(r, span.start_ns), map(r, span.end_ns()));
            *span = super::Span::new(span.site, a, b - a);
            end = end.max(b);
        }
        t.started_ns = t.started_ns.map(|n| map(r, n));
        t.ended_ns = t.ended_ns.map(|n| map(r, n));
        for c in &mut t.cpu_samples {
            c[0] = map(r, c[0]);
        }
    }
    for m in &mut p.mpi {
        let r = Some(m.rank);
        for c in &mut m.timeline {
            c.start_ns = map(r, c.start_ns);
            c.end_ns = map(r, c.end_ns);
            end = end.max(c.end_ns);
        }
        for side in &mut m.messages {
            side.posted_ns = map(r, side.posted_ns);
        }
        if let Some(sync) = m.clock.as_mut() {
            sync.shift_ns = steps.get(&m.rank).map_or(0, |s| s.shift(u64::MAX));
        }
    }
    p.meta.duration_ns = end;
}

/// Unix seconds as whole nanoseconds (0 for a time before 1970 or not a
/// number).
fn unix_ns(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        (s * 1e9).round() as u64
    } else {
        0
    }
}

impl Profile {
    /// Merges the profiles of an MPI run's ranks (see [`RankMerge`]).
    pub fn merge_ranks(ranks: impl IntoIterator<Item = Profile>) -> Profile {
        let mut merge = RankMerge::new();
        for r in ranks {
            merge.add(r);
        }
        merge.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ClockOffset, Metadata, MpiSpan, RankMpi, Span};

    /// A rank in timeline mode: one span [10, 20] ns and one MPI call
    /// [12, 18] ns on its clock, started at `start_ns` after the Unix
    /// epoch (its own clock), `offset` behind rank 0's.
    fn rank(r: u32, start_ns: u64, offset: i64) -> Profile {
        let meta = Metadata {
            start_unix_s: start_ns as f64 / 1e9,
            duration_ns: 30,
            mpi: Some(MpiRun::new(r, 2, "")),
            ..Metadata::default()
        };
        let t = ThreadProfile::new(1, "main", 100 + r, vec![Node::new(0, NO_PARENT, 1, 10)])
            .with_timeline(vec![Span::new(0, 10, 10)], 0);
        let mut p = Profile::new(meta, vec![SiteInfo::new("f", "m", "f.rs", 1)], vec![t]);
        let mut m = RankMpi::new(r, "h", 100 + r, 30);
        let o = ClockOffset {
            at_ns: 0,
            offset_ns: offset,
            rtt_ns: 0,
        };
        m.clock = Some(ClockSync {
            epoch_unix_ns: start_ns,
            start: Some(o),
            end: None,
            shift_ns: 0,
        });
        m.timeline = vec![MpiSpan {
            thread: 1,
            site: 0,
            start_ns: 12,
            end_ns: 18,
        }];
        p.mpi = vec![m];
        p
    }

    #[test]
    fn timeline_ranks_are_kept_on_one_corrected_axis() {
        // Rank 1's clock reads 1,000 ns ahead: its start at 5,000 on its
        // clock is 4,000 on rank 0's, before rank 0's start at 4,500.
        let p = Profile::merge_ranks([rank(0, 4_500, 0), rank(1, 5_000, -1_000)]);
        assert_eq!(p.threads.len(), 2, "kept, not folded");
        assert_eq!(p.threads[0].rank, Some(0));
        assert_eq!(p.threads[1].rank, Some(1));
        assert_ne!(p.threads[0].id, p.threads[1].id);
        assert!((p.meta.start_unix_s - 4_000e-9).abs() < 1e-15);
        assert_eq!(p.threads[0].timeline, [Span::new(0, 510, 10)]);
        assert_eq!(p.threads[1].timeline, [Span::new(0, 10, 10)]);
        assert_eq!(
            (p.mpi[1].timeline[0].start_ns, p.mpi[1].timeline[0].end_ns),
            (12, 18)
        );
        assert_eq!(p.mpi[0].timeline[0].start_ns, 512);
        assert_eq!(p.mpi[1].timeline[0].thread, p.threads[1].id);
        assert_eq!(p.meta.duration_ns, 530);
        // The table is still the sum.
        assert_eq!(p.stats().function("f").unwrap().figures.ncalls, 2);
    }

    #[test]
    fn a_message_received_before_it_was_sent_moves_its_receiver() {
        use crate::profile::{Direction, MessageSide};
        let side = |direction, peer| MessageSide {
            direction,
            call: 0,
            peer,
            tag: 0,
            comm: 0,
            bytes: 8,
            seq: 0,
            posted_ns: 0,
        };
        // Rank 0's send starts at 512 on the merged axis; rank 1's
        // receive (its MPI call, [12, 18]) ends at 18: 494 ns early.
        let mut a = rank(0, 4_500, 0);
        a.mpi[0].messages = vec![side(Direction::Send, 1)];
        let mut b = rank(1, 5_000, -1_000);
        b.mpi[0].messages = vec![side(Direction::Receive, 0)];
        let p = Profile::merge_ranks([a, b]);
        let m = p.mpi_messages().paired;
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].send_start_ns, m[0].recv_end_ns), (512, 512));
        assert_eq!(p.mpi[1].clock.as_ref().unwrap().shift_ns, 494);
        assert_eq!(p.mpi[0].clock.as_ref().unwrap().shift_ns, 0);
        // From the receive's end on: the call and the span around it
        // last longer, what started before stays.
        assert_eq!(p.threads[1].timeline, [Span::new(0, 10, 504)]);
        assert_eq!(
            (p.mpi[1].timeline[0].start_ns, p.mpi[1].timeline[0].end_ns),
            (12, 512)
        );
    }
}
