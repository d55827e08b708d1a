//! `rulelab control path`: batches of optimal paths through the study runner, on both
//! devices, against solving each path alone, and its refusals.

mod common;

use rulelab::control::{paths, PathConfig, PathStudy};
use rulelab::gpu::Backend;
use rulelab::lbfgs::Stop;
use rulelab::sweep::{self, Compute, Present, RunOptions, Shard};
use std::path::{Path, PathBuf};
use std::process::Command;

fn rulelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(args)
        .output()
        .unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-paths-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The reference double well with the given [path] extras (N = 24 and T = 4 unless
/// they say otherwise), [grid] and [output].
fn config(path_extra: &str, rest: &str) -> String {
    let mut path = path_extra.to_string();
    for (key, default) in [("n", "24"), ("t_end", "4.0")] {
        let set = |t: &str| {
            t.lines()
                .any(|l| l.split('=').next().is_some_and(|k| k.trim() == key))
        };
        if !set(path_extra) && !set(rest) {
            path.push_str(&format!("\n{key} = {default}"));
        }
    }
    format!(
        "[landscape]\nkind = 'double_well'\ndim = 2\na = 1.0\nb = 1.0\nc = 1.0\nd = -0.5\n\
         [path]\nend = [1.0625, 0.0]\n{path}\n\
         [solver]\ngtol = 1e-6\nftol = 1e-9\n{rest}"
    )
}

fn run(text: &str, dir: &Path, backend: &Backend) -> PathConfig {
    let cfg = PathConfig::from_toml(text).unwrap();
    sweep::run(
        &cfg,
        text,
        dir,
        backend,
        &RunOptions {
            shard: Shard::WHOLE,
            resume: false,
            progress: sweep::Progress::Quiet,
            yes: false,
        },
    )
    .unwrap();
    cfg
}

/// paths.csv as rows of named fields.
fn rows(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    common::csv_rows(&std::fs::read_to_string(dir.join(PathStudy::RESULTS)).unwrap())
}

fn num(r: &std::collections::HashMap<String, String>, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k} = {:?}", r[k]))
}

/// Every row of a grid over γ and N (two path shapes in one chunk, solved as two
/// batches) is the path solved alone: its S after matches an f64 solve of the same
/// path, and its start is the row's.
#[test]
fn a_grid_of_paths_matches_each_path_solved_alone() {
    let dir = tmp("grid");
    let text = config(
        "start = [-0.6, 0.55]",
        "[grid]\ngamma = [0.0, 0.5]\nn = [16, 24]\nstart_1 = [0.55, -0.3]\n",
    );
    let cfg = run(&text, &dir, &Backend::Cpu);
    let got = rows(&dir);
    assert_eq!(got.len(), 8);
    let prepared = cfg.study.prepare(&cfg.base).unwrap();
    for (k, row) in got.iter().enumerate() {
        let p = cfg.learner(k as u64);
        assert_eq!(num(row, "gamma"), p.gamma);
        assert_eq!(num(row, "n"), p.n);
        assert_eq!(num(row, "from_1"), p.start_1, "row {k}");
        assert_eq!(row["status"], "converged", "row {k}: {row:?}");
        let mut theta = cfg.study.initial(&p);
        let r = paths::solve(
            &Backend::Cpu,
            true,
            &cfg.study.landscape,
            &prepared.shared,
            &[p.shape()],
            &[rulelab::control::PathConsts {
                gamma: p.gamma,
                eta: p.eta,
                k: p.k,
            }],
            &cfg.study.shape(&p),
            &mut theta,
            &Stop {
                gtol: 1e-12,
                ftol: 1e-15,
                max_iter: 10_000,
                memory: 10,
            },
        )
        .unwrap();
        let s = num(row, "s_final");
        assert!(
            (s - r[0].s_final).abs() <= 1e-5 * r[0].s_final.abs().max(0.1),
            "row {k}: S {s} vs f64 {}",
            r[0].s_final
        );
        assert!(num(row, "s_init") > s);
    }
    // Points: every path's N + 1 points, starting at its start and ending at the end.
    let points = std::fs::read_to_string(dir.join(PathStudy::SERIES)).unwrap();
    let expected: usize = (0..8).map(|k| cfg.learner(k).n as usize + 1).sum();
    assert_eq!(points.lines().count(), 1 + expected);
    assert!(dir.join("summary.png").exists() && dir.join("summary.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Random starts on the GPU adapter and on the CPU device: the same starts (the counter
/// RNG), and the same S per path to f32's resolution of the sum.
#[test]
fn random_starts_agree_between_devices() {
    let Some(gpu) = common::gpu() else { return };
    let text = config(
        "start_box = [[-1.5, 1.5], [-1.0, 1.0]]",
        "[grid]\nseed = { range = [0, 48] }\n[output]\npoints = 0\n",
    );
    let (a, b) = (tmp("cpu"), tmp("gpu"));
    run(&text, &a, &Backend::Cpu);
    run(&text, &b, &Backend::Gpu(gpu));
    let (ra, rb) = (rows(&a), rows(&b));
    assert_eq!(ra.len(), 48);
    let mut spread = std::collections::HashSet::new();
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x["from_0"], y["from_0"]);
        assert_eq!(x["from_1"], y["from_1"]);
        let f0 = num(x, "from_0");
        assert!((-1.5..=1.5).contains(&f0));
        spread.insert((f0 * 4.0).floor() as i64);
        assert_eq!(x["status"], "converged", "{x:?}");
        assert_eq!(y["status"], "converged", "{y:?}");
        let (s, t) = (num(x, "s_final"), num(y, "s_final"));
        assert!(
            (s - t).abs() <= 2e-5 * s.abs().max(0.1),
            "learner {}: cpu {s} gpu {t}",
            x["learner"]
        );
    }
    assert!(spread.len() >= 8, "starts cover the box: {spread:?}");
    assert!(
        !a.join(PathStudy::SERIES).exists(),
        "points = 0 writes no points"
    );
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

/// Shards of a batch of paths merge into the bytes of the whole run.
#[test]
fn shards_of_paths_merge_into_the_whole() {
    let text = config(
        "start_box = [[-1.5, 1.5], [-1.0, 1.0]]",
        "[grid]\nseed = { range = [0, 10] }\n[output]\npoints = 3\nsummary = false\n",
    );
    let root = tmp("shards");
    std::fs::create_dir_all(&root).unwrap();
    let file = root.join("paths.toml");
    std::fs::write(&file, &text).unwrap();
    let f = file.to_str().unwrap();
    let dir = |n: &str| root.join(n).to_str().unwrap().to_string();
    for (out, shard) in [("whole", None), ("s0", Some("0/2")), ("s1", Some("1/2"))] {
        let d = dir(out);
        let mut args = vec!["control", "path", f, "--out", &d, "--device", "cpu"];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let o = rulelab(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (m, s0, s1) = (dir("merged"), dir("s0"), dir("s1"));
    let o = rulelab(&["merge", &s0, &s1, "--out", &m]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("paths.csv"));
    for name in ["paths.csv", "points.csv"] {
        let whole = std::fs::read(root.join("whole").join(name)).unwrap();
        let merged = std::fs::read(root.join("merged").join(name)).unwrap();
        assert!(whole == merged, "{name} differs after merge");
    }
    let points = std::fs::read_to_string(root.join("whole/points.csv")).unwrap();
    let learners: std::collections::BTreeSet<&str> = points
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        learners.into_iter().collect::<Vec<_>>(),
        ["0", "3", "6", "9"]
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// A free end moves off its first guess to where stopping is cheaper.
#[test]
fn a_free_end_moves() {
    let dir = tmp("free");
    let text =
        config("start = [-0.6, 0.55]\nfree_end = true", "").replace("end = [1.0625, 0.0]\n", "");
    run(&text, &dir, &Backend::Cpu);
    let r = &rows(&dir)[0];
    assert_eq!(r["status"], "converged", "{r:?}");
    let moved = (num(r, "to_0") + 0.6).abs() + (num(r, "to_1") - 0.55).abs();
    assert!(moved > 0.05, "{r:?}");
    assert!(num(r, "end_loss") < 1.0121, "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad input: one line naming the key and the allowed range, exit 2, nothing written.
#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        ("gamma = -0.1", "start = [-0.6, 0.55]", "gamma"),
        ("eta = 0.0", "start = [-0.6, 0.55]", "eta"),
        ("k = -1.0", "start = [-0.6, 0.55]", "k"),
        ("g = [1.0, 0.0]", "start = [-0.6, 0.55]", "path.g"),
        ("start = [0.1, 0.2, 0.3]", "", "path.start"),
        ("", "", "path.start"),
        ("t_end = 0.0", "start = [-0.6, 0.55]", "t_end"),
        (
            "drift_rate = 0.5",
            "start = [-0.6, 0.55]",
            "path.drift_rate",
        ),
        ("drift = 'spin'", "start = [-0.6, 0.55]", "path.drift"),
        (
            "start_box = [[1.0, -1.0], [0.0, 1.0]]",
            "",
            "path.start_box",
        ),
        ("horizon = 3", "start = [-0.6, 0.55]", "path.horizon"),
    ];
    let root = tmp("bad");
    std::fs::create_dir_all(&root).unwrap();
    let mut all: Vec<(String, &str)> = cases
        .iter()
        .map(|(a, b, key)| (config(&format!("{a}\n{b}"), ""), *key))
        .collect();
    // N < 2 is an axis value here, and the seed of a fixed start is a knob with no effect.
    all.push((config("start = [-0.6, 0.55]", "[grid]\nn = [1, 8]\n"), "n"));
    all.push((
        config("start = [-0.6, 0.55]", "[grid]\nseed = [0, 1]\n"),
        "seed",
    ));
    all.push((
        config("start = [-0.6, 0.55]", "")
            .replace("[landscape]\n", "[landscape]\nnoise = 'isotropic'\n"),
        "landscape.noise",
    ));
    for (i, (text, key)) in all.iter().enumerate() {
        let file = root.join(format!("c{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let out = root.join(format!("out{i}"));
        let o = rulelab(&[
            "control",
            "path",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i} ({key}): {err}");
        assert_eq!(err.trim().lines().count(), 1, "case {i}: {err}");
        assert!(err.contains(key), "case {i}: {err} does not name {key}");
        assert!(!out.exists(), "case {i} wrote {}", out.display());
    }
    let _ = std::fs::remove_dir_all(&root);
}
