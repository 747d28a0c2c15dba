//! The flame chart: the SVG parses as XML, and each span is one frame at its
//! start time (left to right), as wide as its duration.

use profiler::emit::flamechart;
use profiler::emit::flamegraph::FlamegraphOptions;
use profiler::{Profile, ThreadProfile};
use quick_xml::Reader;
use quick_xml::events::Event;

use super::*;

// ------------------------------------------------------------- flame chart

#[derive(Debug, Clone)]
struct Frame {
    name: String,
    x: u64,
    w: u64,
    y: i64,
}

/// The frames of an inferno SVG, read with an XML parser.
fn svg_frames(svg: &str) -> Vec<Frame> {
    let mut reader = Reader::from_str(svg);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let (mut in_frames, mut depth_svg, mut in_g, mut in_title) = (false, 0, false, false);
    let mut title = String::new();
    let mut rect = None;
    loop {
        match reader.read_event().expect("well-formed SVG") {
            Event::Eof => break,
            Event::Start(e) => match e.name().as_ref() {
                b"svg" => {
                    depth_svg += 1;
                    if attr(&e, b"id").as_deref() == Some("frames") {
                        in_frames = true;
                    }
                }
                b"g" if in_frames => {
                    in_g = true;
                    title.clear();
                    rect = None;
                }
                b"title" if in_g => in_title = true,
                _ => {}
            },
            Event::Empty(e) if in_g && e.name().as_ref() == b"rect" => {
                let n = |k: &[u8]| attr(&e, k).unwrap().parse::<u64>().unwrap();
                let y = attr(&e, b"y").unwrap().parse::<i64>().unwrap();
                rect = Some((n(b"fg:x"), n(b"fg:w"), y));
            }
            Event::Text(t) if in_title => title.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) if in_title => match r.resolve_char_ref().unwrap() {
                Some(c) => title.push(c),
                None => title.push(match r.decode().unwrap().as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unknown entity &{other};"),
                }),
            },
            Event::End(e) => match e.name().as_ref() {
                b"title" => in_title = false,
                b"g" if in_g => {
                    in_g = false;
                    let (x, w, y) = rect.take().expect("frame without rect");
                    let open = title.rfind(" (").unwrap();
                    let count: u64 = title[open + 2..]
                        .split(' ')
                        .next()
                        .unwrap()
                        .replace(',', "")
                        .parse()
                        .unwrap();
                    assert_eq!(count, w, "tooltip count = width: {title}");
                    assert!(title.contains(" ns, "), "{title}");
                    out.push(Frame {
                        name: title[..open].to_owned(),
                        x,
                        w,
                        y,
                    });
                }
                b"svg" => {
                    depth_svg -= 1;
                    if in_frames && depth_svg == 1 {
                        in_frames = false;
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    assert_eq!(depth_svg, 0, "unclosed <svg>");
    out
}

fn attr(e: &quick_xml::events::BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .map(|a| a.unwrap())
        .find(|a| a.key.as_ref() == key)
        .map(|a| String::from_utf8(a.value.into_owned()).unwrap())
}

/// A name as the folded format writes it (flamegraph.rs's rules).
fn folded_name(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            ';' => ',',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let mut s = s.trim().to_owned();
    if let Some(sp) = s
        .rfind(' ')
        .filter(|&sp| s[sp + 1..].chars().all(|c| c.is_ascii_digit()))
    {
        s.replace_range(sp..sp + 1, "\u{a0}");
    }
    s
}

pub(super) fn flame_chart_svg(p: &Profile, o: &FlamegraphOptions) -> String {
    let mut buf = Vec::new();
    flamechart::write_with(p, o, &mut buf).unwrap();
    utf8(buf, "flame chart")
}

/// Checks a flame chart drawn with `min_width(0)`: threads side by side,
/// each `end` wide; every span of positive length one frame at its start
/// time, as wide as it lasted, inside a frame one level up.
pub(super) fn check_flame_chart(p: &Profile, svg: &str, what: &str) {
    let frames = svg_frames(svg);
    let with: Vec<&ThreadProfile> = p
        .threads
        .iter()
        .filter(|t| !t.timeline.is_empty())
        .collect();
    if with.is_empty() {
        assert!(frames.is_empty() && svg.contains("No timeline"), "{what}");
        return;
    }
    let end = expected_end(p);
    let mut ys: Vec<i64> = frames.iter().map(|f| f.y).collect();
    ys.sort_unstable();
    ys.dedup();
    ys.reverse(); // roots at the bottom
    let depth = |f: &Frame| ys.iter().position(|&y| y == f.y).unwrap();
    let all: Vec<&Frame> = frames.iter().filter(|f| depth(f) == 0).collect();
    assert_eq!(all.len(), 1, "{what}");
    assert_eq!((all[0].x, all[0].w), (0, end * with.len() as u64), "{what}");
    let threads: Vec<&Frame> = frames.iter().filter(|f| depth(f) == 1).collect();
    assert_eq!(threads.len(), with.len(), "{what}: one frame per thread");
    let mut got: Vec<(String, u64, u64)> = Vec::new();
    for f in &frames {
        let d = depth(f);
        if d >= 1 {
            let parent = frames
                .iter()
                .any(|q| depth(q) == d - 1 && q.x <= f.x && f.x + f.w <= q.x + q.w);
            assert!(parent, "{what}: {f:?} outside every frame below it");
        }
        if d >= 2 {
            got.push((f.name.clone(), f.x, f.w));
        }
    }
    let mut expect: Vec<(String, u64, u64)> = Vec::new();
    for (k, t) in with.iter().enumerate() {
        let offset = k as u64 * end;
        assert_eq!(
            (threads[k].x, threads[k].w),
            (offset, end),
            "{what}: thread {k}"
        );
        for s in t.timeline.iter().filter(|s| s.duration_ns > 0) {
            let name = folded_name(&p.sites[s.site as usize].name);
            expect.push((name, offset + s.start_ns, s.duration_ns));
        }
    }
    got.sort();
    expect.sort();
    assert_eq!(got, expect, "{what}: one frame per span, at its time");
}

#[test]
fn flame_chart_draws_time_left_to_right() {
    let p = sample();
    let o = FlamegraphOptions::new().min_width(0.0);
    let svg = flame_chart_svg(&p, &o);
    assert!(svg.contains("Flame Chart: demo"));
    check_flame_chart(&p, &svg, "sample");
    let frames = svg_frames(&svg);
    let find = |n: &str| frames.iter().find(|f| f.name == n).unwrap().clone();
    // main's thread first, worker's after it: each 1000 ns wide.
    assert_eq!((find("main").x, find("main").w), (0, 1000));
    assert_eq!((find("a").x, find("a").w), (100, 900));
    assert_eq!(
        (find("worker").x, find("job").x, find("job").w),
        (1000, 1200, 700)
    );
}

#[test]
fn flame_chart_of_every_profile() {
    let o = FlamegraphOptions::new().min_width(0.0);
    for (what, p) in hand_built() {
        let svg = flame_chart_svg(&p, &o);
        check_flame_chart(&p, &svg, &what);
    }
}

#[test]
fn flame_chart_keeps_back_to_back_calls_apart() {
    let p = rich();
    let o = FlamegraphOptions::new()
        .min_width(0.0)
        .thread(Some(0))
        .title("one");
    let svg = flame_chart_svg(&p, &o);
    assert!(svg.contains(">one<"));
    let frames = svg_frames(&svg);
    let at = |n: &str| -> Vec<(u64, u64)> {
        frames
            .iter()
            .filter(|f| f.name == n)
            .map(|f| (f.x, f.w))
            .collect()
    };
    let mut leaves = at("leaf");
    leaves.sort_unstable();
    assert_eq!(leaves, [(0, 100), (100, 100)]);
    let mut works = at("work");
    works.sort_unstable();
    assert_eq!(works, [(0, 400), (400, 600)]);
    assert_eq!(at("step\u{a0}3"), [(1000, 200)]);
    assert_eq!(at("ünïcødé 名前"), [(200, 200)]);
    // max_depth cuts deeper calls into their parent.
    let o = FlamegraphOptions::new()
        .min_width(0.0)
        .thread(Some(0))
        .max_depth(2);
    let frames = svg_frames(&flame_chart_svg(&p, &o));
    assert!(frames.iter().all(|f| f.name != "leaf" && f.name != "work"));
    assert!(frames.iter().any(|f| f.name == "main"));
}
