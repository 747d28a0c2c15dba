//! Helpers shared by the benchmarks in `benches/`: summary statistics, the
//! raw tick counter the floors use, and the process's resident memory.
//!
//! The benchmarks themselves:
//!
//! - `peers` (`cargo bench -p benches --features peers --bench peers`): the
//!   side-by-side table of the cost of one instrumented call (floors, this
//!   crate, peer profilers), on 1 thread and per thread with 2 threads;
//! - `overhead` (divan): the floors and this crate's cases alone;
//! - `tracing_layers`: one `tracing` span under the registry alone, with
//!   `profiler::tracing::ProfilerLayer`, and (feature `tracing-peers`)
//!   tracing-timing, tracing-chrome, tracing-flame and tracing-tracy;
//! - `memory`: resident memory from 1 million to 100 million calls;
//! - `emit`: building every report from a one-million-node profile;
//! - `merge_ranks`: merging 4,096 MPI ranks' profiles of 10,000 call paths
//!   one at a time, against the offline merge, with peak memory;
//! - `rdtsc_shadow`: how much of 100 one-cycle instructions the processor
//!   runs in the shadow of two `rdtsc` (why the enabled call is at the
//!   floor on one machine and above it on another).

/// A listening socket on a free port, for Tracy to find taken: the benches
/// set `TRACY_PORT` to it before Tracy's client starts. Tracy's worker then
/// cannot listen, and every 10 ms discards what the instrumented threads
/// queued (`ClearQueues` in its `Profiler::Worker`): the producer side, the
/// cost the instrumented program pays, is measured in full, and memory stays
/// bounded without a server. Keep the listener alive for the whole run.
pub fn take_tracy_port() -> std::io::Result<std::net::TcpListener> {
    // Tracy listens on the IPv6 wildcard (dual-stack) where it can, else on
    // the IPv4 one; a listener on either wildcard makes its bind fail.
    std::net::TcpListener::bind("[::]:0").or_else(|_| std::net::TcpListener::bind("0.0.0.0:0"))
}

/// Median, minimum and maximum of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median (the mean of the two middle samples for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises `samples` (sorted in place). `None` when there are none.
    pub fn of(samples: &mut [f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let median = if n % 2 == 1 {
            samples[n / 2]
        } else {
            (samples[n / 2 - 1] + samples[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: samples[0],
            max: samples[n - 1],
        })
    }
}

/// Reads the time-stamp counter (`rdtsc`); 0 on other architectures.
#[inline(always)]
pub fn tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` has no preconditions on x86-64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// A field of `/proc/self/status` in KiB (`"VmRSS"`, `"VmHWM"`, ...), or
/// `None` where the file or the field is missing (not Linux).
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// A synthetic, deterministic profile of one thread with `nodes` nodes over
/// `sites` sites: each node's parent drawn from the nodes before it (the
/// first 100 are roots), so paths are deep and wide; calls 1 to 100 and self
/// times 1 to 10,000 ns per node, every node's time covering its children's.
pub fn synthetic_profile(nodes: usize, sites: u32) -> profiler::Profile {
    use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let site_list = (0..sites)
        .map(|i| {
            SiteInfo::new(
                format!("module::func_{i}"),
                "module",
                format!("src/file_{}.rs", i % 50),
                i + 1,
            )
        })
        .collect();
    let mut list: Vec<Node> = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let parent = if i < 100 {
            profiler::profile::NO_PARENT
        } else {
            (next() % i as u64) as u32
        };
        list.push(Node::new(
            (next() % u64::from(sites)) as u32,
            parent,
            1 + next() % 100,
            1 + next() % 10_000,
        ));
    }
    for i in (0..nodes).rev() {
        if let Some(p) = list[i].parent() {
            list[p].time_ns += list[i].time_ns;
        }
    }
    let threads = vec![ThreadProfile::new(1, "main", 1, list)];
    Profile::new(Metadata::default(), site_list, threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_odd_and_even_counts() {
        let s = Summary::of(&mut [3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Summary::of(&mut [4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert!(Summary::of(&mut []).is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_resident_memory() {
        assert!(proc_status_kib("VmRSS").unwrap() > 0);
    }
}
