//! Import of Python's `.prof` files (cProfile's stats dict, marshalled) as
//! a [`Profile`], so that a Python program and its Rust port can be compared
//! with the same tools.
//!
//! # Reading
//!
//! The file is one marshal object (`reference/formats.md`, section 2). The
//! reader accepts every code CPython's own writer produces for that dict:
//! dict `{`, tuples `)` and `(`, ints `i`, `I` and `l`, floats `g` and `f`,
//! strings `z`, `Z`, `a`, `A`, `u`, `t` and `s` (read lossily when not
//! UTF-8), `None`, `True`, `False`, and
//! the back-references of marshal version 3 and later (the `0x80` flag and
//! `r`), which real cProfile dumps use. It never panics: a truncated file, an
//! unknown code, a bad reference, nesting deeper than a pstats dict can be,
//! or a value of the wrong shape is an error that gives the byte offset.
//! Caller entries that are bare counts (the pure-Python `profile` module
//! writes those) are accepted; their times are estimated (see below).
//!
//! # From pstats figures to a calling-context tree
//!
//! pstats keeps, per function `F`, `(cc, nc, tt, ct)` and, per caller `G`,
//! the same four figures for the calls along `G -> F`. This crate keeps a
//! calling-context tree and derives those figures from it
//! ([`stats`](crate::stats)). The import builds one tree (a thread named after
//! the file, process id 0) whose statistics are the file's:
//!
//! - One site per pstats key `(file, line, name)`, in the file's order, so
//!   rows keep pstats' order and print identically (`{built-in method ...}`
//!   included).
//! - Functions are visited callers first (a depth-first order in which every
//!   call edge goes forward unless it closes a cycle). Each function `F` owns
//!   a set of *outer* nodes: one node under a caller's node for each
//!   `G -> F` edge (split into several nodes where needed, see below), plus a
//!   root node for the calls from outside any profiled function (what is left
//!   of `nc`, `tt` and `ct` after the callers' shares).
//! - An outer node of edge `G -> F` has the edge's calls and self time
//!   (`tt` of the edge) and lasts `ct` of the edge; the rest of its time,
//!   `ct - tt`, is the room for its children. `F`'s children are laid end to
//!   end into that room: first the recursive calls (`F -> F`: a level-1 node
//!   holding the edge's primitive calls and lasting the edge's `ct`, with a
//!   level-2 node under it holding the nested calls), then one node per
//!   callee edge `F -> X` lasting that edge's `ct`. Where a child does not
//!   fit in one outer node it is split over consecutive ones (its calls on
//!   the first piece, its self time shared in proportion), and each piece
//!   becomes one of `X`'s outer nodes.
//! - Level-1 nodes are inside an outer `F`, so their calls are not primitive
//!   for `F`, and are the first `F -> F` on their path, so they are primitive
//!   for the edge; level-2 nodes are neither. Every other node is the
//!   outermost of its function and of its edge.
//!
//! **Exactness.** When the call graph has no cycles other than direct
//! recursion (`f` calling `f`), which covers most programs, every figure
//! comes out exactly, for every function and every edge: `nc` and `tt` of
//! functions and edges always (they are sums over nodes), and `cc` and `ct`
//! because in such a graph a call along `G -> F` is always an outermost call
//! of `F`, the room left in `F`'s outer nodes is exactly what its recursive
//! calls and callees need (pstats' figures satisfy `ct(F) = tt(F) +
//! sum over X != F of ct(F -> X)` exactly, cProfile's times being integer
//! nanoseconds), and a node's time is its self time plus its children's.
//! Times are the file's seconds rounded to nanoseconds (cProfile's own
//! unit), so the text reports print the same digits.
//!
//! **Limits.** Mutual recursion (`f -> g -> f`) cannot be rebuilt from pstats'
//! aggregates: which calls along `g -> f` were nested in another `f`, and how
//! the edges' times split between recursion levels, is not in the file. Such
//! an edge into a function already placed becomes leaf nodes holding its
//! calls and self time; `nc` and `tt` stay exact, while `cc` and `ct` of the
//! functions on the cycle (and the times of the functions calling them) may
//! differ. The import then checks its tree against the file and lists every
//! function and edge that differs in [`Import::inexact`] (the command-line
//! tool prints a one-line note). Also: caller entries naming a function that
//! has no entry of its own are dropped (the calls count as calls from
//! outside), and for count-only caller entries the edge's times are the
//! function's, shared in proportion to calls.
//!
//! **Size.** A function reached along many paths gets one outer node per
//! piece of its callers' room, so the tree can hold more nodes than the file
//! has entries (in practice a small multiple); a file whose tree would need
//! more than 20 million nodes is refused. Marshal's back-references let a
//! small file name one long string from many keys: the strings copied out
//! (each function's file and name) may add up to [`MAX_STRING_BYTES`]
//! (256 MiB); a file that needs more is refused, naming the limit. Strings
//! that are not UTF-8 (Python writes lone surrogates, from file names that
//! are not UTF-8, as such bytes) are read with U+FFFD and counted in
//! [`Import::not_utf8`].

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use crate::error::Error;
use crate::profile::{Metadata, NO_PARENT, Node, Profile, SiteInfo, ThreadProfile};
use crate::stats::{Figures, std_name};

/// The most nodes an import may build (see the module docs, "Limits").
const MAX_NODES: usize = 20_000_000;

/// Objects nested deeper than this are refused (a pstats dict needs 5).
const MAX_DEPTH: usize = 64;

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
    /// The caller: an index into the list [`parse`] returns.
    pub caller: usize,
    /// The calls along the edge: `nc`, `cc`, `tt`, `ct`.
    pub figures: Figures,
    /// Whether the entry held only a call count (Python's `profile`
    /// module); the times are then estimated.
    pub counts_only: bool,
}

/// A `.prof` turned into a [`Profile`], with notes on what could not be
/// represented exactly.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Import {
    /// The profile: one thread holding the file's calls.
    pub profile: Profile,
    /// One line per function or edge whose figures in `profile` differ from
    /// the file's (see the module docs, "Limits"), and notes on caller
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

/// The most differences [`Import::inexact`] lists; each names at most 256
/// bytes of a function's label.
pub const MAX_NOTES: usize = 1000;

// ---------------------------------------------------------------- marshal

#[derive(Debug)]
struct Obj {
    at: usize,
    v: Val,
}

#[derive(Debug)]
enum Val {
    Null,
    None,
    Bool(bool),
    Int(i128),
    /// An integer too large for `i128` (positive or not).
    BigInt,
    Float(f64),
    Str(String),
    Tuple(Vec<Rc<Obj>>),
    List,
    Dict(Vec<(Rc<Obj>, Rc<Obj>)>),
    Other(&'static str),
}

impl Val {
    fn kind(&self) -> String {
        match self {
            Val::Null => "the end-of-dict marker".into(),
            Val::None => "None".into(),
            Val::Bool(_) => "a bool".into(),
            Val::Int(_) | Val::BigInt => "an int".into(),
            Val::Float(_) => "a float".into(),
            Val::Str(_) => "a str".into(),
            Val::Tuple(items) => format!("a tuple of {} items", items.len()),
            Val::List => "a list".into(),
            Val::Dict(_) => "a dict".into(),
            Val::Other(k) => format!("a {k}"),
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    refs: Vec<Option<Rc<Obj>>>,
    /// Strings that were not valid UTF-8 (read lossily).
    not_utf8: usize,
}

type Res<T> = Result<T, String>;

impl Reader<'_> {
    fn truncated<T>(&self, what: &str) -> Res<T> {
        Err(format!(
            "truncated: the file ends at byte {} while reading {what}",
            self.b.len()
        ))
    }

    fn take(&mut self, n: usize, what: &str) -> Res<&[u8]> {
        if self.b.len() - self.pos < n {
            return self.truncated(what);
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn i32(&mut self, what: &str) -> Res<i32> {
        let s = self.take(4, what)?;
        Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// A length that must be non-negative and leave `unit` bytes per item.
    fn len(&mut self, at: usize, unit: usize, what: &str) -> Res<usize> {
        let n = self.i32(what)?;
        let n =
            usize::try_from(n).map_err(|_| format!("byte {at}: negative size {n} of {what}"))?;
        if n.saturating_mul(unit) > self.b.len() - self.pos {
            return self.truncated(what);
        }
        Ok(n)
    }

    fn text(&mut self, n: usize, what: &str) -> Res<String> {
        let s = self.take(n, what)?;
        let (text, valid) = match std::str::from_utf8(s) {
            Ok(text) => (text.to_owned(), true),
            Err(_) => (String::from_utf8_lossy(s).into_owned(), false),
        };
        self.not_utf8 += usize::from(!valid);
        Ok(text)
    }

    fn reserve(&mut self, flag: bool) -> Option<usize> {
        flag.then(|| {
            self.refs.push(None);
            self.refs.len() - 1
        })
    }

    fn fill(&mut self, slot: Option<usize>, obj: &Rc<Obj>) {
        if let Some(i) = slot {
            self.refs[i] = Some(Rc::clone(obj));
        }
    }

    fn object(&mut self, depth: usize) -> Res<Rc<Obj>> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return Err(format!(
                "byte {at}: objects nested more than {MAX_DEPTH} deep"
            ));
        }
        let code = self.u8("a type code")?;
        let flag = code & 0x80 != 0;
        let t = code & 0x7f;
        // Scalars join the reference table once read, containers before
        // their items, as CPython's reader does.
        let scalar = |v: Val| Obj { at, v };
        let obj = match t {
            b'0' => return Ok(Rc::new(scalar(Val::Null))),
            b'N' => return Ok(Rc::new(scalar(Val::None))),
            b'T' => return Ok(Rc::new(scalar(Val::Bool(true)))),
            b'F' => return Ok(Rc::new(scalar(Val::Bool(false)))),
            b'S' => return Ok(Rc::new(scalar(Val::Other("StopIteration")))),
            b'.' => return Ok(Rc::new(scalar(Val::Other("Ellipsis")))),
            b'r' => {
                let i = self.i32("a reference")?;
                let obj = usize::try_from(i)
                    .ok()
                    .and_then(|i| self.refs.get(i))
                    .ok_or_else(|| format!("byte {at}: reference {i} to no object"))?;
                return obj.clone().ok_or_else(|| {
                    format!("byte {at}: reference {i} to an object that is still being read")
                });
            }
            b'i' => scalar(Val::Int(i128::from(self.i32("an int")?))),
            b'I' => {
                let s = self.take(8, "an int64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                scalar(Val::Int(i128::from(i64::from_le_bytes(a))))
            }
            b'l' => scalar(self.long(at)?),
            b'g' => {
                let s = self.take(8, "a float")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                scalar(Val::Float(f64::from_le_bytes(a)))
            }
            b'f' => {
                let n = usize::from(self.u8("a float")?);
                let s = self.text(n, "a float")?;
                let x = s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("byte {at}: float text {s:?} is not a number"))?;
                scalar(Val::Float(x))
            }
            b'y' => {
                self.take(16, "a complex")?;
                scalar(Val::Other("complex"))
            }
            b'x' => {
                for _ in 0..2 {
                    let n = usize::from(self.u8("a complex")?);
                    self.take(n, "a complex")?;
                }
                scalar(Val::Other("complex"))
            }
            b'z' | b'Z' => {
                let n = usize::from(self.u8("a str")?);
                scalar(Val::Str(self.text(n, "a str")?))
            }
            b'a' | b'A' | b'u' | b't' | b's' => {
                // Python writes a str holding lone surrogates (file names
                // that are not UTF-8, decoded with surrogateescape) with
                // surrogatepass: bytes that are not UTF-8. pstats shows them;
                // so do we, with U+FFFD.
                let n = self.len(at, 1, "a str")?;
                scalar(Val::Str(self.text(n, "a str")?))
            }
            b')' | b'(' | b'[' | b'<' | b'>' => {
                let n = if t == b')' {
                    usize::from(self.u8("a tuple")?)
                } else {
                    self.len(at, 1, "a sequence")?
                };
                let slot = self.reserve(flag);
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let item = self.object(depth + 1)?;
                    if matches!(item.v, Val::Null) {
                        return Err(format!("byte {}: a sequence holds a NULL", item.at));
                    }
                    items.push(item);
                }
                let v = match t {
                    b')' | b'(' => Val::Tuple(items),
                    b'[' => Val::List,
                    _ => Val::Other("set"),
                };
                let obj = Rc::new(Obj { at, v });
                self.fill(slot, &obj);
                return Ok(obj);
            }
            b'{' => {
                let slot = self.reserve(flag);
                let mut pairs = Vec::new();
                loop {
                    let key = self.object(depth + 1)?;
                    if matches!(key.v, Val::Null) {
                        break;
                    }
                    let value = self.object(depth + 1)?;
                    if matches!(value.v, Val::Null) {
                        break;
                    }
                    pairs.push((key, value));
                }
                let obj = Rc::new(Obj {
                    at,
                    v: Val::Dict(pairs),
                });
                self.fill(slot, &obj);
                return Ok(obj);
            }
            _ => {
                return Err(format!(
                    "byte {at}: unknown or unsupported marshal code 0x{code:02x}"
                ));
            }
        };
        let obj = Rc::new(obj);
        if flag {
            self.refs.push(Some(Rc::clone(&obj)));
        }
        Ok(obj)
    }

    /// `l`: a signed digit count, then 15-bit digits, least significant first.
    fn long(&mut self, at: usize) -> Res<Val> {
        let n = self.i32("a long int")?;
        let size = n.unsigned_abs() as usize;
        if size.saturating_mul(2) > self.b.len() - self.pos {
            return self.truncated("a long int");
        }
        let mut value: i128 = 0;
        let mut big = false;
        for k in 0..size {
            let s = self.take(2, "a long int")?;
            let d = u16::from_le_bytes([s[0], s[1]]);
            if d > 0x7fff {
                return Err(format!("byte {at}: long int digit out of range"));
            }
            if k == size - 1 && d == 0 {
                return Err(format!("byte {at}: unnormalized long int"));
            }
            if k >= 8 {
                big |= d != 0;
            } else {
                value |= i128::from(d) << (15 * k);
            }
        }
        if big {
            return Ok(Val::BigInt);
        }
        Ok(Val::Int(if n < 0 { -value } else { value }))
    }
}

// ---------------------------------------------------------------- pstats

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
/// U+FFFD (see [`Import::not_utf8`]).
pub fn parse(bytes: &[u8]) -> Result<Vec<PstatsFunction>, String> {
    parse_counting(bytes).map(|(funcs, _)| funcs)
}

/// [`parse`], and how many strings were not valid UTF-8.
fn parse_counting(bytes: &[u8]) -> Result<(Vec<PstatsFunction>, usize), String> {
    let mut r = Reader {
        b: bytes,
        pos: 0,
        refs: Vec::new(),
        not_utf8: 0,
    };
    let top = r.object(0)?;
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
    Ok((out, r.not_utf8))
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

// ---------------------------------------------------------------- the tree

/// An outer node of a function: a node already in the tree, how long it
/// lasts, and its self time.
#[derive(Clone, Copy, Debug)]
struct Piece {
    node: usize,
    len: u64,
    self_ns: u64,
}

#[derive(Clone, Copy, Debug)]
enum Owner {
    /// Directly under outer node `k`.
    Direct(usize),
    /// Under the level-1 recursion node of outer node `k`.
    Level1(usize),
}

#[derive(Clone, Copy, Debug)]
enum Item {
    /// Self time of the level-1 recursion nodes.
    Level1Self,
    /// The level-2 (nested recursion) nodes.
    Level2,
    /// Calls along an edge to a function not yet placed: `(callee, edge)`.
    Forward(usize, usize),
    /// Calls along an edge to a function already placed (a cycle).
    Back(usize, usize),
}

struct Tree {
    nodes: Vec<Node>,
    self_ns: Vec<u64>,
}

impl Tree {
    fn add(&mut self, site: usize, parent: Option<usize>, calls: u64, self_ns: u64) -> usize {
        let parent = parent.map_or(NO_PARENT, |p| p as u32);
        self.nodes.push(Node::new(site as u32, parent, calls, 0));
        self.self_ns.push(self_ns);
        self.nodes.len() - 1
    }
}

fn share(total: u64, done: u64, take: u64, len: u64) -> u64 {
    if len == 0 {
        return if done == 0 { total } else { 0 };
    }
    let at = |x: u64| (u128::from(total) * u128::from(x) / u128::from(len)) as u64;
    at(done.saturating_add(take).min(len)) - at(done.min(len))
}

/// The order in which functions are placed: reverse post-order of a
/// depth-first walk along calls. Every edge goes forward in it except those
/// that close a cycle. The walk starts from the functions called from
/// outside (or by nobody), largest cumtime first, and follows the edges with
/// the largest cumtime first, so that a cycle is entered where the program
/// entered it and its heaviest calls go forward.
fn order(funcs: &[PstatsFunction], callees: &[Vec<(usize, usize)>]) -> Vec<usize> {
    let n = funcs.len();
    let mut seen = vec![false; n];
    let mut post = Vec::with_capacity(n);
    let entered_from_outside = |i: usize| {
        let f = &funcs[i];
        let from_callers: u64 = f
            .callers
            .iter()
            .fold(0u64, |a, e| a.saturating_add(e.figures.ncalls));
        f.callers.iter().all(|e| e.caller == i) || f.figures.ncalls > from_callers
    };
    let mut starts: Vec<usize> = (0..n).filter(|&i| entered_from_outside(i)).collect();
    starts.sort_by_key(|&i| std::cmp::Reverse(funcs[i].figures.cumtime_ns));
    starts.extend((0..n).filter(|&i| !entered_from_outside(i)));
    let by_weight: Vec<Vec<usize>> = callees
        .iter()
        .map(|list| {
            let mut l: Vec<(usize, usize)> = list.clone();
            l.sort_by_key(|&(x, k)| std::cmp::Reverse(funcs[x].callers[k].figures.cumtime_ns));
            l.into_iter().map(|(x, _)| x).collect()
        })
        .collect();
    for s in starts {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        while let Some((v, next)) = stack.last_mut() {
            let v = *v;
            if let Some(&w) = by_weight[v].get(*next) {
                *next += 1;
                if !seen[w] {
                    seen[w] = true;
                    stack.push((w, 0));
                }
            } else {
                post.push(v);
                stack.pop();
            }
        }
    }
    post.reverse();
    post
}

fn build_tree(funcs: &[PstatsFunction]) -> Result<Tree, String> {
    let n = funcs.len();
    // callees[g] = (f, index of the edge in funcs[f].callers), without self edges.
    let mut callees: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (f, func) in funcs.iter().enumerate() {
        for (k, e) in func.callers.iter().enumerate() {
            if e.caller != f {
                callees[e.caller].push((f, k));
            }
        }
    }
    let order = order(funcs, &callees);
    let mut rank = vec![0usize; n];
    for (r, &f) in order.iter().enumerate() {
        rank[f] = r;
    }
    let mut tree = Tree {
        nodes: Vec::new(),
        self_ns: Vec::new(),
    };
    let mut pieces: Vec<Vec<Piece>> = vec![Vec::new(); n];
    for &f in &order {
        if tree.nodes.len() > MAX_NODES {
            return Err(format!(
                "the call tree rebuilt from this file would need more than {MAX_NODES} nodes"
            ));
        }
        let func = &funcs[f];
        let fig = func.figures;
        let mut in_nc = 0u64;
        let mut in_tt = 0u64;
        let mut forward_ct = 0u64;
        let mut recursion: Option<Figures> = None;
        for e in &func.callers {
            if e.caller == f {
                recursion = Some(e.figures);
                continue;
            }
            in_nc = in_nc.saturating_add(e.figures.ncalls);
            in_tt = in_tt.saturating_add(e.figures.tottime_ns);
            if rank[e.caller] < rank[f] {
                forward_ct =
                    forward_ct.saturating_add(e.figures.cumtime_ns.max(e.figures.tottime_ns));
            }
        }
        let rec = recursion.unwrap_or_default();
        let root_nc = fig.ncalls.saturating_sub(in_nc).saturating_sub(rec.ncalls);
        let root_tt = fig
            .tottime_ns
            .saturating_sub(in_tt)
            .saturating_sub(rec.tottime_ns);
        let root_ct = fig.cumtime_ns.saturating_sub(forward_ct);
        let mut outer = std::mem::take(&mut pieces[f]);
        if root_nc > 0 || root_tt > 0 || root_ct > 0 || outer.is_empty() {
            let node = tree.add(f, None, root_nc, root_tt);
            outer.push(Piece {
                node,
                len: root_ct.max(root_tt),
                self_ns: root_tt,
            });
        }

        // The room in the outer nodes, the first `span` of it inside level-1
        // recursion nodes.
        let span = recursion.map_or(0, |r| r.cumtime_ns.max(r.tottime_ns));
        let mut owners: Vec<(Owner, u64)> = Vec::new();
        if recursion.is_some() && span == 0 {
            owners.push((Owner::Level1(0), 0));
        }
        let mut pos = 0u64;
        for (k, p) in outer.iter().enumerate() {
            let room = p.len.saturating_sub(p.self_ns);
            let in_l1 = if pos < span { room.min(span - pos) } else { 0 };
            if in_l1 > 0 {
                owners.push((Owner::Level1(k), in_l1));
            }
            if room > in_l1 {
                owners.push((Owner::Direct(k), room - in_l1));
            }
            pos = pos.saturating_add(room);
        }
        if owners.is_empty() {
            let k = outer.len() - 1;
            owners.push((
                if recursion.is_some() {
                    Owner::Level1(k)
                } else {
                    Owner::Direct(k)
                },
                0,
            ));
        }

        // What goes into the room, in order.
        let mut items: Vec<(Item, u64)> = Vec::new();
        let (l1_self, l2_self) = match recursion {
            Some(r) => {
                let nested = r.ncalls.saturating_sub(r.pcalls);
                let l2 = if r.ncalls == 0 {
                    0
                } else {
                    (u128::from(r.tottime_ns) * u128::from(nested) / u128::from(r.ncalls)) as u64
                };
                items.push((Item::Level1Self, r.tottime_ns - l2));
                if nested > 0 || l2 > 0 {
                    items.push((Item::Level2, l2));
                }
                (r.pcalls, nested)
            }
            None => (0, 0),
        };
        for &(x, k) in &callees[f] {
            let e = funcs[x].callers[k].figures;
            if rank[x] > rank[f] {
                items.push((Item::Forward(x, k), e.cumtime_ns.max(e.tottime_ns)));
            } else {
                items.push((Item::Back(x, k), e.tottime_ns));
            }
        }

        // Lay the items into the room, splitting them where an owner ends;
        // the last owner takes whatever does not fit.
        let mut level1: Vec<Option<usize>> = vec![None; outer.len()];
        let mut level1_calls = Some(l1_self);
        let mut level2_calls = Some(l2_self);
        let mut oi = 0usize;
        let mut left = owners[0].1;
        for &(item, len) in &items {
            let mut rest = len;
            let mut done = 0u64;
            loop {
                while rest > 0 && left == 0 && oi + 1 < owners.len() {
                    oi += 1;
                    left = owners[oi].1;
                }
                let take = if oi + 1 == owners.len() {
                    rest
                } else {
                    rest.min(left)
                };
                let (owner, _) = owners[oi];
                let k = match owner {
                    Owner::Direct(k) | Owner::Level1(k) => k,
                };
                let mut level1_of = |tree: &mut Tree, k: usize| -> usize {
                    *level1[k].get_or_insert_with(|| {
                        let calls = level1_calls.take().unwrap_or(0);
                        tree.add(f, Some(outer[k].node), calls, 0)
                    })
                };
                let parent = match owner {
                    Owner::Direct(k) => outer[k].node,
                    Owner::Level1(k) => level1_of(&mut tree, k),
                };
                match item {
                    Item::Level1Self => {
                        let l1 = level1_of(&mut tree, k);
                        tree.self_ns[l1] += take;
                    }
                    Item::Level2 => {
                        let l1 = level1_of(&mut tree, k);
                        let calls = level2_calls.take().unwrap_or(0);
                        tree.add(f, Some(l1), calls, take);
                    }
                    Item::Forward(x, e) => {
                        let edge = funcs[x].callers[e].figures;
                        let calls = if done == 0 { edge.ncalls } else { 0 };
                        let self_ns = share(edge.tottime_ns, done, take, len);
                        let node = tree.add(x, Some(parent), calls, self_ns);
                        pieces[x].push(Piece {
                            node,
                            len: take,
                            self_ns,
                        });
                    }
                    Item::Back(x, e) => {
                        let edge = funcs[x].callers[e].figures;
                        let calls = if done == 0 { edge.ncalls } else { 0 };
                        tree.add(x, Some(parent), calls, take);
                    }
                }
                left = left.saturating_sub(take);
                rest -= take;
                done += take;
                if rest == 0 {
                    break;
                }
            }
        }
        // Recursion with no time at all still needs its nodes for the calls.
        if let Some(calls) = level1_calls.filter(|c| *c > 0) {
            let l1 = tree.add(f, Some(outer[0].node), calls, 0);
            if let Some(c2) = level2_calls.filter(|c| *c > 0) {
                tree.add(f, Some(l1), c2, 0);
            }
        }
    }
    // Inclusive times: self time plus the children's.
    let mut time = tree.self_ns.clone();
    for i in (0..tree.nodes.len()).rev() {
        if let Some(p) = tree.nodes[i].parent() {
            time[p] = time[p].saturating_add(time[i]);
        }
    }
    for (node, t) in tree.nodes.iter_mut().zip(time) {
        node.time_ns = t;
    }
    Ok(tree)
}

/// A label cut to its first and last 120 characters when longer than 256
/// bytes, so that a note stays one readable line.
fn shorten(label: String) -> String {
    if label.len() <= 256 {
        return label;
    }
    let head = label
        .char_indices()
        .nth(120)
        .map_or(label.len(), |(i, _)| i);
    let tail = label
        .char_indices()
        .rev()
        .nth(119)
        .map_or(0, |(i, _)| i)
        .max(head);
    format!("{}…{}", &label[..head], &label[tail..])
}

/// Checks the tree's statistics against the file's and describes each
/// difference: at most [`MAX_NOTES`] lines, and how many there were in all.
fn differences(funcs: &[PstatsFunction], profile: &Profile) -> (Vec<String>, usize) {
    let stats = profile.stats();
    let label = |i: usize| shorten(std_name(&funcs[i].file, funcs[i].line, &funcs[i].name));
    let mut total = 0usize;
    let show = |f: &Figures| {
        format!(
            "{}/{} calls, tottime {} ns, cumtime {} ns",
            f.ncalls, f.pcalls, f.tottime_ns, f.cumtime_ns
        )
    };
    let mut out = Vec::new();
    let mut estimated = 0;
    let mut unknown = 0;
    for (i, f) in funcs.iter().enumerate() {
        let got = stats.function(i as u32);
        let got_fig = got.map(|g| g.figures).unwrap_or_default();
        if got_fig != f.figures {
            total += 1;
            if out.len() < MAX_NOTES {
                out.push(format!(
                    "{}: the file has {}, the import {}",
                    label(i),
                    show(&f.figures),
                    show(&got_fig)
                ));
            }
        }
        unknown += f.unknown_callers;
        for e in &f.callers {
            if e.counts_only {
                estimated += 1;
                continue;
            }
            let got_edge = got
                .and_then(|g| g.callers.iter().find(|(c, _)| *c as usize == e.caller))
                .map(|(_, fig)| *fig)
                .unwrap_or_default();
            if got_edge != e.figures {
                total += 1;
                if out.len() >= MAX_NOTES {
                    continue;
                }
                out.push(format!(
                    "{} -> {}: the file has {}, the import {}",
                    label(e.caller),
                    label(i),
                    show(&e.figures),
                    show(&got_edge)
                ));
            }
        }
    }
    if unknown > 0 {
        total += 1;
        out.push(format!(
            "{unknown} caller entries name functions without an entry of their own: left out"
        ));
    }
    if estimated > 0 {
        total += 1;
        out.push(format!(
            "{estimated} caller entries hold call counts only (Python's profile module): their times are estimated"
        ));
    }
    (out, total)
}

/// Turns parsed pstats functions into a profile (see the module docs), with
/// the list of figures that could not be represented exactly. Fails only
/// when the tree would be too large.
pub fn to_profile(funcs: &[PstatsFunction], thread_name: &str) -> Result<Import, String> {
    let tree = build_tree(funcs)?;
    let sites = funcs
        .iter()
        .map(|f| SiteInfo::new(f.name.clone(), "", f.file.clone(), f.line))
        .collect();
    let total: u64 = funcs
        .iter()
        .fold(0u64, |a, f| a.saturating_add(f.figures.tottime_ns));
    let meta = Metadata {
        program: thread_name.to_owned(),
        duration_ns: total,
        clock: "cProfile".to_owned(),
        ticks_per_second: 1e9,
        available_cores: 1,
        crate_version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Metadata::default()
    };
    let thread = ThreadProfile::new(0, thread_name, 0, tree.nodes);
    let profile = Profile::new(meta, sites, vec![thread]);
    let (inexact, inexact_count) = differences(funcs, &profile);
    Ok(Import {
        profile,
        inexact,
        inexact_count,
        not_utf8: 0,
    })
}

/// Imports a `.prof` file's bytes. `path` names the file in errors and
/// names the profile's thread and program (its file name).
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Import, Error> {
    let (funcs, not_utf8) = parse_counting(bytes)
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
        super::looks_like_prof(head) || crate::profile::may_be_json(head)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(ncalls: u64, pcalls: u64, tt: u64, ct: u64) -> Figures {
        Figures {
            ncalls,
            pcalls,
            tottime_ns: tt,
            cumtime_ns: ct,
        }
    }

    fn func(name: &str, f: Figures, callers: &[(usize, Figures)]) -> PstatsFunction {
        PstatsFunction {
            file: "x.py".into(),
            line: 1,
            name: name.into(),
            figures: f,
            callers: callers
                .iter()
                .map(|&(caller, figures)| PstatsEdge {
                    caller,
                    figures,
                    counts_only: false,
                })
                .collect(),
            unknown_callers: 0,
        }
    }

    /// formats.md's sample: main -> a -> b (recursing), plus a built-in
    /// called from main and from a.
    #[test]
    fn recursion_and_shared_callees_are_exact() {
        // main(1) self 100 calls a (860) and len (40); a self 200 calls b
        // twice (650) and len (10); b recurses 3 deep (8/2) and calls len
        // once, inside the recursion (50).
        let funcs = vec![
            func("main", fig(1, 1, 100, 1_000), &[]),
            func("a", fig(1, 1, 200, 860), &[(0, fig(1, 1, 200, 860))]),
            func(
                "b",
                fig(8, 2, 600, 650),
                &[(1, fig(2, 2, 150, 650)), (2, fig(6, 2, 450, 480))],
            ),
            func(
                "len",
                fig(3, 3, 100, 100),
                &[
                    (0, fig(1, 1, 40, 40)),
                    (1, fig(1, 1, 10, 10)),
                    (2, fig(1, 1, 50, 50)),
                ],
            ),
        ];
        let import = to_profile(&funcs, "t").unwrap();
        assert!(import.inexact.is_empty(), "{:#?}", import.inexact);
        import.profile.validate().unwrap();
    }

    #[test]
    fn mutual_recursion_is_reported() {
        // a -> b -> a -> b: times a0 = 10, b1 = 20, a2 = 30, b3 = 40.
        let funcs = vec![
            func("a", fig(2, 1, 40, 100), &[(1, fig(1, 1, 30, 70))]),
            func("b", fig(2, 1, 60, 90), &[(0, fig(2, 1, 60, 90))]),
        ];
        let import = to_profile(&funcs, "t").unwrap();
        import.profile.validate().unwrap();
        assert!(!import.inexact.is_empty());
        let st = import.profile.stats();
        // Calls and self times stay exact.
        for (i, f) in funcs.iter().enumerate() {
            let g = st.function(i as u32).unwrap().figures;
            assert_eq!(
                (g.ncalls, g.tottime_ns),
                (f.figures.ncalls, f.figures.tottime_ns)
            );
        }
    }

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
    fn long_labels_are_shortened() {
        assert_eq!(shorten("a.py:1(f)".into()), "a.py:1(f)");
        let long = format!("{}:1(f)", "é".repeat(300));
        let short = shorten(long);
        assert_eq!(short.chars().count(), 241);
        assert!(short.ends_with(":1(f)") && short.contains('…'));
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
