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
        let markdown = text.match_indices("](").map(|(i, _)| (i + 2, ')'));
        let html = text.match_indices("src=\"").map(|(i, _)| (i + 5, '"'));
        for (at, end) in markdown.chain(html) {
            let rest = &text[at..];
            let target = &rest[..rest.find(end).expect("a closed link")];
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

/// The names docs/outputs.md gives a table or a sentence to (every `name` in backticks).
fn documented() -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("docs/outputs.md")).expect("docs/outputs.md");
    text.split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|s| s.split(|c: char| c == ',' || c.is_whitespace()))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn header(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .map(String::from)
        .collect()
}

/// Every column every family writes (each study's sample run, a fit, a cross-validation
/// and a simulation) is in the guide's table of outputs, grid axes aside.
#[test]
fn every_column_written_is_in_the_guide() {
    let bin = env!("CARGO_BIN_EXE_rulelab");
    let known = documented();
    let d = std::env::temp_dir().join(format!("rulelab-guide-columns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(bin)
            .args(args)
            .env("RULELAB_DEVICE", "cpu")
            .output()
            .expect("run rulelab");
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let mut missing = vec![];
    let mut check = |file: &Path, skip: &[String]| {
        for c in header(file) {
            if !known.contains(&c) && !skip.contains(&c) {
                missing.push(format!(
                    "{}: {c}",
                    file.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    };
    let mut files = 0;
    for f in rulelab::registry::families() {
        let Some(entry) = f.study else { continue };
        let dir = d.join(f.name);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("sample.toml");
        std::fs::write(&cfg, (entry.sample)(&dir).unwrap()).unwrap();
        let out = dir.join("out");
        let mut args: Vec<&str> = entry.command.split_whitespace().collect();
        args.extend([cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        run(&args);
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        let axes: Vec<String> = m["axes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        for file in [entry.runner.results, entry.runner.series] {
            if out.join(file).exists() {
                check(&out.join(file), &axes);
                files += 1;
            }
        }
    }
    // Small runs of each command, written out as a user would type them (the temporary
    // directory's path has no spaces).
    let (data, held, fit, cv) = (
        d.join("sim.csv"),
        d.join("held.csv"),
        d.join("fit"),
        d.join("cv"),
    );
    let small = "--hidden 4 --layers 1 --epochs 1 --batch 2 --trunc 40";
    for line in [
        format!(
            "infer simulate --rule reinforce --animals 4 --trials 600 --out {}",
            data.display()
        ),
        format!(
            "infer simulate --rule reinforce --animals 2 --trials 120 --seed 1 --out {}",
            held.display()
        ),
        format!(
            "infer fit {} --test {} --model rnn --gru 4 {small} --bootstrap 1 --out {}",
            data.display(),
            held.display(),
            fit.display()
        ),
        format!(
            "infer cv {} --models dnn,reinforce_base,psytrack --folds 2 {small} --out {}",
            data.display(),
            cv.display()
        ),
    ] {
        run(&line.split_whitespace().collect::<Vec<_>>());
    }
    for file in [
        data.clone(),
        d.join("sim.truth.csv"),
        fit.join("epochs.csv"),
        fit.join("rule_grid.csv"),
        fit.join("weights.csv"),
        fit.join("restarts.csv"),
        fit.join("rule_history.csv"),
        cv.join("cv.csv"),
        cv.join("comparison.csv"),
    ] {
        check(&file, &[]);
        files += 1;
    }
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fit.join("metrics.json")).unwrap()).unwrap();
    for key in metrics.as_object().unwrap().keys() {
        if !known.contains(key) {
            missing.push(format!("metrics.json: {key}"));
        }
    }
    assert!(files >= 13, "only {files} files checked");
    assert!(
        missing.is_empty(),
        "columns docs/outputs.md does not describe:\n{}",
        missing.join("\n")
    );
    std::fs::remove_dir_all(&d).ok();
}

/// The front page's commands, one per family, each run as a newcomer would (from a
/// fresh directory beside the examples): each succeeds and draws a picture.
#[test]
fn the_front_page_commands_draw_each_family_s_first_picture() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let bin = env!("CARGO_BIN_EXE_rulelab");
    let d = std::env::temp_dir().join(format!("rulelab-front-page-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::os::unix::fs::symlink(root().join("examples"), d.join("examples")).unwrap();
    let mut ran = 0;
    for row in readme.lines().filter(|l| l.starts_with("| [")) {
        let cells: Vec<&str> = row.split('|').collect();
        let Some(command) = cells.get(3).and_then(|c| c.split('`').nth(1)) else {
            continue;
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        let Some(out) = words.last().filter(|w| w.starts_with("results/")) else {
            continue; // a command that writes nothing (a benchmark table)
        };
        let mut c = if words[0] == "rulelab" {
            let mut c = Command::new(bin);
            c.args(&words[1..]);
            c
        } else {
            let mut c = Command::new("bash");
            c.args(&words);
            c
        };
        let o = c
            .current_dir(&d)
            .env("RULELAB", bin)
            .env("RULELAB_DEVICE", "cpu")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "`{command}`: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut pngs = vec![];
        let mut stack = vec![d.join(out)];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "png") {
                    pngs.push(p);
                }
            }
        }
        assert!(!pngs.is_empty(), "`{command}` drew no picture");
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} of the front page's commands ran");
    std::fs::remove_dir_all(&d).ok();
}
