//! Names as the output formats show them: one place for what every format
//! does to a name (control characters, line breaks included, become spaces;
//! an unknown site is named by its number) and for telling apart the names
//! that repeat.

use std::collections::{HashMap, HashSet};

use crate::profile::{Profile, SiteId};

/// `s` with every control character (line breaks included) as a space.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `s` for XML or HTML text and attribute values: [`clean`], with `&`,
/// `<`, `>`, `"` and `'` as entities.
pub(crate) fn markup_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// [`clean`], trimmed: text for a one-line label.
pub(crate) fn label(s: &str) -> String {
    clean(s).trim().to_owned()
}

/// [`label`], or `empty` when nothing is left.
pub(crate) fn label_or(s: &str, empty: &str) -> String {
    let s = label(s);
    if s.is_empty() { empty.to_owned() } else { s }
}

/// A site's name for a reader ([`clean`]); an unknown site is named by its
/// number.
pub(crate) fn site_name(profile: &Profile, site: SiteId) -> String {
    match profile.sites.get(site as usize) {
        Some(s) => clean(&s.name),
        None => format!("(unknown site {site})"),
    }
}

/// How many times each name occurs.
pub(crate) fn counts<'a>(names: impl IntoIterator<Item = &'a str>) -> HashMap<&'a str, usize> {
    let mut count = HashMap::new();
    for n in names {
        *count.entry(n).or_insert(0) += 1;
    }
    count
}

/// The names, each one that repeats numbered in order (`main #1`,
/// `main #2`); the others as they are.
pub(crate) fn numbered(names: &[String]) -> Vec<String> {
    let count = counts(names.iter().map(String::as_str));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    names
        .iter()
        .map(|n| {
            if count[n.as_str()] > 1 {
                let k = seen.entry(n.as_str()).or_insert(0);
                *k += 1;
                format!("{n} #{k}")
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Makes every name unique: each name that repeats becomes `detail(i)` (for
/// the `i`-th name: `name (file:line)`), then `#2`, `#3`... if even that is
/// taken. Names that do not repeat are kept, and never taken by another.
pub(crate) fn disambiguate(names: &mut [String], detail: impl Fn(usize) -> String) {
    let shared: HashSet<String> = counts(names.iter().map(String::as_str))
        .into_iter()
        .filter(|&(_, c)| c > 1)
        .map(|(n, _)| n.to_owned())
        .collect();
    let mut used: HashSet<String> = names
        .iter()
        .filter(|n| !shared.contains(*n))
        .cloned()
        .collect();
    for (i, slot) in names.iter_mut().enumerate() {
        if !shared.contains(slot) {
            continue;
        }
        let base = detail(i);
        let mut name = base.clone();
        let mut k = 2;
        while used.contains(&name) {
            name = format!("{base} #{k}");
            k += 1;
        }
        used.insert(name.clone());
        *slot = name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_told_apart() {
        let names: Vec<String> = ["a", "b", "a"].map(String::from).to_vec();
        assert_eq!(numbered(&names), ["a #1", "b", "a #2"]);
        let mut n = names.clone();
        disambiguate(&mut n, |i| format!("{} (f:{i})", names[i]));
        assert_eq!(n, ["a (f:0)", "b", "a (f:2)"]);
        let mut n: Vec<String> = ["x", "x", "x (f:1)"].map(String::from).to_vec();
        disambiguate(&mut n, |_| "x (f:1)".to_owned());
        assert_eq!(n, ["x (f:1) #2", "x (f:1) #3", "x (f:1)"]);
        assert_eq!(label(" a\nb\t"), "a b");
        assert_eq!(label_or("\n", "(unnamed)"), "(unnamed)");
    }
}
