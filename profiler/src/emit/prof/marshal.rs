//! Python's marshal format, as far as a pstats dict needs it: a reader of
//! marshal values and the writer's encoding functions, sharing the type codes.
//!
//! # Reading
//!
//! A `.prof` is one marshal object (`docs/formats.md`, section 2). The
//! reader accepts every code CPython's own writer produces for that dict:
//! dict `{`, tuples `)` and `(`, ints `i`, `I` and `l`, floats `g` and `f`,
//! strings `z`, `Z`, `a`, `A`, `u`, `t` and `s` (read lossily when not
//! UTF-8), `None`, `True`, `False`, and
//! the back-references of marshal version 3 and later (the `0x80` flag and
//! `r`), which real cProfile dumps use. It never panics: a truncated file, an
//! unknown code, a bad reference or nesting deeper than a pstats dict can be
//! is an error that gives the byte offset. Strings that are not UTF-8 (Python
//! writes lone surrogates, from file names that are not UTF-8, as such bytes)
//! are read with U+FFFD, and counted.
//!
//! # Writing
//!
//! The encoders write the codes the [`.prof` format](super) lists: a dict,
//! small tuples, ints, binary floats and strs, never with the reference flag.

use std::io;
use std::rc::Rc;

// The type codes (CPython's `TYPE_*`).
pub(super) const NULL: u8 = b'0';
const NONE: u8 = b'N';
const FALSE: u8 = b'F';
const TRUE: u8 = b'T';
const STOP_ITERATION: u8 = b'S';
const ELLIPSIS: u8 = b'.';
const INT: u8 = b'i';
const INT64: u8 = b'I';
const FLOAT: u8 = b'f';
const BINARY_FLOAT: u8 = b'g';
const COMPLEX: u8 = b'x';
const BINARY_COMPLEX: u8 = b'y';
const LONG: u8 = b'l';
const STRING: u8 = b's';
const INTERNED: u8 = b't';
pub(super) const REF: u8 = b'r';
pub(super) const TUPLE: u8 = b'(';
const LIST: u8 = b'[';
pub(super) const DICT: u8 = b'{';
const UNICODE: u8 = b'u';
const SET: u8 = b'<';
const FROZENSET: u8 = b'>';
const ASCII: u8 = b'a';
const ASCII_INTERNED: u8 = b'A';
pub(super) const SMALL_TUPLE: u8 = b')';
const SHORT_ASCII: u8 = b'z';
const SHORT_ASCII_INTERNED: u8 = b'Z';
/// Set on a code whose object joins the reference table.
pub(super) const FLAG_REF: u8 = 0x80;

/// Objects nested deeper than this are refused (a pstats dict needs 5).
const MAX_DEPTH: usize = 64;

// ---------------------------------------------------------------- reading

/// Reads the marshal object at the start of `bytes`: the object, and how
/// many of its strings were not valid UTF-8 (read with U+FFFD).
pub(super) fn read(bytes: &[u8]) -> Res<(Rc<Obj>, usize)> {
    let mut r = Reader {
        b: bytes,
        pos: 0,
        refs: Vec::new(),
        not_utf8: 0,
    };
    let top = r.object(0)?;
    Ok((top, r.not_utf8))
}

/// A value read, and the byte offset of its type code.
#[derive(Debug)]
pub(super) struct Obj {
    pub(super) at: usize,
    pub(super) v: Val,
}

/// The values a pstats dict may hold; others are only named.
#[derive(Debug)]
pub(super) enum Val {
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
    /// What the value is, for error messages ("a tuple of 3 items").
    pub(super) fn kind(&self) -> String {
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

/// A result whose error says what is wrong and where.
pub(super) type Res<T> = Result<T, String>;

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
        let flag = code & FLAG_REF != 0;
        let t = code & !FLAG_REF;
        // Scalars join the reference table once read, containers before
        // their items, as CPython's reader does.
        let scalar = |v: Val| Obj { at, v };
        let obj = match t {
            NULL => return Ok(Rc::new(scalar(Val::Null))),
            NONE => return Ok(Rc::new(scalar(Val::None))),
            TRUE => return Ok(Rc::new(scalar(Val::Bool(true)))),
            FALSE => return Ok(Rc::new(scalar(Val::Bool(false)))),
            STOP_ITERATION => return Ok(Rc::new(scalar(Val::Other("StopIteration")))),
            ELLIPSIS => return Ok(Rc::new(scalar(Val::Other("Ellipsis")))),
            REF => {
                let i = self.i32("a reference")?;
                let obj = usize::try_from(i)
                    .ok()
                    .and_then(|i| self.refs.get(i))
                    .ok_or_else(|| format!("byte {at}: reference {i} to no object"))?;
                return obj.clone().ok_or_else(|| {
                    format!("byte {at}: reference {i} to an object that is still being read")
                });
            }
            INT => scalar(Val::Int(i128::from(self.i32("an int")?))),
            INT64 => {
                let s = self.take(8, "an int64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                scalar(Val::Int(i128::from(i64::from_le_bytes(a))))
            }
            LONG => scalar(self.long(at)?),
            BINARY_FLOAT => {
                let s = self.take(8, "a float")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                scalar(Val::Float(f64::from_le_bytes(a)))
            }
            FLOAT => {
                let n = usize::from(self.u8("a float")?);
                let s = self.text(n, "a float")?;
                let x = s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("byte {at}: float text {s:?} is not a number"))?;
                scalar(Val::Float(x))
            }
            BINARY_COMPLEX => {
                self.take(16, "a complex")?;
                scalar(Val::Other("complex"))
            }
            COMPLEX => {
                for _ in 0..2 {
                    let n = usize::from(self.u8("a complex")?);
                    self.take(n, "a complex")?;
                }
                scalar(Val::Other("complex"))
            }
            SHORT_ASCII | SHORT_ASCII_INTERNED => {
                let n = usize::from(self.u8("a str")?);
                scalar(Val::Str(self.text(n, "a str")?))
            }
            ASCII | ASCII_INTERNED | UNICODE | INTERNED | STRING => {
                // Python writes a str holding lone surrogates (file names
                // that are not UTF-8, decoded with surrogateescape) with
                // surrogatepass: bytes that are not UTF-8. pstats shows them;
                // so do we, with U+FFFD.
                let n = self.len(at, 1, "a str")?;
                scalar(Val::Str(self.text(n, "a str")?))
            }
            SMALL_TUPLE | TUPLE | LIST | SET | FROZENSET => {
                let n = if t == SMALL_TUPLE {
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
                    SMALL_TUPLE | TUPLE => Val::Tuple(items),
                    LIST => Val::List,
                    _ => Val::Other("set"),
                };
                let obj = Rc::new(Obj { at, v });
                self.fill(slot, &obj);
                return Ok(obj);
            }
            DICT => {
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

// ---------------------------------------------------------------- writing

/// Opens a dict: key and value objects follow, then [`close`].
pub(super) fn dict(out: &mut Vec<u8>) {
    out.push(DICT);
}

/// Ends a dict (the NULL marker).
pub(super) fn close(out: &mut Vec<u8>) {
    out.push(NULL);
}

/// Opens a tuple of `len` items: the items follow.
pub(super) fn small_tuple(out: &mut Vec<u8>, len: u8) {
    out.extend_from_slice(&[SMALL_TUPLE, len]);
}

/// An int: `i` when it fits in 32 bits, else `l`.
pub(super) fn int(out: &mut Vec<u8>, v: u64) {
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

/// A binary float.
pub(super) fn float(out: &mut Vec<u8>, v: f64) {
    out.push(BINARY_FLOAT);
    out.extend_from_slice(&v.to_le_bytes());
}

/// A str: `z` when short ASCII, else `u` (UTF-8). Fails past 2 GiB.
pub(super) fn string(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
