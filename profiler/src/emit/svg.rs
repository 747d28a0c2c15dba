//! What the flame graph and the flame chart SVGs share: frame names made safe
//! for inferno's folded lines, the threads' root frames, and the small SVG
//! drawn when there is nothing to draw.

use std::io::{self, Write};

use super::names;
use crate::profile::Profile;

/// A small SVG saying that there is nothing to draw (inferno refuses to draw
/// an empty graph): `title`, then `message`.
pub(crate) fn placeholder(title: &str, message: &str, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, r#"<?xml version="1.0" standalone="no"?>"#)?;
    writeln!(
        w,
        r#"<svg version="1.1" width="1200" height="80" viewBox="0 0 1200 80" xmlns="http://www.w3.org/2000/svg">"#
    )?;
    writeln!(
        w,
        r#"<text x="600" y="30" text-anchor="middle" font-family="Verdana" font-size="17">{}</text>"#,
        names::markup_escape(title)
    )?;
    writeln!(
        w,
        r#"<text x="600" y="60" text-anchor="middle" font-family="Verdana" font-size="12">{}</text>"#,
        names::markup_escape(message)
    )?;
    writeln!(w, "</svg>")?;
    w.flush()
}

/// A frame name safe for the folded format (see
/// [`flamegraph`](super::flamegraph), "Folded stacks").
pub(crate) fn frame_name(name: &str) -> String {
    let mut s = names::label(name).replace(';', ",");
    if s.is_empty() {
        return "(unnamed)".to_owned();
    }
    // A line is `frames count`; inferno takes a last word made of digits
    // (with at most one dot) as a count.
    if let Some(sp) = s.rfind(' ') {
        let last = &s[sp + 1..];
        let numeric = !last.is_empty()
            && last.chars().all(|c| c.is_ascii_digit() || c == '.')
            && last.chars().filter(|&c| c == '.').count() <= 1;
        if numeric {
            s.replace_range(sp..sp + 1, "\u{a0}");
        }
    }
    // A line starting with `# ` is a comment to inferno.
    if s.starts_with("# ") {
        s.replace_range(1..2, "\u{a0}");
    }
    s
}

/// The root frame of each thread for per-thread graphs: its name, numbered
/// when several threads share it.
pub(crate) fn thread_frames(profile: &Profile) -> Vec<String> {
    let names: Vec<String> = profile
        .threads
        .iter()
        .map(|t| frame_name(&t.name))
        .collect();
    names::numbered(&names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_names_survive_the_folded_format() {
        assert_eq!(frame_name("a;b"), "a,b");
        assert_eq!(frame_name(" x\ny "), "x y");
        assert_eq!(frame_name("step 3"), "step\u{a0}3");
        assert_eq!(frame_name("step 3.5"), "step\u{a0}3.5");
        assert_eq!(frame_name("v 1.2.3"), "v 1.2.3");
        assert_eq!(frame_name("3 steps"), "3 steps");
        assert_eq!(frame_name("# x"), "#\u{a0}x");
        assert_eq!(frame_name(""), "(unnamed)");
    }
}
