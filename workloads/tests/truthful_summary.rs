//! Issue 12: on a bundled workload at 1 and 2 threads the parallel summary
//! raises no false alarm: the driver thread waiting for the pool is no
//! worker, the run is not "oversubscribed" by this process, and the
//! whole-run load balance of a dynamically scheduled run is acceptable.

use profiler::TimelineConfig;
use profiler::analysis::OversubscriptionKind;
use workloads::{Mode, pi, profiled};

#[test]
fn pi_on_rayon_at_one_and_two_threads_raises_no_false_alarm() {
    profiler::set_timeline(Some(TimelineConfig::default()));
    assert!(profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL));
    // Long enough (hundreds of ms in a test build) for the sampler to prove
    // that the driver waited.
    let cfg = pi::Config {
        samples: 20_000_000,
        ..pi::Config::default()
    };
    for threads in [1, 2] {
        // The balance is measured, and a worker that the machine starts or
        // runs late really does less of a dynamically scheduled run (once
        // here, on two cores, rayon's second worker did 23 of 46 ms: LB
        // 0.75, a true figure). So up to three runs are made, each checked
        // for the alarms that must never be raised, and one must show the
        // balance the schedule gives.
        let mut seen = Vec::new();
        for _ in 0..3 {
            let run = profiled("pi", || pi::run(&cfg, Mode::Rayon, threads)).unwrap();
            run.value.unwrap();
            let s = run.profile.parallel_summary();
            println!("{threads} thread(s):\n{s}");
            assert!(
                s.oversubscriptions
                    .iter()
                    .all(|o| o.kind != OversubscriptionKind::Process),
                "{s}"
            );
            let region = s
                .regions
                .iter()
                .find(|r| r.name == "pi_rayon")
                .unwrap_or_else(|| panic!("no region pi_rayon in\n{s}"));
            assert_eq!(region.efficiency.workers as usize, threads, "{s}");
            let e = s.efficiency.expect("whole-run figures over the region");
            assert_eq!(e.workers as usize, threads, "the driver is no worker: {s}");
            seen.push(e.load_balance);
            if e.load_balance >= 0.8 {
                break;
            }
        }
        assert!(
            seen.iter().any(|&lb| lb >= 0.8),
            "load balance below 0.8 in every run: {seen:?}"
        );
    }
}
