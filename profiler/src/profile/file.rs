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
//!    [`Profile::validate`] (trees, timeline spans naming existing sites,
//!    totals of calls and of nanoseconds that fit in 63 bits).
//!
//! [`load`](crate::load) also reads cProfile's `.prof` files, telling the
//! two apart by their first bytes.

use std::io::Write;
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

/// Whether the first bytes of a file may start a JSON value (after a
/// byte-order mark and whitespace): what the bounded reader asks before it
/// reads past the first block.
pub(crate) fn may_be_json(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b) => matches!(
            b,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        ),
        None => true,
    }
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

/// The whole file, read in one pass.
#[derive(Deserialize)]
struct Whole {
    #[serde(default)]
    format: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<serde_json::Value>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    profile: Profile,
}

/// Writes `profile` as a versioned profile file (see the module docs) to `w`.
pub(crate) fn write(profile: &Profile, w: &mut dyn Write) -> std::io::Result<()> {
    let envelope = EnvelopeOut {
        format: FORMAT_MARKER,
        version: FORMAT_VERSION,
        profile,
    };
    // Serialized into memory first, then written at once: token by token
    // through a `dyn Write` costs a call per token.
    let mut bytes = serde_json::to_vec(&envelope)?;
    bytes.push(b'\n');
    w.write_all(&bytes)
}

/// The profile file's bytes (see [`write()`]).
#[cfg(test)]
fn to_bytes(profile: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a `Vec` fails only if serialization fails, and every part of
    // the model serializes (maps have string keys, floats are finite or null).
    write(profile, &mut out).unwrap_or_default();
    out
}

/// Reads a profile file's bytes. `path` is only used in error messages.
///
/// The checks and their messages are those of the module docs.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<Profile, Error> {
    // A UTF-8 byte-order mark (some Windows editors write one) is not JSON,
    // but says nothing wrong about the rest: skip it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::format(path, "empty file: not a profile"));
    }
    // A good file is read in one pass; only a file that fails it is read
    // again, member by member, to say what is wrong.
    if let Ok(Whole {
        format: Some(serde_json::Value::String(format)),
        version: Some(serde_json::Value::Number(version)),
        profile: Some(profile),
    }) = serde_json::from_slice::<Whole>(bytes)
    {
        if format == FORMAT_MARKER && version.as_u64() == Some(FORMAT_VERSION) {
            super::check(&profile)
                .map_err(|e| Error::format(path, format!("invalid profile: {e}")))?;
            return Ok(profile);
        }
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
    super::check(&profile).map_err(|e| Error::format(path, format!("invalid profile: {e}")))?;
    Ok(profile)
}

impl Profile {
    /// Saves the profile as a versioned `profile.json` (see
    /// [`load`](crate::load)), atomically: the file appears
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
        crate::fs::write_atomic(path.as_ref(), |w| write(self, w))
    }

    /// Loads a profile saved by [`Profile::save`]. The error says what is
    /// wrong and where: not JSON or truncated (with the line and column), not
    /// a profile, a newer format version, or an invalid structure. At most
    /// [`MAX_INPUT_BYTES`] are read.
    pub fn load(path: impl AsRef<Path>) -> Result<Profile, Error> {
        let path = path.as_ref();
        let bytes = crate::fs::read_bounded(path, MAX_INPUT_BYTES, may_be_json)?;
        parse(&bytes, path)
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
}
