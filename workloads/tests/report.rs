//! The HTML report (issue 16): "Where the time goes" on the bundled
//! workloads names what bounds them, and the page works in a real headless
//! Chromium (tests/browser/report.py, driven by selenium) against Python's
//! pstats and the profile.json it came from.
//!
//! The tests share the process-wide recorder, so they run one at a time
//! (a lock), each on threads named after its workload.

use std::path::Path;
use std::sync::Mutex;

use profiler::TimelineConfig;
use profiler::analysis::FindingKind;
use profiler::emit::{Format, html};
use workloads::{Mode, amdahl, imbalance, profiled};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn record_timelines() {
    profiler::set_timeline(Some(
        TimelineConfig::default().min_duration(std::time::Duration::ZERO),
    ));
    profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL);
}

fn page(p: &profiler::Profile) -> String {
    let mut out = Vec::new();
    Format::Html.write(p, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The first finding of "Where the time goes" as the page's static HTML
/// shows it (the text after its `<li`).
fn first_finding_item(p: &profiler::Profile) -> String {
    let html = page(p);
    let static_part = html
        .split("<script type=\"application/json\"")
        .next()
        .unwrap();
    let where_ = static_part.split("id=\"where\"").nth(1).unwrap();
    where_.split("<li").nth(1).unwrap().to_owned()
}

/// `work` run and profiled on threads named after `name`, recording
/// timelines, its profile saying 2 cores (the tests' thread count), whatever
/// this machine has.
fn on_two_cores(
    name: &str,
    work: impl FnOnce() -> Result<(), workloads::Error> + Send,
) -> profiler::Profile {
    record_timelines();
    let run = profiled(name, work).unwrap();
    run.value.unwrap();
    let mut p = run.profile;
    p.meta.available_cores = 2;
    p
}

#[test]
fn where_the_time_goes_names_amdahls_serial_part_first() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = amdahl::Config {
        // Long enough (a few hundred ms in a test build) for the sampler
        // to prove that the driver waited for its workers.
        units: 4_000,
        serial_fraction: 0.3,
    };
    let p = on_two_cores("amdahl", || amdahl::run(&cfg, Mode::Threads, 2).map(drop));
    let b = p.bounds();
    let first = &b.findings[0];
    assert_eq!(first.kind, FindingKind::SerialPhase, "{:#?}", b.findings);
    assert_eq!(first.name, "serial_part");
    // 30% of the work serial, the rest on two threads: about 46% of the run
    // is serial; on two cores half of it would go.
    assert!(
        (0.3..0.7).contains(&first.share),
        "serial share {}",
        first.share
    );
    assert!((first.saving.unwrap() - first.share / 2.0).abs() < 1e-9);
    assert!(
        b.findings
            .iter()
            .all(|f| f.kind != FindingKind::LoadImbalance),
        "no imbalance in an evenly split region: {:#?}",
        b.findings
    );
    let first_item = first_finding_item(&p);
    assert!(
        first_item.contains("serial phase") && first_item.contains("<code>serial_part</code>"),
        "{first_item}"
    );
    assert!(first_item.contains("the run would take"), "{first_item}");
}

#[test]
fn where_the_time_goes_names_the_load_imbalance_of_static_scheduling() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cfg = imbalance::Config {
        width: 400,
        height: 201,
        max_iter: 1000,
        chunk: 2,
    };
    let p = on_two_cores("imbalance", || {
        imbalance::run(&cfg, Mode::Threads, 2).map(drop)
    });
    let b = p.bounds();
    let first = &b.findings[0];
    assert_eq!(first.kind, FindingKind::LoadImbalance, "{:#?}", b.findings);
    assert_eq!(first.name, "render_static");
    assert!(first.saving.unwrap() > 0.1, "{first:?}");
    assert!(first.evidence.starts_with("load balance 0."), "{first:?}");
    // The lone worker's tail is the imbalance, not a serial phase.
    assert!(
        b.findings
            .iter()
            .all(|f| f.kind != FindingKind::SerialPhase),
        "{:#?}",
        b.findings
    );
    let first_item = first_finding_item(&p);
    assert!(
        first_item.contains("load imbalance") && first_item.contains("<code>render_static</code>"),
        "{first_item}"
    );
}

#[test]
fn the_report_works_in_a_headless_browser() {
    let dir = {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        record_timelines();
        let cfg = imbalance::Config {
            width: 300,
            height: 120,
            max_iter: 500,
            chunk: 2,
        };
        let run = profiled("imbalance", || {
            imbalance::render_static(&cfg, 2).unwrap();
            imbalance::render_dynamic(&cfg, 2).unwrap();
        })
        .unwrap();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
        std::fs::create_dir_all(&dir).unwrap();
        for f in [Format::Html, Format::Prof, Format::Json] {
            f.save(&run.profile, &dir.join(f.files()[0].file_name))
                .unwrap();
        }
        // `profiler diff --html`'s page: static against dynamic scheduling.
        let before = profiled("imbalance", || imbalance::render_static(&cfg, 2).unwrap()).unwrap();
        let after = profiled("imbalance", || imbalance::render_dynamic(&cfg, 2).unwrap()).unwrap();
        let diff = profiler::diff::ProfileDiff::new(
            &before.profile,
            &after.profile,
            profiler::diff::DiffBy::Tottime,
        );
        profiler::emit::write_output(&dir.join("diff.html"), |w| {
            html::write_diff(
                &diff,
                &before.profile,
                &after.profile,
                ["static", "dynamic"],
                w,
            )
        })
        .unwrap();
        // `workloads scale`'s page, from measured runs of `amdahl`.
        let cfg = amdahl::Config {
            units: 400,
            serial_fraction: 0.3,
        };
        let mut study = html::Scaling::new("amdahl (threads)", "report test", 2);
        let mut measured = Vec::new();
        for p in [1, 2] {
            let times: Vec<f64> = (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    amdahl::run(&cfg, Mode::Threads, p).unwrap();
                    t.elapsed().as_secs_f64()
                })
                .collect();
            measured.push(workloads::scaling::Measurement {
                threads: p,
                seconds: workloads::scaling::median(&times),
            });
            study = study.point(p, times);
        }
        if let Some(f) = workloads::scaling::fit_amdahl(&measured) {
            study = study.fit(f.t1, f.serial_fraction());
        }
        profiler::emit::write_output(&dir.join("scale.html"), |w| html::write_scaling(&study, w))
            .unwrap();
        dir
    };
    integration::browser_checks(&dir, "imbalance");
}
