//! Call-site metadata and the global site registry.
//!
//! Every `#[profile]` function and every `profile_scope!` owns one `static`
//! [`Site`]. Its id is assigned once, the first time the recorder creates a
//! call-tree node for it; the registry lock is taken only then.

use std::sync::atomic::{AtomicU32, Ordering};

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
    /// The `CARGO_MANIFEST_DIR` of the crate the site is in (empty when
    /// not given): with `file` it tells where the sources are.
    manifest_dir: &'static str,
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
    pub(crate) manifest_dir: &'static str,
}

static REGISTRY: crate::fork::Lock<Vec<SiteRecord>> = crate::fork::Lock::new(Vec::new());

impl Site {
    /// A site with the given metadata. `const` so that it can be a `static`.
    pub const fn new(name: SiteName, module: &'static str, file: &'static str, line: u32) -> Self {
        Site {
            name,
            module,
            file,
            line,
            manifest_dir: "",
            id: AtomicU32::new(UNASSIGNED),
        }
    }

    /// The same site, in the crate whose `CARGO_MANIFEST_DIR` is `dir`
    /// (the macros give it, so that reports can find the sources; `None`
    /// outside Cargo).
    pub const fn in_crate(mut self, dir: Option<&'static str>) -> Self {
        if let Some(dir) = dir {
            self.manifest_dir = dir;
        }
        self
    }

    /// The name given in the source (empty for a name taken from a type).
    #[cfg(feature = "mpi")]
    pub(crate) fn literal_name(&self) -> &'static str {
        match self.name {
            SiteName::Literal(name) => name,
            SiteName::Nested(..) => "",
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
        crate::fork::register(crate::fork::Part::Site, &SITE_FORK);
        let mut reg = REGISTRY.lock();
        // Re-check under the lock: another thread may have registered it.
        let id = self.id.load(Ordering::Acquire);
        if id != UNASSIGNED {
            return id;
        }
        let name = match self.name {
            SiteName::Literal(s) => s.to_owned(),
            SiteName::Nested(f, marker) => clean_type_name(f(), marker),
        };
        let id = u32::try_from(reg.len()).expect("more than 4 billion profiled call sites");
        reg.push(SiteRecord {
            name,
            module: self.module,
            file: self.file,
            line: self.line,
            manifest_dir: self.manifest_dir,
        });
        self.id.store(id, Ordering::Release);
        id
    }
}

/// Holds the site registry across a `fork` (see [`crate::fork`]); the
/// child keeps the sites: they describe the program.
fn fork_prepare() {
    crate::fork::hold(&REGISTRY);
}

/// A copy of every registered site, indexed by id.
pub(crate) fn registered_sites() -> Vec<SiteRecord> {
    REGISTRY.lock().clone()
}

/// The folder that `file` (a site's file name, as `file!()` gives it) is
/// relative to, for a site of the crate whose manifest is in
/// `manifest_dir`: `None` when `file` is absolute or either is unknown.
///
/// Cargo gives rustc the paths of a workspace's packages relative to the
/// workspace root, and of every other package absolute, so the root is the
/// ancestor of `manifest_dir` that, joined to the start of `file`, gives
/// `manifest_dir` back (`/ws` for `/ws/crates/app` and
/// `crates/app/src/main.rs`), or `manifest_dir` itself for a package that
/// is its own workspace (`src/main.rs`). Where both read, the one under
/// which the file exists wins.
pub(crate) fn source_root(manifest_dir: &str, file: &str) -> Option<std::path::PathBuf> {
    use std::path::Path;
    let manifest = Path::new(manifest_dir);
    let rel_file = Path::new(file);
    if manifest_dir.is_empty() || !manifest.is_absolute() || file.is_empty() {
        return None;
    }
    if rel_file.is_absolute() || file.starts_with('~') || file.starts_with('<') {
        return None;
    }
    let member_root = manifest.ancestors().skip(1).find(|a| {
        manifest
            .strip_prefix(a)
            .is_ok_and(|rel| !rel.as_os_str().is_empty() && rel_file.starts_with(rel))
    });
    match member_root {
        Some(root) if root.join(rel_file).exists() || !manifest.join(rel_file).exists() => {
            Some(root.to_path_buf())
        }
        _ => Some(manifest.to_path_buf()),
    }
}

/// Turns the `type_name` of a marker item nested in a function into the
/// function's display name. The module is recorded apart (`module_path!()`),
/// so the name keeps only what tells functions apart within it:
///
/// - the marker segment and `{{closure}}` segments are removed;
/// - the function's own name is kept, with the segment before it when that is
///   a type (it starts with an uppercase letter or is qualified): a free
///   function reads `fib`, a method `Grid::relax`, a trait method
///   `<Grid as Solve>::step`, a trait's default method `Solve::describe`.
///   Modules, enclosing functions (a function nested in `main` reads `fib`,
///   as cProfile names a nested Python function) and anonymous blocks are
///   dropped;
/// - paths inside are shortened to their last segment
///   (`<Vec<u8> as Solve>::step`, `<Grid as From<&str>>::from`);
/// - generic argument lists that only hold placeholders are removed (a method
///   of `impl<T> Grid<T>` reads `Grid::relax`, not `Grid<_>::relax`), `'_`
///   lifetimes are dropped from the others (`Grid<u32>::only` is kept, so that
///   the methods of two impls of one type stay apart);
/// - an impl in an anonymous block (`_::<impl Grid>::f`) reads `Grid::f`.
pub(crate) fn clean_type_name(full: &str, marker: &str) -> String {
    let mut s = full;
    if let Some(rest) = s.strip_suffix(marker) {
        s = rest.strip_suffix("::").unwrap_or(rest);
    }
    let name = s.replace("::{{closure}}", "");
    let name = shorten_inner_paths(&name);
    drop_enclosing_scopes(&simplify_generics(&name))
}

/// Keeps the last segment and, when it is a type, the one before it (see
/// [`clean_type_name`]).
fn drop_enclosing_scopes(name: &str) -> String {
    match split_path(name).as_slice() {
        [.., ty, f] if ty.starts_with('<') || ty.chars().next().is_some_and(char::is_uppercase) => {
            format!("{ty}::{f}")
        }
        [.., f] => (*f).to_owned(),
        [] => String::new(),
    }
}

/// Splits a path at its top-level `::` (not inside `<..>`, `(..)`, `[..]`).
fn split_path(s: &str) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                parts.push(&s[start..i]);
                start = i + 2;
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Shortens every path that starts after one of `<`, ` `, `(`, `,`, `&`, `[`
/// (a type inside the name, not the name's own path) to its last segment:
/// `alloc::vec::Vec<_>` -> `Vec<_>`.
fn shorten_inner_paths(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let inner_start = i > 0 && matches!(bytes[i - 1], b'<' | b' ' | b'(' | b',' | b'&' | b'[');
        if inner_start {
            let last = last_segment_start(s, i);
            if last > i {
                i = last;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Where the last segment of the path starting at `i` starts: after every
/// `ident::` that is followed by another identifier.
fn last_segment_start(s: &str, i: usize) -> usize {
    let bytes = s.as_bytes();
    let mut j = i;
    loop {
        let mut k = j;
        while k < bytes.len() && is_ident_byte(bytes[k]) {
            k += 1;
        }
        let next_is_segment = s[k..].starts_with("::")
            && bytes
                .get(k + 2)
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
        if k > j && next_is_segment {
            j = k + 2;
        } else {
            return j;
        }
    }
}

/// The index of the `>` that closes the `<` at `open`, skipping the `>` of
/// `->` and nested brackets.
fn matching_close(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (b == b'>').then_some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits a generic argument list at its top-level `, `.
fn split_args(s: &str) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts
}

/// Removes placeholder-only generic argument lists (`Grid<_>` -> `Grid`),
/// drops `'_` from the others, and turns `<impl Grid>` into `Grid`.
fn simplify_generics(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if bytes[i] == b'<' {
            if let Some(close) = matching_close(s, i) {
                let inner = simplify_generics(&s[i + 1..close]);
                let after_ident = i > 0 && is_ident_byte(bytes[i - 1]);
                if after_ident {
                    let args: Vec<&str> = split_args(&inner)
                        .into_iter()
                        .filter(|a| !a.is_empty() && *a != "'_")
                        .collect();
                    if !args.iter().all(|a| *a == "_") {
                        out.push('<');
                        out.push_str(&args.join(", "));
                        out.push('>');
                    }
                } else if let Some(ty) = inner.strip_prefix("impl ") {
                    out.push_str(ty);
                } else {
                    out.push('<');
                    out.push_str(&inner);
                    out.push('>');
                }
                i = close + 1;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// What the site does around a `fork` (see [`crate::fork`]).
static SITE_FORK: crate::fork::Hooks = crate::fork::Hooks {
    prepare: fork_prepare,
    child: crate::fork::nothing,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn c(full: &str) -> String {
        clean_type_name(full, "__m")
    }

    #[test]
    fn method_names_lose_module_and_marker() {
        assert_eq!(c("app::grid::Grid::relax::__m"), "Grid::relax");
        assert_eq!(c("app::fib::__m"), "fib");
        assert_eq!(
            c("<app::Grid as app::Solve>::step::{{closure}}::__m"),
            "<Grid as Solve>::step"
        );
        // Without the marker (a name given as is), only the cleaning applies.
        assert_eq!(clean_type_name("app::Grid::relax", "__m"), "Grid::relax");
    }

    #[test]
    fn generic_impls_lose_placeholders() {
        assert_eq!(c("app::Grid<_>::relax::__m"), "Grid::relax");
        assert_eq!(c("app::P<_, _>::f::__m"), "P::f");
        assert_eq!(c("app::W<'_, _>::f::__m"), "W::f");
        assert_eq!(c("app::W<'_, u8>::f::__m"), "W<u8>::f");
        // A method of one concrete impl keeps its arguments.
        assert_eq!(c("app::Grid<u32>::only::__m"), "Grid<u32>::only");
        assert_eq!(c("app::P<_, alloc::vec::Vec<_>>::g::__m"), "P<_, Vec>::g");
        assert_eq!(
            c("<app::Grid<_> as app::Solve>::step::__m"),
            "<Grid as Solve>::step"
        );
        assert_eq!(
            c("<app::P<_, u8> as app::Tr<_>>::t::__m"),
            "<P<_, u8> as Tr>::t"
        );
        assert_eq!(
            c("<app::F<_> as app::Tr<fn(_) -> _>>::t::__m"),
            "<F as Tr<fn(_) -> _>>::t"
        );
        assert_eq!(c("<[_; 2] as app::Tr<_>>::t::__m"), "<[_; 2] as Tr>::t");
        assert_eq!(
            c("<&[_] as app::Solve>::step::__m"),
            "<&[_] as Solve>::step"
        );
        assert_eq!(c("<dyn app::Tr<u8>>::d::__m"), "<dyn Tr<u8>>::d");
        assert_eq!(c("app::Solve::dflt::__m"), "Solve::dflt");
        assert_eq!(c("app::_::<impl app::Arr<2>>::h::__m"), "Arr<2>::h");
    }

    #[test]
    fn enclosing_functions_are_dropped() {
        assert_eq!(c("app::outer::inner::__m"), "inner");
        assert_eq!(c("app::main::fib::__m"), "fib");
        assert_eq!(c("app::main::Grid<_>::relax::__m"), "Grid::relax");
        assert_eq!(c("app::main::{{closure}}::helper::__m"), "helper");
        assert_eq!(c("app::Grid::relax::helper::__m"), "helper");
        assert_eq!(
            c("<app::main::Grid as app::Solve>::step::__m"),
            "<Grid as Solve>::step"
        );
        assert_eq!(c("app::main::Solve::dflt::__m"), "Solve::dflt");
    }

    #[test]
    fn inner_paths_are_shortened() {
        assert_eq!(
            c("<alloc::vec::Vec<_> as app::Solve>::step::__m"),
            "<Vec as Solve>::step"
        );
        assert_eq!(
            c("<app::Arr<1> as core::convert::From<&_>>::from::__m"),
            "<Arr<1> as From<&_>>::from"
        );
        assert_eq!(
            c(
                "<std::collections::hash::map::HashMap<u8, alloc::string::String> as app::S>::s::__m"
            ),
            "<HashMap<u8, String> as S>::s"
        );
        assert_eq!(
            c("<(app::A, other::B) as app::S>::s::__m"),
            "<(A, B) as S>::s"
        );
    }

    #[test]
    fn source_roots_of_workspace_members_and_single_packages() {
        use super::source_root;
        use std::path::PathBuf;
        let root = |m: &str, f: &str| source_root(m, f);
        // A workspace member: the file starts with the member's folder.
        assert_eq!(
            root("/nonexistent/ws/crates/app", "crates/app/src/main.rs"),
            Some(PathBuf::from("/nonexistent/ws"))
        );
        assert_eq!(
            root("/nonexistent/ws/workloads", "workloads/src/a.rs"),
            Some(PathBuf::from("/nonexistent/ws"))
        );
        // A package that is its own workspace.
        assert_eq!(
            root("/nonexistent/app", "src/main.rs"),
            Some(PathBuf::from("/nonexistent/app"))
        );
        // This crate, whose sources are on disk: the root holds the file.
        let here = env!("CARGO_MANIFEST_DIR");
        let r = root(here, file!()).unwrap();
        assert!(r.join(file!()).exists(), "{}", r.display());
        // Absolute files, unknown crates and built-ins have none.
        assert_eq!(root("/nonexistent/app", "/abs/src/x.rs"), None);
        assert_eq!(root("", "src/x.rs"), None);
        assert_eq!(root("relative/dir", "src/x.rs"), None);
        assert_eq!(root("/nonexistent/app", "~"), None);
    }
}
