use profiler::profile;

#[profile(nme = "solve")]
fn solve() {}

#[profile(name = "ok", level = 3)]
fn leveled() {}

#[profile("solve")]
fn literal() {}

// Both problems are reported at once.
#[profile(level = 3)]
const fn both() {}

fn main() {
    both();
    solve();
    leveled();
    literal();
}
