//! Fit sweeps (`rulelab infer sweep`, spec §4): every grid point is the fit `infer fit`
//! makes with the same settings, shards merge into the whole run byte for byte, a data
//! file changed under a run is refused, and bad configs are refused before anything is
//! written.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-isweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rulelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn simulate(out: &Path, animals: u64, seed: u64) {
    ok(&rulelab(&[
        "infer",
        "simulate",
        "--rule",
        "reinforce",
        "--animals",
        &animals.to_string(),
        "--force",
        "--trials",
        "300",
        "--alpha",
        "0.0625,0",
        "--seed",
        &seed.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]));
}

fn sweep(config: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "infer",
        "sweep",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    rulelab(&args)
}

fn config(train: &Path, test: &Path, body: &str) -> String {
    format!(
        "[data]\ntrain = {:?}\ntest = {:?}\n{body}",
        train.to_str().unwrap(),
        test.to_str().unwrap()
    )
}

/// A directory with simulated training and held-out animals (seeds `seed`, `seed` + 1)
/// and a config over them with `body` after its [data]: (dir, train, test, config).
fn setup(
    name: &str,
    animals: (u64, u64),
    seed: u64,
    body: &str,
) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let d = dir(name);
    let (train, test) = (d.join("train.csv"), d.join("test.csv"));
    simulate(&train, animals.0, seed);
    simulate(&test, animals.1, seed + 1);
    let cfg = d.join("sweep.toml");
    std::fs::write(&cfg, config(&train, &test, body)).unwrap();
    (d, train, test, cfg)
}

const FIT: &str = "
[fit]
epochs = 3
trunc = 50
batch = 6
layers = 2
";

#[test]
fn every_row_is_the_fit_infer_fit_makes_and_shards_merge_into_the_whole() {
    let seed = common::seed("infer sweep") % 1000;
    let (d, train, test, cfg) = setup(
        "rows",
        (24, 12),
        seed,
        &format!("{FIT}[grid]\nhidden = [4, 8]\nlr = [3e-3, 1e-2]\nseed = {{ range = [0, 2] }}\n"),
    );
    let whole = d.join("whole");
    ok(&sweep(&cfg, &whole, &["--device", "cpu"]));
    let text = std::fs::read_to_string(whole.join("results.csv")).unwrap();
    let rows = common::csv_rows(&text);
    assert_eq!(rows.len(), 8, "{text}");
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r["learner"], k.to_string());
    }
    // Two rows, refitted one at a time by `infer fit` with the row's settings, give the
    // row's likelihoods and rule recovery to the last digit.
    for k in [seed as usize % 8, 7 - seed as usize % 8] {
        let r = &rows[k];
        let out = d.join(format!("fit{k}"));
        ok(&rulelab(&[
            "infer",
            "fit",
            train.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
            "--epochs",
            "3",
            "--trunc",
            "50",
            "--batch",
            "6",
            "--layers",
            "2",
            "--hidden",
            &r["hidden"],
            "--lr",
            &r["lr"],
            "--seed",
            &r["seed"],
            "--device",
            "cpu",
            "--out",
            out.to_str().unwrap(),
        ]));
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        for (col, key) in [
            ("train_ll", "train_ll"),
            ("test_ll", "test_ll"),
            ("dw_rmse", "dw_rmse"),
        ] {
            let row: f64 = r[col].parse().unwrap();
            assert_eq!(row, m[key].as_f64().unwrap(), "row {k}: {col}");
        }
        let nll: f64 = r["test_nll"].parse().unwrap();
        assert_eq!(nll, -m["test_ll"].as_f64().unwrap());
    }
    // Each fit's curve: 3 epochs of positive losses.
    let curves = std::fs::read_to_string(whole.join("epochs.csv")).unwrap();
    let epochs = common::csv_rows(&curves);
    assert_eq!(epochs.len(), 8 * 3);
    assert!(epochs
        .iter()
        .all(|e| e["train_ll"].parse::<f64>().unwrap() < 0.0));
    assert!(whole.join("summary.png").exists());

    // Shards merged equal the whole run.
    let parts: Vec<PathBuf> = (0..2).map(|i| d.join(format!("part{i}"))).collect();
    for (i, p) in parts.iter().enumerate() {
        ok(&sweep(
            &cfg,
            p,
            &["--device", "cpu", "--shard", &format!("{i}/2")],
        ));
    }
    let merged = d.join("merged");
    ok(&rulelab(&[
        "merge",
        parts[0].to_str().unwrap(),
        parts[1].to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]));
    for f in ["results.csv", "epochs.csv"] {
        assert_eq!(
            std::fs::read(merged.join(f)).unwrap(),
            std::fs::read(whole.join(f)).unwrap(),
            "{f}"
        );
    }

    // The held-out animals rewritten: the finished run is not trusted to be theirs.
    simulate(&test, 12, seed + 2);
    let o = sweep(&cfg, &whole, &["--device", "cpu", "--resume"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("a file it reads (its data) changed"), "{err}");
}

#[test]
fn a_model_axis_fits_both_models_and_a_held_out_fraction_is_other_animals() {
    let d = dir("models");
    let train = d.join("train.csv");
    simulate(&train, 20, 3);
    let cfg = d.join("m.toml");
    std::fs::write(
        &cfg,
        format!(
            "[data]\ntrain = {:?}\nholdout = 0.25\n{FIT}gru = 4\nhidden = 4\n[grid]\nmodel = [\"dnn\", \"rnn\"]\n",
            train.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = d.join("out");
    let stderr =
        String::from_utf8_lossy(&sweep(&cfg, &out, &["--device", "cpu"]).stderr).into_owned();
    assert!(stderr.contains("15 animals + 5 held out"), "{stderr}");
    let rows = common::csv_rows(&std::fs::read_to_string(out.join("results.csv")).unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["model"].as_str(), rows[1]["model"].as_str()),
        ("dnn", "rnn")
    );
    // The rnn's φ: a GRU(4) over the rule's 8 inputs, then the dnn's MLP of 2 × 4
    // reading its 4 units instead of the 8 inputs.
    let dnn: usize = rows[0]["parameters"].parse().unwrap();
    let rnn: usize = rows[1]["parameters"].parse().unwrap();
    let gru = 3 * 4 * 8 + 3 * 4 * 4 + 2 * 3 * 4;
    assert_eq!(rnn, gru + dnn - (8 - 4) * 4, "dnn {dnn}, rnn {rnn}");
    for r in &rows {
        let (tr, te): (f64, f64) = (
            r["train_ll"].parse().unwrap(),
            r["test_ll"].parse().unwrap(),
        );
        assert!(
            tr < 0.0 && te < 0.0 && tr.is_finite() && te.is_finite(),
            "{r:?}"
        );
    }
}

#[test]
fn bad_sweeps_are_refused_in_one_line_before_anything_is_written() {
    let d = dir("bad");
    let (train, test) = (d.join("train.csv"), d.join("test.csv"));
    simulate(&train, 8, 1);
    simulate(&test, 4, 2);
    let cases: Vec<(String, &str)> = vec![
        (
            config(&train, &test, "[fit]\nhiden = 8\n"),
            "fit.hiden: unknown key",
        ),
        (
            config(&train, &test, "[fit]\ngru = 8\n"),
            "fit.gru: has no effect",
        ),
        (
            config(
                &train,
                &test,
                "[grid]\nmodel = [\"dnn\", \"rnn\"]\ngru = [4, 8]\n",
            ),
            "grid.gru: has no effect",
        ),
        (
            config(&train, &test, "[fit]\nskip = 1\n"),
            "fit.skip: has no effect",
        ),
        (
            config(
                &train,
                &test,
                "[grid]\nmodel = [\"dnn\", \"rnn\"]\nskip = [0, 1]\n",
            ),
            "grid.skip: has no effect",
        ),
        (
            config(&train, &train, ""),
            "data.test: holds the training file's bytes",
        ),
        (
            format!("{}holdout = 0.2\n", config(&train, &test, "")),
            "data.holdout: has no effect",
        ),
        (
            config(&train, &test, "[grid]\nlr = [1e-3, -1]\n"),
            "grid.lr (value -1)",
        ),
        (
            config(&train, &test, "[fit]\nmodel = \"rnn\"\ngru = 0\n"),
            "gru: 0 must be at least 1",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let cfg = d.join(format!("bad{i}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let out = d.join(format!("out{i}"));
        let o = sweep(&cfg, &out, &["--device", "cpu"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(want), "{text}: wanted {want:?} in {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!out.exists(), "{text}: wrote {}", out.display());
    }
}

/// A sweep of both models on a GPU gives the CPU device's rows (f32 sums in another
/// order).
#[test]
fn a_sweep_on_the_gpu_agrees_with_the_cpu_device() {
    if common::gpu().is_none() {
        return;
    }
    let (d, _, _, cfg) = setup(
        "gpu",
        (12, 6),
        4,
        &format!("{FIT}gru = 4\nhidden = 6\n[grid]\nmodel = [\"dnn\", \"rnn\"]\nseed = [0, 1]\n"),
    );
    let read = |dev: &str| {
        let out = d.join(dev);
        ok(&sweep(&cfg, &out, &["--device", dev]));
        common::csv_rows(&std::fs::read_to_string(out.join("results.csv")).unwrap())
    };
    let (cpu, gpu) = (read("cpu"), read("gpu"));
    assert_eq!(cpu.len(), 4);
    for (c, g) in cpu.iter().zip(&gpu) {
        for col in ["train_ll", "test_ll", "dw_rmse"] {
            let (a, b): (f64, f64) = (c[col].parse().unwrap(), g[col].parse().unwrap());
            assert!(
                (a - b).abs() <= 1e-5 * a.abs().max(1e-3),
                "{col}: cpu {a}, gpu {b}"
            );
        }
    }
}
