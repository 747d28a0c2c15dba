//! Saved profiles: the versioned `profile.json` that [`Profile::save`]
//! writes and [`Profile::load`] reads.
//!
//! The file is one JSON object:
//!
//! ```text
//! {"format": "profiler-profile", "version": 1, "profile": { "meta": ..., "sites": [...], "threads": [...] }}
//! ```
//!
//! `profile` is the [`Profile`] as serde writes it (every field of the data
//! model, timelines included), so a saved profile and a live
//! [`snapshot`](crate::snapshot) are the same value: saving and loading gives
//! an equal profile, and every report made from either is the same.
//!
//! Loading checks, in this order, and says which check failed and where:
//!
//! 1. the file is JSON and complete (a syntax error or a truncated file is
//!    reported with serde_json's line and column);
//! 2. it is a profile (`"format": "profiler-profile"`);
//! 3. its version is one this build reads ([`FORMAT_VERSION`]; a file from a
//!    newer profiler is refused, saying both versions);
//! 4. the profile's structure: serde's field and type checks, then
//!    [`Profile::validate`], that timeline spans name existing sites, and that
//!    the totals of calls and of nanoseconds fit in 63 bits (so that no sum in
//!    the reports can overflow).
//!
//! [`load_any`] also reads cProfile's `.prof` files (see
//! [`import_prof`](crate::profile::import_prof)), telling the two apart by
//! their first bytes.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::profile::Profile;

/// The value of the `"format"` member that marks a profile file.
pub const FORMAT_MARKER: &str = "profiler-profile";

/// The version of the file format that this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// The largest input file the loaders read: 1 GiB. A larger file, or a
/// stream that does not end (`/dev/zero`), is refused once this much was
/// read, instead of filling memory.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Reads at most `limit` bytes of `path` (a file, a pipe or a device) for
/// the loaders ([`Profile::load`], [`load_any`], the command-line tool, with
/// [`MAX_INPUT_BYTES`]); a file with more is refused, naming the limit.
///
/// Reading stops early when the first block already shows that the input is
/// neither a `.prof` nor JSON (`/dev/zero`): what was read is returned, and
/// [`parse`] reports the same error it would for the whole file.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    const BLOCK: u64 = 64 << 10;
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // A regular file says its size: refuse a large one before reading it.
    let known = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(len) = known.filter(|&len| len > limit) {
        return Err(too_large(path, Some(len), limit));
    }
    let mut bytes = Vec::with_capacity(known.map_or(BLOCK, |n| n.min(limit)) as usize);
    let mut reader = file.take(limit.saturating_add(1));
    (&mut reader)
        .take(BLOCK)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 == BLOCK && !cannot_be_a_profile(&bytes) {
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
    }
    if bytes.len() as u64 > limit {
        return Err(too_large(path, None, limit));
    }
    Ok(bytes)
}

/// Whether the first bytes of a file show it is neither a `.prof` nor JSON:
/// its first byte that is not whitespace (after a byte-order mark) cannot
/// start a JSON value.
fn cannot_be_a_profile(head: &[u8]) -> bool {
    if looks_like_prof(head) {
        return false;
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b) => !matches!(
            b,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        ),
        None => false,
    }
}

fn too_large(path: &Path, len: Option<u64>, limit: u64) -> Error {
    let size = match len {
        Some(len) => format!("{len} bytes"),
        None => "more than that".to_owned(),
    };
    Error::format(
        path,
        format!(
            "too large: the limit on an input is {limit} bytes{}, the file holds {size}",
            in_units(limit)
        ),
    )
}

/// ` (1 GiB)`: `n` in the largest binary unit that divides it, if any.
fn in_units(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n % (1 << shift) == 0 {
            return format!(" ({} {unit})", n >> shift);
        }
    }
    String::new()
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'static str,
    version: u64,
    profile: &'a Profile,
}

/// The outer object, read without the profile itself (skipped, not built).
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<serde_json::Value>,
    #[serde(default)]
    profile: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    profile: Profile,
}

/// Writes `profile` as a versioned profile file (see the module docs) to `w`.
pub fn write(profile: &Profile, w: &mut dyn Write) -> std::io::Result<()> {
    let envelope = EnvelopeOut {
        format: FORMAT_MARKER,
        version: FORMAT_VERSION,
        profile,
    };
    serde_json::to_writer(&mut *w, &envelope)?;
    w.write_all(b"\n")
}

/// The profile file's bytes (see [`write()`]).
pub fn to_bytes(profile: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a `Vec` fails only if serialization fails, and every part of
    // the model serializes (maps have string keys, floats are finite or null).
    write(profile, &mut out).unwrap_or_default();
    out
}

/// Reads a profile file's bytes. `path` is only used in error messages.
///
/// The checks and their messages are those of the module docs.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Profile, Error> {
    // A UTF-8 byte-order mark (some Windows editors write one) is not JSON,
    // but says nothing wrong about the rest: skip it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::format(path, "empty file: not a profile"));
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => Error::format(
            path,
            format!(
                "truncated: the JSON ends early (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
            Error::format(path, format!("not JSON: {e}"))
        }
        // The one data error of a JSON object with these members: one of
        // them given twice.
        serde_json::error::Category::Data if e.to_string().starts_with("duplicate field") => {
            Error::format(path, format!("not a profile: {e}"))
        }
        serde_json::error::Category::Data => Error::format(
            path,
            format!(
                "not a profile: the JSON is not an object with \"format\": \"{FORMAT_MARKER}\""
            ),
        ),
    })?;
    match &header.format {
        Some(serde_json::Value::String(s)) if s == FORMAT_MARKER => {}
        Some(other) => {
            return Err(Error::format(
                path,
                format!("not a profile: \"format\" is {other}, not \"{FORMAT_MARKER}\""),
            ));
        }
        None => {
            return Err(Error::format(
                path,
                format!("not a profile: no \"format\": \"{FORMAT_MARKER}\" marker"),
            ));
        }
    }
    match &header.version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(FORMAT_VERSION) => {}
        Some(serde_json::Value::Number(n)) if n.as_u64().is_some_and(|v| v > FORMAT_VERSION) => {
            return Err(Error::format(
                path,
                format!(
                    "written by a newer profiler: version {n}, this build reads {FORMAT_VERSION}"
                ),
            ));
        }
        Some(other) => {
            return Err(Error::format(
                path,
                format!("unknown format version {other}: this build reads {FORMAT_VERSION}"),
            ));
        }
        None => {
            return Err(Error::format(
                path,
                "not a profile: the \"version\" member is missing",
            ));
        }
    }
    if header.profile.is_none() {
        return Err(Error::format(
            path,
            "invalid profile: the \"profile\" member is missing",
        ));
    }
    let envelope: EnvelopeIn = serde_json::from_slice(bytes)
        .map_err(|e| Error::format(path, format!("invalid profile: {e}")))?;
    let profile = envelope.profile;
    check(&profile).map_err(|e| Error::format(path, format!("invalid profile: {e}")))?;
    Ok(profile)
}

/// The structural checks made on a loaded profile: [`Profile::validate`],
/// timeline spans naming existing sites, and totals that fit in 63 bits.
pub fn check(profile: &Profile) -> Result<(), String> {
    profile.validate()?;
    let n_sites = profile.sites.len();
    let mut calls: u128 = 0;
    let mut time: u128 = 0;
    for t in &profile.threads {
        for n in &t.nodes {
            calls += u128::from(n.calls);
            time += u128::from(n.time_ns);
        }
        if let Some((i, s)) = t
            .timeline
            .iter()
            .enumerate()
            .find(|(_, s)| s.site as usize >= n_sites)
        {
            return Err(format!(
                "thread {} ({}): timeline span {i} names site {} of {n_sites}",
                t.id, t.name, s.site
            ));
        }
        if let Some(i) = t.timeline.iter().position(|s| {
            s.start_ns
                .checked_add(s.duration_ns)
                .is_none_or(|e| e > MAX_TOTAL)
        }) {
            return Err(format!(
                "thread {} ({}): timeline span {i} ends after 2^63 ns",
                t.id, t.name
            ));
        }
    }
    if calls > u128::from(MAX_TOTAL) {
        return Err(format!("{calls} calls in all: more than 2^63"));
    }
    if time > u128::from(MAX_TOTAL) {
        return Err(format!(
            "the nodes' times add up to {time} ns: more than 2^63"
        ));
    }
    Ok(())
}

/// The largest total of calls or nanoseconds a loaded profile may hold.
const MAX_TOTAL: u64 = i64::MAX as u64;

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

/// Reads a saved profile (`profile.json`) or a cProfile `.prof`, whichever
/// the file holds (see [`looks_like_prof`]). Notes about a `.prof` whose
/// figures could not all be represented exactly are dropped; use
/// [`import_prof::read`](crate::profile::import_prof::read) to get them.
pub fn load_any(path: &Path) -> Result<Profile, Error> {
    let bytes = read_bytes(path, MAX_INPUT_BYTES)?;
    if looks_like_prof(&bytes) {
        Ok(crate::profile::import_prof::from_bytes(&bytes, path)?.profile)
    } else {
        parse(&bytes, path)
    }
}

impl Profile {
    /// Saves the profile as a versioned `profile.json` (see
    /// [`profile::file`](crate::profile::file)), atomically: the file appears
    /// complete or not at all.
    ///
    /// ```
    /// # fn main() -> Result<(), profiler::Error> {
    /// let p = profiler::snapshot();
    /// let path = std::env::temp_dir().join(format!("doc-{}.json", std::process::id()));
    /// p.save(&path)?;
    /// assert_eq!(profiler::Profile::load(&path)?, p);
    /// # std::fs::remove_file(&path).ok();
    /// # Ok(())
    /// # }
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        crate::emit::write_atomic(path.as_ref(), |w| write(self, w))
    }

    /// Loads a profile saved by [`Profile::save`]. The error says what is
    /// wrong and where: not JSON or truncated (with the line and column), not
    /// a profile, a newer format version, or an invalid structure. At most
    /// [`MAX_INPUT_BYTES`] are read.
    pub fn load(path: impl AsRef<Path>) -> Result<Profile, Error> {
        let path = path.as_ref();
        let bytes = read_bytes(path, MAX_INPUT_BYTES)?;
        parse(&bytes, path)
    }

    /// Loads a saved `profile.json` or imports a cProfile `.prof`, whichever
    /// the file holds (see [`load_any`]).
    pub fn load_any(path: impl AsRef<Path>) -> Result<Profile, Error> {
        load_any(path.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, SiteInfo, Span, ThreadProfile};

    fn sample() -> Profile {
        let meta = Metadata {
            program: "demo".into(),
            pid: 42,
            start_unix_s: 1_700_000_000.123_456_7,
            ticks_per_second: 2.999_999_987e9,
            ..Metadata::default()
        };
        Profile::new(
            meta,
            vec![
                SiteInfo::new("main", "demo", "src/main.rs", 3),
                SiteInfo::new("naïve", "demo::x", "src/x.rs", 9),
            ],
            vec![
                ThreadProfile::new(
                    1,
                    "main",
                    42,
                    vec![
                        Node::new(0, NO_PARENT, 1, 900),
                        Node::new(1, 0, u64::MAX / 4, 800),
                    ],
                )
                .with_timeline(vec![Span::new(1, 5, 800), Span::new(0, 0, 900)], 3),
            ],
        )
    }

    fn err(bytes: &[u8]) -> String {
        parse(bytes, Path::new("p.json")).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_is_exact() {
        let p = sample();
        let bytes = to_bytes(&p);
        assert!(bytes.starts_with(br#"{"format":"profiler-profile","version":1,"profile":{"#));
        assert_eq!(parse(&bytes, Path::new("x")).unwrap(), p);
    }

    #[test]
    fn errors_say_which_and_where() {
        let good = to_bytes(&sample());
        assert_eq!(err(b""), "p.json: empty file: not a profile");
        let e = err(&good[..good.len() / 2]);
        assert!(
            e.starts_with("p.json: truncated: the JSON ends early (line 1, column "),
            "{e}"
        );
        let e = err(b"\x00\x01binary");
        assert!(
            e.starts_with("p.json: not JSON: expected value at line 1 column 1"),
            "{e}"
        );
        let e = err(b"[1, 2]");
        assert!(e.starts_with("p.json: not a profile"), "{e}");
        let e = err(br#"{"traceEvents": []}"#);
        assert_eq!(
            e,
            "p.json: not a profile: no \"format\": \"profiler-profile\" marker"
        );
        let future =
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("\"version\":1", "\"version\":7", 1);
        assert_eq!(
            err(future.as_bytes()),
            "p.json: written by a newer profiler: version 7, this build reads 1"
        );
        let zero = String::from_utf8(good.clone()).unwrap().replacen(
            "\"version\":1",
            "\"version\":\"1\"",
            1,
        );
        assert_eq!(
            err(zero.as_bytes()),
            "p.json: unknown format version \"1\": this build reads 1"
        );
        let bad_site =
            String::from_utf8(good.clone())
                .unwrap()
                .replacen("{\"site\":1,", "{\"site\":9,", 1);
        let e = err(bad_site.as_bytes());
        assert_eq!(
            e,
            "p.json: invalid profile: thread 1 (main): node 1 names site 9 of 2"
        );
        let wrong_type =
            String::from_utf8(good)
                .unwrap()
                .replacen("\"calls\":1,", "\"calls\":-1,", 1);
        let e = err(wrong_type.as_bytes());
        assert!(
            e.starts_with("p.json: invalid profile: invalid value: integer `-1`"),
            "{e}"
        );
        assert!(e.contains("at line 1 column"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_a_duplicate_key_named() {
        let good = to_bytes(&sample());
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&good);
        assert_eq!(parse(&bom, Path::new("x")).unwrap(), sample());
        let dup = String::from_utf8(good).unwrap().replacen(
            "\"version\":1,",
            "\"version\":1,\"version\":1,",
            1,
        );
        let e = err(dup.as_bytes());
        assert!(
            e.starts_with("p.json: not a profile: duplicate field `version` at line 1 column "),
            "{e}"
        );
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let dir = std::env::temp_dir().join(format!("profiler-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("big.json");
        std::fs::write(&f, vec![b' '; 4096]).unwrap();
        let e = read_bytes(&f, 1024).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "too large: the limit on an input is 1024 bytes (1 KiB), the file holds 4096 bytes"
            ),
            "{e}"
        );
        assert_eq!(read_bytes(&f, 4096).unwrap().len(), 4096);
        #[cfg(target_os = "linux")]
        {
            // Not a profile: the first block is enough to tell.
            let zero = read_bytes(Path::new("/dev/zero"), MAX_INPUT_BYTES).unwrap();
            assert_eq!(zero.len(), 64 << 10);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn totals_must_fit() {
        let mut p = sample();
        p.threads[0].nodes[1].calls = u64::MAX;
        let e = err(&to_bytes(&p));
        assert!(e.contains("calls in all: more than 2^63"), "{e}");
        let mut p = sample();
        p.threads[0].timeline[0].site = 5;
        let e = err(&to_bytes(&p));
        assert!(e.contains("timeline span 0 names site 5 of 2"), "{e}");
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
