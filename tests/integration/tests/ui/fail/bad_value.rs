use profiler::profile;

#[profile(name = 5)]
fn numbered() {}

#[profile(name = solve)]
fn bare() {}

#[profile(name = "")]
fn empty() {}

#[profile(name)]
fn no_value() {}

#[profile(crate = "profiler")]
fn string_crate() {}

#[profile(crate = 3)]
fn number_crate() {}

#[profile(crate)]
fn no_crate_value() {}

fn main() {
    numbered();
    bare();
    empty();
    no_value();
    string_crate();
    number_crate();
    no_crate_value();
}
