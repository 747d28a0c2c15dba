//! The number of cores this process may actually use: the visible CPUs,
//! narrowed by the scheduler affinity mask and by cgroup CPU quotas (v1 and
//! v2), so that a CI container granted 2 cores of a 64-core host says 2.

use std::path::{Path, PathBuf};

/// The cores this process may use right now, at least 1.
///
/// The smallest of:
/// - [`std::thread::available_parallelism`] (which already applies the
///   affinity mask and, where it can, cgroup quotas);
/// - the CPUs in this process's affinity mask (`Cpus_allowed_list` in
///   `/proc/self/status`);
/// - every CPU quota on the path from this process's cgroup to the root of
///   the hierarchy, rounded up to whole cores: cgroup v2 `cpu.max`
///   (`"quota period"`, or `"max period"` for no limit) and cgroup v1
///   `cpu.cfs_quota_us` / `cpu.cfs_period_us` (a quota of `-1` is no limit).
///
/// A source that cannot be read (not Linux, no cgroup file system) is
/// skipped. [`snapshot`](crate::snapshot) stores the result in
/// [`Metadata::available_cores`](crate::Metadata::available_cores).
///
/// ```
/// let cores = profiler::analysis::available_cores();
/// assert!(cores >= 1);
/// assert!(cores as usize <= std::thread::available_parallelism().map_or(usize::MAX, |n| n.get()));
/// ```
pub fn available_cores() -> u32 {
    let mut cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(n) = affinity_cores() {
        cores = cores.min(n);
    }
    if let Some(n) = cgroup_cores() {
        cores = cores.min(n);
    }
    u32::try_from(cores.max(1)).unwrap_or(u32::MAX)
}

/// The number of CPUs in the affinity mask, from `/proc/self/status`.
fn affinity_cores() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    parse_cpu_list(list.trim())
}

/// Counts the CPUs of a kernel CPU list such as `0-3,8,10-11`.
pub(crate) fn parse_cpu_list(list: &str) -> Option<usize> {
    let mut n = 0usize;
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                n += b.checked_sub(a)? + 1;
            }
            None => {
                part.parse::<usize>().ok()?;
                n += 1;
            }
        }
    }
    (n > 0).then_some(n)
}

/// Cores granted by a cgroup v2 `cpu.max` file: `"quota period"`, rounded up;
/// `None` for `"max ..."` (no limit) or unreadable text.
pub(crate) fn parse_cpu_max(text: &str) -> Option<usize> {
    let mut it = text.split_whitespace();
    let quota = it.next()?;
    let period = it.next().map_or(Some(100_000), |p| p.parse::<u64>().ok())?;
    if quota == "max" {
        return None;
    }
    quota_cores(quota.parse().ok()?, period)
}

/// Cores granted by cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`;
/// `None` for a quota of `-1` (no limit) or unreadable text.
pub(crate) fn parse_cfs(quota: &str, period: &str) -> Option<usize> {
    let quota: i64 = quota.trim().parse().ok()?;
    let period: u64 = period.trim().parse().ok()?;
    quota_cores(u64::try_from(quota).ok()?, period)
}

/// `quota / period` rounded up, at least 1; `None` for a zero period or quota.
fn quota_cores(quota: u64, period: u64) -> Option<usize> {
    if quota == 0 || period == 0 {
        return None;
    }
    usize::try_from(quota.div_ceil(period))
        .ok()
        .map(|n| n.max(1))
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The smallest CPU quota over this process's cgroups (v2 and v1), in cores.
fn cgroup_cores() -> Option<usize> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut best: Option<usize> = None;
    let mut take = |n: Option<usize>| {
        if let Some(n) = n {
            best = Some(best.map_or(n, |b| b.min(n)));
        }
    };
    for line in own.lines() {
        // `hierarchy-id:controllers:path`
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            // cgroup v2 (unified): cpu.max on every level up to the root.
            for root in [
                Path::new(CGROUP_ROOT),
                &Path::new(CGROUP_ROOT).join("unified"),
            ] {
                for dir in levels(root, path) {
                    take(
                        std::fs::read_to_string(dir.join("cpu.max"))
                            .ok()
                            .and_then(|t| parse_cpu_max(&t)),
                    );
                }
            }
        } else if controllers.split(',').any(|c| c == "cpu") {
            // cgroup v1: the cpu controller is mounted on its own or with cpuacct.
            for mount in ["cpu", "cpu,cpuacct", "cpuacct,cpu"] {
                for dir in levels(&Path::new(CGROUP_ROOT).join(mount), path) {
                    let quota = std::fs::read_to_string(dir.join("cpu.cfs_quota_us"));
                    let period = std::fs::read_to_string(dir.join("cpu.cfs_period_us"));
                    if let (Ok(q), Ok(p)) = (quota, period) {
                        take(parse_cfs(&q, &p));
                    }
                }
            }
        }
    }
    best
}

/// `root/path`, then each of its ancestors down to `root` itself.
fn levels(root: &Path, path: &str) -> Vec<PathBuf> {
    let mut dirs = vec![root.to_path_buf()];
    let mut dir = root.to_path_buf();
    for part in path
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
    {
        dir.push(part);
        dirs.push(dir.clone());
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(2));
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(parse_cpu_list("5"), Some(1));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn cgroup_v2_cpu_max() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("200000 100000\n"), Some(2));
        assert_eq!(parse_cpu_max("150000 100000"), Some(2));
        assert_eq!(parse_cpu_max("50000 100000"), Some(1));
        assert_eq!(parse_cpu_max("400000"), Some(4));
        assert_eq!(parse_cpu_max(""), None);
        assert_eq!(parse_cpu_max("0 100000"), None);
    }

    #[test]
    fn cgroup_v1_cfs() {
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("300000\n", "100000\n"), Some(3));
        assert_eq!(parse_cfs("250000", "100000"), Some(3));
        assert_eq!(parse_cfs("abc", "100000"), None);
        assert_eq!(parse_cfs("100000", "0"), None);
    }

    #[test]
    fn levels_walk_up_to_the_root() {
        let l = levels(Path::new("/sys/fs/cgroup"), "/a/b");
        assert_eq!(
            l,
            vec![
                PathBuf::from("/sys/fs/cgroup"),
                PathBuf::from("/sys/fs/cgroup/a"),
                PathBuf::from("/sys/fs/cgroup/a/b")
            ]
        );
        assert_eq!(levels(Path::new("/r"), "/").len(), 1);
    }

    #[test]
    fn available_cores_is_positive_and_within_the_visible_cpus() {
        let n = available_cores();
        assert!(n >= 1);
        let visible = std::thread::available_parallelism().map_or(usize::MAX, |n| n.get());
        assert!(n as usize <= visible);
    }
}
