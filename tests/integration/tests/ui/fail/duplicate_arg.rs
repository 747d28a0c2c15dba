use profiler::profile;

#[profile(name = "a", name = "b")]
fn twice() {}

#[profile(crate = ::profiler, crate = ::profiler)]
fn twice_crate() {}

fn main() {
    twice();
    twice_crate();
}
