//! The `.prof` file that Python's `pstats.Stats(path)`, snakeviz, gprof2dot
//! and pyprof2calltree read: cProfile's stats dict, marshalled.
//!
//! ```text
//! { (file, line, name): (cc, nc, tt, ct, { caller_key: (nc, cc, tt, ct) }) }
//! ```
//!
//! - One entry per row of the pstats report, merged over all threads
//!   ([`write()`]) or for the rows of any [`Stats`] ([`write_stats`]). Keys are
//!   the site's `file`, `line` and `name`; sites that share a key are summed
//!   into one entry (as pstats' `Stats.add` does), so every key is unique.
//!   See [`pstats`](crate::emit::pstats) for the row rules.
//! - `cc` = primitive calls, `nc` = all calls (swapped in caller entries, as
//!   cProfile writes them); `tt` and `ct` in seconds (`f64`, nanoseconds /
//!   1e9). A function with no profiled caller has an empty callers dict.
//! - Entries are in the base order of the text report (first site id), so
//!   Python's "random listing order" and its tie order under any sort key are
//!   ours.
//! - Encoding: marshal codes `{`…`0` (dict), `)` (small tuple), `i` (int
//!   fitting in 32 bits), `l` (larger int, 15-bit digits), `g` (binary
//!   float), `z` (short ASCII str) and `u` (UTF-8 str); never a reference
//!   flag. Read by every CPython 3.
//! - Python refuses to load an empty stats dict (`TypeError`), which is what
//!   a profile with no calls gives.

use std::io::{self, Write};

use crate::emit::pstats::{Row, Table, seconds};

mod import;

use crate::profile::Profile;
use crate::stats::{Figures, Stats};
pub use import::{
    Import, MAX_NOTES, MAX_STRING_BYTES, PstatsEdge, PstatsFunction, from_bytes, parse, read,
    to_profile,
};

const DICT: u8 = b'{';
const NULL: u8 = b'0';
const SMALL_TUPLE: u8 = b')';
const INT: u8 = b'i';
const LONG: u8 = b'l';
const BINARY_FLOAT: u8 = b'g';
const SHORT_ASCII: u8 = b'z';
const UNICODE: u8 = b'u';

/// Writes `profile`, merged over all threads, as a `.prof` (marshal) to `w`.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    write_stats(&profile.stats(), w)
}

/// Writes the functions of `stats` (all of them: its order, filters and
/// limit are not applied) as a `.prof` to `w`. Use
/// [`Profile::thread_stats`] for one thread's file.
pub fn write_stats(stats: &Stats<'_>, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(&stats_to_bytes(stats)?)
}

/// The `.prof` bytes of `profile`, merged over all threads.
///
/// # Panics
///
/// If a file or function name is longer than `i32::MAX` bytes.
pub fn to_bytes(profile: &Profile) -> Vec<u8> {
    stats_to_bytes(&profile.stats()).expect("a name longer than 2 GiB")
}

fn stats_to_bytes(stats: &Stats<'_>) -> io::Result<Vec<u8>> {
    let table = Table::new(stats);
    let mut out = Vec::with_capacity(64 * table.rows.len() + 2);
    out.push(DICT);
    for row in &table.rows {
        key(&mut out, row)?;
        let f = &row.figures;
        out.extend_from_slice(&[SMALL_TUPLE, 5]);
        int(&mut out, f.pcalls);
        int(&mut out, f.ncalls);
        float(&mut out, seconds(f.tottime_ns));
        float(&mut out, seconds(f.cumtime_ns));
        out.push(DICT);
        for (caller, e) in &row.callers {
            key(&mut out, &table.rows[*caller])?;
            edge(&mut out, e);
        }
        out.push(NULL);
    }
    out.push(NULL);
    Ok(out)
}

/// `(file, line, name)`.
fn key(out: &mut Vec<u8>, row: &Row<'_>) -> io::Result<()> {
    out.extend_from_slice(&[SMALL_TUPLE, 3]);
    string(out, row.file)?;
    int(out, u64::from(row.line));
    string(out, row.name)
}

/// A caller entry: `(nc, cc, tt, ct)`.
fn edge(out: &mut Vec<u8>, e: &Figures) {
    out.extend_from_slice(&[SMALL_TUPLE, 4]);
    int(out, e.ncalls);
    int(out, e.pcalls);
    float(out, seconds(e.tottime_ns));
    float(out, seconds(e.cumtime_ns));
}

fn int(out: &mut Vec<u8>, v: u64) {
    if let Ok(small) = i32::try_from(v) {
        out.push(INT);
        out.extend_from_slice(&small.to_le_bytes());
        return;
    }
    // Base 2^15 digits, least significant first; the top digit is non-zero.
    let mut digits = Vec::with_capacity(5);
    let mut rest = v;
    while rest != 0 {
        digits.push((rest & 0x7fff) as u16);
        rest >>= 15;
    }
    out.push(LONG);
    out.extend_from_slice(&(digits.len() as i32).to_le_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_le_bytes());
    }
}

fn float(out: &mut Vec<u8>, v: f64) {
    out.push(BINARY_FLOAT);
    out.extend_from_slice(&v.to_le_bytes());
}

fn string(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if s.is_ascii() && s.len() < 256 {
        out.push(SHORT_ASCII);
        out.push(s.len() as u8);
    } else {
        let len = i32::try_from(s.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a name is too long for the .prof format (over 2 GiB)",
            )
        })?;
        out.push(UNICODE);
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Whether `bytes` look like a cProfile `.prof` (a marshalled dict) rather
/// than JSON: a marshal dict starts with `{` (or `0xFB`, with the reference
/// flag) followed by a tuple code or the end-of-dict `0`.
pub fn looks_like_prof(bytes: &[u8]) -> bool {
    match bytes {
        [0xFB, ..] => true,
        [b'{', next, ..] => matches!(next, b')' | b'(' | 0xA9 | 0xA8 | b'0' | b'r'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, SiteInfo, ThreadProfile};

    #[test]
    fn encodes_the_documented_layout() {
        let p = Profile::new(
            Metadata::default(),
            vec![SiteInfo::new("main", "m", "src/main.rs", 10)],
            vec![ThreadProfile::new(
                1,
                "main",
                1,
                vec![Node::new(0, NO_PARENT, 1, 500_000_000)],
            )],
        );
        let b = to_bytes(&p);
        let mut expected = vec![0x7b, 0x29, 0x03, 0x7a, 0x0b];
        expected.extend_from_slice(b"src/main.rs");
        expected.extend_from_slice(&[0x69, 10, 0, 0, 0, 0x7a, 4]);
        expected.extend_from_slice(b"main");
        expected.extend_from_slice(&[0x29, 5, 0x69, 1, 0, 0, 0, 0x69, 1, 0, 0, 0, 0x67]);
        expected.extend_from_slice(&0.5f64.to_le_bytes());
        expected.push(0x67);
        expected.extend_from_slice(&0.5f64.to_le_bytes());
        expected.extend_from_slice(&[0x7b, 0x30, 0x30]);
        assert_eq!(b, expected);
    }

    #[test]
    fn long_ints_and_unicode() {
        let mut out = Vec::new();
        int(&mut out, 1 << 40);
        // 2^40 = 2^(15*2) * 2^10: digits [0, 0, 1024].
        assert_eq!(out, [b'l', 3, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
        out.clear();
        int(&mut out, i32::MAX as u64);
        assert_eq!(out, [b'i', 0xff, 0xff, 0xff, 0x7f]);
        out.clear();
        int(&mut out, 1 << 31);
        assert_eq!(out, [b'l', 3, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
        out.clear();
        string(&mut out, "naïve").unwrap();
        assert_eq!(out[0], b'u');
        assert_eq!(&out[1..5], &6i32.to_le_bytes());
        assert_eq!(&out[5..], "naïve".as_bytes());
    }

    #[test]
    fn sniffs_prof_files() {
        assert!(looks_like_prof(b"{)\x03z"));
        assert!(looks_like_prof(b"\xfb\xa9\x03"));
        assert!(looks_like_prof(b"{0"));
        assert!(!looks_like_prof(b"{\"format\""));
        assert!(!looks_like_prof(b"{ }"));
    }
}
