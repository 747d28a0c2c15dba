//! The library pulls no command-line parser into its users' builds: the
//! `profiler` command is its own crate (`profiler-cli`). Checked with
//! `cargo tree` on the library as a user would depend on it, with its
//! default features and with `default-features = false, features =
//! ["enable"]`.

use std::process::Command;

fn normal_dependencies(features: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let o = Command::new(cargo)
        .args(["tree", "--offline", "--locked", "--manifest-path", manifest])
        .args([
            "-p", "profiler", "-e", "normal", "--prefix", "none", "-f", "{p}",
        ])
        .args(features)
        .output()
        .expect("run cargo tree");
    assert!(
        o.status.success(),
        "cargo tree {features:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_library_builds_without_clap() {
    for features in [
        &[][..],
        &["--no-default-features", "--features", "enable"][..],
    ] {
        let tree = normal_dependencies(features);
        assert!(tree.contains("profiler-macros"), "{features:?}:\n{tree}");
        assert!(
            !tree.lines().any(|l| l.starts_with("clap")),
            "{features:?} pulls clap:\n{tree}"
        );
    }
}
