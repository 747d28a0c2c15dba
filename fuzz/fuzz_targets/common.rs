//! What both targets do with a profile that loaded: build every report the
//! command-line tool can write, and check that saving and loading it again
//! gives the same profile. None of it may panic.

use std::path::Path;

use profiler::Profile;
use profiler::emit::flamegraph::{self, FlamegraphOptions};
use profiler::emit::{callgrind, chrome, json, prof, speedscope};

pub fn exercise(p: &Profile) {
    let st = p.stats();
    let _ = format!("{st}{}{}", st.callers(), st.callees());
    for i in 0..p.threads.len() {
        let _ = p.thread_stats(i).to_string();
    }
    let mut sink = Vec::new();
    let _ = prof::write(p, &mut sink);
    sink.clear();
    let _ = callgrind::write(p, None, &mut sink);
    sink.clear();
    let _ = flamegraph::write_folded(p, &FlamegraphOptions::default(), &mut sink);
    sink.clear();
    let _ = flamegraph::write_svg(p, &mut sink);
    sink.clear();
    let _ = chrome::write(p, &mut sink);
    sink.clear();
    let _ = speedscope::write(p, &mut sink);
    let merged = Profile::merge(&[p.clone(), p.clone()]);
    assert_eq!(merged.stats().total_calls(), 2 * st.total_calls());
    let mut bytes = Vec::new();
    json::write(p, &mut bytes).expect("a profile saves");
    let back = profiler::load::from_bytes(&bytes, Path::new("again.json"))
        .expect("a saved profile loads")
        .profile;
    assert_eq!(&back, p, "save then load changes the profile");
}
