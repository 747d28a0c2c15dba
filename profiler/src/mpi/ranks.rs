//! One rank's MPI figures, from its profile and what its MPI calls moved.

use std::collections::HashMap;

use super::clock::Timebase;
use super::tally::Tally;
use crate::profile::{MessageSide, MpiCall, MpiSpan, MpiTraffic, Profile, RankMpi, RankThread};

/// Whether a site is an MPI routine's (see `tally::site`).
fn is_mpi(profile: &Profile, site: u32) -> bool {
    profile
        .site(site)
        .is_some_and(|s| s.module == "mpi" && s.file == "~" && s.line == 0)
}

/// The rank's figures: calls and times of every MPI routine by calling
/// function (from the call tree), their bytes (from the tally, whose callers
/// are raw site ids, named through the site registry), its traffic, and
/// its threads' busy and MPI time.
pub(super) fn rank_mpi(profile: &Profile, tally: &Tally, rank: u32) -> RankMpi {
    let mut out = RankMpi::new(
        rank,
        &profile.meta.host,
        profile.meta.pid,
        profile.meta.duration_ns,
    );
    let name = |site: u32| profile.site(site).map_or(String::new(), |s| s.name.clone());
    let mut calls: Vec<MpiCall> = Vec::new();
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    for t in &profile.threads {
        let mut mpi_ns = 0u64;
        for n in &t.nodes {
            if !is_mpi(profile, n.site) {
                continue;
            }
            let parent = n.parent().map(|p| t.nodes[p].site);
            if parent.is_some_and(|p| is_mpi(profile, p)) {
                // An MPI call inside another (mpi_scope! around a wrapped
                // call): its time is in the outer one already.
                continue;
            }
            mpi_ns = mpi_ns.saturating_add(n.time_ns);
            let key = (name(n.site), parent.map(name).unwrap_or_default());
            let i = *at.entry(key.clone()).or_insert_with(|| {
                calls.push(MpiCall::new(key.0, key.1, 0, 0, 0, 0));
                calls.len() - 1
            });
            calls[i].calls = calls[i].calls.saturating_add(n.calls);
            calls[i].time_ns = calls[i].time_ns.saturating_add(n.time_ns);
        }
        out.threads
            .push(RankThread::new(&t.name, t.root_time_ns(), mpi_ns));
    }
    let registered = crate::site::registered_sites();
    for (&(routine, caller), (sent, received, peers)) in &tally.bytes {
        let caller = caller
            .and_then(|c| registered.get(c as usize))
            .map_or(String::new(), |s| s.name.clone());
        let key = (routine.to_owned(), caller);
        let i = *at.entry(key.clone()).or_insert_with(|| {
            calls.push(MpiCall::new(key.0, key.1, 0, 0, 0, 0));
            calls.len() - 1
        });
        calls[i].bytes_sent = calls[i].bytes_sent.saturating_add(*sent);
        calls[i].bytes_received = calls[i].bytes_received.saturating_add(*received);
        calls[i].peers = peers.iter().copied().collect();
    }
    calls.sort_by(|a, b| (&a.routine, &a.caller).cmp(&(&b.routine, &b.caller)));
    out.calls = calls;
    let mut sent: Vec<MpiTraffic> = tally
        .sent
        .iter()
        .map(|(&to, &(bytes, messages))| MpiTraffic::new(to, bytes, messages))
        .collect();
    sent.sort_by_key(|s| s.to);
    out.sent = sent;
    out
}

/// Adds the timeline records of the tally to a rank's figures, their
/// times converted with `base`: the MPI calls, and the message sides
/// numbered in the order they were posted per (direction, peer, tag,
/// communicator), the order MPI matches them in.
pub(super) fn add_timeline(out: &mut RankMpi, tally: &Tally, base: &Timebase) {
    out.timeline_dropped = tally.dropped;
    out.timeline = tally
        .calls
        .iter()
        .map(|c| MpiSpan {
            thread: c.thread,
            site: c.site,
            start_ns: base.local_ns(c.start),
            end_ns: base.local_ns(c.end),
        })
        .collect();
    let mut sides: Vec<_> = tally.sides.iter().collect();
    sides.sort_by_key(|s| s.order);
    let mut next: HashMap<(bool, u32, i32, u32), u64> = HashMap::new();
    let mut numbered: Vec<(u64, MessageSide)> = sides
        .into_iter()
        .map(|s| {
            let key = (
                s.direction == crate::profile::Direction::Send,
                s.peer,
                s.tag,
                s.comm,
            );
            let seq = next.entry(key).or_insert(0);
            let side = MessageSide {
                direction: s.direction,
                call: s.call,
                peer: s.peer,
                tag: s.tag,
                comm: s.comm,
                bytes: s.bytes,
                seq: *seq,
                posted_ns: base.local_ns(s.posted),
            };
            *seq += 1;
            (u64::from(s.call), side)
        })
        .collect();
    // Listed by the call they belong to, as the calls are.
    numbered.sort_by_key(|&(call, _)| call);
    out.messages = numbered.into_iter().map(|(_, s)| s).collect();
}
