//! The loaders of untrusted files, run over many mutated inputs on stable
//! Rust: what the cargo-fuzz targets in `fuzz/` do (they need nightly), in a
//! bounded, deterministic form that runs with the other tests.
//!
//! Every seed of `fuzz/seeds/` is mutated (bytes flipped, marshal codes and
//! back-references inserted, slices repeated, lengths made huge, the file
//! cut short) and fed to `load::from_bytes`.
//! Whatever loads goes through every report, and a saved profile must load
//! back equal. A panic anywhere fails the test; so does a peak resident
//! memory (`VmHWM`) over 2 GiB. `PROFILER_HOSTILE_RUNS` sets the number of
//! mutants per seed (default 400).
//!
//! This file holds one test, so that the process's peak memory is its own.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use profiler::Profile;
use profiler::emit::flamegraph::{self, FlamegraphOptions};
use profiler::emit::{callgrind, chrome, json, prof, speedscope};

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Byte strings a marshal or JSON reader treats specially.
const TOKENS: &[&[u8]] = &[
    b"r\x00\x00\x00\x00",
    b"r\x01\x00\x00\x00",
    b"r\x02\x00\x00\x00",
    b"\xff\xff\xff\x7f",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x80",
    b"{",
    b"0",
    b")\x05",
    b"(\xff\xff\x00\x00",
    b"\xda\x04a.py",
    b"\xe9\x00\x10\x00\x00",
    b"l\xff\xff\xff\x7f",
    b"\xed\xb3\xbf",
    b"\xef\xbb\xbf",
    b"\"version\":1,",
    b"\"site\":4294967295,",
    b"[[[[[[[[",
    b"1e999",
    b"-1",
    b"18446744073709551615",
];

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            2 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            3 => {
                // Repeat a slice: more entries naming the same objects.
                let end = (at + 1 + rng.below(64)).min(b.len());
                let piece = b[at.min(end)..end].to_vec();
                for _ in 0..1 + rng.below(16) {
                    b.splice(at..at, piece.iter().copied());
                }
            }
            4 => b.truncate(at),
            _ if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            _ => {}
        }
    }
    b
}

/// Every report of a profile that loaded; none may panic.
fn exercise(p: &Profile) {
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
    let mut bytes = Vec::new();
    json::write(p, &mut bytes).expect("a profile saves");
    let back = profiler::load::from_bytes(&bytes, Path::new("again.json"))
        .expect("a saved profile loads")
        .profile;
    assert_eq!(&back, p, "save then load changes the profile");
}

fn seeds(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(kind);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    out
}

/// Peak resident memory of this process in KiB (Linux), if known.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn mutated_inputs_never_panic_and_stay_bounded() {
    let runs: usize = std::env::var("PROFILER_HOSTILE_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut loaded = 0usize;
    let mut tried = 0usize;
    let mut slowest = Duration::ZERO;
    let prof = seeds("read_prof");
    let json = seeds("load_profile");
    assert!(!prof.is_empty() && !json.is_empty(), "no seeds");
    for (path, seed) in prof.iter().chain(&json) {
        for k in 0..runs {
            let input = if k == 0 {
                seed.clone()
            } else {
                mutate(seed, &mut rng)
            };
            tried += 1;
            let start = Instant::now();
            let result = profiler::load::from_bytes(&input, path).map(|l| {
                l.profile.validate().expect("a loaded profile is valid");
                l.profile
            });
            if let Ok(p) = result {
                loaded += 1;
                exercise(&p);
            }
            slowest = slowest.max(start.elapsed());
        }
    }
    let hwm = vm_hwm_kib();
    eprintln!(
        "hostile inputs: {tried} tried, {loaded} loaded, slowest {slowest:?}, \
         peak resident {hwm:?} KiB"
    );
    if let Some(kib) = hwm {
        assert!(kib < 2 << 20, "peak resident memory {kib} KiB");
    }
}
