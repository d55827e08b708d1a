//! The sweep runner end to end: results and manifest, shards and merge, a killed run
//! resumed, config errors, and the GPU and CPU devices agreeing.

mod common;

use rulelab::gpu::Backend;
use rulelab::landscape::SweepConfig;
use rulelab::sweep::{self, merge, RunOptions, Shard};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

const SMALL: &str = r#"
[landscape]
kind = "quadratic"
dim = 19
spectrum = "logspace"
h_min = 0.01
h_max = 1.0
noise = "isotropic"
noise_sigma = 0.05
theta0 = 1.0
theta0_noise = 0.3

[rule]
kind = "adam"

[grid]
lr = { logspace = [1e-3, 1e-1, 4] }
beta1 = [0.0, 0.9]
seed = { range = [0, 5] }

[run]
steps = 120
record_every = 20
threshold = 0.05
chunk = 7

[output]
trajectories = true
"#;

fn run(cfg_text: &str, dir: &Path, backend: &Backend, shard: Shard) -> sweep::Manifest {
    let cfg = SweepConfig::from_toml(cfg_text).unwrap();
    sweep::run(
        &cfg,
        cfg_text,
        dir,
        backend,
        &RunOptions {
            shard,
            resume: false,
            progress: sweep::Progress::Quiet,
            yes: false,
        },
    )
    .unwrap()
    .manifest
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn a_small_sweep_end_to_end() {
    let dir = tmp("e2e");
    let m = run(SMALL, &dir, &Backend::Cpu, Shard::WHOLE);
    assert!(m.complete);
    assert_eq!(m.grid_size, 40);
    assert_eq!(m.chunks_total, 6);
    let text = read(&dir.join("results.csv"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "learner,lr,beta1,seed,final_loss,min_loss,mean_loss,steps_to_threshold,diverged"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 40);
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r[0], k.to_string());
        assert_eq!(r[8], "false");
        for v in &r[4..7] {
            assert!(v.parse::<f64>().unwrap().is_finite(), "row {k}: {r:?}");
        }
        let (fin, min): (f64, f64) = (r[4].parse().unwrap(), r[5].parse().unwrap());
        assert!(min <= fin);
    }
    assert!(
        rows.iter().any(|r| !r[7].is_empty()),
        "some learner reaches the threshold"
    );
    let traj = read(&dir.join("trajectories.csv"));
    assert_eq!(traj.lines().count(), 1 + 40 * 7);
    let svg = read(&dir.join("summary.svg"));
    assert!(svg.starts_with("<svg") && svg.contains("<rect") && svg.contains("polyline"));
    let png = std::fs::read(dir.join("summary.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "summary.png is a PNG");
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&dir.join("manifest.json"))).unwrap();
    for key in [
        "config",
        "grid_size",
        "shard",
        "chunks_done",
        "device",
        "adapter",
        "rulelab_version",
        "compute_seconds",
    ] {
        assert!(manifest.get(key).is_some(), "manifest lacks {key}");
    }
    // The same finished sweep again is a no-op; a different one into the same directory
    // needs another directory (or --resume, which refuses a different config).
    let before = read(&dir.join("results.csv"));
    let opts = |resume| RunOptions {
        shard: Shard::WHOLE,
        resume,
        progress: sweep::Progress::Quiet,
        yes: false,
    };
    let cfg = SweepConfig::from_toml(SMALL).unwrap();
    assert!(
        sweep::run(&cfg, SMALL, &dir, &Backend::Cpu, &opts(false))
            .unwrap()
            .manifest
            .complete
    );
    assert_eq!(read(&dir.join("results.csv")), before);
    let other_text = SMALL.replace("steps = 120", "steps = 121");
    let other = SweepConfig::from_toml(&other_text).unwrap();
    for resume in [false, true] {
        let r = sweep::run(&other, &other_text, &dir, &Backend::Cpu, &opts(resume));
        assert!(
            matches!(r, Err(rulelab::Error::Invalid { .. })),
            "resume = {resume}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn shards_merged_equal_the_unsharded_run() {
    let whole = tmp("whole");
    run(SMALL, &whole, &Backend::Cpu, Shard::WHOLE);
    let parts: Vec<PathBuf> = (0..3).map(|k| tmp(&format!("part{k}"))).collect();
    // Out of order on purpose: merge sorts by learner.
    for k in [2u64, 0, 1] {
        run(
            SMALL,
            &parts[k as usize],
            &Backend::Cpu,
            Shard { index: k, count: 3 },
        );
    }
    let merged = tmp("merged");
    let m = merge::merge(
        &[parts[2].clone(), parts[0].clone(), parts[1].clone()],
        &merged,
    )
    .unwrap();
    assert_eq!(m.grid_size, 40);
    assert_eq!(
        read(&merged.join("results.csv")),
        read(&whole.join("results.csv"))
    );
    assert_eq!(
        read(&merged.join("trajectories.csv")),
        read(&whole.join("trajectories.csv"))
    );
    // Missing shards and foreign sweeps are refused.
    assert!(merge::merge(&parts[..2], &tmp("partial")).is_err());
    let other = tmp("other");
    run(
        &SMALL.replace("steps = 120", "steps = 121"),
        &other,
        &Backend::Cpu,
        Shard { index: 2, count: 3 },
    );
    assert!(merge::merge(
        &[parts[0].clone(), parts[1].clone(), other.clone()],
        &tmp("mixed")
    )
    .is_err());
    for d in parts.iter().chain([&whole, &merged, &other]) {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn a_killed_sweep_resumes_to_the_same_rows() {
    let cfg = SMALL
        .replace("steps = 120", "steps = 20000")
        .replace("chunk = 7", "chunk = 2")
        .replace("seed = { range = [0, 5] }", "seed = { range = [0, 16] }")
        .replace("dim = 19", "dim = 64");
    let dir = tmp("kill");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg_path = dir.join("sweep.toml");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let out = dir.join("out");
    let bin = env!("CARGO_BIN_EXE_rulelab");
    let mut child = Command::new(bin)
        .args([
            "sweep",
            cfg_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .spawn()
        .unwrap();
    // Kill it (SIGKILL) once a few chunks are durable.
    let start = std::time::Instant::now();
    loop {
        if let Ok(m) = sweep::run::read_manifest(&out) {
            if m.chunks_done >= 3 {
                break;
            }
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "the sweep made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let m = sweep::run::read_manifest(&out).unwrap();
    assert!(
        !m.complete,
        "the run finished before it was killed: make it longer"
    );
    // Simulate a crash mid-append: junk after the last durable chunk.
    std::fs::OpenOptions::new()
        .append(true)
        .open(out.join("results.csv"))
        .map(|mut f| {
            use std::io::Write;
            f.write_all(b"999999,half a row").unwrap()
        })
        .unwrap();
    let status = Command::new(bin)
        .args([
            "sweep",
            cfg_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--device",
            "cpu",
            "--resume",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let clean = dir.join("clean");
    let status = Command::new(bin)
        .args([
            "sweep",
            cfg_path.to_str().unwrap(),
            "--out",
            clean.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        read(&out.join("results.csv")),
        read(&clean.join("results.csv"))
    );
    assert_eq!(
        read(&out.join("trajectories.csv")),
        read(&clean.join("trajectories.csv"))
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_gpu_and_the_cpu_device_agree() {
    let Some(gpu) = common::gpu() else { return };
    let (g, c) = (tmp("gpu"), tmp("cpu"));
    run(SMALL, &g, &common::backend(&gpu), Shard::WHOLE);
    run(SMALL, &c, &Backend::Cpu, Shard::WHOLE);
    let rows = |d: &Path| -> Vec<Vec<f64>> {
        read(&d.join("results.csv"))
            .lines()
            .skip(1)
            .map(|l| l.split(',').take(7).map(|v| v.parse().unwrap()).collect())
            .collect()
    };
    // Both run f32; 120 noisy steps agree to accumulated round-off.
    for (a, b) in rows(&g).iter().zip(rows(&c)) {
        for k in 4..7 {
            assert!(
                (a[k] - b[k]).abs() <= 1e-4 * b[k].abs() + 1e-7,
                "{a:?} vs {b:?}"
            );
        }
    }
    std::fs::remove_dir_all(g).ok();
    std::fs::remove_dir_all(c).ok();
}

#[test]
fn config_errors_name_the_key() {
    let base =
        "[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n";
    assert!(SweepConfig::from_toml(base).is_ok());
    let cases: &[(&str, &str)] = &[
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n", "run"),
        ("[landscape]\nkind = \"cubic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.kind"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 0\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.dim"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 2000\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.dim"),
        ("[landscape]\nkind = \"quadratic\"\ndim = \"8\"\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.dim"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\ncolour = 1\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.colour"),
        ("[landscape]\nkind = \"double_well\"\ndim = 7\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.dim"),
        ("[landscape]\nkind = \"rosenbrock\"\ndim = 8\nnoise = \"curvature\"\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.noise"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adamax\"\n[run]\nsteps = 10\n", "rule.kind"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\nbeta1 = 1.0\n[run]\nsteps = 10\n", "rule.beta1"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\neps = 0\n[run]\nsteps = 10\n", "rule.eps"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\nlr = -1\n[run]\nsteps = 10\n", "rule.lr"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adabayes\"\nsigma2 = 0\n[run]\nsteps = 10\n", "rule.sigma2"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 0\n", "run.steps"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\nspeed = 2\n", "run.speed"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nwarp = [1, 2]\n", "grid.warp"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nlr = { logspace = [0, 1, 4] }\n", "grid.lr"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nlr = { range = [3, 3] }\n", "grid.lr"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nlr = []\n", "grid.lr"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nbeta1 = [0.5, 1.5]\n", "grid.beta1"),
        ("[landscape]\nkind = \"quadratic_dense\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nh_max = [1, 2]\n", "grid.h_max"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[output]\ntrajectories = true\n", "output.trajectories"),
        ("[landscape]\nkind = \"teacher_student\"\nd_in = 3\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape"),
        ("[landscape]\nkind = \"linear_regression\"\ndim = 8\nsamples = 4\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.samples"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[extra]\nx = 1\n", "extra"),
        ("not toml at all [", "config"),
        // Knobs without an effect, and values that mean nothing.
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nweight_decay = [0.0, 0.1]\n", "grid.weight_decay"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"momentum\"\nbeta2 = 0.9\n[run]\nsteps = 10\n", "rule.beta2"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\na = 2\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.a"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\na = [1, 2]\n", "grid.a"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\nlabel_noise = 0.1\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.label_noise"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nseed = { range = [0, 4] }\n", "grid.seed"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\nnoise_sigma = 0.1\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n", "landscape.noise_sigma"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\nlr = 0.1\n[run]\nsteps = 10\n[grid]\nlr = [0.1, 0.2]\n", "grid.lr"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\nthreshold = nan\n", "run.threshold"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\nlr = nan\n[run]\nsteps = 10\n", "rule.lr"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\nrecord_every = 11\n", "run.record_every"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nrule = [\"adam\", \"adamw\"]\nweight_decay = [0.0, 0.1]\n", "grid.weight_decay"),
        ("[landscape]\nkind = \"quadratic\"\ndim = 8\nnoise = \"isotropic\"\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nseed = { range = [0, 9223372036854775807] }\n", "grid"),
    ];
    for (text, key) in cases {
        match SweepConfig::from_toml(text) {
            Err(rulelab::Error::Invalid { field, message }) => {
                assert!(
                    field.starts_with(key),
                    "expected an error naming {key}, got {field}: {message}"
                );
                assert!(!message.is_empty());
            }
            other => panic!("expected an error naming {key}, got {other:?}"),
        }
    }
}

#[test]
fn shard_ranges_tile_the_grid() {
    for total in [1u64, 7, 40, 1000] {
        for n in 1..6u64 {
            let mut next = 0;
            for k in 0..n {
                let (a, b) = Shard { index: k, count: n }.range(total);
                assert_eq!(a, next);
                next = b;
            }
            assert_eq!(next, total);
        }
    }
    assert!(
        Shard::parse("3/3").is_err() && Shard::parse("x").is_err() && Shard::parse("1/0").is_err()
    );
    assert_eq!(Shard::parse("2/5").unwrap(), Shard { index: 2, count: 5 });
}

/// A rule axis is written by name and read back (summary plot, curves) as its index.
#[test]
fn rule_axis_round_trips_through_the_results() {
    let text = SMALL.replace("[grid]\n", "[grid]\nrule = [\"adam\", \"nesterov\"]\n");
    let dir = tmp("rule-axis");
    run(&text, &dir, &Backend::Cpu, Shard::WHOLE);
    let cfg = SweepConfig::from_toml(&text).unwrap();
    let rows = sweep::summary::read_results(&cfg, &dir.join("results.csv")).unwrap();
    assert_eq!(rows.len(), 80);
    let rules: Vec<f64> = rows.iter().map(|r| r.1[0]).collect();
    assert!(rows.iter().all(|r| !r.3), "no learner diverged");
    assert!(
        rules[..40].iter().all(|&r| r == 0.0) && rules[40..].iter().all(|&r| r == 1.0),
        "{rules:?}"
    );
    assert!(rows.iter().all(|r| r.1.iter().all(|v| v.is_finite())));
    // One panel per rule; the seed is folded into medians, never an axis; the legend
    // names each setting with its rule.
    let svg = read(&dir.join("summary.svg"));
    assert!(svg.contains("adam vs nesterov on quadratic"), "title");
    assert!(
        svg.contains("rule = adam") && svg.contains("rule = nesterov"),
        "panels"
    );
    assert!(svg.contains("cells: lr × beta1;"), "heat-map axes");
    assert!(!svg.contains(">seed<"), "seed is not an axis");
    assert!(svg.contains("rule=adam lr="), "legend");
    // The settings summary folds seeds: 2 rules x 4 lr x 2 beta1.
    let settings = sweep::summary::setting_summary(&cfg, &dir).unwrap();
    assert_eq!(settings.len(), 16);
    assert!(settings
        .iter()
        .all(|s| s.learners.len() == 5 && s.q25 <= s.median && s.median <= s.q75));
    std::fs::remove_dir_all(dir).ok();
}

/// Inside a Slurm array the task's part comes from its variables, and a value that does
/// not fit is an error naming them: never the whole grid.
#[test]
fn slurm_arrays_never_fall_back_to_the_whole_grid() {
    let vars = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    };
    let shard = |pairs: &[(&str, &str)]| Shard::from_vars(vars(pairs));
    assert_eq!(shard(&[]).unwrap(), None);
    let ok = |pairs: &[(&str, &str)], index, count| {
        assert_eq!(
            shard(pairs).unwrap(),
            Some(Shard { index, count }),
            "{pairs:?}"
        );
    };
    ok(
        &[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
        ],
        0,
        4,
    );
    // 1-based arrays (--array=1-4).
    ok(
        &[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ],
        3,
        4,
    );
    // A step (--array=0-30:2): K = (ID - MIN) / STEP.
    ok(
        &[
            ("SLURM_ARRAY_TASK_ID", "30"),
            ("SLURM_ARRAY_TASK_COUNT", "16"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ],
        15,
        16,
    );
    for bad in [
        vec![
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ],
        vec![
            ("SLURM_ARRAY_TASK_ID", "x"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ],
        vec![("SLURM_ARRAY_TASK_COUNT", "2")],
        vec![("SLURM_ARRAY_TASK_ID", "0")],
        vec![
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "16"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ],
        vec![
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "0"),
        ],
    ] {
        match shard(&bad) {
            Err(rulelab::Error::Invalid { message, .. }) => {
                assert!(message.contains("SLURM_ARRAY_TASK_ID="), "{message}")
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// A grid too big to run by accident asks for confirmation; none aborts or panics.
#[test]
fn huge_grids_ask_for_confirmation() {
    let text = "[landscape]\nkind = \"quadratic\"\ndim = 8\nnoise = \"isotropic\"\nnoise_sigma = 0.1\n[rule]\nkind = \"adam\"\n[run]\nsteps = 10\n[grid]\nseed = { range = [0, 10000000000] }\n";
    let cfg = SweepConfig::from_toml(text).unwrap();
    assert_eq!(cfg.grid_size(), 10_000_000_000);
    let dir = tmp("huge");
    let r = sweep::run(
        &cfg,
        text,
        &dir,
        &Backend::Cpu,
        &RunOptions {
            shard: Shard::WHOLE,
            resume: false,
            progress: sweep::Progress::Quiet,
            yes: false,
        },
    );
    match r {
        Err(rulelab::Error::Invalid { message, .. }) => {
            assert!(
                message.contains("--yes") && message.contains("B of results"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir.join("results.csv").exists());
    let capped =
        SweepConfig::from_toml(&text.replace("steps = 10\n", "steps = 10\nmax_learners = 1000\n"))
            .unwrap();
    assert!(matches!(
        sweep::run(&capped, text, &dir, &Backend::Cpu, &RunOptions { shard: Shard::WHOLE, resume: false, progress: sweep::Progress::Quiet, yes: true }),
        Err(rulelab::Error::Invalid { ref field, .. }) if field == "run.max_learners"
    ));
    std::fs::remove_dir_all(dir).ok();
}

/// [output] plot_axes picks the heat map's axes; settings where most seeds diverged are
/// counted and crossed out.
#[test]
fn summary_axes_can_be_chosen_and_divergence_is_counted() {
    let text = SMALL
        .replace(
            "lr = { logspace = [1e-3, 1e-1, 4] }",
            "lr = [1e-3, 1e-2, 5e3]",
        )
        .replace("[output]\n", "[output]\nplot_axes = [\"beta1\", \"lr\"]\n")
        .replace("[run]\n", "[run]\nblowup = 1e3\n");
    let dir = tmp("plot-axes");
    run(&text, &dir, &Backend::Cpu, Shard::WHOLE);
    let svg = read(&dir.join("summary.svg"));
    assert!(svg.contains("cells: beta1 × lr;"), "the axes asked for");
    let cfg = SweepConfig::from_toml(&text).unwrap();
    let diverged = sweep::summary::setting_summary(&cfg, &dir)
        .unwrap()
        .iter()
        .filter(|s| s.diverged)
        .count();
    assert!(diverged > 0, "lr = 5e3 diverges");
    assert!(
        svg.contains(&format!("{diverged} of 6 settings diverged")),
        "the count is in the subtitle"
    );
    for bad in [
        "[\"seed\"]",
        "[\"warp\"]",
        "[\"lr\", \"beta1\", \"seed\"]",
        "\"lr\"",
    ] {
        let t = text.replace(
            "plot_axes = [\"beta1\", \"lr\"]",
            &format!("plot_axes = {bad}"),
        );
        assert!(
            matches!(SweepConfig::from_toml(&t), Err(rulelab::Error::Invalid { ref field, .. }) if field == "output.plot_axes"),
            "{bad}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}
