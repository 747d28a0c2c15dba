//! Overhead compensation: subtracting the probe's own cost from the times.

use super::{ProbeCost, Profile};

impl Profile {
    /// Subtracts the probe's cost from every node's inclusive time: each of a
    /// node's calls carries `inner_ns` inside its own interval, and each call
    /// below it (in its subtree) carries `outer_ns`. Self time therefore
    /// loses `inner_ns` per own call and `outer_ns - inner_ns` per child call,
    /// which is where a child's enter and exit run.
    ///
    /// Times are clamped so that no node drops below zero or below its
    /// children's sum, which keeps the invariant "sum of tottime = roots'
    /// inclusive time" exact. Records the cost in the metadata and marks the
    /// profile compensated; compensating twice is a no-op.
    pub fn compensate(&mut self, cost: ProbeCost) {
        if self.meta.compensated {
            return;
        }
        let before = self.root_time_ns();
        let tottime_before = self.tottime_by_site();
        for t in &mut self.threads {
            let n = t.nodes.len();
            // Calls in each node's subtree, itself excluded.
            let mut below = vec![0u64; n];
            for i in (0..n).rev() {
                if let Some(p) = t.nodes[i].parent() {
                    below[p] = below[p]
                        .saturating_add(below[i])
                        .saturating_add(t.nodes[i].calls);
                }
            }
            let mut child_sum = vec![0u64; n];
            for i in (0..n).rev() {
                let node = &mut t.nodes[i];
                let probe = node.calls as f64 * cost.inner_ns + below[i] as f64 * cost.outer_ns;
                let reduced = (node.time_ns as f64 - probe).round().max(0.0) as u64;
                node.time_ns = reduced.min(node.time_ns).max(child_sum[i]);
                if let Some(p) = node.parent() {
                    child_sum[p] = child_sum[p].saturating_add(node.time_ns);
                }
            }
        }
        self.meta.probe_cost = Some(cost);
        self.meta.compensated = true;
        self.meta.compensated_ns = before.saturating_sub(self.root_time_ns());
        let after = self.tottime_by_site();
        let mut heavy: Vec<(f64, String)> = tottime_before
            .iter()
            .zip(&after)
            .enumerate()
            .filter(|&(_, (&b, &a))| b > 0 && a.saturating_mul(2) < b)
            .map(|(site, (&b, &a))| {
                let removed = (b - a) as f64 / b as f64;
                let name = self.sites.get(site).map_or("?", |s| s.name.as_str());
                (removed, format!("{name}: {:.0}%", removed * 100.0))
            })
            .collect();
        heavy.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
        self.meta.compensation_warnings = heavy.into_iter().map(|(_, w)| w).collect();
    }

    /// Each site's self time, summed over its nodes on every thread.
    fn tottime_by_site(&self) -> Vec<u64> {
        let mut by_site = vec![0u64; self.sites.len()];
        for t in &self.threads {
            for (n, own) in t.nodes.iter().zip(t.self_times()) {
                if let Some(slot) = by_site.get_mut(n.site as usize) {
                    *slot = slot.saturating_add(own);
                }
            }
        }
        by_site
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::{Metadata, NO_PARENT, Node, ProbeCost, Profile, SiteInfo, ThreadProfile};

    #[test]
    fn compensation_charges_inner_cost_to_the_call_and_the_rest_to_its_parent() {
        let sites = vec![
            SiteInfo::new("main", "m", "f.rs", 1),
            SiteInfo::new("leaf", "m", "f.rs", 2),
        ];
        // main (1 call, 10_000 ns) -> leaf (100 calls, 5_000 ns)
        let nodes = vec![
            Node::new(0, NO_PARENT, 1, 10_000),
            Node::new(1, 0, 100, 5_000),
        ];
        let mut p = Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "t", 1, nodes)],
        );
        p.compensate(ProbeCost::new(10.0, 25.0));
        let t = &p.threads[0];
        // leaf: 5000 - 100 * 10
        assert_eq!(t.nodes[1].time_ns, 4_000);
        // main: 10000 - 1 * 10 - 100 * 25
        assert_eq!(t.nodes[0].time_ns, 7_490);
        let stats = p.stats();
        assert_eq!(stats.total_time_ns(), p.root_time_ns());
        assert!(p.meta.compensated);
        // Twice is once.
        p.compensate(ProbeCost::new(10.0, 25.0));
        assert_eq!(p.threads[0].nodes[0].time_ns, 7_490);
    }

    #[test]
    fn compensation_never_goes_below_zero_or_below_children() {
        let sites = vec![
            SiteInfo::new("a", "m", "f.rs", 1),
            SiteInfo::new("b", "m", "f.rs", 2),
        ];
        let nodes = vec![Node::new(0, NO_PARENT, 1, 100), Node::new(1, 0, 1, 90)];
        let mut p = Profile::new(
            Metadata::default(),
            sites,
            vec![ThreadProfile::new(1, "t", 1, nodes)],
        );
        p.compensate(ProbeCost::new(50.0, 80.0));
        let t = &p.threads[0];
        assert_eq!(t.nodes[1].time_ns, 40);
        assert_eq!(t.nodes[0].time_ns, 40, "clamped up to the child's time");
        p.validate().unwrap();
    }
}
