//! The differences between a rebuilt tree's figures and the file's: every
//! function and edge whose calls or times differ (mutual recursion, which
//! pstats' aggregates cannot rebuild exactly), and notes on the caller
//! entries left out or estimated. They become
//! [`Import::inexact`](super::Import::inexact); the command-line tool prints
//! a one-line note.

use super::decode::PstatsFunction;
use crate::profile::Profile;
use crate::stats::{Figures, std_name};

/// The most differences [`Import::inexact`](super::Import::inexact) lists;
/// each names at most 256 bytes of a function's label.
pub const MAX_NOTES: usize = 1000;

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
pub(super) fn differences(funcs: &[PstatsFunction], profile: &Profile) -> (Vec<String>, usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_shortened() {
        assert_eq!(shorten("a.py:1(f)".into()), "a.py:1(f)");
        let long = format!("{}:1(f)", "é".repeat(300));
        let short = shorten(long);
        assert_eq!(short.chars().count(), 241);
        assert!(short.ends_with(":1(f)") && short.contains('…'));
    }
}
