//! Running the family on any backend, and the cases `rulelab check` runs. Tests use the
//! same runners, so the command line and CI check one thing.

use super::cpu::CpuOptimizer;
use super::gpu::GpuOptimizer;
use super::{Config, Group, Hp, Hyper, Member, Scale};
use crate::check::{self, compare, Case, Row, Tolerance};
use crate::error::Result;
use crate::gpu::{Backend, Gpu};
use rand::rngs::StdRng;
use rand::Rng;

/// What a run leaves behind, as f32 (from the device) or f64 (from the reference).
pub struct ArenaRun<F> {
    pub theta: Vec<F>,
    pub states: Vec<Vec<F>>,
    pub skipped: u64,
}

/// `grads.len()` steps of `config` on the GPU from `theta0`.
pub fn run_gpu(
    gpu: &Gpu,
    config: &Config,
    theta0: &[f32],
    grads: &[Vec<f32>],
) -> Result<ArenaRun<f32>> {
    let n = theta0.len();
    let theta = gpu.upload("theta", theta0)?;
    let g = gpu.zeros::<f32>("grads", n)?;
    let mut opt = GpuOptimizer::new(gpu, config.clone(), &theta.buffer, &g.buffer, n)?;
    for step in grads {
        gpu.write(&g, step)?;
        opt.step(gpu)?;
    }
    let states = (0..config.member.states().len())
        .map(|k| opt.state(gpu, k))
        .collect::<Result<_>>()?;
    Ok(ArenaRun {
        theta: gpu.download(&theta)?,
        states,
        skipped: opt.skipped(gpu)? as u64,
    })
}

/// The same run on the CPU implementation in float type F (f32: the CPU device; f64:
/// the reference, from the same f32 inputs widened).
pub fn run_cpu<F: super::cpu::Real>(
    config: &Config,
    theta0: &[f32],
    grads: &[Vec<f32>],
) -> Result<ArenaRun<F>> {
    let cast = |v: &[f32]| v.iter().map(|&x| F::from(x).unwrap()).collect::<Vec<F>>();
    let mut theta = cast(theta0);
    let mut opt = CpuOptimizer::<F>::new(config.clone(), theta0.len())?;
    for step in grads {
        opt.step(&mut theta, &cast(step))?;
    }
    Ok(ArenaRun {
        theta,
        states: opt.states().to_vec(),
        skipped: opt.skipped(),
    })
}

/// The run on the chosen backend, in f32.
pub fn run(
    backend: &Backend,
    config: &Config,
    theta0: &[f32],
    grads: &[Vec<f32>],
) -> Result<ArenaRun<f32>> {
    match backend {
        Backend::Gpu(gpu) => run_gpu(gpu, config, theta0, grads),
        Backend::Cpu => run_cpu::<f32>(config, theta0, grads),
    }
}

/// A value of a hyper-parameter drawn inside its useful range.
pub fn random_value(hp: Hp, rng: &mut StdRng) -> f64 {
    let log = |rng: &mut StdRng, lo: f64, hi: f64| 10f64.powf(rng.random_range(lo..hi));
    match hp {
        Hp::Lr => log(rng, -3.0, -1.0),
        Hp::Beta1 => rng.random_range(0.5..0.95),
        Hp::Beta2 => rng.random_range(0.9..0.999),
        Hp::Eps => 1e-8,
        Hp::WeightDecay => rng.random_range(0.0..0.1),
        Hp::Sigma2 | Hp::Eta => log(rng, -3.0, -1.0),
        Hp::Batch => [1.0, 8.0, 32.0][rng.random_range(0..3)],
        Hp::Q => log(rng, -4.0, -2.0),
        Hp::RMin => 1e-8,
        Hp::P0 => rng.random_range(1.0..100.0),
        Hp::R0 => rng.random_range(0.1..1.0),
        Hp::Gamma => rng.random_range(0.0..2.0),
        Hp::K => rng.random_range(0.5..2.0),
    }
}

/// Hyper-parameters with every field the member reads drawn at random (the others at
/// the member's defaults).
pub fn random_hyper(member: Member, rng: &mut StdRng) -> Hyper {
    let mut h = member.default_hyper();
    for &(hp, _) in member.spec().hypers {
        hp.set(&mut h, random_value(hp, rng));
    }
    h
}

/// A config with `n_groups` groups of random lengths and hyper-parameters over an arena
/// of `n`, leaving a gap (which must stay untouched) before the last group.
pub fn random_config(member: Member, n: usize, n_groups: usize, rng: &mut StdRng) -> Config {
    let hypers: Vec<Hyper> = (0..n_groups).map(|_| random_hyper(member, rng)).collect();
    let mut cuts: Vec<usize> = (0..n_groups - 1).map(|_| rng.random_range(1..n)).collect();
    cuts.sort();
    cuts.insert(0, 0);
    cuts.push(n);
    let groups = (0..n_groups)
        .map(|k| {
            let (a, b) = (cuts[k], cuts[k + 1]);
            // The last group starts a little late: the gap must come back unchanged.
            let a = if k + 1 == n_groups && n_groups > 1 {
                a + (b - a) / 8
            } else {
                a
            };
            Group {
                offset: a,
                len: b - a,
                hyper: k,
            }
        })
        .collect();
    Config {
        member,
        hypers,
        groups,
        clip_norm: None,
        skip_nonfinite: false,
    }
}

/// Random gradients, one vector per step; the scale changes from step to step so the
/// second-moment filters see non-stationary input.
pub fn random_grads(n: usize, steps: usize, rng: &mut StdRng) -> Vec<Vec<f32>> {
    (0..steps)
        .map(|_| {
            let scale = 10f32.powf(rng.random_range(-1.0..0.5));
            check::normal(rng, n, scale)
        })
        .collect()
}

/// Tolerance for `steps` steps of a member, compared element-wise with the f64
/// reference. Each step adds a few f32 roundings to theta and to the states; 20 steps
/// stay inside 2e-5 relative, plus 2e-6 of the buffer's scale for elements where terms
/// have cancelled towards zero (see [`buffer_scales`]).
pub fn multi_step_tolerance(steps: usize) -> Tolerance {
    let k = (steps as f64 / 20.0).max(1.0);
    Tolerance::new(2e-6 * k, 2e-5 * k)
}

/// The scale each buffer of a run works at: theta's largest magnitude (start or end), and for each
/// state the size of what it filters (the gradient B g for first moments, its square
/// for second moments, the prior and noise variances for the Bayesian states). Errors
/// in a filtered quantity are absolute at that scale where its terms cancel.
pub fn buffer_scales(
    config: &Config,
    theta0: &[f32],
    theta: &[f64],
    grads: &[Vec<f32>],
) -> (f64, Vec<f64>) {
    let peak = |v: &[f64]| v.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
    // theta is rounded at the scale it moved through: its start as much as its end.
    let theta_peak = theta0
        .iter()
        .fold(peak(theta), |a, &b| a.max((b as f64).abs()));
    let batch = config.hypers.iter().fold(1.0f64, |a, h| a.max(h.batch));
    let max_of = |f: &dyn Fn(&Hyper) -> f64| config.hypers.iter().map(f).fold(0.0f64, f64::max);
    let g = grads.iter().flat_map(|s| s.iter()).fold(0.0f64, |a, &b| {
        if b.is_finite() {
            a.max((b as f64).abs())
        } else {
            a
        }
    });
    let reads_batch = config.member.reads(Hp::Batch);
    let bg = if reads_batch { g * batch } else { g };
    let states = config
        .member
        .spec()
        .states
        .iter()
        .map(|state| match state.scale {
            Scale::Gradient => bg,
            Scale::GradientSquared => bg * bg,
            Scale::Hyper(hp) => max_of(&|h| hp.get(h)),
            Scale::HyperSum(a, b) => max_of(&|h| a.get(h) + b.get(h)),
            Scale::HyperOrGradientSquared(hp) => max_of(&|h| hp.get(h)).max(bg * bg),
        })
        .collect();
    (theta_peak, states)
}

/// Rows comparing an f32 outcome with the reference outcome, with `tol.atol` read as a
/// fraction of each buffer's scale (see [`buffer_scales`]).
pub fn compare_outcome(
    config: &Config,
    label: &str,
    got: &ArenaRun<f32>,
    want: &ArenaRun<f64>,
    theta0: &[f32],
    grads: &[Vec<f32>],
    tol: Tolerance,
) -> Vec<Row> {
    let (theta_scale, state_scales) = buffer_scales(config, theta0, &want.theta, grads);
    let scaled = |s: f64| Tolerance::new(tol.atol * s, tol.rtol);
    let mut theta = check::widen(&got.theta);
    let mut rows = Vec::new();
    if config.member.spec().sign_step {
        let lr = config.hypers.iter().fold(0.0f64, |a, h| a.max(h.lr));
        let ties = check::absorb_ties(&mut theta, &want.theta, scaled(theta_scale), 2.0 * lr);
        rows.push(check::ties_row("optim", label, theta.len(), ties, 2));
    }
    rows.insert(
        0,
        Row {
            family: "optim",
            kernel: format!("{label} theta"),
            size: theta.len(),
            report: compare(&theta, &want.theta, scaled(theta_scale)),
        },
    );
    for (k, name) in config.member.states().iter().enumerate() {
        rows.push(Row {
            family: "optim",
            kernel: format!("{label} {name}"),
            size: got.states[k].len(),
            report: compare(&got.states[k], &want.states[k], scaled(state_scales[k])),
        });
    }
    rows
}

/// Every member over 20 steps: 3 groups with their own hyper-parameters over an arena
/// whose length is neither a multiple of the tile nor of the workgroup.
pub fn member_rows(member: Member, backend: &Backend, seed: u64) -> Result<Vec<Row>> {
    let mut rng = check::rng(seed);
    let n = 10_007;
    let steps = 20;
    let config = random_config(member, n, 3, &mut rng);
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    let grads = random_grads(n, steps, &mut rng);
    let got = run(backend, &config, &theta0, &grads)?;
    let want = run_cpu::<f64>(&config, &theta0, &grads)?;
    Ok(compare_outcome(
        &config,
        &format!("{} x{steps}", member.name()),
        &got,
        &want,
        &theta0,
        &grads,
        multi_step_tolerance(steps),
    ))
}

/// adam with global-norm clipping and the non-finite guard, with NaN and infinity
/// planted in one group's gradients on some steps.
pub fn guarded_case(backend: &Backend, seed: u64) -> Result<Vec<Row>> {
    let mut rng = check::rng(seed);
    let n = 5_003;
    let steps = 12;
    let mut config = random_config(Member::Adam, n, 3, &mut rng);
    config.skip_nonfinite = true;
    config.clip_norm = Some(0.3 * (n as f64).sqrt());
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    let mut grads = random_grads(n, steps, &mut rng);
    let g1 = config.groups[1];
    grads[2][g1.offset + g1.len / 2] = f32::NAN;
    grads[7][g1.offset] = f32::INFINITY;
    grads[7][config.groups[0].offset] = f32::NEG_INFINITY;
    let got = run(backend, &config, &theta0, &grads)?;
    let want = run_cpu::<f64>(&config, &theta0, &grads)?;
    let mut rows = compare_outcome(
        &config,
        "adam clip+guard",
        &got,
        &want,
        &theta0,
        &grads,
        // The clip scale comes from an f32 tree reduction over n terms.
        Tolerance::reduction(n).max(multi_step_tolerance(steps)),
    );
    rows.push(Row {
        family: "optim",
        kernel: "adam skipped groups".into(),
        size: 1,
        report: compare(
            &[got.skipped as f64],
            &[want.skipped as f64],
            Tolerance::new(0.0, 0.0),
        ),
    });
    Ok(rows)
}

pub fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = Member::ALL
        .iter()
        .map(|&m| Case::new("optim", m.name(), move |b, seed| member_rows(m, b, seed)))
        .collect();
    v.push(Case::new("optim", "adam_clip_guard", guarded_case));
    v
}
