//! speedscope's own file format (`speedscope.json`), evented profiles: open
//! it at www.speedscope.app or with the `speedscope` command.
//!
//! ```json
//! {"$schema":"https://www.speedscope.app/file-format-schema.json",
//!  "exporter":"profiler 0.1.0","name":"demo","activeProfileIndex":0,
//!  "shared":{"frames":[{"name":"main","file":"src/main.rs","line":10},{"name":"a","file":"src/main.rs","line":20}]},
//!  "profiles":[{"type":"evented","name":"thread main","unit":"nanoseconds","startValue":0,"endValue":1000,
//!   "events":[{"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":100},{"type":"C","frame":1,"at":1000},{"type":"C","frame":0,"at":1000}]}]}
//! ```
//!
//! - `shared.frames` has one frame per site, in [`Profile::sites`] order (frame
//!   `i` is site `i`), with its name, file and line (and one more,
//!   `(unknown site)`, if a span names a site that the profile lacks).
//! - Each thread with a timeline is one evented profile named
//!   `thread <name>`; when several threads share a name, or the profile
//!   holds several processes, the name gets `(pid <pid> tid <id>)` so that
//!   speedscope's thread menu tells them apart. Threads without a timeline
//!   have no profile.
//! - Values are nanoseconds since the start of recording; every profile runs
//!   from `startValue` 0 to the same `endValue` (the profile's duration, or
//!   the last span's end if later), so threads line up in time.
//! - Every span is an `O` (open) event at its start and a `C` (close) event
//!   at its end; the events nest properly and `at` never decreases (see
//!   [`emit::timeline`](crate::emit::timeline) for how ties are broken).

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::Path;

use super::names;
use crate::emit::timeline::{self, Edge};
use crate::error::Error;
use crate::profile::Profile;

/// The `$schema` of speedscope files.
pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// Writes `profile`'s timelines as a speedscope file to `w` (see the module
/// docs).
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let end = timeline::end_ns(profile);
    write!(
        w,
        "{{\"$schema\":{},\"exporter\":{},\"name\":{}",
        json(SCHEMA),
        json(&format!("profiler {}", env!("CARGO_PKG_VERSION"))),
        json(if profile.meta.program.is_empty() {
            "profile"
        } else {
            &profile.meta.program
        })
    )?;
    let with_timeline: Vec<usize> = (0..profile.threads.len())
        .filter(|&i| !profile.threads[i].timeline.is_empty())
        .collect();
    if !with_timeline.is_empty() {
        write!(w, ",\"activeProfileIndex\":0")?;
    }

    write!(w, ",\n\"shared\":{{\"frames\":[")?;
    for (i, s) in profile.sites.iter().enumerate() {
        write!(
            w,
            "{}\n{{\"name\":{},\"file\":{},\"line\":{}}}",
            if i == 0 { "" } else { "," },
            json(&names::site_name(profile, i as u32)),
            json(&names::clean(&s.file)),
            s.line
        )?;
    }
    let n_sites = profile.sites.len();
    let unknown = profile
        .threads
        .iter()
        .any(|t| t.timeline.iter().any(|s| s.site as usize >= n_sites));
    if unknown {
        // Spans of sites the profile does not list share one extra frame.
        write!(
            w,
            "{}\n{{\"name\":\"(unknown site)\"}}",
            if n_sites == 0 { "" } else { "," }
        )?;
    }
    write!(w, "]}},\n\"profiles\":[")?;

    let names = profile_names(profile);
    for (k, &ti) in with_timeline.iter().enumerate() {
        let t = &profile.threads[ti];
        write!(
            w,
            "{}\n{{\"type\":\"evented\",\"name\":{},\"unit\":\"nanoseconds\",\"startValue\":0,\"endValue\":{},\"events\":[",
            if k == 0 { "" } else { "," },
            json(&names[ti]),
            end
        )?;
        let placed = timeline::nest(t);
        for (j, e) in timeline::walk(&placed).into_iter().enumerate() {
            let p = &placed[e.index()];
            // Unknown sites: the extra frame after the sites'.
            let frame = (p.site as usize).min(n_sites);
            let kind = match e {
                Edge::Open(_) => 'O',
                Edge::Close(_) => 'C',
            };
            write!(
                w,
                "{}{{\"type\":\"{kind}\",\"frame\":{frame},\"at\":{}}}",
                if j == 0 { "" } else { "," },
                e.at(&placed)
            )?;
        }
        write!(w, "]}}")?;
    }
    writeln!(w, "]}}")?;
    w.flush()
}

/// The profile name of every thread (see the module docs).
fn profile_names(profile: &Profile) -> Vec<String> {
    let pids: HashSet<u32> = profile.threads.iter().map(|t| t.pid).collect();
    let count = names::counts(profile.threads.iter().map(|t| t.name.as_str()));
    profile
        .threads
        .iter()
        .map(|t| {
            let name = names::clean(&t.name);
            if pids.len() > 1 || count[t.name.as_str()] > 1 {
                format!("thread {name} (pid {} tid {})", t.pid, t.id)
            } else {
                format!("thread {name}")
            }
        })
        .collect()
}

/// A JSON string literal.
fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

impl Profile {
    /// Writes the timelines as a speedscope file to `path`, atomically (see
    /// [`emit::speedscope`](crate::emit::speedscope)).
    pub fn write_speedscope(&self, path: &Path) -> Result<(), Error> {
        crate::emit::write_atomic(path, |w| write(self, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Metadata, SiteInfo, Span, ThreadProfile};

    #[test]
    fn writes_the_sample() {
        let meta = Metadata {
            program: "demo".into(),
            duration_ns: 1000,
            ..Metadata::default()
        };
        let sites = vec![
            SiteInfo::new("main", "m", "src/demo.rs", 10),
            SiteInfo::new("a", "m", "src/demo.rs", 20),
            SiteInfo::new("b", "m", "src/demo.rs", 30),
        ];
        let tl = vec![
            Span::new(2, 200, 400),
            Span::new(2, 150, 700),
            Span::new(1, 100, 900),
            Span::new(0, 0, 1000),
        ];
        let t = ThreadProfile::new(1, "main", 1, Vec::new()).with_timeline(tl, 0);
        let idle = ThreadProfile::new(2, "idle", 1, Vec::new());
        let p = Profile::new(meta, sites, vec![t, idle]);
        let mut out = Vec::new();
        write(&p, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["profiles"].as_array().unwrap().len(), 1);
        let events: Vec<(String, u64, u64)> = v["profiles"][0]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["type"].as_str().unwrap().to_owned(),
                    e["frame"].as_u64().unwrap(),
                    e["at"].as_u64().unwrap(),
                )
            })
            .collect();
        let expect = [
            ("O", 0, 0),
            ("O", 1, 100),
            ("O", 2, 150),
            ("O", 2, 200),
            ("C", 2, 600),
            ("C", 2, 850),
            ("C", 1, 1000),
            ("C", 0, 1000),
        ];
        let expect: Vec<(String, u64, u64)> = expect
            .iter()
            .map(|&(k, f, a)| (k.to_owned(), f, a))
            .collect();
        assert_eq!(events, expect);
        assert_eq!(v["profiles"][0]["name"], "thread main");
        assert_eq!(v["profiles"][0]["endValue"], 1000);
    }
}
