//! The README's test command (`./test.sh`) on a machine that lacks a
//! prerequisite: it lists everything missing in one message, with the
//! commands that install it, and fails (issue 17, item 7).

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use integration::scratch;

/// Where `tool` is on this machine's PATH, if anywhere.
fn which(tool: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?;
    let path = path.trim();
    (out.status.success() && path.starts_with('/')).then(|| PathBuf::from(path))
}

#[test]
fn a_machine_without_valgrind_is_told_what_is_missing_and_how_to_install_it() {
    let dir = scratch!("no-valgrind");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // Every tool the check uses, and every other prerequisite this machine
    // has, but not valgrind.
    for tool in [
        "bash",
        "sh",
        "dirname",
        "sed",
        "ls",
        "id",
        "cargo",
        "mpiexec",
        "mpicc",
        "chromium",
        "chromedriver",
        "gprof2dot",
        "ptd",
    ] {
        if let Some(path) = which(tool) {
            symlink(path, bin.join(tool)).unwrap();
        }
    }
    // The interpreter itself (a pyenv shim would need pyenv on the PATH).
    let python = Command::new(integration::python())
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8(python.stdout).unwrap();
    symlink(python.trim(), bin.join("python3")).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test.sh");
    let out = Command::new(bin.join("bash"))
        .arg(&script)
        .arg("--prerequisites")
        .env("PATH", &bin)
        .env("PROFILER_TEST_NO_INSTALL", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("prerequisites missing: "))
        .collect();
    assert_eq!(lines.len(), 1, "one message: {text}");
    let line = lines[0];
    let (names, how) = line
        .trim_start_matches("prerequisites missing: ")
        .split_once("; install them with: ")
        .unwrap_or_else(|| panic!("no install command: {line}"));
    assert!(names.split(' ').any(|n| n == "valgrind"), "{line}");
    assert!(!names.split(' ').any(|n| n == "cargo"), "{line}");
    let apt = how
        .split("; ")
        .find(|c| c.starts_with("sudo apt-get install "))
        .unwrap_or_else(|| panic!("no apt-get command: {line}"));
    assert!(apt.split(' ').any(|p| p == "valgrind"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}
