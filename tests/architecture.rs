//! The shape of the source tree, read from the files themselves: families stand side by
//! side on floors that name none of them, and no two files import each other.
//!
//! Imports are read from the text: every `crate::…` and `super::…` path (in `use`
//! trees, braces expanded, and inline), resolved through the module tree to the file
//! that defines the named item, following `pub use` re-exports to where the item lives.
//! A module's `mod child;` line is not an import. `#[cfg(test)]` modules are left out:
//! a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The science families: none may import another.
const FAMILIES: &[&str] = &["landscape", "control", "infer", "hippo"];

/// What may name a family: the registry (one entry per family) and the crate root that
/// declares the modules. The command line and the Python package reach the families
/// through the registry (checked by `front_ends_name_no_family`).
const ABOVE_FAMILIES: &[&str] = &["registry.rs", "lib.rs"];

/// A module: its file and its path from the crate root.
struct Module {
    file: PathBuf,
    path: Vec<String>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn modules() -> Vec<Module> {
    let mut out = Vec::new();
    walk(&src(), &mut Vec::new(), &mut out);
    out
}

fn walk(dir: &Path, prefix: &mut Vec<String>, out: &mut Vec<Module>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            prefix.push(name);
            walk(&p, prefix, out);
            prefix.pop();
        } else if p.extension().is_some_and(|e| e == "rs") {
            let mut path = prefix.clone();
            if !["mod", "lib", "main"].contains(&name.as_str()) {
                path.push(name);
            }
            out.push(Module { file: p, path });
        }
    }
}

/// The text without comments, string literals and `#[cfg(test)]` modules.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x' or '\n'); lifetimes ('a) pass through.
            let end = text[i + 1..].find('\'').map_or(b.len(), |e| i + 1 + e + 1);
            i = end;
            out.push_str("' '");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    strip_test_modules(&out)
}

fn strip_test_modules(text: &str) -> String {
    let mut s = text.to_string();
    while let Some(at) = s.find("#[cfg(test)]") {
        let Some(open) = s[at..].find('{').map(|o| at + o) else {
            break;
        };
        let mut depth = 0;
        let mut end = s.len();
        for (k, c) in s[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s.replace_range(at..end, "");
    }
    s
}

/// `a::{b, c::{d, e}}` expanded into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let head = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                head.trim_end_matches("::").to_string()
            } else {
                format!("{head}{p}")
            }
        })
        .collect()
}

/// Every path a file's code names: `use` trees (any path; the caller keeps those that
/// start in this crate) and inline paths that start at `crate` or `super`; each with
/// whether it came from a `pub use` (a re-export).
fn paths(code: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = code;
    // use statements, braces expanded.
    let mut plain = String::new();
    while let Some(at) = find_use(rest) {
        plain.push_str(&rest[..at.0]);
        let stmt = &rest[at.1..];
        let end = stmt.find(';').unwrap_or(stmt.len());
        let public = rest[..at.0].trim_end().ends_with("pub") || at.2;
        for p in expand(&without_renames(&stmt[..end])) {
            out.push((p, public));
        }
        rest = &stmt[(end + 1).min(stmt.len())..];
    }
    plain.push_str(rest);
    // Inline paths.
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(k) = plain[from..].find(start) {
            let at = from + k;
            from = at + start.len();
            if at > 0
                && (is_ident(plain[..at].chars().last().unwrap()) || plain[..at].ends_with('$'))
            {
                continue;
            }
            let end = plain[at..]
                .find(|c: char| !(is_ident(c) || c == ':'))
                .map_or(plain.len(), |e| at + e);
            if plain[end..].starts_with('!') {
                // A macro: exported at the crate root, wherever it is written.
                continue;
            }
            out.push((plain[at..end].trim_end_matches(':').to_string(), false));
        }
    }
    out
}

/// A use tree without its `as` renames (`a::B as C` names a::B).
fn without_renames(tree: &str) -> String {
    let spaced = tree
        .replace(',', " , ")
        .replace('{', " { ")
        .replace('}', " } ");
    let mut words = spaced.split_whitespace();
    let mut out = String::new();
    while let Some(w) = words.next() {
        if w == "as" {
            words.next();
        } else {
            out.push_str(w);
        }
    }
    out
}

/// The next `use` statement: (where it starts, where its tree starts, whether it is
/// `pub(crate) use`).
fn find_use(s: &str) -> Option<(usize, usize, bool)> {
    let mut from = 0;
    while let Some(k) = s[from..].find("use ") {
        let at = from + k;
        let before = s[..at].chars().last();
        if before.is_none_or(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}') {
            let restricted = s[..at].trim_end().ends_with("pub(crate)");
            return Some((at, at + 4, restricted));
        }
        from = at + 4;
    }
    None
}

struct Tree {
    modules: Vec<Module>,
    by_path: BTreeMap<Vec<String>, usize>,
    /// Per module: its re-exports, name → the path it names.
    reexports: Vec<BTreeMap<String, Vec<String>>>,
    /// Per module: its imports (paths from the crate root) and whether each is public.
    imports: Vec<Vec<(Vec<String>, bool)>>,
}

fn tree() -> Tree {
    let modules = modules();
    let by_path = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    let children: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let mut imports = Vec::new();
    let mut reexports = Vec::new();
    for m in &modules {
        let text = code(&std::fs::read_to_string(&m.file).unwrap());
        let mut own = Vec::new();
        let mut re = BTreeMap::new();
        for (p, public) in paths(&text) {
            let mut segs: Vec<String> = p.split("::").map(String::from).collect();
            let mut base = m.path.clone();
            match segs[0].as_str() {
                "crate" => {
                    base.clear();
                    segs.remove(0);
                }
                "super" => {
                    // super of x/a.rs (module x::a) is x; of x/mod.rs (module x), x's
                    // parent.
                    while segs.first().is_some_and(|s| s == "super") {
                        base.pop();
                        segs.remove(0);
                    }
                }
                "self" => {
                    segs.remove(0);
                }
                first => {
                    // A child module of this one (`use study::X` in a mod.rs), else
                    // another crate.
                    let mut child = m.path.clone();
                    child.push(first.to_string());
                    if !children.contains(&child) {
                        continue;
                    }
                }
            }
            let mut full = base;
            full.extend(segs);
            if public {
                if let Some(last) = full.last() {
                    re.insert(last.clone(), full.clone());
                }
            }
            own.push((full, public));
        }
        imports.push(own);
        reexports.push(re);
    }
    Tree {
        modules,
        by_path,
        reexports,
        imports,
    }
}

impl Tree {
    /// The file that defines what `path` names.
    fn resolve(&self, path: &[String], depth: usize) -> Option<usize> {
        let mut k = path.len();
        while k > 0 && !self.by_path.contains_key(&path[..k]) {
            k -= 1;
        }
        let module = *self.by_path.get(&path[..k])?;
        if depth < 8 {
            if let Some(name) = path.get(k) {
                if let Some(target) = self.reexports[module].get(name) {
                    if target != path {
                        return self.resolve(target, depth + 1).or(Some(module));
                    }
                }
            }
        }
        Some(module)
    }

    fn name(&self, i: usize) -> String {
        self.modules[i]
            .file
            .strip_prefix(src())
            .unwrap()
            .display()
            .to_string()
    }

    /// Every edge file → file (a file's own items are no edge).
    fn edges(&self) -> BTreeSet<(usize, usize)> {
        let mut out = BTreeSet::new();
        for (i, imports) in self.imports.iter().enumerate() {
            for (p, _) in imports {
                if let Some(j) = self.resolve(p, 0) {
                    if j != i {
                        out.insert((i, j));
                    }
                }
            }
        }
        out
    }
}

fn top(name: &str) -> &str {
    name.split('/').next().unwrap().trim_end_matches(".rs")
}

#[test]
fn no_family_imports_another_and_floors_name_none() {
    let t = tree();
    assert!(t.modules.len() > 40, "the walk found the source files");
    let mut wrong = Vec::new();
    for (i, j) in t.edges() {
        let (from, to) = (t.name(i), t.name(j));
        let (a, b) = (top(&from), top(&to));
        if a == b || !FAMILIES.contains(&b) {
            continue;
        }
        if FAMILIES.contains(&a) {
            wrong.push(format!("{from} imports {to}: a family imports another"));
        } else if !ABOVE_FAMILIES.iter().any(|x| top(x) == a) {
            wrong.push(format!("{from} imports {to}: a floor names a family"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// The command line (src/main.rs, src/cli/) and the Python package's Rust (python/src/)
/// name no family's module: they find studies and commands in the registry.
#[test]
fn front_ends_name_no_family() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/main.rs")];
    for dir in ["src/cli", "python/src"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    let families: Vec<&str> = FAMILIES.iter().copied().chain(["optim"]).collect();
    let mut wrong = Vec::new();
    let mut read = 0;
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let c = code(&std::fs::read_to_string(f).unwrap());
        read += 1;
        let mut named: Vec<String> = paths(&c).into_iter().map(|(p, _)| p).collect();
        let mut from = 0;
        while let Some(k) = c[from..].find("rulelab::") {
            let at = from + k;
            from = at + 1;
            let end = c[at..]
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == ':'))
                .map_or(c.len(), |e| at + e);
            named.push(c[at..end].to_string());
        }
        for p in named {
            let mut parts = p.split("::");
            if parts.next() != Some("rulelab") {
                continue;
            }
            if let Some(m) = parts.next().filter(|m| families.contains(m)) {
                wrong.push(format!("{} names rulelab::{m} ({p})", f.display()));
            }
        }
    }
    assert!(read >= 5, "read {read} front-end files");
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn no_two_files_import_each_other() {
    let t = tree();
    let edges = t.edges();
    assert!(edges.len() > 100, "the reader found the imports");
    // Strongly connected components (Tarjan), reported by their files.
    let n = t.modules.len();
    let mut next: Vec<Vec<usize>> = vec![vec![]; n];
    for &(a, b) in &edges {
        next[a].push(b);
    }
    let circles = components(&next)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut names: Vec<String> = c.iter().map(|&i| t.name(i)).collect();
            names.sort();
            let why: Vec<String> = edges
                .iter()
                .filter(|(a, b)| c.contains(a) && c.contains(b))
                .map(|&(a, b)| format!("{} -> {}", t.name(a), t.name(b)))
                .collect();
            format!("{}  ({})", names.join(" ↔ "), why.join(", "))
        })
        .collect::<Vec<_>>();
    assert!(circles.is_empty(), "circles:\n{}", circles.join("\n"));
}

fn components(next: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        next: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        count: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.count);
        s.low[v] = s.count;
        s.count += 1;
        s.stack.push(v);
        s.on[v] = true;
        for k in 0..s.next[v].len() {
            let w = s.next[v][k];
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut c = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on[w] = false;
                c.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(c);
        }
    }
    let n = next.len();
    let mut s = State {
        next,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: vec![],
        count: 0,
        out: vec![],
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_reader_expands_use_trees() {
    assert_eq!(
        expand("crate::a::{b, c::{d, self}}"),
        ["crate::a::b", "crate::a::c::d", "crate::a::c"]
    );
    let p = paths(&code(
        "use super::x::{Y, Z as W};\npub use crate::q::R;\nfn f() { crate::m::g(); }\n// crate::no\n",
    ));
    assert_eq!(
        p,
        [
            ("super::x::Y".to_string(), false),
            ("super::x::Z".to_string(), false),
            ("crate::q::R".to_string(), true),
            ("crate::m::g".to_string(), false),
        ]
    );
}
