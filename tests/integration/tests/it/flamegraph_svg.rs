//! Folded stacks and flamegraph SVGs: the SVG is parsed as XML and every
//! frame (a `<g>` with a `<title>` and a `<rect>`) is checked against the
//! profile: one frame per call path, widths (inferno's `fg:w`, in ns) equal to
//! the path's inclusive time, children inside their parent, titles matching.

use std::collections::BTreeMap;

use integration::{meta, node, sample, scratch, site};
use profiler::emit::flamegraph::{self, FlamegraphOptions};
use profiler::profile::NO_PARENT;
use profiler::{Profile, ThreadProfile};
use quick_xml::Reader;
use quick_xml::events::Event;

// ---------------------------------------------------------------- profiles

/// Two threads sharing paths, two unnamed threads, and names that the folded
/// format must not misread.
fn threads() -> Profile {
    let sites = vec![
        site("main", "src/main.rs", 1),
        site("work", "src/w.rs", 2),
        site("leaf", "src/w.rs", 3),
        site("step 3", "src/w.rs", 4),
        site("Vec<[u8; 8]>::push & \"more\"", "src/w.rs", 5),
        site("# not a comment", "src/w.rs", 6),
        site("zero", "src/w.rs", 7),
        site("ünï\ncode", "src/w.rs", 8),
        site("leaf", "src/other.rs", 9),
    ];
    let t1 = vec![
        node(0, NO_PARENT, 1, 10_000), // main: self 1000
        node(1, 0, 2, 6000),           // work: self 1000
        node(2, 1, 4, 3000),           // leaf
        node(3, 1, 1, 2000),           // step 3
        node(4, 0, 1, 2000),           // Vec...: self 1500
        node(7, 4, 1, 500),            // ünï code
        node(6, 0, 3, 0),              // zero: no frame
        node(8, 0, 1, 1000),           // the other leaf, merged with...
        node(2, 0, 1, 0),              // ... this one (no time)
    ];
    let t2 = vec![
        node(5, NO_PARENT, 1, 700), // # not a comment: self 300
        node(1, 0, 1, 400),         // work: self 100
        node(2, 1, 2, 300),         // leaf
    ];
    let t3 = vec![node(0, NO_PARENT, 1, 50), node(1, 0, 1, 20)];
    Profile::new(
        meta(),
        sites,
        vec![
            ThreadProfile::new(1, "main", 4242, t1),
            ThreadProfile::new(2, "<unnamed>", 4242, t2),
            ThreadProfile::new(3, "<unnamed>", 4242, t3),
        ],
    )
}

// ------------------------------------------------------------- svg reading

#[derive(Debug, Clone)]
struct Frame {
    title: String,
    name: String,
    count: u64,
    x: u64,
    w: u64,
    y: i64,
}

/// Parses the SVG strictly enough (quick-xml checks that tags nest) and
/// returns the frames inside `<svg id="frames">`.
fn frames(svg: &str) -> Vec<Frame> {
    let mut reader = Reader::from_str(svg);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let mut in_frames = false;
    let mut depth_svg = 0;
    let mut in_g = false;
    let mut in_title = false;
    let mut title = String::new();
    let mut rect: Option<(u64, u64, i64)> = None;
    loop {
        let ev = reader
            .read_event()
            .unwrap_or_else(|e| panic!("the SVG is not well-formed XML: {e}"));
        match ev {
            Event::Eof => break,
            Event::Start(e) => match e.name().as_ref() {
                b"svg" => {
                    depth_svg += 1;
                    let id = attr(&e, b"id");
                    if id.as_deref() == Some("frames") {
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
            Event::GeneralRef(r) if in_title => {
                if let Some(c) = r.resolve_char_ref().unwrap() {
                    title.push(c);
                } else {
                    let name = r.decode().unwrap();
                    title.push(match name.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unknown entity &{other};"),
                    });
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"title" => in_title = false,
                b"g" if in_g => {
                    in_g = false;
                    let (x, w, y) = rect.take().expect("frame without rect");
                    let (name, count) = split_title(&title);
                    out.push(Frame {
                        title: title.clone(),
                        name,
                        count,
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

/// `name (1,234 ns, 12.34%)` or `name (1,234 ns, 12.34%; +1.00%)`.
fn split_title(t: &str) -> (String, u64) {
    let open = t.rfind(" (").unwrap_or_else(|| panic!("title {t:?}"));
    let inner = &t[open + 2..];
    let count = inner.split(' ').next().unwrap().replace(',', "");
    assert!(inner.contains(" ns, "), "count name in {t:?}");
    (t[..open].to_owned(), count.parse().unwrap())
}

/// Every path's inclusive time, by name path, merged over threads, computed
/// from the nodes (independently of the crate's folding). Zero-time paths
/// are left out.
fn expected_paths(
    p: &Profile,
    per_thread: bool,
    names: &dyn Fn(&str) -> String,
) -> BTreeMap<Vec<String>, u64> {
    let mut out: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &p.threads {
        let k = seen.entry(t.name.as_str()).or_insert(0);
        *k += 1;
        let same = p.threads.iter().filter(|u| u.name == t.name).count();
        let root = if same > 1 {
            format!("{} #{k}", t.name)
        } else {
            t.name.clone()
        };
        let mut paths: Vec<Vec<String>> = Vec::new();
        for n in &t.nodes {
            let mut path = match n.parent() {
                Some(q) => paths[q].clone(),
                None if per_thread => vec![root.clone()],
                None => Vec::new(),
            };
            path.push(names(&p.sites[n.site as usize].name));
            if n.time_ns > 0 {
                for len in 1..=path.len() {
                    // Only the path itself gets this node's time; its
                    // prefixes are counted through their own nodes, except
                    // the thread's root frame.
                    if len == path.len() || (per_thread && len == 1 && n.parent().is_none()) {
                        *out.entry(path[..len].to_vec()).or_insert(0) += n.time_ns;
                    }
                }
            }
            paths.push(path);
        }
    }
    out
}

fn frame_name(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            ';' => ',',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let mut s = s.trim().to_owned();
    let numeric_tail = s
        .rfind(' ')
        .filter(|&sp| s[sp + 1..].chars().all(|c| c.is_ascii_digit()));
    if let Some(sp) = numeric_tail {
        s.replace_range(sp..sp + 1, "\u{a0}");
    }
    if s.starts_with("# ") {
        s.replace_range(1..2, "\u{a0}");
    }
    s
}

/// Rebuilds the frame tree from the SVG (depth from `y`, parent = the frame
/// one level up whose span contains the child) and checks it against
/// `expected` (path -> inclusive ns) and the folded self counts.
fn check_tree(frames: &[Frame], expected: &BTreeMap<Vec<String>, u64>, total: u64, icicle: bool) {
    let mut ys: Vec<i64> = frames.iter().map(|f| f.y).collect();
    ys.sort_unstable();
    ys.dedup();
    if !icicle {
        ys.reverse(); // roots at the bottom: the largest y is depth 0
    }
    let depth = |f: &Frame| ys.iter().position(|&y| y == f.y).unwrap();
    let roots: Vec<&Frame> = frames.iter().filter(|f| depth(f) == 0).collect();
    assert_eq!(roots.len(), 1, "one `all` frame: {roots:?}");
    let all = roots[0];
    assert_eq!(all.title, format!("all ({} ns, 100%)", group(total)));
    assert_eq!((all.x, all.w), (0, total));

    let mut got: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for f in frames {
        assert_eq!(f.count, f.w, "title count = width: {f:?}");
        let d = depth(f);
        if d == 0 {
            continue;
        }
        // The path: walk up through containing frames.
        let mut path = vec![f.name.clone()];
        let mut cur = f;
        for up in (1..d).rev() {
            let parent = frames
                .iter()
                .find(|p| depth(p) == up && p.x <= cur.x && cur.x + cur.w <= p.x + p.w)
                .unwrap_or_else(|| panic!("no parent for {cur:?}"));
            path.insert(0, parent.name.clone());
            cur = parent;
        }
        // Children fit in their parent.
        let kids: u64 = frames
            .iter()
            .filter(|k| depth(k) == d + 1 && f.x <= k.x && k.x + k.w <= f.x + f.w)
            .map(|k| k.w)
            .sum();
        assert!(kids <= f.w, "children wider than {f:?}");
        let prev = got.insert(path.clone(), f.w);
        assert!(prev.is_none(), "two frames for {path:?}");
    }
    assert_eq!(&got, expected);
}

fn group(n: u64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|g| g.iter().collect())
        .collect();
    groups.join(",")
}

fn svg(p: &Profile, o: &FlamegraphOptions) -> String {
    let mut buf = Vec::new();
    flamegraph::write_svg_with(p, o, &mut buf).unwrap();
    String::from_utf8(buf).unwrap()
}

fn all_frames() -> FlamegraphOptions {
    FlamegraphOptions::default().min_width(0.0)
}

// ------------------------------------------------------------------ tests

#[test]
fn folded_stacks_of_the_sample() {
    let p = sample();
    assert_eq!(
        p.folded(),
        "main 100\nmain;a 200\nmain;a;b 300\nmain;a;b;b 250\nmain;a;b;b;b 150\n"
    );
}

#[test]
fn folded_names_are_safe() {
    let p = threads();
    let folded = p.folded();
    let lines: Vec<&str> = folded.lines().collect();
    assert!(lines.contains(&"main;work;step\u{a0}3 2000"), "{folded}");
    assert!(
        lines.contains(&"main;Vec<[u8, 8]>::push & \"more\" 1500"),
        "{folded}"
    );
    assert!(lines.contains(&"#\u{a0}not a comment 300"), "{folded}");
    assert!(lines.contains(&"main;Vec<[u8, 8]>::push & \"more\";ünï code 500"));
    // Both `leaf`s under main share a frame; zero self time is left out.
    assert!(lines.contains(&"main;leaf 1000"), "{folded}");
    assert!(!folded.contains("zero"));
    // Threads merged: main;work has self time on threads 1 and 3.
    assert!(lines.contains(&"main;work 1020"), "{folded}");
    let total: u64 = lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, p.stats().total_time_ns());

    let per = flamegraph::folded(&p, &FlamegraphOptions::new().per_thread(true));
    assert!(
        per.contains("<unnamed> #1;#\u{a0}not a comment;work 100\n"),
        "{per}"
    );
    assert!(per.contains("<unnamed> #2;main;work 20\n"), "{per}");
    assert!(per.contains("main;main;work 1000\n"), "{per}");
    let one = flamegraph::folded(&p, &FlamegraphOptions::new().thread(Some(2)));
    assert_eq!(one, "main 30\nmain;work 20\n");
}

#[test]
fn svg_frames_match_the_sample() {
    let p = sample();
    let text = svg(&p, &all_frames());
    let f = frames(&text);
    let expected = expected_paths(&p, false, &frame_name);
    check_tree(&f, &expected, 1000, false);
    assert!(text.contains("Flame Graph: demo"));
    // What was run, and the totals under it (issue 17, item 5).
    let mut q = sample();
    q.meta.program = "solver".into();
    q.meta.args = vec!["./target/release/solver".into(), "--n".into(), "8".into()];
    let calls: u64 = q
        .threads
        .iter()
        .flat_map(|t| t.nodes.iter().map(|n| n.calls))
        .sum();
    let titled = svg(&q, &all_frames());
    assert!(titled.contains(">Flame Graph: solver --n 8<"), "{titled}");
    let threads = q.threads.len();
    let totals = format!(
        "{calls} calls, {} in profiled scopes, {threads} thread{}",
        profiler::analysis::duration_text(q.root_time_ns()),
        if threads == 1 { "" } else { "s" }
    );
    assert!(titled.contains(&totals), "no {totals:?}");
    // docs/formats.md's verified tooltips, in ns.
    assert!(f.iter().any(|x| x.title == "a (900 ns, 90.00%)"), "{f:?}");
    assert!(f.iter().any(|x| x.title == "b (700 ns, 70.00%)"));
}

#[test]
fn svg_frames_match_threads_merged_and_per_thread() {
    let p = threads();
    let total = p.stats().total_time_ns();
    let f = frames(&svg(&p, &all_frames()));
    check_tree(&f, &expected_paths(&p, false, &frame_name), total, false);

    let f = frames(&svg(&p, &all_frames().per_thread(true)));
    let expected = expected_paths(&p, true, &frame_name);
    assert_eq!(expected[&vec!["main".to_owned()]], 10_000);
    check_tree(&f, &expected, total, false);
    for t in ["main", "<unnamed> #1", "<unnamed> #2"] {
        assert!(f.iter().any(|x| x.name == t), "thread frame {t}");
    }
}

#[test]
fn icicle_puts_roots_on_top() {
    let p = sample();
    let f = frames(&svg(&p, &all_frames().icicle(true).title("icicle <&>")));
    check_tree(&f, &expected_paths(&p, false, &frame_name), 1000, true);
    let y = |n: &str| f.iter().find(|x| x.name == n).unwrap().y;
    assert!(y("main") < y("a"), "icicle: callers above callees");
    let straight = frames(&svg(&p, &all_frames()));
    let ys = |n: &str| straight.iter().find(|x| x.name == n).unwrap().y;
    assert!(ys("main") > ys("a"));
}

#[test]
fn titles_are_escaped_and_output_is_deterministic() {
    let p = threads();
    let o = all_frames().title("a <title> & \"quotes\"").subtitle("sub");
    let a = svg(&p, &o);
    let b = svg(&p, &o);
    assert_eq!(a, b, "deterministic");
    frames(&a);
    assert!(a.contains("a &lt;title&gt; &amp;"), "escaped title");
}

#[test]
fn default_min_width_prunes_only_tiny_frames() {
    // 1 ns out of 10^6: under inferno's 0.01% default, kept with 0.0.
    let sites = vec![site("root", "r.rs", 1), site("tiny", "r.rs", 2)];
    let nodes = vec![node(0, NO_PARENT, 1, 1_000_000), node(1, 0, 1, 1)];
    let p = Profile::new(meta(), sites, vec![ThreadProfile::new(1, "main", 1, nodes)]);
    let f = frames(&svg(&p, &FlamegraphOptions::default()));
    assert!(!f.iter().any(|x| x.name == "tiny"));
    let f = frames(&svg(&p, &all_frames()));
    assert!(f.iter().any(|x| x.name == "tiny" && x.w == 1));
}

#[test]
fn differential_svg() {
    let before = sample();
    let mut after = sample();
    // b got slower: inner b 150 -> 450 (and everything above it by 300).
    for (i, n) in after.threads[0].nodes.iter_mut().enumerate() {
        if i != 4 {
            n.time_ns += 300;
        } else {
            n.time_ns = 450;
        }
    }
    after.validate().unwrap();
    let mut buf = Vec::new();
    flamegraph::write_differential_with(&before, &after, &all_frames(), &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(text.contains("Differential Flame Graph"));
    let f = frames(&text);
    // Widths are the second profile's.
    check_tree(&f, &expected_paths(&after, false, &frame_name), 1300, false);
    let leaf = f
        .iter()
        .filter(|x| x.name == "b")
        .min_by_key(|x| x.w)
        .unwrap();
    assert_eq!(leaf.w, 450);
    assert!(leaf.title.contains("; +"), "grew: {}", leaf.title);

    let mut buf = Vec::new();
    flamegraph::write_differential(&before, &after, &mut buf).unwrap();
    frames(std::str::from_utf8(&buf).unwrap());
}

#[test]
fn empty_profile_gives_a_valid_svg() {
    let p = Profile::new(meta(), vec![], vec![]);
    assert_eq!(p.folded(), "");
    let text = svg(&p, &FlamegraphOptions::default());
    assert!(frames(&text).is_empty());
    assert!(text.contains("No profiled time"));
    let dir = scratch!("empty");
    std::fs::create_dir_all(&dir).unwrap();
    profiler::emit::Format::Flamegraph
        .save(&p, &dir.join("flamegraph.svg"))
        .unwrap();
    let mut buf = Vec::new();
    flamegraph::write_differential(&p, &p, &mut buf).unwrap();
}

#[test]
fn write_flamegraph_to_a_file() {
    let p = threads();
    let dir = scratch!("file");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flamegraph.svg");
    profiler::emit::Format::Flamegraph.save(&p, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!frames(&text).is_empty());
    profiler::emit::write_output(&dir.join("icicle.svg"), |w| {
        flamegraph::write_svg_with(&p, &FlamegraphOptions::new().icicle(true), w)
    })
    .unwrap();
    profiler::emit::Format::Folded
        .save(&p, &dir.join("stacks.folded"))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("stacks.folded")).unwrap(),
        p.folded()
    );
}

fn live_leaf() {
    let _g = profiler::profile_scope!("fg_leaf");
    std::hint::black_box((0..500u64).sum::<u64>());
}

#[test]
fn live_profile_svg() {
    // Own process: every frame of the whole process's snapshot is checked,
    // which must hold only this test's calls.
    if integration::ran_in_own_process(module_path!(), "live_profile_svg") {
        return;
    }
    std::thread::Builder::new()
        .name("live-flamegraph".into())
        .spawn(|| {
            let _g = profiler::profile_scope!("fg_main");
            for _ in 0..10 {
                let _s = profiler::profile_scope!("fg_step");
                live_leaf();
                live_leaf();
            }
        })
        .unwrap()
        .join()
        .unwrap();
    let p = profiler::snapshot();
    let f = frames(&svg(&p, &all_frames()));
    check_tree(
        &f,
        &expected_paths(&p, false, &frame_name),
        p.stats().total_time_ns(),
        false,
    );
    for n in ["fg_main", "fg_step", "fg_leaf"] {
        assert!(f.iter().any(|x| x.name == n), "{n}");
    }
}
