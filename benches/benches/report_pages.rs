//! The size of `report.html` for a 10,000-node and a 1,000,000-node profile
//! (targets: under 1 MB and under 30 MB), the time to write each, and, where
//! Chromium and selenium are installed, the time until each page is
//! interactive in headless Chromium (target: 3 s for 1,000,000 nodes),
//! measured by `benches/browser/report_load.py`.
//!
//! Run with `cargo bench -p benches --bench report_pages`. The pages are
//! kept in `target/report-bench/`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use profiler::emit::Format;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/report-bench");
    std::fs::create_dir_all(&dir).expect("create target/report-bench");
    let mut pages = Vec::new();
    println!(
        "{:>10} {:>12} {:>12} {:>10}",
        "nodes", "bytes", "MB", "write s"
    );
    for (nodes, sites) in [(10_000usize, 1_000u32), (1_000_000, 1_000)] {
        let p = benches::synthetic_profile(nodes, sites);
        let path = dir.join(format!("report-{nodes}.html"));
        // Best of three writes.
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            Format::Html.save(&p, &path).expect("write the report");
            best = best.min(t.elapsed().as_secs_f64());
        }
        let bytes = std::fs::metadata(&path).expect("the report").len();
        println!(
            "{nodes:>10} {bytes:>12} {:>12.2} {best:>10.3}",
            bytes as f64 / 1e6
        );
        pages.push(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/report_load.py");
    match Command::new("python3").arg(&script).args(&pages).status() {
        Ok(s) if s.success() => {}
        Ok(s) => println!("the browser measurement did not run ({s}); see above"),
        Err(e) => println!("the browser measurement did not run: python3: {e}"),
    }
}
