//! Shared by the pass cases (not a case itself: trybuild only takes
//! `ui/pass/*.rs`).

/// The figures of the only row called `name` in a snapshot taken now.
pub fn row(name: &str) -> profiler::Figures {
    let p = profiler::snapshot();
    let stats = p.stats();
    let rows: Vec<profiler::Figures> = stats
        .functions()
        .iter()
        .filter(|f| p.sites[f.site as usize].name == name)
        .map(|f| f.figures)
        .collect();
    let names: Vec<&str> = p.sites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        rows.len(),
        1,
        "expected one row named {name:?}, sites: {names:?}"
    );
    rows[0]
}
