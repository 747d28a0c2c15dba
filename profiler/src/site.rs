//! Call-site metadata and the global site registry.
//!
//! Every `#[profile]` function and every `profile_scope!` owns one `static`
//! [`Site`]. Its id is assigned once, the first time the recorder creates a
//! call-tree node for it; the registry lock is taken only then.

use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;

/// How a site's display name is obtained.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub enum SiteName {
    /// A name given in the source (`#[profile(name = "...")]`, `profile_scope!("...")`).
    Literal(&'static str),
    /// The `type_name` of an item nested in the instrumented function, with the
    /// trailing segment to strip (`Grid::relax::__profiler_marker` -> `Grid::relax`).
    Nested(fn() -> &'static str, &'static str),
}

/// A static call site: where a profiled function or scope is in the source.
///
/// Created by the macros through `__private`; not part of the stable API.
#[doc(hidden)]
pub struct Site {
    name: SiteName,
    module: &'static str,
    file: &'static str,
    line: u32,
    id: AtomicU32,
}

/// Id value meaning "not registered yet".
const UNASSIGNED: u32 = u32::MAX;

/// A registered site, as stored in the registry.
#[derive(Clone, Debug)]
pub(crate) struct SiteRecord {
    pub(crate) name: String,
    pub(crate) module: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
}

static REGISTRY: Mutex<Vec<SiteRecord>> = Mutex::new(Vec::new());

impl Site {
    /// A site with the given metadata. `const` so that it can be a `static`.
    pub const fn new(name: SiteName, module: &'static str, file: &'static str, line: u32) -> Self {
        Site {
            name,
            module,
            file,
            line,
            id: AtomicU32::new(UNASSIGNED),
        }
    }

    /// The site's id in the registry, registering it on first use.
    #[inline]
    pub(crate) fn id(&'static self) -> u32 {
        let id = self.id.load(Ordering::Acquire);
        if id != UNASSIGNED {
            return id;
        }
        self.register()
    }

    #[cold]
    fn register(&'static self) -> u32 {
        let mut reg = REGISTRY.lock();
        // Re-check under the lock: another thread may have registered it.
        let id = self.id.load(Ordering::Acquire);
        if id != UNASSIGNED {
            return id;
        }
        let name = match self.name {
            SiteName::Literal(s) => s.to_owned(),
            SiteName::Nested(f, marker) => clean_type_name(f(), marker, self.module),
        };
        let id = u32::try_from(reg.len()).expect("more than 4 billion profiled call sites");
        reg.push(SiteRecord {
            name,
            module: self.module,
            file: self.file,
            line: self.line,
        });
        self.id.store(id, Ordering::Release);
        id
    }
}

/// A copy of every registered site, indexed by id.
pub(crate) fn registered_sites() -> Vec<SiteRecord> {
    REGISTRY.lock().clone()
}

/// Turns the `type_name` of a marker item nested in a function into the
/// function's display name: the marker segment and `{{closure}}` segments are
/// removed, and the module path is stripped so that a method reads
/// `Grid::relax` and a free function `fib`.
pub(crate) fn clean_type_name(full: &str, marker: &str, module: &str) -> String {
    let mut s = full;
    if let Some(rest) = s.strip_suffix(marker) {
        s = rest.strip_suffix("::").unwrap_or(rest);
    }
    let mut name = s.replace("::{{closure}}", "");
    // Strip the module path wherever it prefixes a path (also inside `<T as Trait>`).
    if !module.is_empty() {
        let prefix = format!("{module}::");
        name = strip_path_prefix(&name, &prefix);
    }
    name
}

/// Removes `prefix` where it starts a path: at the start of `s` or after one of
/// `<`, ` `, `(`, `,`, `&`, `[`.
fn strip_path_prefix(s: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < s.len() {
        let at_boundary = i == 0 || matches!(bytes[i - 1], b'<' | b' ' | b'(' | b',' | b'&' | b'[');
        if at_boundary && s[i..].starts_with(prefix) {
            i += prefix.len();
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_lose_module_and_marker() {
        assert_eq!(
            clean_type_name("app::grid::Grid::relax::__m", "__m", "app::grid"),
            "Grid::relax"
        );
        assert_eq!(clean_type_name("app::fib::__m", "__m", "app"), "fib");
        assert_eq!(
            clean_type_name(
                "<app::Grid as app::Solve>::step::{{closure}}::__m",
                "__m",
                "app"
            ),
            "<Grid as Solve>::step"
        );
        // A module that merely shares a prefix is kept.
        assert_eq!(clean_type_name("apple::f::__m", "__m", "app"), "apple::f");
    }
}
