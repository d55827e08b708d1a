//! Adaptive sweeps: successive halving across settings inside one batched run. The
//! decisions follow the rule, cost what they save, and do not depend on chunking,
//! sharding, resuming or (away from ties) the device.

mod common;

use rulelab::gpu::Backend;
use rulelab::landscape::SweepConfig;
use rulelab::sweep::{self, merge, RunOptions, Shard};
use std::path::{Path, PathBuf};

const CFG: &str = r#"
[landscape]
kind = "quadratic"
dim = 12
noise = "isotropic"
noise_sigma = 0.05
theta0_noise = 0.2
[rule]
kind = "adam"
[grid]
lr = { logspace = [1e-4, 3e-1, 8] }
beta1 = [0.0, 0.9]
seed = { range = [0, 4] }
[run]
steps = 200
record_every = 25
[output]
trajectories = true
summary = false
[prune]
every = 50
keep = 0.5
group = 8
"#;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-prune-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(dir: &Path, backend: &Backend, shard: Shard, resume: bool) -> sweep::RunReport {
    let cfg = SweepConfig::from_toml(CFG).unwrap();
    sweep::run(
        &cfg,
        CFG,
        dir,
        backend,
        &RunOptions {
            shard,
            resume,
            progress: sweep::Progress::Quiet,
            yes: false,
        },
    )
    .unwrap()
}

struct Row {
    setting: (String, String),
    pruned_at: Option<u64>,
    final_loss: f64,
}

fn rows(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(*head.last().unwrap(), "pruned_at");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                setting: (f[1].to_string(), f[2].to_string()),
                pruned_at: f.last().unwrap().parse().ok(),
                final_loss: f[4].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn settings_halve_at_each_rung_and_their_rows_are_kept() {
    let dir = tmp("cpu");
    let report = run(&dir, &Backend::Cpu, Shard::WHOLE, false);
    let rows = rows(&dir);
    assert_eq!(rows.len(), 64, "every learner keeps its row");
    assert_eq!(
        report.manifest.chunks_total, 2,
        "a chunk is one group of 8 settings"
    );
    // Seeds of a setting share their fate; each group of 8 settings halves at rungs
    // 50, 100, 150: 4, 2 and 1 go on, so 1 of 8 runs to the end.
    let mut fate = std::collections::BTreeMap::new();
    for r in &rows {
        let f = fate.entry(r.setting.clone()).or_insert(r.pruned_at);
        assert_eq!(*f, r.pruned_at, "{:?}: seeds parted ways", r.setting);
        assert!(r.final_loss.is_finite());
    }
    let count = |p: Option<u64>| fate.values().filter(|&&v| v == p).count();
    assert_eq!(
        (
            count(Some(50)),
            count(Some(100)),
            count(Some(150)),
            count(None)
        ),
        (8, 4, 2, 2)
    );
    // A pruned learner's trajectory stops at its rung.
    let traj = std::fs::read_to_string(dir.join("trajectories.csv")).unwrap();
    let pruned: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.pruned_at == Some(50))
        .map(|(k, _)| k)
        .collect();
    for line in traj.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (k, step, loss): (usize, u64, f64) = (
            f[0].parse().unwrap(),
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
        );
        if pruned.contains(&k) {
            assert_eq!(
                loss.is_nan(),
                step > 50,
                "learner {k} at step {step}: {loss}"
            );
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn decisions_do_not_depend_on_sharding_or_resuming() {
    let whole = tmp("whole");
    run(&whole, &Backend::Cpu, Shard::WHOLE, false);
    let parts: Vec<PathBuf> = (0..2).map(|k| tmp(&format!("part{k}"))).collect();
    for (k, p) in parts.iter().enumerate() {
        run(
            p,
            &Backend::Cpu,
            Shard {
                index: k as u64,
                count: 2,
            },
            false,
        );
    }
    let merged = tmp("merged");
    merge::merge(&parts, &merged).unwrap();
    let read = |d: &Path| std::fs::read(d.join("results.csv")).unwrap();
    assert_eq!(read(&merged), read(&whole));
    // Cut the run back into its first chunk and resume: the same decisions again.
    let results = whole.join("results.csv");
    let len = std::fs::metadata(&results).unwrap().len();
    let before = read(&whole);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&results)
        .unwrap()
        .set_len(len * 2 / 3)
        .unwrap();
    let r = run(&whole, &Backend::Cpu, Shard::WHOLE, true);
    assert!(r.ran_chunks >= 1);
    assert_eq!(read(&whole), before);
    for d in parts.iter().chain([&whole, &merged]) {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn the_gpu_makes_the_same_decisions() {
    let Some(gpu) = common::gpu() else { return };
    let (c, g) = (tmp("dev-cpu"), tmp("dev-gpu"));
    run(&c, &Backend::Cpu, Shard::WHOLE, false);
    run(&g, &common::backend(&gpu), Shard::WHOLE, false);
    let (rc, rg) = (rows(&c), rows(&g));
    for (a, b) in rc.iter().zip(&rg) {
        assert_eq!(a.pruned_at, b.pruned_at, "{:?}", a.setting);
        assert!(
            (a.final_loss - b.final_loss).abs() <= 1e-4 * a.final_loss.abs() + 1e-7,
            "{:?}: {} vs {}",
            a.setting,
            a.final_loss,
            b.final_loss
        );
    }
    std::fs::remove_dir_all(c).ok();
    std::fs::remove_dir_all(g).ok();
}

#[test]
fn prune_configs_that_cannot_work_are_refused() {
    for ((from, to), key) in [
        (("seed = { range = [0, 4] }\n", ""), "prune"),
        (("every = 50", "every = 0"), "prune.every"),
        (("keep = 0.5", "keep = 1.5"), "prune.keep"),
        (("group = 8", "group = 99"), "prune.group"),
        (("group = 8", "group = 8\nwarp = 1"), "prune.warp"),
        (
            ("every = 50", "every = 50\nmin_steps = 500"),
            "prune.min_steps",
        ),
        (
            ("record_every = 25", "record_every = 25\nchunk = 8"),
            "run.chunk",
        ),
    ] {
        let mut text = CFG.replace(from, to);
        if to.is_empty() {
            // Seed before the other axes: a setting's seeds are not neighbours.
            text = text.replace("[grid]\n", "[grid]\nseed = { range = [0, 4] }\n");
        }
        match SweepConfig::from_toml(&text) {
            Err(rulelab::Error::Invalid { field, .. }) => {
                assert!(field.starts_with(key), "{key}: got {field}")
            }
            other => panic!("{key}: {other:?}"),
        }
    }
}
