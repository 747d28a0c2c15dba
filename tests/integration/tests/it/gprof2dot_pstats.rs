//! gprof2dot reads our `.prof` (`gprof2dot -f pstats`), as users reach it for
//! call graphs of cProfile output. CI installs gprof2dot from PyPI.

use std::process::Command;

use integration::gprof2dot;
use profiler::profile::NO_PARENT;
use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};

#[test]
fn gprof2dot_reads_our_prof_file() {
    let sites = vec![
        SiteInfo::new("main", "demo", "src/demo.rs", 10),
        SiteInfo::new("solve", "demo", "src/demo.rs", 20),
        SiteInfo::new("step", "demo", "src/step.rs", 5),
        SiteInfo::new("fib", "demo", "src/demo.rs", 30),
    ];
    // main -> solve -> step (x40); main -> fib -> fib -> fib (recursion)
    let nodes = vec![
        Node::new(0, NO_PARENT, 1, 1_000_000_000),
        Node::new(1, 0, 1, 700_000_000),
        Node::new(2, 1, 40, 600_000_000),
        Node::new(3, 0, 1, 200_000_000),
        Node::new(3, 3, 2, 150_000_000),
        Node::new(3, 4, 2, 50_000_000),
    ];
    let p = Profile::new(
        Metadata::default(),
        sites,
        vec![ThreadProfile::new(1, "main", 1, nodes)],
    );
    p.validate().unwrap();
    let dir = integration::scratch!("prof");
    let prof = dir.join("profile.prof");
    profiler::emit::Format::Prof.save(&p, &prof).unwrap();

    let out = Command::new(gprof2dot())
        .args(["-f", "pstats", "--node-thres=0", "--edge-thres=0"])
        .arg(&prof)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gprof2dot -f pstats failed: {stderr}");
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(dot.starts_with("digraph"), "not a dot graph: {dot}");
    for name in ["main", "solve", "step", "fib"] {
        assert!(dot.contains(name), "{name} missing from the graph:\n{dot}");
    }
    // main's node reads 100% (its cumulative time is the whole profile).
    assert!(dot.contains("100.00%"), "no 100% node:\n{dot}");
    std::fs::remove_dir_all(&dir).ok();
}
