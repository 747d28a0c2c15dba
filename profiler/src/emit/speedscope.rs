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
//!   speedscope's thread menu tells them apart; a thread of an MPI rank is
//!   `rank <r> @ <host>: thread <name> (tid <id>)`. Threads without a
//!   timeline have no profile.
//! - Values are nanoseconds since the start of recording; every profile runs
//!   from `startValue` 0 to the same `endValue` (the profile's duration, or
//!   the last span's end if later), so threads line up in time.
//! - Every span is an `O` (open) event at its start and a `C` (close) event
//!   at its end; the events nest properly and `at` never decreases (see
//!   [`emit::timeline`](crate::emit::timeline) for how ties are broken).

use std::collections::HashSet;
use std::io::{self, Write};

use serde::Serialize;

use super::names;
use super::{Lines, json};
use crate::emit::timeline::{self, Edge};
use crate::profile::Profile;

/// The `$schema` of speedscope files.
pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// A frame of `shared.frames`.
#[derive(Serialize)]
struct Frame<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

/// An evented profile: one thread's timeline.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Evented<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    unit: &'static str,
    start_value: u64,
    end_value: u64,
    events: Vec<Event>,
}

/// An open (`O`) or close (`C`) of a frame.
#[derive(Serialize)]
struct Event {
    #[serde(rename = "type")]
    kind: &'static str,
    frame: usize,
    at: u64,
}

/// Writes `profile`'s timelines as a speedscope file to `w` (see the module
/// docs). Every value goes through serde; only the layout (a line per frame
/// and per profile) is written here.
pub fn write(profile: &Profile, w: &mut dyn Write) -> io::Result<()> {
    let end = timeline::end_ns(profile);
    let name = if profile.meta.program.is_empty() {
        "profile"
    } else {
        &profile.meta.program
    };
    w.write_all(b"{\"$schema\":")?;
    json(w, &SCHEMA)?;
    w.write_all(b",\"exporter\":")?;
    json(w, &format!("profiler {}", env!("CARGO_PKG_VERSION")))?;
    w.write_all(b",\"name\":")?;
    json(w, &name)?;
    let with_timeline: Vec<usize> = (0..profile.threads.len())
        .filter(|&i| !profile.threads[i].timeline.is_empty())
        .collect();
    if !with_timeline.is_empty() {
        w.write_all(b",\"activeProfileIndex\":0")?;
    }

    w.write_all(b",\n\"shared\":{\"frames\":[")?;
    let mut frames = Lines::default();
    for (i, s) in profile.sites.iter().enumerate() {
        let name = names::site_name(profile, i as u32);
        let file = names::clean(&s.file);
        let frame = Frame {
            name: &name,
            file: Some(&file),
            line: Some(s.line),
        };
        frames.item(w, &frame)?;
    }
    let n_sites = profile.sites.len();
    let unknown = profile
        .threads
        .iter()
        .any(|t| t.timeline.iter().any(|s| s.site as usize >= n_sites));
    if unknown {
        // Spans of sites the profile does not list share one extra frame.
        let frame = Frame {
            name: "(unknown site)",
            file: None,
            line: None,
        };
        frames.item(w, &frame)?;
    }
    w.write_all(b"]},\n\"profiles\":[")?;

    let names = profile_names(profile);
    let mut profiles = Lines::default();
    for &ti in &with_timeline {
        let placed = timeline::nest(&profile.threads[ti]);
        let events = timeline::walk(&placed)
            .into_iter()
            .map(|e| Event {
                kind: match e {
                    Edge::Open(_) => "O",
                    Edge::Close(_) => "C",
                },
                // Unknown sites: the extra frame after the sites'.
                frame: (placed[e.index()].site as usize).min(n_sites),
                at: e.at(&placed),
            })
            .collect();
        let evented = Evented {
            kind: "evented",
            name: &names[ti],
            unit: "nanoseconds",
            start_value: 0,
            end_value: end,
            events,
        };
        profiles.item(w, &evented)?;
    }
    w.write_all(b"]}\n")?;
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
            if let Some(r) = t.rank {
                let host = names::clean(profile.rank_host(r));
                return format!("rank {r} @ {host}: thread {name} (tid {})", t.id);
            }
            if pids.len() > 1 || count[t.name.as_str()] > 1 {
                format!("thread {name} (pid {} tid {})", t.pid, t.id)
            } else {
                format!("thread {name}")
            }
        })
        .collect()
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
