//! From a pstats dict, read as marshal values, to [`PstatsFunction`]s: the
//! keys `(file, line, name)` (their strings interned), the counts, the times
//! as nanoseconds, and the caller entries.
//!
//! - A value of the wrong shape is an error that gives the byte offset and
//!   names the function.
//! - Caller entries that are bare counts (the pure-Python `profile` module
//!   writes those) are accepted; the edge's times are then the function's,
//!   shared in proportion to calls.
//! - Caller entries naming a function that has no entry of its own are left
//!   out (the calls count as calls from outside) and counted.
//! - Marshal's back-references let a small file name one long string from
//!   many keys: the strings copied out (each function's file and name) may
//!   add up to [`MAX_STRING_BYTES`] (256 MiB); a file that needs more is
//!   refused, naming the limit.

use std::collections::HashMap;

use super::marshal::{self, Obj, Res, Val};
use crate::stats::{Figures, std_name};

/// The most bytes of text an import may copy out of the file: the file name
/// and the name of every function, each counted once per function that
/// holds it. Marshal's back-references let a small file name one long string
/// from many keys; copying it once per key would need memory without bound.
/// Real cProfile dumps need a few megabytes.
pub const MAX_STRING_BYTES: usize = 256 << 20;

/// One function of a pstats dict, as the file holds it (times in
/// nanoseconds).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PstatsFunction {
    /// The code's file name (`~` for built-ins).
    pub file: String,
    /// The code's first line (0 for built-ins).
    pub line: u32,
    /// The function's name.
    pub name: String,
    /// `nc`, `cc`, `tt` and `ct`.
    pub figures: Figures,
    /// The caller entries whose caller has an entry of its own.
    pub callers: Vec<PstatsEdge>,
    /// Caller entries naming a function without an entry (left out).
    pub unknown_callers: usize,
}

/// A caller entry of a [`PstatsFunction`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct PstatsEdge {
    /// The caller: an index into the list of functions the decoder returns.
    pub caller: usize,
    /// The calls along the edge: `nc`, `cc`, `tt`, `ct`.
    pub figures: Figures,
    /// Whether the entry held only a call count (Python's `profile`
    /// module); the times are then estimated.
    pub counts_only: bool,
}

fn count(o: &Obj, what: &dyn Fn() -> String) -> Res<u64> {
    match o.v {
        Val::Int(i) if (0..=i128::from(i64::MAX)).contains(&i) => Ok(i as u64),
        Val::Bool(b) => Ok(u64::from(b)),
        Val::Int(i) if i < 0 => Err(format!("byte {}: {} is negative ({i})", o.at, what())),
        Val::Int(_) | Val::BigInt => Err(format!("byte {}: {} is larger than 2^63", o.at, what())),
        ref v => Err(format!(
            "byte {}: {} is {}, not an int",
            o.at,
            what(),
            v.kind()
        )),
    }
}

/// Seconds as nanoseconds. Negative times (Python's `profile` module can
/// write those after its bias correction) become 0.
fn nanos(o: &Obj, what: &dyn Fn() -> String) -> Res<u64> {
    let x = match o.v {
        Val::Float(x) => x,
        Val::Int(i) => i as f64,
        Val::Bool(b) => f64::from(u8::from(b)),
        ref v => {
            return Err(format!(
                "byte {}: {} is {}, not a number",
                o.at,
                what(),
                v.kind()
            ));
        }
    };
    if x.is_nan() {
        return Err(format!("byte {}: {} is not a number (nan)", o.at, what()));
    }
    let ns = (x * 1e9).round();
    if ns >= i64::MAX as f64 {
        return Err(format!("byte {}: {} is too large ({x} s)", o.at, what()));
    }
    Ok(if ns > 0.0 { ns as u64 } else { 0 })
}

/// A function key, its strings interned: `(file, line, name)`.
type Key = (u32, u32, u32);

/// The distinct strings of the keys. A string object met again through a
/// back-reference is found by its address, so a long string shared by many
/// keys is hashed once, not once per key.
#[derive(Default)]
struct Strings<'a> {
    by_object: HashMap<*const Obj, u32>,
    by_text: HashMap<&'a str, u32>,
    texts: Vec<&'a str>,
}

impl<'a> Strings<'a> {
    fn intern(&mut self, o: &'a Obj, text: &'a str) -> u32 {
        let ptr: *const Obj = o;
        if let Some(&id) = self.by_object.get(&ptr) {
            return id;
        }
        let next = self.texts.len() as u32;
        let id = *self.by_text.entry(text).or_insert(next);
        if id == next {
            self.texts.push(text);
        }
        self.by_object.insert(ptr, id);
        id
    }
}

fn key_of<'a>(o: &'a Obj, strings: &mut Strings<'a>, what: &dyn Fn() -> String) -> Res<Key> {
    let Val::Tuple(items) = &o.v else {
        return Err(format!(
            "byte {}: {} is {}; cProfile writes (file, line, name)",
            o.at,
            what(),
            o.v.kind()
        ));
    };
    match &items[..] {
        [f, l, n] => {
            let (Val::Str(file), Val::Str(name)) = (&f.v, &n.v) else {
                return Err(format!(
                    "byte {}: {} holds {} and {} where cProfile writes a file and a function name (str)",
                    o.at,
                    what(),
                    f.v.kind(),
                    n.v.kind()
                ));
            };
            let line = match l.v {
                Val::Int(i) if (0..=i128::from(u32::MAX)).contains(&i) => i as u32,
                ref v => {
                    return Err(format!(
                        "byte {}: the line number in {} is {}, not an int from 0 to 2^32-1",
                        l.at,
                        what(),
                        match v {
                            Val::Int(i) => i.to_string(),
                            v => v.kind(),
                        }
                    ));
                }
            };
            Ok((strings.intern(f, file), line, strings.intern(n, name)))
        }
        _ => Err(format!(
            "byte {}: {} is {}; cProfile writes (file, line, name)",
            o.at,
            what(),
            o.v.kind()
        )),
    }
}

/// Reads the marshalled pstats dict: every function with its figures and
/// caller entries, in the file's order (a key given twice keeps its first
/// place and its last value, as Python's dict does). Errors give the byte
/// offset and what is wrong. Strings that are not UTF-8 are read with
/// U+FFFD (see [`Import::not_utf8`](super::Import::not_utf8)).
#[cfg(test)]
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<PstatsFunction>, String> {
    parse_counting(bytes).map(|(funcs, _)| funcs)
}

/// [`parse`], and how many strings were not valid UTF-8.
pub(super) fn parse_counting(bytes: &[u8]) -> Result<(Vec<PstatsFunction>, usize), String> {
    let (top, not_utf8) = marshal::read(bytes)?;
    let Val::Dict(entries) = &top.v else {
        return Err(format!(
            "not a cProfile stats dict: the file holds {}",
            top.v.kind()
        ));
    };
    // A budget on the work: references let a small file name the same big
    // callers dict many times over.
    let mut budget = bytes.len().saturating_mul(4).saturating_add(64);
    let mut strings = Strings::default();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut raw: Vec<(Key, &Obj)> = Vec::new();
    for (k, v) in entries {
        budget = budget
            .checked_sub(1)
            .ok_or("the stats dict refers to its entries too many times")?;
        let key = key_of(k, &mut strings, &|| "a function key".to_owned())?;
        match index.get(&key) {
            Some(&i) => raw[i].1 = &**v,
            None => {
                index.insert(key, raw.len());
                raw.push((key, &**v));
            }
        }
    }
    // The strings copied out of the file: each function's file and name.
    let mut text_bytes: usize = 0;
    for ((file, _, name), _) in &raw {
        text_bytes = text_bytes
            .saturating_add(strings.texts[*file as usize].len())
            .saturating_add(strings.texts[*name as usize].len());
    }
    if text_bytes > MAX_STRING_BYTES {
        return Err(format!(
            "the functions' file names and names add up to {} MiB, more than the limit of {} MiB \
             (back-references let one long string be named by many keys)",
            text_bytes >> 20,
            MAX_STRING_BYTES >> 20
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    for &((file, line, name), v) in &raw {
        let (file, name) = (strings.texts[file as usize], strings.texts[name as usize]);
        let label = || std_name(file, line, name);
        let Val::Tuple(items) = &v.v else {
            return Err(format!(
                "byte {}: the value of {} is {}; cProfile writes (cc, nc, tt, ct, callers)",
                v.at,
                label(),
                v.v.kind()
            ));
        };
        let [cc, nc, tt, ct, callers] = &items[..] else {
            return Err(format!(
                "byte {}: the value of {} is {}; cProfile writes 5 (cc, nc, tt, ct, callers)",
                v.at,
                label(),
                v.v.kind()
            ));
        };
        let figures = Figures {
            pcalls: count(cc, &|| format!("the primitive calls of {}", label()))?,
            ncalls: count(nc, &|| format!("the calls of {}", label()))?,
            tottime_ns: nanos(tt, &|| format!("the tottime of {}", label()))?,
            cumtime_ns: nanos(ct, &|| format!("the cumtime of {}", label()))?,
        };
        let Val::Dict(entries) = &callers.v else {
            return Err(format!(
                "byte {}: the callers of {} are {}, not a dict",
                callers.at,
                label(),
                callers.v.kind()
            ));
        };
        let mut edges: Vec<PstatsEdge> = Vec::new();
        let mut edge_at: HashMap<usize, usize> = HashMap::new();
        let mut unknown = 0;
        for (ck, cv) in entries {
            budget = budget
                .checked_sub(1)
                .ok_or("the stats dict refers to its entries too many times")?;
            let caller_key = key_of(ck, &mut strings, &|| format!("a caller key of {}", label()))?;
            let entry = || format!("a caller entry of {}", label());
            let edge = match &cv.v {
                Val::Tuple(items) => {
                    let [nc, cc, tt, ct] = &items[..] else {
                        return Err(format!(
                            "byte {}: {} is {}; cProfile writes 4 (nc, cc, tt, ct)",
                            cv.at,
                            entry(),
                            cv.v.kind()
                        ));
                    };
                    (
                        Figures {
                            ncalls: count(nc, &entry)?,
                            pcalls: count(cc, &entry)?,
                            tottime_ns: nanos(tt, &entry)?,
                            cumtime_ns: nanos(ct, &entry)?,
                        },
                        false,
                    )
                }
                Val::Int(_) | Val::Bool(_) => {
                    let n = count(cv, &|| format!("a caller count of {}", label()))?;
                    (
                        Figures {
                            ncalls: n,
                            pcalls: n,
                            tottime_ns: 0,
                            cumtime_ns: 0,
                        },
                        true,
                    )
                }
                v => {
                    return Err(format!(
                        "byte {}: {} is {}; cProfile writes (nc, cc, tt, ct)",
                        cv.at,
                        entry(),
                        v.kind()
                    ));
                }
            };
            let Some(&caller) = index.get(&caller_key) else {
                unknown += 1;
                continue;
            };
            let e = PstatsEdge {
                caller,
                figures: edge.0,
                counts_only: edge.1,
            };
            match edge_at.get(&caller) {
                Some(&i) => edges[i] = e,
                None => {
                    edge_at.insert(caller, edges.len());
                    edges.push(e);
                }
            }
        }
        out.push(PstatsFunction {
            file: file.to_owned(),
            line,
            name: name.to_owned(),
            figures,
            callers: edges,
            unknown_callers: unknown,
        });
    }
    estimate_count_only_edges(&mut out);
    Ok((out, not_utf8))
}

/// Gives count-only caller entries times: the function's, in proportion to
/// the edge's share of its calls.
fn estimate_count_only_edges(funcs: &mut [PstatsFunction]) {
    for f in funcs {
        let fig = f.figures;
        for e in &mut f.callers {
            if e.counts_only && fig.ncalls > 0 {
                let share = |t: u64| {
                    (u128::from(t) * u128::from(e.figures.ncalls) / u128::from(fig.ncalls)) as u64
                };
                e.figures.tottime_ns = share(fig.tottime_ns);
                e.figures.cumtime_ns = share(fig.cumtime_ns);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::prof::to_profile;

    #[test]
    fn marshal_codes_and_references() {
        // {("a.py", 1, "f"): (1, 1, 0.5, 0.5, {})} with the key flagged and
        // a second entry whose caller key is a reference to it.
        let mut b = vec![0xfb]; // dict, flagged: ref 0
        b.extend_from_slice(&[0xa9, 3]); // tuple, flagged: ref 1
        b.extend_from_slice(&[0xda, 4]); // short ascii, flagged: ref 2
        b.extend_from_slice(b"a.py");
        b.extend_from_slice(&[b'i', 1, 0, 0, 0]);
        b.extend_from_slice(&[b'Z', 1, b'f']);
        b.extend_from_slice(&[b')', 5, b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0, b'g']);
        b.extend_from_slice(&0.5f64.to_le_bytes());
        b.push(b'g');
        b.extend_from_slice(&0.5f64.to_le_bytes());
        b.extend_from_slice(b"{0");
        // Second key: ("a.py", 2, "g"), the file a reference to ref 2.
        b.extend_from_slice(&[b'(', 3, 0, 0, 0, b'r', 2, 0, 0, 0, b'l', 1, 0, 0, 0, 2, 0]);
        b.extend_from_slice(&[b'u', 1, 0, 0, 0, b'g']);
        b.extend_from_slice(&[b')', 5, b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0, b'g']);
        b.extend_from_slice(&0.25f64.to_le_bytes());
        b.push(b'f');
        b.push(4);
        b.extend_from_slice(b"0.25");
        b.extend_from_slice(&[b'{', b'r', 1, 0, 0, 0, b')', 4]);
        b.extend_from_slice(&[b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0, b'g']);
        b.extend_from_slice(&0.25f64.to_le_bytes());
        b.push(b'g');
        b.extend_from_slice(&0.25f64.to_le_bytes());
        b.extend_from_slice(b"00");
        let funcs = parse(&b).unwrap();
        assert_eq!(funcs.len(), 2);
        assert_eq!(
            (
                funcs[1].file.as_str(),
                funcs[1].line,
                funcs[1].name.as_str()
            ),
            ("a.py", 2, "g")
        );
        assert_eq!(funcs[1].callers[0].caller, 0);
        assert_eq!(funcs[1].figures.cumtime_ns, 250_000_000);
        // The file's own figures are not consistent (f's cumtime leaves no
        // room for g), which the import reports instead of hiding.
        let import = to_profile(&funcs, "t").unwrap();
        import.profile.validate().unwrap();
    }

    #[test]
    fn one_string_named_by_many_keys_is_counted_per_key() {
        // A 1 MiB file name shared by 300 keys: 300 MiB once copied.
        let len = 1usize << 20;
        let mut b = vec![b'{', b')', 3, b'a' | 0x80];
        b.extend_from_slice(&(len as i32).to_le_bytes());
        b.resize(b.len() + len, b'x');
        b.extend_from_slice(&[b'i', 0, 0, 0, 0, b'z' | 0x80, 1, b'f']);
        b.extend_from_slice(&[b')' | 0x80, 5, b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0]);
        for _ in 0..2 {
            b.push(b'g');
            b.extend_from_slice(&0.0f64.to_le_bytes());
        }
        b.extend_from_slice(b"{0");
        for line in 1..300u32 {
            b.extend_from_slice(&[b')', 3, b'r', 0, 0, 0, 0, b'i']);
            b.extend_from_slice(&line.to_le_bytes());
            b.extend_from_slice(&[b'r', 1, 0, 0, 0, b'r', 2, 0, 0, 0]);
        }
        b.push(b'0');
        let e = parse(&b).unwrap_err();
        assert!(
            e.contains("add up to 300 MiB, more than the limit of 256 MiB"),
            "{e}"
        );
        // The same keys once: fine.
        b.truncate(b.len() - 1 - 299 * 22);
        b.push(b'0');
        assert_eq!(parse(&b).unwrap().len(), 1);
    }

    #[test]
    fn errors_have_offsets() {
        assert!(parse(b"").unwrap_err().starts_with("truncated"));
        assert_eq!(
            parse(b"{)\x02z\x01ai\x01\x00\x00\x00N0").unwrap_err(),
            "byte 1: a function key is a tuple of 2 items; cProfile writes (file, line, name)"
        );
        assert!(
            parse(b"{r\x05\x00\x00\x00")
                .unwrap_err()
                .contains("reference 5 to no object")
        );
        assert!(
            parse(b"N")
                .unwrap_err()
                .starts_with("not a cProfile stats dict: the file holds None")
        );
        assert!(
            parse(b"Q")
                .unwrap_err()
                .contains("unknown or unsupported marshal code 0x51")
        );
        let deep: Vec<u8> = [b'[', 1, 0, 0, 0].repeat(200);
        assert!(
            parse(&deep)
                .unwrap_err()
                .contains("nested more than 64 deep")
        );
        assert!(parse(b"(").unwrap_err().starts_with("truncated"));
    }
}
