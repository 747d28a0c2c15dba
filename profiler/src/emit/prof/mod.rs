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
//!
//! # Import
//!
//! [`read`] and [`from_bytes`] turn a `.prof` (cProfile's, or the
//! pure-Python `profile` module's) into a [`Profile`], so that a Python
//! program and its Rust port can be compared with the same tools. Four
//! steps, a file each: `marshal` reads the marshal object (every code
//! CPython writes for the dict, back-references included; a damaged file is
//! an error that gives the byte offset, never a panic), `decode` turns the
//! stats dict into [`PstatsFunction`]s (`decode::parse`), `rebuild` builds one
//! calling-context tree (a thread named after the file) whose statistics are
//! the file's, and `verify` compares the two.
//!
//! The tree is exact, for every function and every edge, unless the call
//! graph has cycles other than direct recursion: with mutual recursion
//! (`f -> g -> f`) `nc` and `tt` stay exact while `cc` and `ct` of the
//! functions on the cycle may differ, and [`Import::inexact`] lists every
//! function and edge that does. Caller entries that hold only a call count
//! get times estimated from the function's. A file is refused when its
//! names add up to more than [`MAX_STRING_BYTES`] or its tree would need
//! more than 20 million nodes. Strings that are not UTF-8 are read with
//! U+FFFD and counted in [`Import::not_utf8`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

mod decode;
mod marshal;
mod rebuild;
mod verify;

use self::marshal::{DICT, FLAG_REF, NULL, REF, SMALL_TUPLE, TUPLE};
use crate::emit::pstats::{Row, Table, seconds};
use crate::error::Error;
use crate::profile::{NO_PARENT, Node, Profile, SiteInfo, ThreadProfile};
use crate::stats::{Figures, Stats};
pub use decode::{MAX_STRING_BYTES, PstatsEdge, PstatsFunction};
pub use verify::MAX_NOTES;

/// A `.prof` turned into a [`Profile`], with notes on what could not be
/// represented exactly.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Import {
    /// The profile: one thread holding the file's calls.
    pub profile: Profile,
    /// One line per function or edge whose figures in `profile` differ from
    /// the file's (see the module docs, "Import"), and notes on caller
    /// entries left out or estimated. Empty when the import is exact. Holds
    /// the first [`MAX_NOTES`] differences (then the two notes);
    /// [`inexact_count`](Import::inexact_count) says how many lines there
    /// were in all.
    pub inexact: Vec<String>,
    /// The number of differences and notes, those left out of
    /// [`inexact`](Import::inexact) included.
    pub inexact_count: usize,
    /// How many strings of the file were not valid UTF-8 (a script under a
    /// directory whose name is not): they are read with U+FFFD in place of
    /// each invalid sequence (Python shows a lone surrogate there).
    pub not_utf8: usize,
}

/// Turns parsed pstats functions into a profile (see the module docs), with
/// the list of figures that could not be represented exactly. Fails only
/// when the tree would be too large.
pub(crate) fn to_profile(funcs: &[PstatsFunction], thread_name: &str) -> Result<Import, String> {
    let stripped = without_roots(funcs);
    let funcs = stripped.as_deref().unwrap_or(funcs);
    let profile = rebuild::profile(funcs, thread_name)?;
    let (inexact, inexact_count) = verify::differences(funcs, &profile);
    Ok(Import {
        profile,
        inexact,
        inexact_count,
        not_utf8: 0,
    })
}

/// Whether the profile already has the shape of a cProfile file: one thread
/// whose calls all start in one function that nothing calls (a cProfile
/// file read back, or a program whose `main` is its one profiled root).
fn has_one_root(profile: &Profile, busy: &[usize]) -> bool {
    let [t] = busy else { return false };
    let nodes = &profile.threads[*t].nodes;
    let mut tops = nodes
        .iter()
        .filter(|n| n.parent().is_none())
        .map(|n| n.site);
    let Some(top) = tops.next() else { return false };
    tops.all(|s| s == top) && nodes.iter().all(|n| n.parent().is_none() || n.site != top)
}

/// `funcs` without the roots that [`write()`] adds (see [`with_roots`]): the
/// uncalled `(_, 0, "<module>")` and the `("~", 0, "<thread ...>")` that
/// only it calls, with the caller entries that name them, so that the
/// functions under them are top-level calls again. `None` when there are
/// none (a file that cProfile wrote).
fn without_roots(funcs: &[PstatsFunction]) -> Option<Vec<PstatsFunction>> {
    let is_module =
        |f: &PstatsFunction| f.line == 0 && f.name == MODULE_ROOT && f.callers.is_empty();
    let is_thread = |f: &PstatsFunction| {
        f.file == "~"
            && f.line == 0
            && f.name.starts_with("<thread ")
            && f.name.ends_with('>')
            && f.callers.iter().all(|e| is_module(&funcs[e.caller]))
    };
    let drop: Vec<bool> = funcs.iter().map(|f| is_module(f) || is_thread(f)).collect();
    if !drop.iter().any(|&d| d) {
        return None;
    }
    let mut new_index = vec![usize::MAX; funcs.len()];
    let mut kept = 0;
    for (i, &d) in drop.iter().enumerate() {
        if !d {
            new_index[i] = kept;
            kept += 1;
        }
    }
    Some(
        funcs
            .iter()
            .zip(&drop)
            .filter(|(_, d)| !**d)
            .map(|(f, _)| {
                let mut f = f.clone();
                f.callers.retain(|e| !drop[e.caller]);
                for e in &mut f.callers {
                    e.caller = new_index[e.caller];
                }
                f
            })
            .collect(),
    )
}

/// Imports a `.prof` file's bytes. `path` names the file in errors and
/// names the profile's thread and program (its file name).
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Import, Error> {
    let (funcs, not_utf8) = decode::parse_counting(bytes)
        .map_err(|e| Error::format(path, format!("not a cProfile .prof: {e}")))?;
    let name = path.file_name().map_or_else(
        || "cProfile".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut import = to_profile(&funcs, &name)
        .map_err(|e| Error::format(path, format!("cannot import: {e}")))?;
    import.not_utf8 = not_utf8;
    crate::profile::check(&import.profile)
        .map_err(|e| Error::format(path, format!("cannot import: {e}")))?;
    Ok(import)
}

/// Reads and imports a `.prof` file (at most
/// [`MAX_INPUT_BYTES`](crate::profile::MAX_INPUT_BYTES) of it).
pub fn read(path: &Path) -> Result<Import, Error> {
    let bytes = crate::fs::read_bounded(path, crate::profile::MAX_INPUT_BYTES, |head| {
        looks_like_prof(head) || crate::profile::may_be_json(head)
    })?;
    from_bytes(&bytes, path)
}

impl Profile {
    /// Imports a cProfile `.prof` file (see
    /// [`emit::prof`](crate::emit::prof)); use
    /// [`prof::read`](read) for the notes on figures that could not be
    /// represented exactly.
    pub fn import_prof(path: impl AsRef<Path>) -> Result<Profile, Error> {
        read(path.as_ref()).map(|i| i.profile)
    }
}

/// Writes `profile`, merged over all threads, as a `.prof` (marshal) to `w`,
/// with one root per thread and one over them (see [`with_roots`]).
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    write_stats(&with_roots(profile).stats(), w)
}

/// The function name of the root over every thread that [`write()`] adds:
/// the key `(PROGRAM, 0, "<module>")`, which pstats prints
/// `workloads:0(<module>)`.
pub const MODULE_ROOT: &str = "<module>";

/// `profile` as the `.prof` shows it: a cProfile file has one root (the
/// script's `<module>`), and snakeviz draws its icicle from the one function
/// that nothing calls, so that every thread's work must hang from one root
/// for the viewers to reach it. Every thread's tree is put under a function
/// named after the thread, `("~", 0, "<thread NAME>")`, which pstats prints
/// as a built-in, `{thread NAME}` (a name that two threads share gets ` #2`,
/// ` #3`... from the second on), and those under one `(PROGRAM, 0,
/// "<module>")`, printed `PROGRAM:0(<module>)`. Both have no time of their
/// own and one call each, so the totals' time is unchanged while the call
/// counts gain one per thread plus one, and each has the cumulative time of
/// what it holds: a thread's root the thread's profiled time, the module the
/// sum over threads. Threads that recorded nothing get no root. A profile
/// that already has one root (one thread whose calls all start in one
/// function that nothing calls), a profile read from a cProfile file (its
/// clock is `cProfile`: its roots are the file's own) and a profile with no
/// calls are returned as they are, borrowed (not copied). [`from_bytes`] removes these
/// roots again.
pub fn with_roots(profile: &Profile) -> Cow<'_, Profile> {
    let busy: Vec<usize> = (0..profile.threads.len())
        .filter(|&t| !profile.threads[t].nodes.is_empty())
        .collect();
    // A profile read from a cProfile file keeps the file's own roots.
    let imported = profile.meta.clock == "cProfile";
    if busy.is_empty() || imported || has_one_root(profile, &busy) {
        return Cow::Borrowed(profile);
    }
    let mut sites = profile.sites.clone();
    let module = sites.len() as u32;
    let program = if profile.meta.program.trim().is_empty() {
        "profile"
    } else {
        profile.meta.program.trim()
    };
    sites.push(SiteInfo::new(MODULE_ROOT, "", program, 0));
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut threads = Vec::with_capacity(busy.len());
    for (k, &t) in busy.iter().enumerate() {
        let th = &profile.threads[t];
        let base = crate::emit::names::label_or(&th.name, "unnamed");
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let name = if *n == 1 {
            format!("<thread {base}>")
        } else {
            format!("<thread {base} #{n}>")
        };
        let site = sites.len() as u32;
        sites.push(SiteInfo::new(name, "", "~", 0));
        let total = th.root_time_ns();
        let mut nodes = Vec::with_capacity(th.nodes.len() + 2);
        // One call of the module in all: the first thread's tree holds it.
        nodes.push(Node::new(module, NO_PARENT, u64::from(k == 0), total));
        nodes.push(Node::new(site, 0, 1, total));
        nodes.extend(th.nodes.iter().map(|n| {
            let parent = n.parent().map_or(1, |p| p as u32 + 2);
            Node::new(n.site, parent, n.calls, n.time_ns)
        }));
        threads.push(ThreadProfile::new(th.id, th.name.clone(), th.pid, nodes));
    }
    Cow::Owned(Profile::new(profile.meta.clone(), sites, threads))
}

/// Writes the functions of `stats` (all of them: its order, filters and
/// limit are not applied) as a `.prof` to `w`. Use
/// [`Profile::thread_stats`] for one thread's file.
pub fn write_stats(stats: &Stats<'_>, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(&stats_to_bytes(stats)?)
}

/// The `.prof` bytes of `profile`, merged over all threads, as [`write()`]
/// writes them.
///
/// # Panics
///
/// If a file or function name is longer than `i32::MAX` bytes.
pub fn to_bytes(profile: &Profile) -> Vec<u8> {
    stats_to_bytes(&with_roots(profile).stats()).expect("a name longer than 2 GiB")
}

fn stats_to_bytes(stats: &Stats<'_>) -> io::Result<Vec<u8>> {
    let table = Table::with_callers(stats);
    let mut out = Vec::with_capacity(64 * table.rows.len() + 2);
    marshal::dict(&mut out);
    for row in &table.rows {
        key(&mut out, row)?;
        let f = &row.figures;
        marshal::small_tuple(&mut out, 5);
        marshal::int(&mut out, f.pcalls);
        marshal::int(&mut out, f.ncalls);
        marshal::float(&mut out, seconds(f.tottime_ns));
        marshal::float(&mut out, seconds(f.cumtime_ns));
        marshal::dict(&mut out);
        for (caller, e) in &row.callers {
            key(&mut out, &table.rows[*caller])?;
            edge(&mut out, e);
        }
        marshal::close(&mut out);
    }
    marshal::close(&mut out);
    Ok(out)
}

/// `(file, line, name)`.
fn key(out: &mut Vec<u8>, row: &Row<'_>) -> io::Result<()> {
    marshal::small_tuple(out, 3);
    marshal::string(out, row.file)?;
    marshal::int(out, u64::from(row.line));
    marshal::string(out, row.name)
}

/// A caller entry: `(nc, cc, tt, ct)`.
fn edge(out: &mut Vec<u8>, e: &Figures) {
    marshal::small_tuple(out, 4);
    marshal::int(out, e.ncalls);
    marshal::int(out, e.pcalls);
    marshal::float(out, seconds(e.tottime_ns));
    marshal::float(out, seconds(e.cumtime_ns));
}

/// Whether `bytes` look like a cProfile `.prof` (a marshalled dict) rather
/// than JSON: a marshal dict starts with `{` (or `0xFB`, with the reference
/// flag) followed by a tuple code or the end-of-dict `0`.
pub fn looks_like_prof(bytes: &[u8]) -> bool {
    match bytes {
        [first, ..] if *first == DICT | FLAG_REF => true,
        [DICT, next, ..] => {
            matches!(next & !FLAG_REF, SMALL_TUPLE | TUPLE) || matches!(*next, NULL | REF)
        }
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
        let b = stats_to_bytes(&p.stats()).unwrap();
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

    /// `{(file, 1, "f"): (1, 1, 0.0, 0.0, {})}` with `file` as an `a` str.
    fn one_function(file: &[u8]) -> Vec<u8> {
        let mut b = vec![b'{', b')', 3, b'a'];
        b.extend_from_slice(&(file.len() as i32).to_le_bytes());
        b.extend_from_slice(file);
        b.extend_from_slice(&[b'i', 1, 0, 0, 0, b'z', 1, b'f', b')', 5]);
        b.extend_from_slice(&[b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0]);
        for _ in 0..2 {
            b.push(b'g');
            b.extend_from_slice(&0.0f64.to_le_bytes());
        }
        b.extend_from_slice(b"{00");
        b
    }

    #[test]
    fn strings_that_are_not_utf8_are_read_lossily_and_counted() {
        // What marshal writes for "/tmp/\udcff/x.py" (surrogatepass).
        let b = one_function(b"/tmp/\xed\xb3\xbf/x.py");
        let import = from_bytes(&b, Path::new("x.prof")).unwrap();
        assert_eq!(import.not_utf8, 1);
        assert_eq!(
            import.profile.sites[0].file,
            "/tmp/\u{FFFD}\u{FFFD}\u{FFFD}/x.py"
        );
        let import = from_bytes(&one_function(b"ok.py"), Path::new("x.prof")).unwrap();
        assert_eq!(import.not_utf8, 0);
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
