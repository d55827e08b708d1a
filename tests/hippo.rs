//! The hippocampal model on the CPU: the local rule trains only the compartment that
//! does not drive the soma, the OU noise has the stated variance and coherence time,
//! the loss falls, f32 follows f64, and bad specs are refused by key.

mod common;

use rulelab::hippo::experiments::{latents, path_integration};
use rulelab::hippo::model::{Helper, Learning, State};
use rulelab::hippo::ring::{Agent, PlaceCells};
use rulelab::hippo::spec::{Spec, Theta};
use rulelab::real::Real;

/// Runs experiment B's network for `steps` steps from `state`, calling `each` after
/// every step with the state.
fn run_ring<F: Real>(
    spec: &Spec,
    state: &mut State<F>,
    seed: u64,
    steps: u64,
    theta: Theta,
    learning: Learning,
    mut each: impl FnMut(&State<F>),
) {
    let places = PlaceCells::new(spec.n_z, 0.06, seed);
    let mut agent = Agent::new(seed);
    let mut z = vec![F::zero(); spec.n_z];
    for _ in 0..steps {
        let t = state.step;
        agent.step(t, spec.dt, seed);
        places.rates(agent.x, &mut z);
        let th = F::c(theta.at(t, spec.dt, 5.0));
        state.step(spec, &z, agent.velocity_cells(), [th, th], learning);
        each(state);
    }
}

/// Dendrite k's weights, settled (a plastic compartment keeps them factored between
/// settles).
fn weights<F: Real>(s: &State<F>, k: usize) -> Vec<F> {
    let mut s = s.clone();
    s.settle();
    s.dendrites[k].w.clone()
}

#[test]
fn the_compartment_driving_the_soma_does_not_learn() {
    let seed = common::seed("the_compartment_driving_the_soma_does_not_learn");
    let spec = path_integration();
    let phases: [(Theta, &[usize], &[usize]); 2] = [
        (Theta::Basal, &[2], &[1, 3]),
        (Theta::Apical, &[1, 3], &[2]),
    ];
    for (theta, still, moving) in phases {
        let mut s = State::<f64>::new(&spec, seed);
        let before: Vec<Vec<f64>> = (0..4).map(|k| weights(&s, k)).collect();
        run_ring(&spec, &mut s, seed, 200, theta, Learning::On, |_| {});
        for &k in still {
            assert_eq!(weights(&s, k), before[k], "{theta:?}: dendrite {k} moved");
        }
        for &k in moving {
            let moved = weights(&s, k)
                .iter()
                .zip(&before[k])
                .filter(|(a, b)| a != b)
                .count();
            assert!(
                moved > before[k].len() / 2,
                "{theta:?}: dendrite {k}: {moved} moved"
            );
        }
        // HPC basal is the fixed identity pathway: no weights at all.
        assert!(weights(&s, 0).is_empty());
    }
}

#[test]
fn ou_noise_has_its_variance_and_coherence_time() {
    let seed = common::seed("ou_noise_has_its_variance_and_coherence_time");
    let spec = latents();
    let mut s = State::<f64>::new(&spec, seed);
    let burn = 400;
    let mut xs: Vec<Vec<f64>> = vec![];
    let mut mec_apical = 0.0;
    let z = vec![0.0; spec.n_z];
    for t in 0..burn + 20_000 {
        s.step(&spec, &z, [0.0; 2], [0.0, 0.0], Learning::Off);
        if t >= burn {
            xs.push(s.dendrites[0].xi.clone());
            mec_apical += s.dendrites[3].xi.iter().map(|x| x * x).sum::<f64>();
        }
    }
    let a = spec.dt / spec.tau_noise;
    // The discretised process: variance σ² / (1 − a/2), lag-k correlation (1 − a)^k.
    let want_var = 0.01f64.powi(2) / (1.0 - a / 2.0);
    let n = xs.len() as f64 * spec.hpc.n as f64;
    let var: f64 = xs.iter().flatten().map(|x| x * x).sum::<f64>() / n;
    assert!(
        (var / want_var - 1.0).abs() < 0.05,
        "variance {var:e} vs {want_var:e}"
    );
    let lag = 12; // 0.3 s: the coherence time
    let cov: f64 = xs
        .windows(lag + 1)
        .map(|w| w[0].iter().zip(&w[lag]).map(|(a, b)| a * b).sum::<f64>())
        .sum::<f64>()
        / ((xs.len() - lag) as f64 * spec.hpc.n as f64);
    let (rho, want) = (cov / var, (1.0 - a).powi(lag as i32));
    assert!(
        (rho - want).abs() < 0.05,
        "lag-{lag} correlation {rho} vs {want}"
    );
    // The MEC apical compartment of experiment A has its own σ, 0.05.
    let big = mec_apical / (xs.len() * spec.mec.n) as f64;
    let want_big = 0.05f64.powi(2) / (1.0 - a / 2.0);
    assert!(
        (big / want_big - 1.0).abs() < 0.15,
        "MEC apical {big:e} vs {want_big:e}"
    );
}

#[test]
fn the_loss_falls_over_five_simulated_minutes() {
    use rulelab::hippo::monitor::Monitor;
    let seed = common::seed("the_loss_falls_over_five_simulated_minutes");
    let spec = path_integration();
    let mut s = State::<f32>::new(&spec, seed);
    let mut monitor = Monitor::new(&spec, 5.0);
    assert_eq!(monitor.start, 16, "two theta cycles of 8 steps");
    let minute = (60.0 / spec.dt) as u64;
    let mut by_minute = vec![];
    let mut t = 0u64;
    run_ring(
        &spec,
        &mut s,
        seed,
        5 * minute,
        Theta::Square,
        Learning::On,
        |st| {
            monitor.update(st);
            t += 1;
            if t == monitor.start {
                assert!(monitor.loss.is_none(), "the monitor started early");
            }
            if t.is_multiple_of(minute) {
                by_minute.push(monitor.loss.expect("started"));
            }
        },
    );
    for layer in 0..2 {
        let (first, last) = (by_minute[0][layer], by_minute[4][layer]);
        assert!(
            last < 0.8 * first,
            "layer {layer}: {first} → {last} ({by_minute:?})"
        );
    }
}

#[test]
fn f32_follows_f64_for_200_steps() {
    let seed = common::seed("f32_follows_f64_for_200_steps");
    let spec = path_integration();
    let mut s64 = State::<f64>::new(&spec, seed);
    let mut s32 = State::<f32>::new(&spec, seed);
    run_ring(
        &spec,
        &mut s64,
        seed,
        200,
        Theta::Square,
        Learning::On,
        |_| {},
    );
    run_ring(
        &spec,
        &mut s32,
        seed,
        200,
        Theta::Square,
        Learning::On,
        |_| {},
    );
    let worst = |a: &[f64], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, &y)| (x - y as f64).abs())
            .fold(0.0, f64::max)
    };
    assert!(worst(&s64.p, &s32.p) < 1e-4, "p {}", worst(&s64.p, &s32.p));
    assert!(worst(&s64.g, &s32.g) < 1e-4, "g {}", worst(&s64.g, &s32.g));
    for k in 1..4 {
        let e = worst(&weights(&s64, k), &weights(&s32, k));
        assert!(e < 1e-4, "dendrite {k} weights {e}");
    }
}

#[test]
fn bad_specs_name_their_key() {
    let good = path_integration();
    assert!(good.validate().is_ok());
    type Edit = Box<dyn Fn(&mut Spec)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|s| s.dt = -0.025), "dt"),
        (Box::new(|s| s.tau_pi = 0.1 * s.dt), "tau_pi"),
        (Box::new(|s| s.mec.n = 0), "mec.n"),
        (Box::new(|s| s.n_z = 0), "n_z"),
        (Box::new(|s| s.hpc.apical.eta = -1.0), "hpc.apical.eta"),
        (Box::new(|s| s.conjunctive = false), "mec.apical"),
        (Box::new(|s| s.n_z = 7), "hpc.basal"),
    ];
    for (edit, key) in cases {
        let mut s = good.clone();
        edit(&mut s);
        let e = s.validate().expect_err(key).to_string();
        assert!(e.contains(key) && e.lines().count() == 1, "{key}: {e}");
    }
}

/// The ridge decoder reads the position back from place-cell rates (noise-free: within
/// a millimetre; refuses too few samples), and the ring's distance is periodic.
#[test]
fn the_decoder_reads_position_from_a_place_code() {
    use rulelab::hippo::decode::Ridge;
    use rulelab::hippo::ring::ring_distance;
    let seed = common::seed("the_decoder_reads_position_from_a_place_code");
    let places = PlaceCells::new(50, 0.06, seed);
    let mut agent = Agent::new(seed);
    let (mut rates, mut xs) = (vec![], vec![]);
    for t in 0..4000 {
        agent.step(t, 0.025, seed);
        let mut r = vec![0f32; 50];
        places.rates(agent.x, &mut r);
        rates.push(r);
        xs.push(agent.x);
    }
    let dec = Ridge::fit(&rates[..3000], &xs[..3000], 1e-6).unwrap();
    let worst = (3000..4000)
        .map(|i| ring_distance(dec.position(&rates[i]), xs[i]))
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "worst decoding error {worst} m");
    assert!((ring_distance(0.95, 0.05) - 0.1).abs() < 1e-12);
    let e = Ridge::fit(&rates[..10], &xs[..10], 1e-6)
        .unwrap_err()
        .to_string();
    assert!(e.contains("too few"), "{e}");
    // The published decoder, a GP's posterior mean (every 4th sample: 750 of them).
    let (gr, gx): (Vec<Vec<f32>>, Vec<f64>) = (0..3000)
        .step_by(4)
        .map(|i| (rates[i].clone(), xs[i]))
        .unzip();
    let gp = rulelab::hippo::decode::Gp::fit(&gr, &gx).unwrap();
    let worst = (3000..4000)
        .map(|i| ring_distance(gp.position(&rates[i]), xs[i]))
        .fold(0.0, f64::max);
    assert!(worst < 0.01, "worst GP decoding error {worst} m");
}

/// Experiment A's latents have unit variance and the RBF kernel's autocorrelation
/// exp(−τ²/2) at lags of 0.25 to 2 timescales.
#[test]
fn gp_latents_have_the_rbf_autocorrelation() {
    use rulelab::hippo::latents::Latents;
    let seed = common::seed("gp_latents_have_the_rbf_autocorrelation");
    let (n, steps, dt) = (5, 100_000, 0.025);
    let mut lat = Latents::new(n, dt, 1.0, 3.0, seed).unwrap();
    let mut xs = vec![vec![0.0; n]; steps];
    for x in xs.iter_mut() {
        lat.next(x);
    }
    let var: f64 = xs.iter().flatten().map(|x| x * x).sum::<f64>() / (n * steps) as f64;
    assert!((var - 1.0).abs() < 0.15, "variance {var}");
    for lag_s in [0.25, 0.5, 1.0, 2.0] {
        let lag = (lag_s / dt) as usize;
        let c: f64 = (0..steps - lag)
            .map(|t| (0..n).map(|s| xs[t][s] * xs[t + lag][s]).sum::<f64>())
            .sum::<f64>()
            / ((steps - lag) * n) as f64
            / var;
        let want = (-0.5 * lag_s * lag_s).exp();
        assert!((c - want).abs() < 0.08, "lag {lag_s} s: {c} vs {want}");
    }
}

/// The ring analysis undoes a shuffle: a circulant matrix with its units permuted gives
/// back its profile, centred.
#[test]
fn the_ring_profile_undoes_a_shuffle() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    use rulelab::hippo::experiments::circulant_profile;
    let seed = common::seed("the_ring_profile_undoes_a_shuffle");
    let n = 12;
    let kernel: Vec<f64> = (0..n).map(|d| ((d * 7 + 3) % 11) as f64 - 5.0).collect();
    // w[a][b] = kernel[(b − a) mod n] in ring order; unit a sits at ring place perm[a].
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let mut m = vec![0.0; n * n];
    for a in 0..n {
        for b in 0..n {
            m[a * n + b] = kernel[(perm[b] + n - perm[a]) % n];
        }
    }
    // Ordered by ring place, the profile is the kernel rolled to centre.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&a| perm[a]);
    let profile = circulant_profile(&m, n, &order);
    for (off, &p) in profile.iter().enumerate() {
        assert_eq!(p, kernel[(off + n - n / 2) % n], "offset {off}");
    }
}

/// One step and 200 steps of several models side by side, on the GPU kernel and the f32
/// CPU device, against the f64 model: rates, activations, noise, traces and weights
/// (the family's check cases, fresh random inputs).
#[test]
fn steps_on_each_backend_match_the_f64_model() {
    use rulelab::gpu::Backend;
    let seed = common::seed("steps_on_each_backend_match_the_f64_model");
    let mut backends = vec![Backend::Cpu];
    if let Some(gpu) = common::gpu() {
        backends.push(common::backend(&gpu));
    }
    let cases = rulelab::hippo::cases::cases();
    assert!(!cases.is_empty());
    for b in &backends {
        for case in &cases {
            let rows = case.run(b, seed).unwrap();
            assert!(!rows.is_empty());
            for r in rows {
                assert!(r.report.pass, "{} (seed {seed}): {}", r.kernel, r.report);
            }
        }
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-hippo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rulelab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(args)
        .output()
        .unwrap()
}

/// `rulelab --device DEVICE hippo run CFG --out OUT`.
fn hippo_cmd(device: &str, cfg: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    rulelab(&[
        "--device",
        device,
        "hippo",
        "run",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Runs `rulelab --device DEVICE hippo run` on `toml`; returns results.csv and
/// losses.csv.
fn hippo_run(dir: &std::path::Path, name: &str, toml: &str, device: &str) -> (String, String) {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, toml).unwrap();
    let out = dir.join(format!("{name}-{device}"));
    let o = hippo_cmd(device, &cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    (read("results.csv"), read("losses.csv"))
}

/// Small versions of the three experiments (a few simulated seconds of tests, 20-unit
/// layers, two seeds and two θ frequencies side by side): every row and column of
/// results.csv and losses.csv agrees between the CPU device and the GPU kernel, to
/// f32 round-off carried through the runs (relative 1e-3, or 1e-4 of the column's
/// largest value).
#[test]
fn the_experiments_agree_on_both_devices() {
    let Some(_) = common::gpu() else { return };
    let dir = scratch("devices");
    let configs = [
        (
            "pathint",
            "[experiment]\nkind = \"pathint\"\nspin_up = 1.0\nlesion = 2.0\n\
             [model]\nminutes = 0.25\nn_hpc = 20\nn_mec = 20\ntest_runs = 2\n\
             [grid]\nseed = [3, 4]\ntheta_freq = [4.0, 5.0]\n",
        ),
        (
            "latents",
            "[experiment]\nkind = \"latents\"\n[model]\nminutes = 0.25\n\
             [grid]\nseed = [3, 4]\n",
        ),
        (
            "transfer",
            "[experiment]\nkind = \"transfer\"\nspin_up = 1.0\nlesion = 1.0\n\
             [model]\nminutes = 0.25\nn_hpc = 20\nn_mec = 10\ntest_runs = 1\n\
             [grid]\nseed = [5]\n",
        ),
    ];
    for (name, toml) in configs {
        let (rc, lc) = hippo_run(&dir, name, toml, "cpu");
        let (rg, lg) = hippo_run(&dir, name, toml, "gpu");
        for (what, a, b) in [("results", &rc, &rg), ("losses", &lc, &lg)] {
            let (ra, rb) = (common::csv_rows(a), common::csv_rows(b));
            assert_eq!(ra.len(), rb.len(), "{name} {what}: row counts");
            assert!(!ra.is_empty(), "{name} {what}: no rows");
            let cols: Vec<&String> = ra[0].keys().collect();
            for col in cols {
                let num = |s: &str| s.parse::<f64>().ok();
                let peak = ra
                    .iter()
                    .filter_map(|r| num(&r[col]))
                    .fold(0.0f64, |m, v| m.max(v.abs()));
                for (x, y) in ra.iter().zip(&rb) {
                    match (num(&x[col]), num(&y[col])) {
                        (Some(u), Some(v)) => assert!(
                            (u - v).abs() <= 1e-4 * peak + 1e-3 * u.abs(),
                            "{name} {what} {col}: cpu {u} gpu {v}"
                        ),
                        _ => assert_eq!(x[col], y[col], "{name} {what} {col}"),
                    }
                }
            }
        }
    }
}

/// A bad config is one line naming its key.
#[test]
fn bad_configs_are_one_line_naming_the_key() {
    let dir = scratch("bad");
    let base = "[experiment]\nkind = \"pathint\"\n[model]\nminutes = 1.0\n";
    let cases: Vec<(String, &str)> = vec![
        ("[experiment]\nkind = \"maze\"\n".into(), "experiment.kind"),
        ("[model]\nminutes = 1.0\n".into(), "experiment"),
        (format!("{base}dt = -0.025\n"), "dt"),
        (format!("{base}tau_pi = 0.05\n"), "tau_pi"),
        (format!("{base}n_mec = 0\n"), "n_mec"),
        (format!("{base}n_hpc = 2.5\n"), "n_hpc"),
        (format!("{base}theta_freq = 30.0\n"), "theta_freq"),
        (format!("{base}speed = 1.0\n"), "model.speed"),
        (
            "[experiment]\nkind = \"pathint\"\nmec_activation = \"sigmoid\"\n".into(),
            "experiment.mec_activation",
        ),
        (
            "[experiment]\nkind = \"latents\"\nlesion = 3.0\n".into(),
            "experiment.lesion",
        ),
        (
            "[experiment]\nkind = \"latents\"\n[grid]\nplace_width = [0.05, 0.1]\n".into(),
            "place_width",
        ),
        (format!("{base}[grid]\nminutes = [0.01]\n"), "minutes"),
        (
            "[experiment]\nkind = \"latents\"\ndecoder = \"gp\"\n".into(),
            "experiment.decoder",
        ),
        (
            "[experiment]\nkind = \"pathint\"\ndecoder = \"gp\"\nridge = 0.1\n".into(),
            "experiment.ridge",
        ),
        (
            "[experiment]\nkind = \"pathint\"\ndecoder = \"knn\"\n".into(),
            "experiment.decoder",
        ),
    ];
    for (i, (toml, key)) in cases.iter().enumerate() {
        let cfg = dir.join(format!("bad{i}.toml"));
        std::fs::write(&cfg, toml).unwrap();
        let o = hippo_cmd("cpu", &cfg, &dir.join(format!("out{i}")));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{toml}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{toml}: {err}");
        assert!(err.contains(key), "{toml}: {err} does not name {key}");
    }
}

/// Plastic compartments without λ1 keep their weights and trace in another form
/// between settles (A = W + c·PI and the recent rank-1 terms, or W and PI input-major);
/// the same network stepped with the direct rule (forced by a λ1 of 1e-300, which
/// changes no f64 value) ends with the same weights and traces to f64 round-off, over
/// more steps than one fold, with a settle midway and learning switched off for a while.
#[test]
fn factored_weights_follow_the_direct_rule() {
    let seed = common::seed("factored_weights_follow_the_direct_rule");
    // B's compartments keep A = W + c·PI and a ring of terms; A's HPC apical (50 × 5)
    // keeps W and PI input-major. A λ1 of 1e-300 (no effect in f64) holds the copy to
    // the direct rule.
    for (spec, tau_pi) in [
        (path_integration(), 0.1),
        (path_integration(), 0.2),
        (latents(), 0.1),
    ] {
        let mut spec = spec;
        spec.tau_pi = tau_pi;
        let mut direct = spec.clone();
        for c in [
            &mut direct.hpc.apical,
            &mut direct.mec.basal,
            &mut direct.mec.apical,
        ] {
            c.lambda1 = 1e-300;
        }
        let mut a = State::<f64>::new(&spec, seed);
        let mut b = State::<f64>::new(&direct, seed);
        let places = PlaceCells::new(spec.n_z, 0.06, seed);
        let mut agent = Agent::new(seed);
        let mut z = vec![0.0; spec.n_z];
        for t in 0..150u64 {
            agent.step(t, spec.dt, seed);
            places.rates(agent.x, &mut z);
            let th = Theta::Smooth.at(t, spec.dt, 5.0);
            let learning = if (60..80).contains(&t) {
                Learning::Off
            } else {
                Learning::On
            };
            a.step(&spec, &z, agent.velocity_cells(), [th, 1.0 - th], learning);
            b.step(
                &direct,
                &z,
                agent.velocity_cells(),
                [th, 1.0 - th],
                learning,
            );
            if t == 90 {
                a.settle();
            }
        }
        a.settle();
        for k in 1..4 {
            let (da, db) = (&a.dendrites[k], &b.dendrites[k]);
            for (what, x, y) in [("w", &da.w, &db.w), ("pi", &da.pi, &db.pi)] {
                let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let worst = x
                    .iter()
                    .zip(y)
                    .map(|(u, v)| (u - v).abs())
                    .fold(0.0, f64::max);
                assert!(
                    worst <= 1e-12 * peak.max(1e-3),
                    "tau_pi {tau_pi} dendrite {k} {what}: {worst:e} (peak {peak:e})"
                );
            }
        }
        let rates = a.p.iter().zip(&b.p).map(|(u, v)| (u - v).abs());
        assert!(rates.fold(0.0, f64::max) < 1e-12, "the rates drifted apart");
    }
}

/// Both cores on one model (MEC apical on a helper thread) give the plain step's
/// state bit for bit, across learning on and off and helpers started and finished
/// between phases, as the CPU runner does.
#[test]
fn a_helper_thread_changes_no_bit() {
    let seed = common::seed("a_helper_thread_changes_no_bit");
    let spec = path_integration();
    assert!(Helper::<f32>::worthwhile(&spec));
    let mut plain = State::<f32>::new(&spec, seed);
    let mut helped = plain.clone();
    let places = PlaceCells::new(spec.n_z, 0.06, seed);
    let mut agent = Agent::new(seed);
    let mut z = vec![0f32; spec.n_z];
    let phases = [
        (70, Learning::On),
        (33, Learning::Off),
        (1, Learning::On),
        (90, Learning::On),
    ];
    for (steps, learning) in phases {
        let mut helper = Helper::start(&mut helped, &spec);
        for _ in 0..steps {
            let t = plain.step;
            agent.step(t, spec.dt, seed);
            places.rates(agent.x, &mut z);
            let th = Theta::Square.at(t, spec.dt, 5.0) as f32;
            let vel = agent.velocity_cells();
            plain.step(&spec, &z, vel, [th, th], learning);
            helped.step_helped(&spec, &z, vel, [th, th], learning, &mut helper);
            assert_eq!(plain.g, helped.g, "step {t}: g");
        }
        helper.finish(&mut helped, &spec);
    }
    plain.settle();
    helped.settle();
    assert_eq!(
        (&plain.p, &plain.g, &plain.c),
        (&helped.p, &helped.g, &helped.c)
    );
    for (k, (a, b)) in plain.dendrites.iter().zip(&helped.dendrites).enumerate() {
        for (what, x, y) in [
            ("w", &a.w, &b.w),
            ("pi", &a.pi, &b.pi),
            ("v", &a.v, &b.v),
            ("a", &a.a, &b.a),
            ("df", &a.df, &b.df),
            ("xi", &a.xi, &b.xi),
        ] {
            assert!(!x.is_empty() || k == 0, "dendrite {k} {what} is empty");
            assert_eq!(x, y, "dendrite {k} {what}");
        }
    }
}

/// The picture never pools settings: with an axis besides the seed each setting gets
/// its own curve, named in the legend; past eight settings no picture is drawn and the
/// run says so (and still succeeds, its results complete).
#[test]
fn the_summary_draws_each_setting_apart() {
    let dir = scratch("summary");
    let base = "[experiment]\nkind = \"latents\"\n[model]\nminutes = 0.1\n[grid]\nseed = [1, 2]\n";
    let cfg = dir.join("two.toml");
    std::fs::write(&cfg, format!("{base}eta = [0.001, 0.002]\n")).unwrap();
    let out = dir.join("two");
    let o = hippo_cmd("cpu", &cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(out.join("summary.svg")).unwrap();
    for label in ["eta = 0.001", "eta = 0.002"] {
        assert!(svg.contains(label), "the legend does not name {label}");
    }
    assert!(out.join("summary.png").exists());
    let cfg = dir.join("nine.toml");
    std::fs::write(
        &cfg,
        format!("{base}eta = [0.001, 0.002, 0.003]\nsigma = [0.01, 0.02, 0.03]\n"),
    )
    .unwrap();
    let out = dir.join("nine");
    let o = hippo_cmd("cpu", &cfg, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("9 settings"), "{err}");
    assert!(!out.join("summary.svg").exists());
    let rows = common::csv_rows(&std::fs::read_to_string(out.join("results.csv")).unwrap());
    assert_eq!(rows.len(), 18);
}
