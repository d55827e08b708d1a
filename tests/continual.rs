//! Continual learning on switching landscapes (spec §6): the switches, the resets, the
//! oracle twin and the metrics, end to end through `rulelab sweep`, and every bad key
//! refused before anything is written.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};

struct Run {
    out: Output,
    rows: Vec<HashMap<String, String>>,
    dir: PathBuf,
}

impl Run {
    fn err(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn num(&self, i: usize, col: &str) -> f64 {
        let v = &self.rows[i][col];
        v.parse()
            .unwrap_or_else(|_| panic!("row {i} column {col}: {v:?}"))
    }
}

fn sweep(name: &str, config: &str, args: &[&str]) -> Run {
    let root = std::env::temp_dir().join(format!("rulelab-continual-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let file = root.join(format!("{name}.toml"));
    std::fs::write(&file, config).unwrap();
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args([
            "sweep",
            file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ])
        .args(args)
        .output()
        .unwrap();
    let rows = std::fs::read_to_string(dir.join("results.csv"))
        .map(|text| common::csv_rows(&text))
        .unwrap_or_default();
    Run { out, rows, dir }
}

const QUADRATIC: &str = "[landscape]\nkind = 'quadratic'\ndim = 6\nspectrum = 'logspace'\n\
    h_min = 0.2\nh_max = 1.0\ntheta0 = 0.0\nnoise = 'isotropic'\nnoise_sigma = 0.05\n";

/// A scheduled reset every `block` steps on blocks of `block` steps is the oracle: the
/// regret is exactly 0, for a rule with state and a bias correction (Adam).
#[test]
fn a_reset_at_every_switch_is_the_oracle() {
    let s = common::seed("a_reset_at_every_switch_is_the_oracle") % 1_000_000;
    let config = format!(
        "{QUADRATIC}[continual]\nblock = 150\nreset = 'scheduled'\nreset_every = 150\n\
         [rule]\nkind = 'adam'\nlr = 0.05\n[grid]\nseed = {{ range = [{s}, {}] }}\n\
         [run]\nsteps = 1000\n",
        s + 6
    );
    let r = sweep("oracle", &config, &["--device", "cpu"]);
    assert!(r.out.status.success(), "{}", r.err());
    assert_eq!(r.rows.len(), 6);
    for i in 0..6 {
        assert_eq!(r.num(i, "switches"), 6.0, "1000 steps in blocks of 150");
        assert_eq!(r.num(i, "regret"), 0.0);
        assert_eq!(r.rows[i]["mean_loss"], r.rows[i]["oracle_loss"]);
    }
}

/// Without a switch the learner is its own oracle; with them, switches come at the
/// hazard rate (a binomial count over fresh seeds).
#[test]
fn switches_come_at_the_hazard_rate() {
    let s = common::seed("switches_come_at_the_hazard_rate") % 1_000_000;
    let (hazard, rare, steps, n) = (0.004, 0.00002, 1000, 96usize);
    let config = format!(
        "{QUADRATIC}[continual]\n[rule]\nkind = 'momentum'\nlr = 0.05\n\
         [grid]\nhazard = [{hazard}, {rare}]\nseed = {{ range = [{s}, {}] }}\n\
         [run]\nsteps = {steps}\n",
        s + n as u64
    );
    let r = sweep("hazard", &config, &["--device", "cpu"]);
    assert!(r.out.status.success(), "{}", r.err());
    assert_eq!(r.rows.len(), 2 * n);
    let mut total = 0.0;
    let mut quiet = 0;
    for i in 0..2 * n {
        let k = r.num(i, "switches");
        if r.num(i, "hazard") == hazard {
            total += k;
        }
        if k == 0.0 {
            quiet += 1;
            assert_eq!(r.num(i, "regret"), 0.0, "no switch, no regret");
            assert_eq!(r.rows[i]["mean_loss"], r.rows[i]["oracle_loss"]);
        } else {
            assert!(r.num(i, "oracle_loss") > 0.0);
        }
    }
    // Switches at t = 1..=steps, each with probability hazard.
    let mean = hazard * steps as f64 * n as f64;
    let sd = (mean * (1.0 - hazard)).sqrt();
    assert!(
        (total - mean).abs() < 5.0 * sd,
        "{total} switches, expected {mean} ± {sd}"
    );
    assert!(
        quiet > n / 2,
        "at hazard {rare} most learners see no switch: {quiet}"
    );
}

/// gd with lr = 1 on a unit-curvature quadratic reaches each block's optimum in one
/// step: the late halves of the blocks cost nothing, and the mean loss is the first
/// step's of each block, ½|δ_new − δ_old|² with δ ~ N(0, σ_μ² I): about σ_μ² D per
/// switch.
#[test]
fn the_late_half_of_each_block() {
    let s = common::seed("the_late_half_of_each_block") % 1_000_000;
    let (d, block, steps, sigma) = (8, 40, 4000, 0.5);
    let config = format!(
        "[landscape]\nkind = 'quadratic'\ndim = {d}\nspectrum = 'list'\nh = [{}]\n\
         theta0 = 0.0\n[continual]\nblock = {block}\nsigma_mu = {sigma}\n\
         [rule]\nkind = 'gd'\nlr = 1.0\n[grid]\nseed = {{ range = [{s}, {}] }}\n\
         [run]\nsteps = {steps}\n",
        vec!["1.0"; d].join(", "),
        s + 4
    );
    let r = sweep("late", &config, &["--device", "cpu"]);
    assert!(r.out.status.success(), "{}", r.err());
    for i in 0..4 {
        assert!(r.num(i, "late_loss") < 1e-9, "{:?}", r.rows[i]);
        let switches = r.num(i, "switches");
        assert_eq!(switches, (steps / block) as f64);
        // Each switch costs ½ Σ (δ_new − δ_old)²: σ_μ² D on average (δ's difference
        // has variance 2σ_μ²); block 0 starts at θ0 = 0, costing ½ σ_μ² D.
        let per_switch = r.num(i, "mean_loss") * (steps + 1) as f64 / (switches + 0.5);
        let expected = sigma * sigma * d as f64;
        let sd = expected * (2.0 / (d as f64 * switches)).sqrt();
        assert!(
            (per_switch - expected).abs() < 5.0 * sd,
            "{per_switch} per switch, expected {expected} ± {sd}"
        );
    }
}

/// The Bayesian reset finds the switches: its regret is far below keeping going, and
/// it costs nothing when the optimum stays.
#[test]
fn bayes_reset_beats_keeping_going() {
    let s = common::seed("bayes_reset_beats_keeping_going") % 1_000_000;
    let config = format!(
        "{QUADRATIC}[continual]\nhazard = 0.01\n[rule]\nkind = 'adam'\nlr = 0.02\n\
         [grid]\nreset = ['none', 'bayes_reset']\nseed = {{ range = [{s}, {}] }}\n\
         [run]\nsteps = 3000\n",
        s + 8
    );
    let r = sweep("bayes", &config, &["--device", "cpu"]);
    assert!(r.out.status.success(), "{}", r.err());
    let regret = |strategy: &str| -> Vec<f64> {
        (0..r.rows.len())
            .filter(|&i| r.rows[i]["reset"] == strategy)
            .map(|i| r.num(i, "regret"))
            .collect()
    };
    let (none, bayes) = (regret("none"), regret("bayes_reset"));
    assert_eq!(none.len(), 8);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&bayes) < 0.3 * mean(&none),
        "bayes {bayes:?} vs none {none:?}"
    );
}

/// The same switches, shifts and results however the grid is cut: chunks of 5 against
/// one chunk, and two shards merged.
#[test]
fn chunks_and_shards_see_the_same_switches() {
    let config = |chunk: &str| {
        format!(
            "{QUADRATIC}[continual]\nhazard = 0.005\nshrink = 0.01\nreset_every = 200\n\
             [rule]\nkind = 'adam'\nlr = 0.03\n[grid]\n\
             reset = ['none', 'scheduled', 'shrink', 'bayes_reset']\nseed = {{ range = [0, 6] }}\n\
             [run]\nsteps = 600\n{chunk}"
        )
    };
    let whole = sweep("whole", &config(""), &["--device", "cpu"]);
    assert!(whole.out.status.success(), "{}", whole.err());
    let chunked = sweep("chunked", &config("chunk = 5\n"), &["--device", "cpu"]);
    assert!(chunked.out.status.success(), "{}", chunked.err());
    assert_eq!(whole.rows.len(), 24);
    assert_eq!(whole.rows, chunked.rows);
    let mut parts = vec![];
    for k in 0..2 {
        let shard = format!("{k}/2");
        let r = sweep(
            &format!("shard{k}"),
            &config(""),
            &["--device", "cpu", "--shard", &shard],
        );
        assert!(r.out.status.success(), "{}", r.err());
        parts.push(r.dir);
    }
    let merged = whole.dir.with_file_name("merged");
    let _ = std::fs::remove_dir_all(&merged);
    let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .arg("merge")
        .args(&parts)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(merged.join("results.csv")).unwrap(),
        std::fs::read(whole.dir.join("results.csv")).unwrap()
    );
    assert!(whole.dir.join("regret.png").exists() && whole.dir.join("regret.svg").exists());
}

/// Every bad continual key: one line naming it, exit 2, nothing written.
#[test]
fn bad_continual_keys() {
    let rule = "[rule]\nkind = 'adam'\n[run]\nsteps = 100\n";
    let cases = [
        ("[continual]\nhazard = 0.0\n", "", "continual.hazard"),
        ("[continual]\nhazard = 1.5\n", "", "continual.hazard"),
        ("[continual]\nblock = 0\n", "", "continual.block"),
        ("[continual]\nblock = 500\n", "", "continual.block"),
        ("[continual]\nblock = 10.5\n", "", "continual.block"),
        ("[continual]\nhazard = 0.1\nblock = 10\n", "", "continual"),
        ("[continual]\nsigma_mu = 1.0\n", "", "continual"),
        (
            "[continual]\nhazard = 0.1\nsigma_mu = 0.0\n",
            "",
            "continual.sigma_mu",
        ),
        (
            "[continual]\nhazard = 0.1\nreset = 'scheduled'\n",
            "",
            "continual.reset_every",
        ),
        (
            "[continual]\nhazard = 0.1\nreset = 'shrink'\n",
            "",
            "continual.shrink",
        ),
        (
            "[continual]\nhazard = 0.1\nreset = 'shrink'\nshrink = 2.0\n",
            "",
            "continual.shrink",
        ),
        (
            "[continual]\nhazard = 0.1\nreset = 'sometimes'\n",
            "",
            "continual.reset",
        ),
        (
            "[continual]\nhazard = 0.1\nreset_every = 10\n",
            "",
            "continual.reset_every",
        ),
        (
            "[continual]\nhazard = 0.1\nbogus = 1\n",
            "",
            "continual.bogus",
        ),
        ("", "[grid]\nhazard = [0.1, 0.2]\n", "grid.hazard"),
        ("", "[grid]\nreset = ['none', 'shrink']\n", "grid.reset"),
        (
            "[continual]\nhazard = 0.1\nreset = 'none'\n",
            "[grid]\nreset = ['none', 'shrink']\n",
            "continual.reset",
        ),
        (
            "[continual]\nhazard = 0.1\n",
            "[grid]\nreset = ['none', 'none']\n",
            "grid.reset",
        ),
        (
            "[continual]\nhazard = 0.1\n",
            "[grid]\nshrink = [0.1, 0.2]\n",
            "grid.shrink",
        ),
        (
            "[continual]\nhazard = 0.1\n",
            "[grid]\nseed = { range = [0, 4] }\n[prune]\nmin_steps = 10\n",
            "prune",
        ),
    ];
    for (i, (continual, grid, key)) in cases.iter().enumerate() {
        let config = format!("{QUADRATIC}{continual}{rule}{grid}");
        let r = sweep(&format!("bad{i}"), &config, &["--device", "cpu"]);
        let err = r.err();
        assert_eq!(r.out.status.code(), Some(2), "{config}\n{err}");
        assert!(
            err.starts_with(&format!("rulelab: invalid {key}")) && err.lines().count() == 1,
            "{config}\nwanted {key}: {err}"
        );
        assert!(!r.dir.exists(), "{config}: wrote {}", r.dir.display());
    }
    // A control mask with switching is not available yet, and says so.
    let masked = format!(
        "{}control = {{ mask = [1, 1, 0, 0, 1, 1] }}\n[continual]\nhazard = 0.1\n{rule}",
        QUADRATIC
    );
    let r = sweep("masked", &masked, &["--device", "cpu"]);
    assert_eq!(r.out.status.code(), Some(2), "{}", r.err());
    assert!(r.err().contains("landscape.control"), "{}", r.err());
}

/// The GPU driver switches, resets and keeps oracle twins as the CPU device does:
/// the same switches, and losses and regrets within f32 round-off.
#[test]
fn both_devices_agree() {
    let s = common::seed("both_devices_agree") % 1_000_000;
    let config = format!(
        "{QUADRATIC}drift = 'rotation'\ndrift_rate = 0.01\n[continual]\nshrink = 0.02\n\
         reset_every = 70\n[rule]\nkind = 'adam'\nlr = 0.03\n[grid]\nhazard = [0.003, 0.02]\n\
         reset = ['none', 'scheduled', 'shrink', 'bayes_reset']\nseed = {{ range = [{s}, {}] }}\n\
         [run]\nsteps = 400\n",
        s + 3
    );
    let cpu = sweep("agree_cpu", &config, &["--device", "cpu"]);
    assert!(cpu.out.status.success(), "{}", cpu.err());
    let gpu = sweep("agree_gpu", &config, &["--device", "gpu"]);
    if gpu.err().contains("no GPU adapter") && std::env::var("CI").as_deref() != Ok("true") {
        return;
    }
    assert!(gpu.out.status.success(), "{}", gpu.err());
    assert_eq!(cpu.rows.len(), 24);
    for i in 0..24 {
        assert_eq!(cpu.rows[i]["switches"], gpu.rows[i]["switches"]);
        for col in ["mean_loss", "late_loss", "oracle_loss", "final_loss"] {
            let (a, b) = (cpu.num(i, col), gpu.num(i, col));
            assert!(
                (a - b).abs() <= 1e-4 * a.abs().max(1e-2),
                "row {i} {col}: {a} vs {b}"
            );
        }
        let (a, b) = (cpu.num(i, "regret"), gpu.num(i, "regret"));
        let scale = cpu.num(i, "mean_loss").max(1e-2);
        assert!((a - b).abs() <= 1e-4 * scale, "row {i} regret: {a} vs {b}");
    }
}
