//! The guide cannot drift from the program: every `rulelab` command written in the
//! README and in docs/ names a command and options the binary has, every example file
//! it names exists, and every page and picture the README links to is there.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pages() -> Vec<PathBuf> {
    let mut p = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    p.extend(docs);
    p
}

/// The command lines in a page's `sh` blocks, as written (comments cut).
fn commands(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut in_sh = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("```") {
            in_sh = !in_sh && (l == "```sh" || l == "```bash");
            continue;
        }
        if !in_sh {
            continue;
        }
        let l = l.split(" #").next().unwrap_or("").trim();
        for prefix in ["rulelab ", "cargo run --release -- "] {
            if let Some(rest) = l.strip_prefix(prefix) {
                out.push(rest.to_string());
            }
        }
    }
    out
}

/// A line written as a pattern (`[--shard K/N]`, `a|b`, `...`) rather than a command.
fn is_pattern(args: &str) -> bool {
    args.contains('[')
        || args.contains('|')
        || args.contains("...")
        || args.contains('…')
        || args.split_whitespace().any(|w| {
            w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || "._/,-=0123456789".contains(c))
                && w.chars().filter(|c| c.is_ascii_uppercase()).count() >= 2
        })
}

#[test]
fn every_command_in_the_guide_parses_and_its_examples_exist() {
    let bin = env!("CARGO_BIN_EXE_rulelab");
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        for args in commands(&text) {
            if is_pattern(&args) {
                continue;
            }
            let words: Vec<&str> = args.split_whitespace().collect();
            for w in &words {
                if w.starts_with("examples/") {
                    assert!(
                        root().join(w).exists(),
                        "{}: `rulelab {args}` names {w}, which does not exist",
                        page.display()
                    );
                }
            }
            // --help after the line: clap reads the options before it, so an option or
            // command the program lacks fails here, and nothing runs.
            let out = Command::new(bin)
                .args(&words)
                .arg("--help")
                .output()
                .expect("run rulelab");
            assert!(
                out.status.success(),
                "{}: `rulelab {args}` does not parse: {}",
                page.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} commands found in the guide");
}

#[test]
fn every_link_of_the_guide_resolves_and_none_leaves_the_repository() {
    let mut links = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        let dir = page.parent().expect("a folder");
        assert!(
            !text.contains("../shared"),
            "{} points outside the repository",
            page.display()
        );
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = &rest[..rest.find(')').expect("a closed link")];
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = target.split('#').next().unwrap_or(target);
            assert!(
                Path::new(dir).join(path).exists(),
                "{} links to {target}, which does not exist",
                page.display()
            );
            links += 1;
        }
    }
    assert!(links >= 10, "only {links} links found");
}
