//! Merging profiles of several runs, processes or threads into one.
//!
//! - Sites are identified by `(name, file, line)`: a site of any input with
//!   the same three maps to one site of the result (the module, which
//!   pstats does not know, is taken from the first). Sites keep the order in
//!   which the inputs first name them, so the first input's site ids are
//!   unchanged.
//! - Threads are kept, each with its own process id, in input order: the
//!   statistics merged over threads ([`Profile::stats`]) are the sums of the
//!   inputs', while per-thread and per-process views still see every thread.
//!   A thread whose `(pid, id)` is already taken (the same file merged twice,
//!   or two imported `.prof` files) gets the next free id of that process.
//! - Timelines are moved onto the earliest input's clock: a span's start is
//!   relative to [`Metadata::start_unix_s`], so the spans of an input that
//!   started later are shifted by the difference.
//! - Metadata: the first input's, with the start set to the earliest start,
//!   the duration to the span from there to the latest end, the cores to
//!   the largest count, and the program, arguments and clock kept when every
//!   input agrees (programs otherwise joined with `+`, arguments emptied,
//!   clocks `mixed`). A probe cost is kept only when every input has the same.
//! - A stored parallel summary ([`Profile::parallel`]) describes the threads
//!   as recorded, so the merge of several profiles has none (compute it
//!   again from the merged threads where wanted).

use std::collections::{HashMap, HashSet};

use crate::profile::{Metadata, Profile, SiteId, SiteInfo, ThreadProfile};

impl Profile {
    /// Merges `profiles` into one (see [`profile::merge`](crate::profile::merge)):
    /// merging two runs of the same program doubles every `ncalls` and keeps
    /// both runs' threads and process ids. The merge of one profile is that
    /// profile; of none, an empty profile.
    pub fn merge(profiles: &[Profile]) -> Profile {
        Profile::merge_unchecked(profiles)
    }

    /// [`Profile::merge`], refusing to mix compensated and uncompensated
    /// profiles (whose times do not mean the same), with an error that says
    /// which input is which.
    pub fn try_merge(profiles: &[Profile]) -> Result<Profile, crate::Error> {
        if let (Some(a), Some(b)) = (
            profiles.iter().position(|p| p.meta.compensated),
            profiles.iter().position(|p| !p.meta.compensated),
        ) {
            return Err(crate::Error::Config {
                setting: "merge".to_owned(),
                message: format!(
                    "input {} is compensated (PROFILER_COMPENSATE=1) and input {} is not; \
                     merge profiles recorded alike",
                    a + 1,
                    b + 1
                ),
            });
        }
        Ok(Profile::merge_unchecked(profiles))
    }

    fn merge_unchecked(profiles: &[Profile]) -> Profile {
        match profiles {
            [] => Profile::new(Metadata::default(), Vec::new(), Vec::new()),
            [one] => one.clone(),
            _ => merge_many(profiles),
        }
    }
}

fn merge_many(profiles: &[Profile]) -> Profile {
    let mut sites: Vec<SiteInfo> = Vec::new();
    let mut site_ids: HashMap<(&str, &str, u32), SiteId> = HashMap::new();
    let base_start = profiles
        .iter()
        .map(|p| p.meta.start_unix_s)
        .filter(|s| *s > 0.0 && s.is_finite())
        .fold(f64::INFINITY, f64::min);
    let offset_ns = |p: &Profile| -> u64 {
        let s = p.meta.start_unix_s;
        if base_start.is_finite() && s.is_finite() && s > base_start {
            ((s - base_start) * 1e9).round().min(u64::MAX as f64) as u64
        } else {
            0
        }
    };
    let mut threads: Vec<ThreadProfile> = Vec::new();
    let mut taken: HashSet<(u32, u64)> = HashSet::new();
    let mut end_ns: u64 = 0;
    for p in profiles {
        let map: Vec<SiteId> = p
            .sites
            .iter()
            .map(|s| {
                *site_ids
                    .entry((s.name.as_str(), s.file.as_str(), s.line))
                    .or_insert_with(|| {
                        sites.push(s.clone());
                        (sites.len() - 1) as SiteId
                    })
            })
            .collect();
        let remap = |site: SiteId| map.get(site as usize).copied().unwrap_or(site);
        let offset = offset_ns(p);
        end_ns = end_ns.max(offset.saturating_add(p.meta.duration_ns));
        for t in &p.threads {
            let mut t = t.clone();
            for n in &mut t.nodes {
                n.site = remap(n.site);
            }
            for s in &mut t.timeline {
                s.site = remap(s.site);
                s.start_ns = s.start_ns.saturating_add(offset);
            }
            if taken.contains(&(t.pid, t.id)) {
                let next = taken
                    .iter()
                    .filter(|(pid, _)| *pid == t.pid)
                    .map(|(_, id)| *id)
                    .max()
                    .unwrap_or(0)
                    .saturating_add(1);
                t.id = next;
            }
            taken.insert((t.pid, t.id));
            threads.push(t);
        }
    }
    let mut merged = Profile::new(merged_meta(profiles, base_start, end_ns), sites, threads);
    merged.mpi = profiles
        .iter()
        .flat_map(|p| p.mpi.iter().cloned())
        .collect();
    merged.mpi.sort_by_key(|r| r.rank);
    merged
}

fn merged_meta(profiles: &[Profile], base_start: f64, end_ns: u64) -> Metadata {
    let first = &profiles[0].meta;
    let mut meta = first.clone();
    let all_same = |f: &dyn Fn(&Metadata) -> bool| profiles.iter().all(|p| f(&p.meta));
    if !all_same(&|m| m.program == first.program) {
        let mut names: Vec<&str> = Vec::new();
        for p in profiles {
            if !names.contains(&p.meta.program.as_str()) {
                names.push(&p.meta.program);
            }
        }
        meta.program = names.join("+");
    }
    if !all_same(&|m| m.host == first.host) {
        let mut hosts: Vec<&str> = Vec::new();
        for p in profiles {
            if !hosts.contains(&p.meta.host.as_str()) {
                hosts.push(&p.meta.host);
            }
        }
        meta.host = hosts.join("+");
    }
    if !all_same(&|m| m.args == first.args) {
        meta.args = Vec::new();
    }
    if !all_same(&|m| m.clock == first.clock) {
        meta.clock = "mixed".to_owned();
    }
    if !all_same(&|m| m.probe_cost == first.probe_cost) {
        meta.probe_cost = None;
    }
    meta.compensated = all_same(&|m| m.compensated);
    meta.compiled_out = profiles.iter().all(|p| p.meta.compiled_out);
    for (field, get) in [
        (
            &mut meta.ended_by,
            (|m: &Metadata| m.ended_by.clone()) as fn(&Metadata) -> _,
        ),
        (&mut meta.still_running, |m: &Metadata| {
            m.still_running.clone()
        }),
    ] {
        let mut all: Vec<String> = Vec::new();
        for v in profiles.iter().filter_map(|p| get(&p.meta)) {
            if !all.contains(&v) {
                all.push(v);
            }
        }
        *field = (!all.is_empty()).then(|| all.join("; "));
    }
    meta.start_unix_s = if base_start.is_finite() {
        base_start
    } else {
        first.start_unix_s
    };
    meta.duration_ns = end_ns;
    meta.available_cores = profiles
        .iter()
        .map(|p| p.meta.available_cores)
        .max()
        .unwrap_or(first.available_cores);
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{NO_PARENT, Node, Span};

    fn run(pid: u32, start: f64, extra_site: bool) -> Profile {
        let meta = Metadata {
            program: "prog".into(),
            pid,
            start_unix_s: start,
            duration_ns: 1_000,
            clock: "tsc".into(),
            available_cores: 4,
            ..Metadata::default()
        };
        let mut sites = Vec::new();
        if extra_site {
            sites.push(SiteInfo::new("only_b", "m", "src/b.rs", 1));
        }
        sites.push(SiteInfo::new("main", "m", "src/main.rs", 10));
        sites.push(SiteInfo::new("work", "m", "src/main.rs", 20));
        let o = u32::from(extra_site);
        let t = ThreadProfile::new(
            1,
            "main",
            pid,
            vec![Node::new(o, NO_PARENT, 1, 900), Node::new(o + 1, 0, 3, 600)],
        )
        .with_timeline(vec![Span::new(o + 1, 10, 600)], 0);
        Profile::new(meta, sites, vec![t])
    }

    #[test]
    fn doubles_calls_and_keeps_pids() {
        let a = run(100, 1000.0, false);
        let b = run(200, 1000.5, true);
        let m = Profile::merge(&[a.clone(), b]);
        assert_eq!(m.sites.len(), 3);
        assert_eq!(&m.sites[..2], &a.sites[..]);
        assert_eq!(m.sites[2].name, "only_b");
        let pids: Vec<u32> = m.threads.iter().map(|t| t.pid).collect();
        assert_eq!(pids, [100, 200]);
        let st = m.stats();
        for f in st.functions() {
            let single = a.stats().function(f.site).map(|g| g.figures.ncalls);
            assert_eq!(Some(f.figures.ncalls), single.map(|n| 2 * n));
        }
        // b's span moves by 0.5 s, onto a's clock; b's site ids are remapped.
        assert_eq!(m.threads[1].timeline[0], Span::new(1, 500_000_010, 600));
        assert_eq!(m.meta.duration_ns, 500_001_000);
        assert_eq!(m.meta.start_unix_s, 1000.0);
        assert_eq!(m.meta.program, "prog");
        m.validate().unwrap();
    }

    #[test]
    fn same_file_twice_gets_distinct_thread_ids() {
        let a = run(7, 0.0, false);
        let m = Profile::merge(&[a.clone(), a.clone(), a]);
        let ids: Vec<(u32, u64)> = m.threads.iter().map(|t| (t.pid, t.id)).collect();
        assert_eq!(ids, [(7, 1), (7, 2), (7, 3)]);
        assert_eq!(m.stats().total_calls(), 12);
    }

    #[test]
    fn merge_of_one_is_identity() {
        let a = run(7, 5.0, true);
        assert_eq!(Profile::merge(std::slice::from_ref(&a)), a);
        assert!(Profile::merge(&[]).threads.is_empty());
    }
}
