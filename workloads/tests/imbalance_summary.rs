//! On the `imbalance` workload, the parallel summary reports a lower load
//! balance for static scheduling than for dynamic scheduling, and the
//! per-thread busy times of the region explain it (issue: timelines and
//! parallel efficiency).

use std::time::Duration;

use profiler::TimelineConfig;
use workloads::imbalance::{Config, render_dynamic, render_static};
use workloads::profiled;

/// (load balance of the region, busy time of each worker in it)
fn region(p: &profiler::Profile, name: &str) -> (f64, Vec<(String, u64)>) {
    let summary = p.parallel_summary();
    let r = summary
        .regions
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no region {name} in\n{summary}"));
    let call = &r.longest[0];
    // The calling thread comes first; the others are the workers.
    let busy = call
        .busy
        .iter()
        .skip(1)
        .map(|b| (summary.threads[b.thread].name.clone(), b.busy_ns))
        .collect();
    (r.efficiency.load_balance, busy)
}

#[test]
fn static_scheduling_reports_a_lower_load_balance_than_dynamic() {
    profiler::set_timeline(Some(TimelineConfig::default().min_duration(Duration::ZERO)));
    // CPU samples: the regions are the calls whose thread waited for its
    // workers (issue 12), not timing alone.
    assert!(profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL));
    let cfg = Config {
        width: 400,
        height: 201,
        max_iter: 1000,
        chunk: 2,
    };
    let stat = profiled("imbalance", || render_static(&cfg, 2)).unwrap();
    let dyna = profiled("imbalance", || render_dynamic(&cfg, 2)).unwrap();
    assert_eq!(
        stat.value.as_ref().unwrap(),
        dyna.value.as_ref().unwrap(),
        "same image either way"
    );

    let (lb_static, busy_static) = region(&stat.profile, "render_static");
    let (lb_dynamic, busy_dynamic) = region(&dyna.profile, "render_dynamic");
    eprintln!(
        "static LB {lb_static:.3} {busy_static:?}\ndynamic LB {lb_dynamic:.3} {busy_dynamic:?}"
    );
    assert!(lb_static < 0.8, "static LB {lb_static}");
    assert!(
        lb_dynamic > lb_static + 0.15,
        "dynamic LB {lb_dynamic} vs static {lb_static}"
    );
    // The explanation: under static blocks one worker got the expensive rows.
    assert_eq!(busy_static.len(), 2);
    let (max, min) = (
        busy_static.iter().map(|b| b.1).max().unwrap(),
        busy_static.iter().map(|b| b.1).min().unwrap(),
    );
    assert!(
        max as f64 > 1.5 * min as f64,
        "static busy times {busy_static:?}"
    );
}
