#!/usr/bin/env python3
"""Checks the profiler crate's module graph: which files name which, through
`use` and inline `crate::`/`super::`/`self::` paths (re-exports followed to the
file that defines the name). Fails on an import cycle between files, and when
the data model (`profile/`) names a layer above it. Usage: layers.py [src]"""
import os, re, sys

if "--self-test" in sys.argv:
    # The checker must see a cycle and a model naming a layer above it.
    import subprocess, tempfile
    with tempfile.TemporaryDirectory() as d:
        files = {
            "lib.rs": "mod a; mod b; mod profile; mod stats;",
            "a.rs": "use crate::b::B;\npub(crate) struct A;",
            "b.rs": "pub(crate) struct B;\nfn f() { let _ = super::a::A; }",
            "profile/mod.rs": "pub struct Profile;\nfn g() { crate::stats::h(); }",
            "stats.rs": "pub(crate) fn h() {} // crate::a::A in a comment is no edge\nconst S: &str = \"crate::b::B\";",
        }
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
            open(os.path.join(d, name), "w").write(text)
        out = subprocess.run([sys.executable, __file__, d], capture_output=True, text=True)
        want = ["import cycle: a <-> b", "the data model profile names stats"]
        missing = [w for w in want if w not in out.stdout]
        if out.returncode != 1 or missing or "stats ->" in out.stdout:
            print("self-test failed:", missing, out.stdout)
            sys.exit(1)
    print("layers self-test: a cycle and a model naming stats are found")
    sys.exit(0)

ARGS = [a for a in sys.argv[1:] if not a.startswith("-")]
SRC = ARGS[0] if ARGS else os.path.join(os.path.dirname(__file__), "..", "profiler", "src")
SRC = os.path.normpath(SRC)
ABOVE_MODEL = ("stats", "analysis", "emit", "session", "diff", "load")

def modpath(f):
    rel = os.path.relpath(f, SRC)[:-3].split(os.sep)
    if rel[-1] in ("lib", "mod", "main"):
        rel = rel[:-1]
    if rel and rel[0] == "bin":
        return None
    return tuple(rel)

files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            m = modpath(p)
            if m is not None:
                files[m] = p

def strip(text):
    """The code of a file without comments, string and character literals,
    and without its test module."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j == -1 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif re.match(r'b?r(#*)"', text[i:i + 40]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + m.end())
            out.append('""')
            i = n if j == -1 else j + len(close)
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:])
            if m:  # a character literal (not a lifetime)
                out.append("' '")
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    # The test module is not part of the layering.
    return re.split(r"#\[cfg\(test\)\]\s*mod tests", code)[0]

texts = {m: strip(open(p, encoding="utf-8").read()) for m, p in files.items()}

# Re-exports: `pub use path::{A, B}` / `pub(crate) use ...` in a module make
# `module::A` resolve to wherever `path::A` is defined.
def expand_use(tree):
    """Flattens a use tree such as a::{b, c::{d as e}} into path lists."""
    out = []
    def rec(prefix, s):
        s = s.strip()
        if not s:
            return
        i = s.find("{")
        if i == -1:
            for part in split_top(s):
                part = part.strip().split(" as ")[0].strip()
                if part:
                    out.append(prefix + [x for x in part.split("::") if x])
            return
        head = s[:i].rstrip(":").strip()
        body = s[i + 1 : s.rfind("}")]
        newp = prefix + [x for x in head.split("::") if x]
        for part in split_top(body):
            rec(newp, part)
    rec([], tree)
    return out

def split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{": depth += 1
        if ch == "}": depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts

def absolute(mod, path):
    path = list(path)
    base = list(mod)
    if path[0] == "crate":
        return path[1:]
    if path[0] == "self":
        return base + path[1:]
    # `super::` inside an inline module (`mod os { ... }`) of this file.
    if path[0] == "super" and len(path) > 1 and re.search(r"\bmod\s+\w+\s*\{", texts[mod]) and path[1] in local_items(mod):
        return base + path[1:]
    while path and path[0] == "super":
        base = base[:-1]
        path = path[1:]
    if path and path[0] == "super":
        return None
    if (tuple(base) + (path[0],)) in files or path[0] in local_items(mod):
        return base + path
    return None  # an external crate or std

item_cache = {}
def local_items(mod):
    if mod not in item_cache:
        item_cache[mod] = set(re.findall(r"\b(?:fn|struct|enum|type|const|static|trait|mod)\s+([A-Za-z_]\w*)", texts[mod]))
    return item_cache[mod]

reexports = {}
for m, t in texts.items():
    for vis, tree in re.findall(r"\b(pub(?:\([^)]*\))?\s+)use\s+([^;]+);", t):
        for path in expand_use(tree):
            a = absolute(m, path)
            if a:
                reexports[(m, path[-1])] = a

def resolve(path, seen=0):
    """The module file that defines `path` (a list, crate-relative)."""
    best = ()
    for k in range(len(path), -1, -1):
        if tuple(path[:k]) in files:
            best = tuple(path[:k]); break
    rest = path[len(best):]
    if rest and (best, rest[0]) in reexports and seen < 20:
        return resolve(reexports[(best, rest[0])] + rest[1:], seen + 1)
    return best

edges = {m: set() for m in files}
for m, t in texts.items():
    paths, facade = [], []
    for vis, tree in re.findall(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", t):
        for path in expand_use(tree):
            a = absolute(m, path)
            # A module re-exporting its own children is its facade, not a
            # dependency of the module's code on them.
            if vis and a and tuple(a[: len(m)]) == m and len(a) > len(m) and resolve(a)[: len(m)] == m:
                facade.append(path)
                continue
            paths.append(path)
    t_code = re.sub(r"\b(pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", "", t)
    paths += [p.split("::") for p in re.findall(r"\b(?:crate|super|self)(?:::\w+)+", t_code)]
    # ... unless the module's own code uses what it re-exports.
    paths += [p for p in facade if re.search(r"(?<![\w:])" + re.escape(p[-1]) + r"\b", t_code)]
    # Paths through a child module, such as `registry::register(..)`.
    for c in [k[-1] for k in files if len(k) == len(m) + 1 and k[: len(m)] == m]:
        paths += [p.split("::") for p in re.findall(r"(?<![\w:])" + c + r"(?:::\w+)+", t_code)]
    for p in paths:
        a = absolute(m, p)
        if a is None:
            continue
        target = resolve(a)
        if target != m and target != ():
            edges[m].add(target)
    # lib.rs's re-exports are the public face, not a dependency of the crate
edges[()] = set()

def name(m):
    return "/".join(m) or "lib"

problems = []
for m in files:
    if m and m[0] == "profile":
        for t in sorted(edges[m]):
            if t and t[0] in ABOVE_MODEL:
                problems.append(f"the data model {name(m)} names {name(t)}")

# Cycles (Tarjan's strongly connected components).
index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
def strongconnect(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            strongconnect(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1:
            comps.append(comp)
sys.setrecursionlimit(10000)
for v in list(files):
    if v not in index:
        strongconnect(v)
for c in comps:
    problems.append("import cycle: " + " <-> ".join(sorted(name(m) for m in c)))

if "-v" in sys.argv:
    for m in sorted(files):
        print(f"{name(m)} -> {', '.join(sorted(name(t) for t in edges[m]))}")
for p in problems:
    print(p)
print(f"layers: {len(files)} files, {sum(len(e) for e in edges.values())} edges, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
