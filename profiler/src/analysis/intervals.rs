//! Sets of half-open time intervals `[start, end)` in nanoseconds: sorted,
//! disjoint and non-touching, with prefix sums for clipped measures.

/// A union of half-open intervals, kept sorted, disjoint and non-touching
/// (touching intervals are merged), with prefix sums of their lengths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IntervalSet {
    starts: Vec<u64>,
    ends: Vec<u64>,
    /// `prefix[i]` = total length of the first `i` intervals (`len + 1` entries).
    prefix: Vec<u64>,
}

/// How a thread's busy time relates to a time window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Within {
    /// No busy time inside the window.
    Idle,
    /// Busy across the window's start or end.
    Straddles,
    /// Busy only inside the window, for this many nanoseconds.
    Inside(u64),
}

impl IntervalSet {
    /// The union of `intervals` (in any order; empty ones are ignored).
    pub(crate) fn union(mut intervals: Vec<(u64, u64)>) -> Self {
        intervals.retain(|&(s, e)| e > s);
        intervals.sort_unstable();
        Self::union_sorted(intervals)
    }

    /// The union of non-empty `intervals` sorted by start.
    fn union_sorted(intervals: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut set = IntervalSet {
            starts: Vec::new(),
            ends: Vec::new(),
            prefix: vec![0],
        };
        for (s, e) in intervals {
            match set.ends.last_mut() {
                Some(last) if s <= *last => *last = (*last).max(e),
                _ => {
                    set.starts.push(s);
                    set.ends.push(e);
                }
            }
        }
        let mut total = 0u64;
        for (s, e) in set.starts.iter().zip(&set.ends) {
            total = total.saturating_add(e - s);
            set.prefix.push(total);
        }
        set
    }

    /// The number of intervals.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The intervals, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.starts.iter().copied().zip(self.ends.iter().copied())
    }

    /// The total length.
    pub(crate) fn total(&self) -> u64 {
        self.prefix.last().copied().unwrap_or(0)
    }

    /// The length of the set's intersection with `[a, b)`.
    pub(crate) fn measure_in(&self, a: u64, b: u64) -> u64 {
        if b <= a {
            return 0;
        }
        let i = self.ends.partition_point(|&e| e <= a);
        let j = self.starts.partition_point(|&s| s < b);
        if i >= j {
            return 0;
        }
        let mut m = self.prefix[j] - self.prefix[i];
        m -= a.saturating_sub(self.starts[i]);
        m -= self.ends[j - 1].saturating_sub(b);
        m
    }

    /// How the set relates to the window `[a, b)` (a binary search).
    pub(crate) fn within(&self, a: u64, b: u64) -> Within {
        let mut hint = self.ends.partition_point(|&e| e <= a);
        self.within_from(&mut hint, a, b)
    }

    /// [`within`](Self::within), for windows visited in order of their
    /// start: `hint` (0 at first) carries the search from one call to the
    /// next, so that a sweep costs linear time.
    pub(crate) fn within_from(&self, hint: &mut usize, a: u64, b: u64) -> Within {
        // The first interval ending after `a`.
        let mut i = (*hint).min(self.len());
        while i < self.len() && self.ends[i] <= a {
            i += 1;
        }
        *hint = i;
        if i == self.len() || self.starts[i] >= b {
            return Within::Idle;
        }
        if self.starts[i] < a {
            return Within::Straddles;
        }
        // The first interval ending after `b`: gallop from `i`, as it is
        // usually near.
        let mut lo = i;
        let mut step = 1;
        while lo + step < self.len() && self.ends[lo + step] <= b {
            lo += step;
            step *= 2;
        }
        let hi = (lo + step).min(self.len());
        let j = lo + self.ends[lo..hi].partition_point(|&e| e <= b);
        if j < self.len() && self.starts[j] < b {
            return Within::Straddles;
        }
        Within::Inside(self.prefix[j] - self.prefix[i])
    }

    /// The part of the set inside `[a, b)`.
    pub(crate) fn clip(&self, a: u64, b: u64) -> IntervalSet {
        let i = self.ends.partition_point(|&e| e <= a);
        let j = self.starts.partition_point(|&s| s < b);
        IntervalSet::union_sorted(
            (i..j.max(i)).map(|k| (self.starts[k].max(a), self.ends[k].min(b))),
        )
    }

    /// The intersection of this set and `other`.
    pub(crate) fn intersect(&self, other: &IntervalSet) -> IntervalSet {
        self.minus(&self.minus(other))
    }

    /// This set minus `other`.
    pub(crate) fn minus(&self, other: &IntervalSet) -> IntervalSet {
        if other.is_empty() {
            return self.clone();
        }
        let mut out = Vec::with_capacity(self.len());
        let mut k = 0;
        for (s, e) in self.iter() {
            let mut cur = s;
            while k < other.len() && other.ends[k] <= cur {
                k += 1;
            }
            let mut m = k;
            while m < other.len() && other.starts[m] < e {
                if other.starts[m] > cur {
                    out.push((cur, other.starts[m]));
                }
                cur = cur.max(other.ends[m]);
                if cur >= e {
                    break;
                }
                m += 1;
            }
            if cur < e {
                out.push((cur, e));
            }
        }
        IntervalSet::union_sorted(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[(u64, u64)]) -> IntervalSet {
        IntervalSet::union(v.to_vec())
    }

    #[test]
    fn union_merges_overlapping_and_touching() {
        let s = set(&[(10, 20), (0, 5), (5, 7), (15, 30), (40, 40), (50, 60)]);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![(0, 7), (10, 30), (50, 60)]
        );
        assert_eq!(s.total(), 7 + 20 + 10);
    }

    #[test]
    fn clipped_measure() {
        let s = set(&[(0, 10), (20, 30), (40, 50)]);
        assert_eq!(s.measure_in(0, 100), 30);
        assert_eq!(s.measure_in(5, 25), 10);
        assert_eq!(s.measure_in(22, 24), 2);
        assert_eq!(s.measure_in(10, 20), 0);
        assert_eq!(s.measure_in(45, 45), 0);
        assert_eq!(s.measure_in(60, 70), 0);
        assert_eq!(s.measure_in(9, 41), 1 + 10 + 1);
    }

    #[test]
    fn within_a_window() {
        let s = set(&[(0, 10), (20, 30), (40, 50)]);
        assert_eq!(s.within(10, 20), Within::Idle);
        assert_eq!(s.within(12, 35), Within::Inside(10));
        assert_eq!(s.within(20, 30), Within::Inside(10));
        assert_eq!(s.within(10, 50), Within::Inside(20));
        assert_eq!(s.within(5, 35), Within::Straddles);
        assert_eq!(s.within(15, 45), Within::Straddles);
        assert_eq!(s.within(60, 70), Within::Idle);
        assert_eq!(IntervalSet::default().within(0, 1), Within::Idle);
    }

    #[test]
    fn clip_and_intersection() {
        let a = set(&[(0, 10), (20, 30), (40, 50)]);
        assert_eq!(
            a.clip(5, 45).iter().collect::<Vec<_>>(),
            vec![(5, 10), (20, 30), (40, 45)]
        );
        assert_eq!(a.clip(10, 20).total(), 0);
        let b = set(&[(5, 25)]);
        assert_eq!(
            a.intersect(&b).iter().collect::<Vec<_>>(),
            vec![(5, 10), (20, 25)]
        );
    }

    #[test]
    fn difference() {
        let a = set(&[(0, 10), (20, 30), (40, 50)]);
        let b = set(&[(5, 22), (25, 26), (45, 60)]);
        assert_eq!(
            a.minus(&b).iter().collect::<Vec<_>>(),
            vec![(0, 5), (22, 25), (26, 30), (40, 45)]
        );
        assert_eq!(a.minus(&a).total(), 0);
        assert_eq!(a.minus(&IntervalSet::default()), a);
        assert_eq!(
            set(&[(0, 100)]).minus(&set(&[(10, 20), (30, 40)])).total(),
            80
        );
    }
}
