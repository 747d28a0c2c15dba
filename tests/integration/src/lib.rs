//! Integration tests live in `tests/`; this library holds the fixtures they
//! share.

use profiler::Profile;

/// `name`'s ncalls in `p`, summed over every site of that name and thread.
pub fn ncalls(p: &Profile, name: &str) -> u64 {
    let stats = p.stats();
    stats
        .functions()
        .iter()
        .filter(|f| p.sites[f.site as usize].name == name)
        .map(|f| f.figures.ncalls)
        .sum()
}
