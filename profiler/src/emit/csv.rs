//! The pstats table as CSV (`stats.csv`), for spreadsheets and data frames:
//! one row per function (per call site), every thread merged, the largest
//! cumulative time first (ties in site order), with a header row:
//!
//! ```text
//! ncalls,primitive_calls,tottime_s,cumtime_s,file,line,function
//! 21891,1,0.004046,0.004046,src/main.rs,3,fib
//! ```
//!
//! Times are seconds with nanosecond digits (cProfile's own unit); a field
//! with a comma, a quote or a line break is quoted, its quotes doubled
//! (RFC 4180). Rows end with CRLF, as RFC 4180 says and spreadsheets expect.

use std::io::{self, Write};

use crate::profile::Profile;

/// Writes the pstats table of `profile` as CSV to `w` (see the module docs).
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let stats = profile.stats();
    let mut rows: Vec<_> = stats.functions().iter().collect();
    rows.sort_by_key(|f| std::cmp::Reverse(f.figures.cumtime_ns));
    w.write_all(b"ncalls,primitive_calls,tottime_s,cumtime_s,file,line,function\r\n")?;
    for f in rows {
        let (file, line, name) = match profile.site(f.site) {
            Some(s) => (s.file.as_str(), s.line, s.name.as_str()),
            None => ("", 0, ""),
        };
        write!(
            w,
            "{},{},{},{},{},{},{}\r\n",
            f.figures.ncalls,
            f.figures.pcalls,
            seconds(f.figures.tottime_ns),
            seconds(f.figures.cumtime_ns),
            field(file),
            line,
            field(name)
        )?;
    }
    w.flush()
}

/// Nanoseconds as seconds with all nine decimals.
fn seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// A CSV field: quoted (quotes doubled) when it holds a comma, a quote or a
/// line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, NO_PARENT, Node, SiteInfo, ThreadProfile};

    #[test]
    fn rows_are_the_pstats_table() {
        let sites = vec![
            SiteInfo::new("main", "m", "src/main.rs", 1),
            SiteInfo::new("say \"hi\", twice", "m", "src/a,b.rs", 9),
        ];
        let t = ThreadProfile::new(
            1,
            "main",
            1,
            vec![
                Node::new(0, NO_PARENT, 1, 3_000_000_000),
                Node::new(1, 0, 2, 1_000_000_001),
            ],
        );
        let p = Profile::new(Metadata::default(), sites, vec![t]);
        let mut out = Vec::new();
        write(&p, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ncalls,primitive_calls,tottime_s,cumtime_s,file,line,function\r\n\
             1,1,1.999999999,3.000000000,src/main.rs,1,main\r\n\
             2,2,1.000000001,1.000000001,\"src/a,b.rs\",9,\"say \"\"hi\"\", twice\"\r\n"
        );
    }
}
