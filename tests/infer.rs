//! Rule inference, part one: simulated learners follow their rule exactly and
//! reproducibly, and trial tables (the project's CSV, IBL exports) are read with every
//! bad row refused by file, line and column.

mod common;

use rulelab::infer::{data, simulate, Simulation, TrueRule};
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-infer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rulelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(args)
        .output()
        .unwrap()
}

/// `rulelab infer simulate ARGS --out FILE`, which must succeed.
fn simulate(args: &[&str], out: &Path) {
    let mut all = vec!["infer", "simulate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let o = rulelab(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// The rules of spec §3, written here from the spec, independently of the library;
/// `recent` the fraction of the (up to) four trials before this one rewarded.
#[allow(clippy::too_many_arguments)]
fn spec_delta(
    rule: TrueRule,
    alpha: [f64; 2],
    beta: f64,
    kappa: f64,
    recent: f64,
    w: [f64; 2],
    s: f64,
    y: f64,
    z: f64,
) -> [f64; 2] {
    let p = sigmoid(w[0] * s + w[1]);
    let r = if y == z { 1.0 } else { 0.0 };
    let sgn = if z > 0.5 { 1.0 } else { -1.0 };
    let k = match rule {
        TrueRule::Reinforce => r * (y - p),
        TrueRule::ReinforceHistory => (1.0 + kappa * recent) * r * (y - p),
        TrueRule::ReinforceBase => (r - beta) * (y - p),
        TrueRule::RewardMax => p * (1.0 - p) * sgn / 0.5,
        TrueRule::PredictMax => (1.0 - if z > 0.5 { p } else { 1.0 - p }) * sgn,
    };
    [alpha[0] * k * s, alpha[1] * k]
}

fn read_truth(file: &Path) -> Vec<(String, usize, [f64; 2], f64)> {
    let text = std::fs::read_to_string(simulate::sidecars(file).0).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                [f[2].parse().unwrap(), f[3].parse().unwrap()],
                f[4].parse().unwrap(),
            )
        })
        .collect()
}

/// Each step of the true weights minus the spec's Δw for that trial: (animal, trial,
/// residual), for every trial but each animal's last.
fn residuals(
    sim: &Simulation,
    data: &rulelab::infer::Dataset,
    file: &Path,
) -> Vec<(String, usize, [f64; 2])> {
    let truth = read_truth(file);
    let mut out = vec![];
    let mut k = 0;
    for a in &data.animals {
        for (t, tr) in a.trials.iter().enumerate().take(a.trials.len() - 1) {
            let (w, next) = (truth[k + t].2, truth[k + t + 1].2);
            let before = &a.trials[t.saturating_sub(4)..t];
            let recent = if t == 0 {
                0.0
            } else {
                before.iter().filter(|b| b.choice == b.correct).count() as f64 / before.len() as f64
            };
            let want = spec_delta(
                sim.rule,
                sim.alpha,
                sim.beta,
                sim.kappa,
                recent,
                w,
                tr.stimulus,
                tr.choice as f64,
                tr.correct as f64,
            );
            out.push((
                a.id.clone(),
                t,
                [next[0] - w[0] - want[0], next[1] - w[1] - want[1]],
            ));
        }
        k += a.trials.len();
    }
    out
}

/// Every rule: the truth file's weights step by the spec's Δw from the data's (s, y, z),
/// p is σ(w·x), choices are drawn at p, and the data reads back as written.
#[test]
fn simulated_learners_follow_their_rule() {
    let d = dir("rules");
    let seed = common::seed("simulated_learners_follow_their_rule");
    for rule in TrueRule::ALL.iter().copied() {
        let mut sim = Simulation::new(rule, 40, 300, seed);
        sim.alpha = [2f64.powi(-4), 2f64.powi(-5)];
        sim.beta = if rule == TrueRule::ReinforceBase {
            0.3
        } else {
            0.5
        };
        if rule == TrueRule::ReinforceHistory {
            sim.kappa = 1.5;
        }
        let file = d.join(format!("{}.csv", rule.name()));
        simulate::write(&sim, &file).unwrap();
        let data = data::read_csv(&file).unwrap();
        assert_eq!(data.animals.len(), 40);
        assert_eq!(data.trials(), 40 * 300);
        let truth = read_truth(&file);
        let (mut ys, mut ps) = (0.0, 0.0);
        let mut k = 0;
        for a in &data.animals {
            assert_eq!(a.trials.len(), 300);
            assert!(
                [-1.0, 0.0, 1.0].contains(&truth[k].2[1]),
                "b from {{-1, 0, 1}}"
            );
            assert_eq!(truth[k].2[0], -2.0);
            for (t, tr) in a.trials.iter().enumerate() {
                let (ref id, n, w, p) = truth[k + t];
                assert_eq!((id.as_str(), n), (a.id.as_str(), t));
                assert!((p - sigmoid(w[0] * tr.stimulus + w[1])).abs() < 1e-12);
                assert_eq!(tr.correct, u8::from(tr.stimulus > 0.0));
                assert!(tr.stimulus.abs() <= 2.0 && (tr.stimulus * 4.0).fract() == 0.0);
                ys += tr.choice as f64;
                ps += p;
            }
            k += a.trials.len();
        }
        for (id, t, r) in residuals(&sim, &data, &file) {
            assert!(
                r[0].abs() < 1e-12 && r[1].abs() < 1e-12,
                "{}: animal {id} trial {t}",
                rule.name()
            );
        }
        // Choices are Bernoulli(p): the count of rightward choices within 5 sd.
        let n = data.trials() as f64;
        assert!(
            (ys - ps).abs() < 5.0 * (n * 0.25).sqrt(),
            "{}: {ys} vs {ps}",
            rule.name()
        );
    }
}

/// The same seed writes the same bytes; another seed other data; the weight noise is
/// a random walk of the stated σ on top of the rule.
#[test]
fn simulation_is_reproducible_and_its_noise_has_the_stated_size() {
    let d = dir("repro");
    let run = |name: &str, seed: &str, extra: &[&str]| {
        let file = d.join(name);
        let mut args = vec![
            "infer",
            "simulate",
            "--rule",
            "reinforce",
            "--animals",
            "20",
            "--trials",
            "400",
            "--seed",
            seed,
            "--out",
        ];
        let f = file.to_str().unwrap().to_string();
        args.push(&f);
        args.extend_from_slice(extra);
        let o = rulelab(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (truth, sim) = simulate::sidecars(&file);
        [
            std::fs::read(&file).unwrap(),
            std::fs::read(truth).unwrap(),
            std::fs::read(sim).unwrap(),
        ]
    };
    let a = run("a.csv", "5", &[]);
    let b = run("b.csv", "5", &[]);
    assert_eq!(a[0], b[0]);
    assert_eq!(a[1], b[1]);
    let c = run("c.csv", "6", &[]);
    assert_ne!(a[0], c[0]);
    let sigma = 0.05;
    run("noisy.csv", "5", &["--weight-noise", "0.05"]);
    let file = d.join("noisy.csv");
    let data = data::read_csv(&file).unwrap();
    let sim = Simulation::new(TrueRule::Reinforce, 20, 400, 5);
    let res = residuals(&sim, &data, &file);
    let n = res.len() as f64;
    let sq = res.iter().fold([0.0; 2], |s, (_, _, r)| {
        [s[0] + r[0] * r[0], s[1] + r[1] * r[1]]
    });
    for s in sq {
        let var = s / n;
        assert!((var / (sigma * sigma) - 1.0).abs() < 0.1, "variance {var}");
    }
    // The sidecar recognises its data, and refuses it once changed.
    let rec = simulate::read_record(&file).unwrap().expect("a simulation");
    assert_eq!(rec.simulation.weight_noise, sigma);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text += "a19,s0,400,0.5,1,1,1\n";
    std::fs::write(&file, text).unwrap();
    let err = simulate::read_record(&file).unwrap_err().to_string();
    assert!(err.contains("changed since"), "{err}");
}

/// Every bad row or file: one message naming the file, the line and the column.
#[test]
fn bad_tables_are_refused_where_they_are_bad() {
    let d = dir("bad");
    let head = "animal,session,trial,stimulus,choice,correct_side,reward\n";
    let good = "m1,s1,1,0.5,1,1,1\n";
    let cases: &[(&str, String, &str)] = &[
        ("empty", String::new(), "is empty"),
        ("header only", head.to_string(), "no trials"),
        (
            "no column",
            "animal,session,trial,stimulus,choice\nm1,s1,1,0.5,1\n".into(),
            "no column \"correct_side\"",
        ),
        (
            "choice",
            format!("{head}{good}m1,s1,2,0.5,2,1,1\n"),
            ":3, column choice: \"2\" is not 0 or 1",
        ),
        (
            "stimulus",
            format!("{head}{good}m1,s1,2,NaN,1,1,1\n"),
            ":3, column stimulus",
        ),
        (
            "side",
            format!("{head}{good}m1,s1,2,0.5,1,x,1\n"),
            ":3, column correct_side",
        ),
        (
            "trial",
            format!("{head}{good}m1,s1,1,0.5,1,1,1\n"),
            ":3, column trial: 1 does not follow",
        ),
        (
            "trial text",
            format!("{head}m1,s1,one,0.5,1,1,1\n"),
            ":2, column trial",
        ),
        (
            "reward",
            format!("{head}{good}m1,s1,2,0.5,1,0,1\n"),
            ":3, column reward: is 1 but",
        ),
        ("fields", format!("{head}{good}m1,s1,2,0.5\n"), ":3"),
        (
            "no response",
            format!("{head}m1,s1,1,0.5,,1,0\nm1,s1,2,0.5,NaN,1,0\n"),
            "no trial with a response (2 without)",
        ),
    ];
    for (name, text, want) in cases {
        let file = d.join(format!("{}.csv", name.replace(' ', "_")));
        std::fs::write(&file, text).unwrap();
        let err = data::read_csv(&file).unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()), "{name}: {err}");
        assert!(err.contains(want), "{name}: wanted {want:?} in {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
    }
    // No-response trials are dropped and counted; sessions start where they change.
    let file = d.join("ok.csv");
    std::fs::write(
        &file,
        format!("{head}{good}m1,s1,2,-0.5,,0,0\nm1,s2,3,-0.5,0,0,1\nm2,s9,1,0.25,0,1,0\n"),
    )
    .unwrap();
    let data = data::read_csv(&file).unwrap();
    assert_eq!(data.dropped, 1);
    assert_eq!(data.animals.len(), 2);
    let starts: Vec<bool> = data.animals[0]
        .trials
        .iter()
        .map(|t| t.session_start)
        .collect();
    assert_eq!(starts, [true, true]);
    let err = data.require_trials(&file, 2).unwrap_err().to_string();
    assert!(err.contains("animal m2 has 1 trials"), "{err}");
}

/// The IBL export: the contrast transform, IBL's choice coding, no-go trials dropped,
/// and a file whose feedback contradicts the coding refused.
#[test]
fn ibl_tables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/infer/ibl_example.csv");
    let data = data::read_ibl(&example).unwrap();
    assert_eq!(data.animals.len(), 3);
    let text = std::fs::read_to_string(&example).unwrap();
    let nogo = text
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(4) == Some("0"))
        .count();
    assert!(nogo > 0);
    assert_eq!(data.dropped, nogo);
    assert_eq!(data.trials() + nogo, text.lines().count() - 1);
    let t5 = 5f64.tanh();
    let d = dir("ibl");
    let head = "subject,session,contrastLeft,contrastRight,choice,feedbackType\n";
    let file = d.join("small.csv");
    std::fs::write(
        &file,
        format!("{head}m,e1,0,0.0625,-1,1\nm,e1,0.25,,1,1\nm,e1,1,0,-1,-1\nm,e2,,0,-1,1\nm,e2,0,1,0,-1\n"),
    )
    .unwrap();
    let data = data::read_ibl(&file).unwrap();
    let t = &data.animals[0].trials;
    assert_eq!(t.len(), 4);
    assert!((t[0].stimulus - (0.3125f64).tanh() / t5).abs() < 1e-15);
    assert!((t[1].stimulus + (1.25f64).tanh() / t5).abs() < 1e-15);
    assert_eq!(t[3].stimulus, 0.0);
    assert_eq!((t[0].choice, t[0].correct, t[0].reward), (1, 1, 1));
    assert_eq!((t[1].choice, t[1].correct, t[1].reward), (0, 0, 1));
    assert_eq!((t[2].choice, t[2].correct, t[2].reward), (1, 0, 0));
    assert_eq!(
        t.iter().map(|t| t.session_start).collect::<Vec<_>>(),
        [true, false, false, true]
    );
    assert_eq!(data.dropped, 1);
    // Coded the other way round (+1 = right), the feedback contradicts the choices.
    let flipped: String = std::fs::read_to_string(&example)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return format!("{l}\n");
            }
            let mut f: Vec<String> = l.split(',').map(String::from).collect();
            f[4] = match f[4].as_str() {
                "-1" => "1".into(),
                "1" => "-1".into(),
                x => x.into(),
            };
            format!("{}\n", f.join(","))
        })
        .collect();
    let file = d.join("flipped.csv");
    std::fs::write(&file, flipped).unwrap();
    let err = data::read_ibl(&file).unwrap_err().to_string();
    assert!(err.contains("contradicts the choice convention"), "{err}");
    for (name, row, want) in [
        ("contrast", "m,e1,1.5,0,-1,1", ":2, column contrastLeft"),
        ("choice", "m,e1,0,1,2,1", ":2, column choice"),
        ("feedback", "m,e1,0,1,-1,0", ":2, column feedbackType"),
    ] {
        let file = d.join(format!("{name}.csv"));
        std::fs::write(&file, format!("{head}{row}\n")).unwrap();
        let err = data::read_ibl(&file).unwrap_err().to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
    let file = d.join("nosession.csv");
    std::fs::write(
        &file,
        "contrastLeft,contrastRight,choice,feedbackType\n0,1,-1,1\n",
    )
    .unwrap();
    let err = data::read_ibl(&file).unwrap_err().to_string();
    assert!(err.contains("no session column"), "{err}");
}

/// Bad simulate flags: one line naming the flag, exit 2, nothing written.
#[test]
fn bad_simulate_flags() {
    let d = dir("flags");
    let out = d.join("x.csv");
    let o = out.to_str().unwrap();
    for (args, want) in [
        (
            vec!["--rule", "reinforce", "--animals", "0", "--out", o],
            "--animals",
        ),
        (
            vec![
                "--rule",
                "reinforce",
                "--animals",
                "2",
                "--trials",
                "1",
                "--out",
                o,
            ],
            "--trials",
        ),
        (
            vec![
                "--rule",
                "reinforce",
                "--animals",
                "2",
                "--beta",
                "0.2",
                "--out",
                o,
            ],
            "--beta",
        ),
        (
            vec![
                "--rule",
                "reinforce",
                "--animals",
                "2",
                "--weight-noise",
                "-1",
                "--out",
                o,
            ],
            "--weight-noise",
        ),
        (
            vec![
                "--rule",
                "reinforce",
                "--animals",
                "2",
                "--kappa",
                "1",
                "--out",
                o,
            ],
            "--kappa",
        ),
        (
            vec![
                "--rule",
                "reinforce_history",
                "--animals",
                "2",
                "--kappa",
                "-3",
                "--out",
                o,
            ],
            "--kappa",
        ),
        (
            vec![
                "--rule",
                "reinforce",
                "--animals",
                "2",
                "--out",
                d.join("x.txt").to_str().unwrap(),
            ],
            "--out",
        ),
    ] {
        let mut all = vec!["infer", "simulate"];
        all.extend(&args);
        let r = rulelab(&all);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("rulelab: invalid {want}")),
            "{args:?}: {err}"
        );
        assert!(
            std::fs::read_dir(&d).unwrap().next().is_none(),
            "{args:?} wrote a file"
        );
    }
    let r = rulelab(&[
        "infer",
        "simulate",
        "--rule",
        "hebb",
        "--animals",
        "2",
        "--out",
        o,
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("reinforce, reinforce_base"));
}

/// The dnn model's gradient (φ, c and w_0) against central finite differences in f64,
/// on a small net over windows of 7 trials (the truncated objective: each window from
/// its start, held fixed) and over the whole sequence (trunc past T: the full gradient).
#[test]
fn the_model_gradient_matches_finite_differences() {
    gradient_matches_finite_differences(
        rulelab::infer::net::Net::dnn(5, 2),
        TrueRule::ReinforceBase,
        "the_model_gradient_matches_finite_differences",
    );
}

/// The same for the rnn (a GRU of 3 units under an MLP of 2 × 4), whose windows also
/// start from the carried GRU state, held fixed as w is.
#[test]
fn the_rnn_gradient_matches_finite_differences() {
    for skip in [false, true] {
        let net = rulelab::infer::net::Net {
            hidden: 4,
            layers: 2,
            gru: 3,
            skip,
        };
        gradient_matches_finite_differences(
            net,
            TrueRule::ReinforceHistory,
            "the_rnn_gradient_matches_finite_differences",
        );
    }
}

fn gradient_matches_finite_differences(net: rulelab::infer::net::Net, rule: TrueRule, name: &str) {
    use rand::{Rng, SeedableRng};
    use rulelab::infer::model::{self, Window};
    use rulelab::infer::net::K;
    let seed = common::seed(name);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sim = Simulation::new(rule, 3, 23, seed);
    let (mut data, _) = sim.run();
    data.animals[1].trials[10].session_start = true;
    // Hidden biases positive, so that few ReLUs are off for every trial (a layer all
    // off would leave nothing below it a gradient to check).
    let hidden_bias = |i: usize| {
        (0..net.layers).any(|l| {
            let (n_in, n_out) = net.dims(l);
            let b = net.offset(l) + n_in * n_out;
            (b..b + n_out).contains(&i)
        })
    };
    let phi: Vec<f64> = (0..net.len())
        .map(|i| {
            if i >= net.c_offset() {
                rng.random_range(0.05..0.3)
            } else if hidden_bias(i) {
                rng.random_range(0.1..0.6)
            } else {
                rng.random_range(-0.6..0.6)
            }
        })
        .collect();
    let w0: Vec<[f64; K]> = (0..3)
        .map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
        .collect();
    let weight = 1.0 / data.trials() as f64;
    for trunc in [7, 100] {
        // The window starts at the base point (held fixed under perturbation): w and
        // the rnn's state.
        type Start = (usize, [f64; K], Vec<f64>);
        let starts: Vec<Vec<Start>> = data
            .animals
            .iter()
            .zip(&w0)
            .map(|(a, &w)| {
                let path = model::weights(&net, &phi, &a.trials, w);
                let states = if net.gru > 0 {
                    rulelab::infer::model::states(&net, &phi, &a.trials, w)
                } else {
                    vec![vec![]; a.trials.len()]
                };
                (0..a.trials.len())
                    .step_by(trunc)
                    .map(|t| (t, path[t], states[t].clone()))
                    .collect()
            })
            .collect();
        let objective = |phi: &[f64], w0: &[[f64; K]]| -> f64 {
            let mut win = Window::new(&net, trunc);
            let mut total = 0.0;
            for (a, (st, &w)) in data.animals.iter().zip(starts.iter().zip(w0)) {
                for (t0, ws, h) in st {
                    let (t0, ws) = (*t0, *ws);
                    let t1 = (t0 + trunc).min(a.trials.len());
                    let start = if t0 == 0 { w } else { ws };
                    win.set_state(h);
                    total += model::window(
                        &net, phi, &a.trials, t0, t1, start, weight, None, &mut win, None,
                    )
                    .0;
                }
            }
            total
        };
        let mut grad = vec![0.0; net.len()];
        let mut g_w0 = vec![];
        let mut win = Window::new(&net, trunc);
        let mut loss = 0.0;
        for (a, &w) in data.animals.iter().zip(&w0) {
            let (l, g) = model::animal(
                &net,
                &phi,
                &a.trials,
                w,
                trunc,
                weight,
                Some(&mut grad),
                &mut win,
            );
            loss += l;
            g_w0.push(g);
        }
        assert!((loss - objective(&phi, &w0)).abs() < 1e-12);
        // Central differences at h and h/4: where they disagree a ReLU turns within
        // h of the point (the loss has a kink there, and no difference is its
        // derivative), so that coordinate is counted as a kink instead of compared.
        let h = 1e-6;
        let (mut worst, mut kinks, mut compared) = (0.0f64, 0usize, 0usize);
        let mut check = |f: &dyn Fn(f64) -> f64, analytic: f64| {
            let fd = |h: f64| (f(h) - f(-h)) / (2.0 * h);
            let (coarse, fine) = (fd(h), fd(h / 4.0));
            let scale = coarse.abs() + 1e-3;
            // Round-off alone moves the finer difference by about 1e-6 of the scale; a
            // kink by far more.
            if (coarse - fine).abs() > 1e-4 * scale {
                kinks += 1;
                return;
            }
            compared += 1;
            worst = worst.max((coarse - analytic).abs() / scale);
        };
        for i in 0..net.len() {
            let at = |d: f64| {
                let mut p = phi.clone();
                p[i] += d;
                objective(&p, &w0)
            };
            check(&at, grad[i]);
        }
        for a in 0..3 {
            for k in 0..K {
                let at = |d: f64| {
                    let mut w = w0.clone();
                    w[a][k] += d;
                    objective(&phi, &w)
                };
                check(&at, g_w0[a][k]);
            }
        }
        assert!(
            kinks * 50 <= compared,
            "trunc {trunc}: {kinks} kinks among {compared} coordinates compared"
        );
        assert!(worst < 1e-6, "trunc {trunc}: worst relative error {worst}");
        assert!(
            grad.iter().filter(|g| **g != 0.0).count() > net.len() / 2,
            "most of φ has a gradient"
        );
    }
}

/// A small simulation (50 animals × 500 trials, α_stim = 2^−4) is recovered: the
/// held-out log-likelihood well above a learner that never learns and within 0.03 nats
/// per trial of the true probabilities' (measured: 0.003–0.022 over seeds; the
/// held-out animals' w_0 come from 100 trials), and the fitted Δw_stim on the spec's
/// grid closer to the truth than no rule at all (RMSE below 0.7 of the truth's RMS). Every report file is written, and a second
/// fit into the same directory is refused.
#[test]
fn a_small_simulation_is_recovered() {
    let d = dir("recover");
    let s = common::seed("a_small_simulation_is_recovered") % 1_000_000;
    let (train, test) = (d.join("train.csv"), d.join("test.csv"));
    for (file, seed) in [(&train, s), (&test, s + 1)] {
        let o = rulelab(&[
            "infer",
            "simulate",
            "--rule",
            "reinforce",
            "--animals",
            "50",
            "--trials",
            "500",
            "--alpha",
            "0.0625,0",
            "--seed",
            &seed.to_string(),
            "--out",
            file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let out = d.join("fit");
    let args = [
        "infer",
        "fit",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--trunc",
        "100",
        "--batch",
        "2",
        "--epochs",
        "20",
        "--seed",
        &s.to_string(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = rulelab(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let f = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} in {m}"));
    // A learner that never changes its weights (each held-out animal's logistic fit to
    // its first 100 trials, kept): the fitted rule must explain far more than it.
    let held = data::read_csv(&test).unwrap();
    let mut static_ll = 0.0;
    for a in &held.animals {
        let w = rulelab::infer::w0::logistic_fit(&a.trials, 100);
        for t in &a.trials {
            let p = sigmoid(w[0] * t.stimulus + w[1]);
            static_ll += if t.choice == 1 {
                p.ln()
            } else {
                (1.0 - p).ln()
            };
        }
    }
    static_ll /= held.trials() as f64;
    assert!(f("test_ll") > static_ll + 0.05, "static {static_ll}: {m}");
    assert!((f("test_ll") - f("truth_test_ll")).abs() < 0.03, "{m}");
    assert!(f("dw_rmse") < 0.7 * f("dw_true_rms"), "{m}");
    // The report says so in words, with the figures it measured.
    let notes: Vec<&str> = m["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let rule = notes
        .iter()
        .find(|n| n.starts_with("the rule is"))
        .expect("a recovery note");
    assert!(!rule.contains("not recovered"), "{rule}");
    assert!(rule.contains(&format!("{:.4}", f("dw_rmse"))), "{rule}");
    assert!(
        notes.iter().any(|n| n.starts_with("held-out LL is")),
        "{notes:?}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("note: the rule is"));
    for file in [
        "epochs.csv",
        "rule_grid.csv",
        "weights.csv",
        "manifest.json",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
    let grid = std::fs::read_to_string(out.join("rule_grid.csv")).unwrap();
    assert_eq!(grid.lines().count(), 1 + 17 * 2 * 1001 * 3);
    // One restart: the band is the fit itself.
    for l in grid.lines().skip(1) {
        let v: Vec<&str> = l.split(',').collect();
        assert!(v[4] == v[5] && v[5] == v[6], "{l}");
    }
    let weights = std::fs::read_to_string(out.join("weights.csv")).unwrap();
    assert_eq!(weights.lines().count(), 1 + 50 * 500);
    let again = rulelab(&args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds a finished fit"));
}

/// The fit on the GPU kernels follows the CPU device: every restart's likelihood and the
/// reported rule within f32 round-off (8 animals, 3 restarts side by side, 4 epochs,
/// windows of 50 trials), and the reported restart is the best.
#[test]
fn both_devices_fit_alike() {
    devices_fit_alike("dnn", &["--hidden", "12", "--layers", "2"]);
}

/// The rnn's GPU kernels (a GRU of 6 under 1 × 8) fit as the CPU device does.
#[test]
fn both_devices_fit_the_rnn_alike() {
    devices_fit_alike(
        "rnn",
        &[
            "--model", "rnn", "--gru", "6", "--hidden", "8", "--layers", "1",
        ],
    );
}

/// The rnn whose MLP also reads the trial (`--skip`) fits alike on both devices.
#[test]
fn both_devices_fit_the_rnn_with_skip_alike() {
    devices_fit_alike(
        "rnn-skip",
        &[
            "--model", "rnn", "--skip", "--gru", "5", "--hidden", "6", "--layers", "2",
        ],
    );
}

fn devices_fit_alike(name: &str, model: &[&str]) {
    let d = dir(&format!("devices-{name}"));
    let s = common::seed("both_devices_fit_alike") % 1_000_000;
    let data = d.join("t.csv");
    let seed = s.to_string();
    simulate(
        &[
            "--rule",
            "reward_max",
            "--animals",
            "8",
            "--trials",
            "120",
            "--alpha",
            "0.0625,0",
            "--seed",
            &seed,
        ],
        &data,
    );
    let mut metrics = vec![];
    for device in ["cpu", "gpu"] {
        let out = d.join(device);
        let mut args = vec!["infer", "fit", data.to_str().unwrap()];
        args.extend(model);
        args.extend([
            "--epochs",
            "4",
            "--batch",
            "4",
            "--trunc",
            "50",
            "--seed",
            &seed,
            "--restarts",
            "3",
            "--device",
            device,
            "--out",
            out.to_str().unwrap(),
        ]);
        let o = rulelab(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        if device == "gpu"
            && err.contains("no GPU adapter")
            && std::env::var("CI").as_deref() != Ok("true")
        {
            return;
        }
        assert!(o.status.success(), "{device}: {err}");
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap();
        let restarts = std::fs::read_to_string(out.join("restarts.csv")).unwrap();
        let lls: Vec<f64> = restarts
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
            .collect();
        assert_eq!(lls.len(), 3);
        let best = m["best_restart"].as_u64().unwrap() as usize;
        assert!(lls.iter().all(|&l| l <= lls[best]), "{lls:?}, best {best}");
        // The rule's band spans the three restarts' rules around the reported one.
        let (mut inside, mut wide) = (true, false);
        for l in std::fs::read_to_string(out.join("rule_grid.csv"))
            .unwrap()
            .lines()
            .skip(1)
        {
            let v: Vec<f64> = l.split(',').take(7).map(|x| x.parse().unwrap()).collect();
            inside &= v[5] <= v[4] && v[4] <= v[6];
            wide |= v[6] > v[5];
        }
        assert!(
            inside && wide,
            "{device}: the band must hold the fit and have width"
        );
        assert_eq!(m["train_ll"].as_f64().unwrap(), lls[best]);
        metrics.push((m, lls));
    }
    let (a, b) = (&metrics[0], &metrics[1]);
    for (x, y) in a.1.iter().zip(&b.1) {
        assert!(
            (x - y).abs() <= 1e-4 * x.abs(),
            "{name} restarts: cpu {x} vs gpu {y}"
        );
    }
    let (x, y) = (
        a.0["dw_rmse"].as_f64().unwrap(),
        b.0["dw_rmse"].as_f64().unwrap(),
    );
    assert!(
        (x - y).abs() <= 1e-3 * x.abs(),
        "{name} dw_rmse: cpu {x} vs gpu {y}"
    );
}

/// The reinforce_base baseline: its gradient (α, β) matches central differences, and
/// fitted by maximum likelihood on data from reinforce_base it comes within 10⁻³ nats
/// per trial of the truth's likelihood, with α within 35% (β is weakly identified at
/// this size: fits put it anywhere in about [−0.05, 0.6] for a true 0.3).
#[test]
fn the_baseline_rule_is_fitted_by_maximum_likelihood() {
    use rulelab::infer::baseline::{self, Baseline};
    let s = common::seed("the_baseline_rule_is_fitted_by_maximum_likelihood");
    let mut sim = Simulation::new(TrueRule::ReinforceBase, 60, 400, s);
    sim.alpha = [0.08, 0.03];
    sim.beta = 0.3;
    let (data, truth) = sim.run();
    let w0: Vec<[f64; 2]> = truth.iter().map(|p| p[0].0).collect();
    let b = Baseline {
        alpha: [0.05, 0.02],
        beta: [0.1, 0.4],
    };
    let (_, g) = b.objective(&data.animals[..5], &w0[..5]);
    let h = 1e-6;
    // The gradient is in (a, b) = (α, α β).
    for i in 0..4 {
        let shift = |d: f64| {
            let mut t = [
                b.alpha[0],
                b.alpha[1],
                b.alpha[0] * b.beta[0],
                b.alpha[1] * b.beta[1],
            ];
            t[i] += d;
            Baseline::from_ab(&t)
                .objective(&data.animals[..5], &w0[..5])
                .0
        };
        let fd = (shift(h) - shift(-h)) / (2.0 * h);
        assert!(
            (fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()),
            "{i}: {fd} vs {}",
            g[i]
        );
    }
    let fitted = baseline::fit(&data.animals, &w0, 200).unwrap();
    let at_truth = Baseline {
        alpha: sim.alpha,
        beta: [sim.beta; 2],
    }
    .objective(&data.animals, &w0)
    .0;
    let at_fit = fitted.objective(&data.animals, &w0).0;
    // Within 10⁻³ nats per trial of the truth's likelihood (it is flat along β).
    assert!(
        at_fit < at_truth + 1e-3,
        "fitted {at_fit} vs truth {at_truth}: {fitted:?}"
    );
    for k in 0..2 {
        assert!(
            (fitted.alpha[k] - sim.alpha[k]).abs() < 0.35 * sim.alpha[k],
            "{fitted:?}"
        );
    }
}

/// An IBL export fits end to end: no truth to compare with (those metrics are null, not
/// invented), the baseline and every file of the report written; with a bootstrap of
/// three refits, its band in rule_grid.csv and its mean width in metrics.json.
#[test]
fn an_ibl_table_fits_end_to_end() {
    let d = dir("iblfit");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infer/ibl_example.csv");
    let out = d.join("fit");
    let o = rulelab(&[
        "infer",
        "fit",
        "--ibl",
        example.to_str().unwrap(),
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--trunc",
        "50",
        "--bootstrap",
        "3",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let (mut width, mut n) = (0.0, 0.0);
    for l in std::fs::read_to_string(out.join("rule_grid.csv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let v: Vec<f64> = l.split(',').take(9).map(|x| x.parse().unwrap()).collect();
        assert!(v[7] <= v[8], "{l}");
        width += v[8] - v[7];
        n += 1.0;
    }
    let band = m["band_bootstrap"].as_f64().unwrap();
    assert!(
        band > 0.0 && (band - width / n).abs() <= 1e-12 * band.max(1.0),
        "{band}"
    );
    for key in ["truth_train_ll", "dw_rmse", "test_ll"] {
        assert!(m[key].is_null(), "{key}: {m}");
    }
    assert!(m["train_ll"].as_f64().unwrap() < 0.0);
    assert!(m["baseline_train_ll"].as_f64().unwrap() < 0.0);
    assert_eq!(m["train_animals"].as_u64(), Some(3));
    for file in [
        "fit.png",
        "fit.svg",
        "weights.csv",
        "rule_grid.csv",
        "restarts.csv",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
}

/// A fit on a device whose bindings hold fewer slots' tapes than a batch has runs the
/// slots in turns and ends bit for bit where the roomy device ends; both end where the
/// CPU device ends, to f32 round-off over the steps.
#[test]
fn a_fit_whose_tape_holds_few_slots_runs_them_in_turns() {
    use rulelab::infer::fit::fit;
    use rulelab::infer::options::{FitConfig, Init};
    let (Some(roomy), Some(tiny)) = (common::gpu(), common::tiny_limits_gpu()) else {
        return;
    };
    let seed = common::seed("a_fit_whose_tape_holds_few_slots_runs_them_in_turns");
    let mut sim = Simulation::new(TrueRule::Reinforce, 6, 90, seed);
    sim.alpha = [0.0625, 0.0];
    let (data, _) = sim.run();
    let cfg = FitConfig {
        gru: 0,
        skip: false,
        hidden: 40,
        layers: 2,
        epochs: 3,
        batch: 4,
        trunc: 60,
        lr: 3e-3,
        decay: 0.5,
        decay_every: 2,
        seed,
        init: Init::PerAnimal,
        restarts: 2,
    };
    // 64 KiB holds 2 slots of 60 trials × 92 floats × 4 bytes: the 8 run in 4 turns.
    let runs: Vec<_> = [
        rulelab::gpu::Backend::Cpu,
        common::backend(&roomy),
        common::backend(&tiny),
    ]
    .iter()
    .map(|b| fit(&cfg, &data, b, |_| {}).unwrap())
    .collect();
    for (r, ((cpu, roomy), tiny)) in runs[0].iter().zip(&runs[1]).zip(&runs[2]).enumerate() {
        assert_eq!(
            roomy.phi, tiny.phi,
            "restart {r}: φ differs between the devices"
        );
        assert_eq!(
            roomy.w0, tiny.w0,
            "restart {r}: w_0 differs between the devices"
        );
        let scale = cpu.phi.iter().map(|x| x.abs()).fold(0.0, f64::max);
        let worst = cpu
            .phi
            .iter()
            .zip(&roomy.phi)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-4 * scale,
            "restart {r}: φ CPU vs GPU {worst:e} (scale {scale})"
        );
        for (a, b) in cpu.w0.iter().zip(&roomy.w0) {
            assert!(
                (a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4,
                "{a:?} {b:?}"
            );
        }
        // Every animal's w_0 moved (a trained parameter), and every epoch was recorded.
        let start = rulelab::infer::w0::heldout_w0(Init::PerAnimal, &data);
        assert!(cpu.w0.iter().zip(&start).all(|(a, b)| a != b));
        assert_eq!(cpu.epochs.len(), cfg.epochs);
        let (lc, lg) = (cpu.epochs[2].train_ll, roomy.epochs[2].train_ll);
        assert!((lc - lg).abs() < 1e-5, "train LL CPU {lc} vs GPU {lg}");
    }
}

/// `--init W_STIM,W_BIAS` starts every animal there and keeps it (not trained); an
/// `--init` that is neither a mode nor two finite numbers is one line naming the flag.
#[test]
fn a_given_w0_starts_every_animal_and_bad_inits_are_refused() {
    let d = dir("given");
    let s = common::seed("a_given_w0_starts_every_animal_and_bad_inits_are_refused") % 1_000_000;
    let data = d.join("t.csv");
    let seed = s.to_string();
    simulate(
        &[
            "--rule",
            "reinforce",
            "--animals",
            "3",
            "--trials",
            "60",
            "--seed",
            &seed,
        ],
        &data,
    );
    let fit = |init: &str, out: &Path| {
        rulelab(&[
            "infer",
            "fit",
            data.to_str().unwrap(),
            "--hidden",
            "4",
            "--layers",
            "1",
            "--epochs",
            "2",
            "--trunc",
            "20",
            "--device",
            "cpu",
            "--init",
            init,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = d.join("fit");
    let o = fit("-1.25,0.5", &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = common::csv_rows(&std::fs::read_to_string(out.join("weights.csv")).unwrap());
    let firsts: Vec<_> = rows.iter().filter(|r| r["trial"] == "0").collect();
    assert_eq!(firsts.len(), 3);
    for r in firsts {
        assert_eq!(r["w_stim"].parse::<f64>().unwrap(), -1.25, "{r:?}");
        assert_eq!(r["w_bias"].parse::<f64>().unwrap(), 0.5, "{r:?}");
    }
    for bad in ["given", "1", "1,2,3", "nan,0", "1,x"] {
        let out = d.join(format!("bad{}", bad.len()));
        let o = fit(bad, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("--init") && err.lines().count() == 1,
            "{bad}: {err}"
        );
        assert!(!out.join("metrics.json").exists());
    }
}

/// Ctrl-C during a fit stops it between batches with one line and exit code 130,
/// writing no report; the same command then runs into the same directory.
#[cfg(unix)]
#[test]
fn a_fit_stops_at_ctrl_c_and_writes_nothing() {
    use std::io::BufRead;
    let d = dir("sigint");
    let data = d.join("t.csv");
    simulate(
        &[
            "--rule",
            "reinforce",
            "--animals",
            "40",
            "--trials",
            "500",
            "--seed",
            "5",
        ],
        &data,
    );
    let out = d.join("fit");
    let args = |epochs: &str| -> Vec<String> {
        [
            "infer",
            "fit",
            data.to_str().unwrap(),
            "--hidden",
            "16",
            "--layers",
            "2",
            "--batch",
            "2",
            "--device",
            "cpu",
            "--epochs",
            epochs,
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(args("100000"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("epoch 1/"));
    assert!(first.is_some(), "the fit printed no epoch");
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    let last = rest.last().cloned().unwrap_or_default();
    assert!(
        last.contains("stopped at a signal in epoch") && last.contains("no result was written"),
        "{last}"
    );
    assert!(!out.join("metrics.json").exists());
    let o = rulelab(&args("1").iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("metrics.json").exists());
}

/// `infer cv`: every animal held out exactly once, each model scored on every fold, the
/// truth's held-out LL recomputed here from FILE.truth.csv, the comparison recomputed
/// from cv.csv, and the picture drawn.
#[test]
fn cross_validation_holds_out_each_animal_once() {
    let d = dir("cv");
    let seed = common::seed("cross_validation_holds_out_each_animal_once").to_string();
    let file = d.join("sim.csv");
    simulate(
        &[
            "--rule",
            "reinforce_history",
            "--animals",
            "7",
            "--trials",
            "120",
            "--seed",
            &seed,
        ],
        &file,
    );
    let out = d.join("cv");
    let o = rulelab(&[
        "infer",
        "cv",
        file.to_str().unwrap(),
        "--folds",
        "3",
        "--models",
        "dnn,rnn,reinforce_base,psytrack",
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--layers",
        "2",
        "--gru",
        "4",
        "--trunc",
        "60",
        "--batch",
        "3",
        "--restarts",
        "2",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // 7 animals in 3 folds train on 4, 5 and 5: the last two folds fit side by side.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("dnn: folds 2, 3 of 3 side by side"), "{err}");
    let cv_text = std::fs::read_to_string(out.join("cv.csv")).unwrap();
    let header: Vec<&str> = cv_text.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<String>> = cv_text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let models = ["dnn", "rnn", "reinforce_base", "psytrack", "truth"];
    assert_eq!(
        rows.len(),
        models.len() * 3,
        "every model and the truth on 3 folds"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let fold_of = manifest["fold_of_animal"].as_object().unwrap();
    assert_eq!(fold_of.len(), 7, "every animal in one fold");
    let data = data::read_csv(&file).unwrap();
    // The truth's mean log p(choice) over each fold's animals, from the truth file.
    let truth = read_truth(&file);
    for fold in 0..3u64 {
        let held: Vec<&str> = fold_of
            .iter()
            .filter(|(_, f)| f.as_u64() == Some(fold))
            .map(|(a, _)| a.as_str())
            .collect();
        assert!(!held.is_empty(), "fold {fold} is empty");
        let trials: usize = data
            .animals
            .iter()
            .filter(|a| held.contains(&a.id.as_str()))
            .map(|a| a.trials.len())
            .sum();
        let mut ll = 0.0;
        let mut k = 0;
        for a in &data.animals {
            for t in &a.trials {
                if held.contains(&a.id.as_str()) {
                    let p = truth[k].3;
                    ll += if t.choice == 1 {
                        p.ln()
                    } else {
                        (1.0 - p).ln()
                    };
                }
                k += 1;
            }
        }
        for model in models {
            let r = rows
                .iter()
                .find(|r| r[0] == model && r[1] == fold.to_string())
                .unwrap_or_else(|| panic!("no row for {model} fold {fold}"));
            assert_eq!(
                r[3],
                held.len().to_string(),
                "{model} fold {fold}: test animals"
            );
            assert_eq!(r[4], trials.to_string(), "{model} fold {fold}: test trials");
            let test_ll: f64 = r[6].parse().unwrap();
            assert!(
                test_ll.is_finite() && test_ll < 0.0,
                "{model} fold {fold}: {test_ll}"
            );
            if model == "truth" {
                assert!(
                    (test_ll - ll / trials as f64).abs() < 1e-12,
                    "truth fold {fold}"
                );
            }
            if model == "dnn" || model == "rnn" {
                // The fold's fit, side by side with others or not, is the one `infer
                // fit` makes of the fold alone (best of its restarts), to the last bit.
                use rulelab::infer::fit::fit_scored;
                use rulelab::infer::options::{FitConfig, Init};
                let pick = |held_out: bool| rulelab::infer::Dataset {
                    animals: data
                        .animals
                        .iter()
                        .filter(|a| held.contains(&a.id.as_str()) == held_out)
                        .cloned()
                        .collect(),
                    dropped: 0,
                };
                let cfg = FitConfig {
                    gru: if model == "rnn" { 4 } else { 0 },
                    skip: false,
                    hidden: 8,
                    layers: 2,
                    epochs: 2,
                    batch: 3,
                    trunc: 60,
                    lr: 3e-3,
                    decay: 0.5,
                    decay_every: 5,
                    // cv's default --seed, which also dealt the folds.
                    seed: 0,
                    init: Init::PerAnimal,
                    restarts: 2,
                };
                let (train, test) = (pick(false), pick(true));
                let alone = fit_scored(
                    &cfg,
                    &train,
                    Some(&test),
                    &rulelab::gpu::Backend::Cpu,
                    |_| {},
                )
                .unwrap();
                assert_eq!(
                    test_ll,
                    alone.test_ll[alone.best].unwrap(),
                    "{model} fold {fold}"
                );
                let train_ll: f64 = r[5].parse().unwrap();
                assert_eq!(train_ll, alone.train_ll[alone.best], "{model} fold {fold}");
            }
            if model == "psytrack" {
                // The walk's σ in params; the held-out filter LL recomputed from it.
                // (One number per column: sigma_stim, sigma_bias.)
                let sigma: Vec<f64> = ["sigma_stim", "sigma_bias"]
                    .map(|c| r[column(c)].parse().unwrap())
                    .to_vec();
                let fit = rulelab::infer::psytrack::PsyTrack {
                    sigma: [sigma[0], sigma[1]],
                };
                let animals: Vec<_> = data
                    .animals
                    .iter()
                    .filter(|a| held.contains(&a.id.as_str()))
                    .cloned()
                    .collect();
                let want = rulelab::infer::psytrack::log_likelihood(&fit, &animals);
                assert!(
                    (test_ll - want).abs() < 1e-12,
                    "psytrack fold {fold}: {test_ll} vs {want}"
                );
            }
        }
    }
    // comparison.csv: each pair's mean difference and SE over the folds, from cv.csv.
    let ll = |m: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r[0] == m)
            .map(|r| r[6].parse().unwrap())
            .collect()
    };
    let pairs = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let pairs: Vec<Vec<&str>> = pairs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(pairs.len(), models.len() * (models.len() - 1) / 2);
    for p in &pairs {
        let diff: Vec<f64> = ll(p[0]).iter().zip(ll(p[1])).map(|(a, b)| a - b).collect();
        let mean = diff.iter().sum::<f64>() / 3.0;
        let se = (diff.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0 / 3.0).sqrt();
        let (m, s): (f64, f64) = (p[2].parse().unwrap(), p[3].parse().unwrap());
        assert!((m - mean).abs() < 1e-12 && (s - se).abs() < 1e-12, "{p:?}");
    }
    assert!(out.join("cv.png").exists() && out.join("cv.svg").exists());
    // The same directory again is refused; so are bad folds and models, in one line.
    for (args, key) in [
        (vec!["--folds", "3"], "--out"),
        (vec!["--folds", "1"], "--folds"),
        (vec!["--folds", "8"], "--folds"),
        (vec!["--models", "dnn,dnn"], "--models"),
        (vec!["--models", "rnn2"], "--models"),
        (vec!["--models", "dnn", "--gru", "8"], "--gru"),
    ] {
        let target = if key == "--out" {
            out.clone()
        } else {
            d.join("other")
        };
        let mut all = vec!["infer", "cv", file.to_str().unwrap()];
        all.extend(&args);
        all.extend(["--out", target.to_str().unwrap()]);
        let r = rulelab(&all);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(key) && err.trim().lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(!d.join("other").join("cv.csv").exists());
    }
}

/// The PsyTrack baseline on its own generative model (no rule, weights on a random
/// walk of σ = 0.05 a trial): the evidence finds σ, the MAP weights follow the true
/// ones, and the filter predicts choices nearly as well as the true probabilities.
#[test]
fn psytrack_finds_the_walk_it_was_given() {
    use rulelab::infer::psytrack;
    let seed = common::seed("psytrack_finds_the_walk_it_was_given");
    let mut sim = Simulation::new(TrueRule::Reinforce, 24, 600, seed);
    sim.alpha = [0.0, 0.0];
    sim.weight_noise = 0.05;
    let (data, truth) = sim.run();
    let (fit, train_ll) = psytrack::fit(&data.animals).unwrap();
    eprintln!("σ {:?}, filter LL {train_ll}", fit.sigma);
    for k in 0..2 {
        assert!(
            (fit.sigma[k] / 0.05).ln().abs() < 0.5f64.ln().abs(),
            "σ {:?} vs 0.05",
            fit.sigma
        );
    }
    let mut w = vec![[0.0; 2]; 600];
    fit.map(&data.animals[0].trials, &mut w);
    let rmse = (w
        .iter()
        .zip(&truth[0])
        .map(|(a, t)| (a[0] - t.0[0]).powi(2))
        .sum::<f64>()
        / 600.0)
        .sqrt();
    assert!(rmse < 0.6, "MAP w_stim RMSE {rmse}");
    let truth_ll: f64 = data
        .animals
        .iter()
        .zip(&truth)
        .flat_map(|(a, t)| a.trials.iter().zip(t))
        .map(|(tr, (_, p))| {
            if tr.choice == 1 {
                p.ln()
            } else {
                (1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / data.trials() as f64;
    assert!(
        train_ll < truth_ll && train_ll > truth_ll - 0.05,
        "filter LL {train_ll} vs truth {truth_ll}"
    );
    assert_eq!(train_ll, psytrack::log_likelihood(&fit, &data.animals));
}

/// The rnn fits end to end on a history-dependent truth: its rule after the last four
/// trials all rewarded and all unrewarded in rule_history.csv and its picture, the
/// history gain in metrics.json as the csv gives it (the truth's is 1 + κ: its rate
/// scales by 1 + κ h), and a GRU size without an rnn refused.
#[test]
fn the_rnn_fits_and_reports_its_history() {
    let d = dir("rnnfit");
    let seed = common::seed("the_rnn_fits_and_reports_its_history").to_string();
    let file = d.join("sim.csv");
    simulate(
        &[
            "--rule",
            "reinforce_history",
            "--kappa",
            "2",
            "--animals",
            "16",
            "--trials",
            "400",
            "--alpha",
            "0.0625,0",
            "--seed",
            &seed,
        ],
        &file,
    );
    let out = d.join("fit");
    let common_args = [
        "--epochs", "3", "--hidden", "8", "--layers", "1", "--trunc", "100", "--batch", "4",
    ];
    let mut args = vec![
        "infer",
        "fit",
        file.to_str().unwrap(),
        "--model",
        "rnn",
        "--gru",
        "8",
    ];
    args.extend(common_args);
    args.extend(["--device", "cpu", "--out", out.to_str().unwrap()]);
    let o = rulelab(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let rows = common::csv_rows(&std::fs::read_to_string(out.join("rule_history.csv")).unwrap());
    assert_eq!(rows.len(), 2 * 17 * 2 * 9 * 3);
    let ss = |history: &str, col: &str| -> f64 {
        rows.iter()
            .filter(|r| r["history"] == history)
            .map(|r| r[col].parse::<f64>().unwrap().powi(2))
            .sum()
    };
    let gain = (ss("rewarded", "dw_stim_fitted") / ss("unrewarded", "dw_stim_fitted")).sqrt();
    let gain_true = (ss("rewarded", "dw_stim_true") / ss("unrewarded", "dw_stim_true")).sqrt();
    let h = &m["history"];
    assert!(
        (h["gain"].as_f64().unwrap() - gain).abs() < 1e-9 * gain,
        "{h}"
    );
    assert!(
        (h["gain_true"].as_f64().unwrap() - gain_true).abs() < 1e-9,
        "{h}"
    );
    assert!((gain_true - 3.0).abs() < 1e-9, "κ = 2: {gain_true}");
    for f in [
        "rule_history.png",
        "rule_history.svg",
        "fit.png",
        "rule_grid.csv",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"gru\": 8"), "{manifest}");
    // --gru without the rnn has no effect, and an rnn of no units is none: refused in
    // one line, nothing written.
    let other = d.join("other");
    for extra in [
        &["--gru", "8"][..],
        &["--skip"][..],
        &["--model", "rnn", "--gru", "0"][..],
    ] {
        let mut args = vec!["infer", "fit", file.to_str().unwrap()];
        args.extend(extra);
        args.extend(["--out", other.to_str().unwrap()]);
        let r = rulelab(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{extra:?}: {err}");
        let flag = extra
            .iter()
            .find(|a| ["--gru", "--skip"].contains(a))
            .unwrap();
        assert!(
            err.contains(flag) && err.trim().lines().count() == 1,
            "{err}"
        );
        assert!(!other.exists());
    }
}

/// Restart r of `--restarts R --seed s` is the fit `--seed s+r` makes alone, to the last
/// bit, on either device: restarts draw their own φ and their own batches, side by side.
#[test]
fn a_restart_is_the_fit_its_seed_makes_alone() {
    let d = dir("restart-seed");
    let data = d.join("t.csv");
    let s = common::seed("a_restart_is_the_fit_its_seed_makes_alone") % 1000;
    simulate(
        &[
            "--rule",
            "reinforce",
            "--animals",
            "9",
            "--trials",
            "150",
            "--seed",
            &s.to_string(),
        ],
        &data,
    );
    let devices: &[&str] = if common::gpu().is_some() {
        &["cpu", "gpu"]
    } else {
        &["cpu"]
    };
    for &device in devices {
        let fit = |seed: u64, restarts: &str, out: &Path| {
            let o = rulelab(&[
                "--device",
                device,
                "infer",
                "fit",
                data.to_str().unwrap(),
                "--hidden",
                "6",
                "--layers",
                "2",
                "--epochs",
                "2",
                "--batch",
                "4",
                "--trunc",
                "40",
                "--seed",
                &seed.to_string(),
                "--restarts",
                restarts,
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        };
        let together = d.join(format!("{device}-together"));
        fit(s, "3", &together);
        let rows =
            common::csv_rows(&std::fs::read_to_string(together.join("restarts.csv")).unwrap());
        assert_eq!(rows.len(), 3);
        for (r, row) in rows.iter().enumerate() {
            let alone = d.join(format!("{device}-alone{r}"));
            fit(s + r as u64, "1", &alone);
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(alone.join("metrics.json")).unwrap())
                    .unwrap();
            assert_eq!(row["seed"], (s + r as u64).to_string());
            assert_eq!(
                row["train_ll"].parse::<f64>().unwrap(),
                m["train_ll"].as_f64().unwrap(),
                "{device}: restart {r}"
            );
        }
    }
}

/// Jobs of one fit (cv's folds, the bootstrap's draws, an animal twice in a draw) are
/// each the fit their seed makes alone on a data set of just their animals, to the last
/// bit, on either device.
#[test]
fn a_job_is_the_fit_of_its_own_animals_alone() {
    use rulelab::infer::fit::{fit, fit_jobs, FitJob};
    use rulelab::infer::options::{FitConfig, Init};
    let seed = common::seed("a_job_is_the_fit_of_its_own_animals_alone");
    let (data, _) = Simulation::new(TrueRule::Reinforce, 6, 90, seed).run();
    let cfg = FitConfig {
        gru: 0,
        skip: false,
        hidden: 6,
        layers: 2,
        epochs: 2,
        batch: 3,
        trunc: 40,
        lr: 3e-3,
        decay: 0.5,
        decay_every: 5,
        seed: 0,
        init: Init::PerAnimal,
        restarts: 1,
    };
    let jobs = [
        FitJob {
            seed: 3,
            animals: vec![0, 0, 2, 5],
        },
        FitJob {
            seed: 4,
            animals: vec![1, 3, 3, 4],
        },
    ];
    let mut backends = vec![rulelab::gpu::Backend::Cpu];
    if let Some(gpu) = common::gpu() {
        backends.push(common::backend(&gpu));
    }
    for backend in &backends {
        let together = fit_jobs(&cfg, &jobs, &data, backend, |_| {}).unwrap();
        for (job, t) in jobs.iter().zip(&together) {
            let own = rulelab::infer::Dataset {
                animals: job
                    .animals
                    .iter()
                    .map(|&i| data.animals[i].clone())
                    .collect(),
                dropped: 0,
            };
            let alone = fit(
                &FitConfig {
                    seed: job.seed,
                    ..cfg.clone()
                },
                &own,
                backend,
                |_| {},
            )
            .unwrap();
            assert_eq!(t.phi, alone[0].phi, "{}: job {job:?}", backend.kind());
            assert_eq!(t.w0, alone[0].w0, "{}: job {job:?}", backend.kind());
        }
    }
}
