//! Landscape checks, shared by `rulelab check` and the tests: every landscape's loss and
//! gradient at random points, and every rule over 1 and 50 steps with and without
//! noise, on the backend against the f64 reference.

use super::{
    cpu, gpu, Continual, DriftKind, LandscapeKind, LearnerOutcome, Noise, Params, Problem,
    ResetKind, RuleKind, Switching,
};
use crate::check::{self, compare, Case, Row, Tolerance};
use crate::error::Result;
use crate::gpu::Backend;
use crate::loss::cases::{random_shape, small_landscape};
use crate::loss::data::Shared;
use crate::optim::Member;
use crate::sweep::ParamSet;
use rand::rngs::StdRng;
use rand::Rng;

/// A small problem of each landscape ([`small_landscape`]).
pub fn small_problem(kind: LandscapeKind, rule: RuleKind, steps: usize) -> Problem {
    Problem {
        landscape: small_landscape(kind),
        noise: Noise::None,
        rule,
        steps,
        record_every: 0,
        threshold: None,
        blowup: 1e30,
        drift: DriftKind::None,
        mask: None,
        basis: None,
        continual: None,
    }
}

/// Learners with random points and numbers valid for the problem.
pub fn random_learners(problem: &Problem, n: usize, rng: &mut StdRng) -> Vec<Params> {
    (0..n)
        .map(|_| {
            let mut p = Params {
                seed: rng.random_range(0..1u64 << 40) as f64,
                theta0: rng.random_range(-0.5..1.0),
                theta0_noise: rng.random_range(0.2..0.8),
                drift_rate: if problem.drift == DriftKind::None {
                    0.0
                } else {
                    rng.random_range(0.001..0.05)
                },
                noise_sigma: if problem.noise == Noise::None {
                    0.0
                } else {
                    rng.random_range(0.01..0.3)
                },
                ..Params::default()
            };
            random_shape(rng).write_into(&mut p);
            for (hp, _) in problem.rule.reads() {
                p.set(hp.name(), crate::optim::cases::random_value(hp, rng));
            }
            // Stay in the stable range of the stiffer landscapes.
            if matches!(
                problem.landscape.kind,
                LandscapeKind::Rosenbrock | LandscapeKind::DoubleWell
            ) {
                p.lr = p.lr.min(2e-3);
            }
            if problem.landscape.kind == LandscapeKind::Rosenbrock {
                p.theta0_noise *= 0.3;
            }
            p
        })
        .collect()
}

/// What a run of a chunk leaves: outcomes and each learner's final θ and gradient.
pub struct Finals {
    pub outcomes: Vec<LearnerOutcome>,
    pub theta: Vec<f64>,
    pub grad: Vec<f64>,
}

/// Runs the chunk on the backend (f32), keeping final θ and gradients.
pub fn run_backend(
    backend: &Backend,
    problem: &Problem,
    shared: &Shared<f64>,
    params: &[Params],
) -> Result<Finals> {
    let d = problem.landscape.dim;
    match backend {
        Backend::Gpu(g) => {
            let (outcomes, fin) =
                gpu::run_chunk_with(g, problem, shared, params, true, None, None)?;
            let (mut theta, mut grad) = (Vec::new(), Vec::new());
            for l in 0..params.len() {
                theta.extend(fin[l * 2 * d..l * 2 * d + d].iter().map(|&v| v as f64));
                grad.extend(
                    fin[l * 2 * d + d..(l + 1) * 2 * d]
                        .iter()
                        .map(|&v| v as f64),
                );
            }
            Ok(Finals {
                outcomes,
                theta,
                grad,
            })
        }
        Backend::Cpu => Ok(run_cpu::<f32>(problem, &shared.cast(), params)),
    }
}

/// The CPU implementation in float type F.
pub fn run_cpu<F: crate::real::Real>(
    problem: &Problem,
    shared: &Shared<F>,
    params: &[Params],
) -> Finals {
    let mut f = Finals {
        outcomes: vec![],
        theta: vec![],
        grad: vec![],
    };
    for p in params {
        let (o, t, g) = cpu::simulate_full(problem, shared, p);
        f.outcomes.push(o);
        f.theta.extend(t.iter().map(|v| v.to_f64().unwrap()));
        f.grad.extend(g.iter().map(|v| v.to_f64().unwrap()));
    }
    f
}

fn row(kernel: String, got: &[f64], want: &[f64], tol: Tolerance) -> Row {
    Row {
        family: "landscape",
        kernel,
        size: got.len(),
        report: compare(got, want, tol),
    }
}

/// A rule over `steps` steps on a landscape, with or without gradient noise.
pub fn rule_rows(
    backend: &Backend,
    kind: LandscapeKind,
    rule: RuleKind,
    steps: usize,
    noise: bool,
    seed: u64,
) -> Result<Vec<Row>> {
    rule_rows_on(backend, small_problem(kind, rule, steps), noise, seed)
}

/// A rule over a problem's steps, with or without isotropic gradient noise.
pub fn rule_rows_on(
    backend: &Backend,
    mut problem: Problem,
    noise: bool,
    seed: u64,
) -> Result<Vec<Row>> {
    let (kind, rule, steps) = (problem.landscape.kind, problem.rule, problem.steps);
    let mut rng = check::rng(seed ^ (steps as u64) << 32 ^ noise as u64);
    problem.noise = if noise { Noise::Isotropic } else { Noise::None };
    problem.record_every = (steps / 5).max(1);
    problem.threshold = Some(0.5);
    let mut params = random_learners(&problem, 8, &mut rng);
    // Short horizons are compared exactly, so the learners must stay out of the regime
    // near an optimum where sign-like rules (adam, ballistic: g / sqrt(v) ~ ±1) hop
    // chaotically and f32 and f64 runs part ways: steps small against the distance.
    // Start every coordinate at least 0.2 from the optimum and bound the path by 0.15:
    // adam-like steps are at most ~lr, ballistic's up to lr / sqrt(1 - beta2).
    for p in &mut params {
        p.theta0 = rng.random_range(0.6..1.0);
        p.theta0_noise = 0.05;
        p.lr = p.lr.min(3e-3);
        if rule == RuleKind::Member(Member::Ballistic) {
            p.lr = p.lr.min(3e-3 * (1.0 - p.beta2).sqrt());
        }
    }
    let shared = problem.shared_data(&params[0]);
    let mut got = run_backend(backend, &problem, &shared, &params)?;
    let want = run_cpu::<f64>(&problem, &shared, &params);
    // f32 round-off accumulated over the steps: a few ulps of the largest |θ| per step;
    // the loss moves by at most |∇L|₁ times that, plus its own reduction bound.
    let peak = want.theta.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let k = steps.max(1) as f64;
    let theta_tol = Tolerance::new(
        8.0 * k * f32::EPSILON as f64 * peak.max(1e-3),
        2e-5 * k.sqrt(),
    );
    let d = problem.landscape.dim;
    let grad_l1 = want
        .grad
        .chunks(d)
        .map(|g| g.iter().map(|x| x.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let loss_tol = Tolerance::reduction(d).max(Tolerance::new(
        (theta_tol.atol * grad_l1).max(1e-6),
        2e-5 * k.sqrt(),
    ));
    let minibatch = problem.landscape.teacher.map_or(0, |t| t.minibatch);
    let label = format!(
        "{} {} x{steps}{}{}",
        rule.name(),
        kind.name(),
        if noise { " noisy" } else { "" },
        if minibatch > 0 {
            format!(" mb{minibatch}")
        } else {
            String::new()
        }
    );
    // A sign rule's learner whose decision tied within round-off ends one jump (2·lr)
    // away in a coordinate and runs on from there: it is counted and set aside.
    // Adam's first step is lr·g/(|g| + ε), a sign decision too: where the noise cancels
    // the gradient to within f32 round-off of zero, it ties.
    let first_step_sign =
        steps == 1 && matches!(rule, RuleKind::Member(Member::Adam | Member::Adamw));
    let mut ties = None;
    if rule.sign_step() || first_step_sign {
        let mut tied = 0;
        for (l, p) in params.iter().enumerate() {
            let range = l * d..(l + 1) * d;
            let mut th = got.theta[range.clone()].to_vec();
            if check::absorb_ties(&mut th, &want.theta[range.clone()], theta_tol, 2.0 * p.lr) > 0 {
                tied += 1;
                got.theta[range].copy_from_slice(&want.theta[l * d..(l + 1) * d]);
                got.outcomes[l] = want.outcomes[l].clone();
            }
        }
        ties = Some(tied);
    }
    let pick = |f: &Finals, which: fn(&LearnerOutcome) -> f64| {
        f.outcomes.iter().map(which).collect::<Vec<_>>()
    };
    let traj = |f: &Finals| {
        f.outcomes
            .iter()
            .flat_map(|o| o.trajectory.iter().map(|&v| v as f64))
            .collect::<Vec<_>>()
    };
    let mut rows = vec![
        row(format!("{label} theta"), &got.theta, &want.theta, theta_tol),
        row(
            format!("{label} final loss"),
            &pick(&got, |o| o.final_loss),
            &pick(&want, |o| o.final_loss),
            loss_tol,
        ),
        row(
            format!("{label} mean loss"),
            &pick(&got, |o| o.mean_loss),
            &pick(&want, |o| o.mean_loss),
            loss_tol,
        ),
        row(
            format!("{label} trajectory"),
            &traj(&got),
            &traj(&want),
            loss_tol,
        ),
        row(
            format!("{label} steps to 0.5"),
            &pick(&got, |o| o.steps_to_threshold.map_or(-1.0, |s| s as f64)),
            &pick(&want, |o| o.steps_to_threshold.map_or(-1.0, |s| s as f64)),
            Tolerance::new(0.0, 0.0),
        ),
    ];
    if let Some(t) = ties {
        rows.push(check::ties_row("landscape", &label, params.len(), t, 1));
    }
    Ok(rows)
}

/// A switching landscape under every reset strategy, at a hazard and in blocks: the
/// switches (exactly), θ, the mean and late-half losses, and the oracle twins' losses,
/// backend against the f64 reference.
fn continual_rows(backend: &Backend, switching: Switching, seed: u64) -> Result<Vec<Row>> {
    let mut rng = check::rng(seed ^ 0xc0);
    let steps = 80;
    let mut problem = small_problem(LandscapeKind::Quadratic, RuleKind::MOMENTUM, steps);
    problem.landscape.dim = 21;
    problem.noise = Noise::Isotropic;
    problem.continual = Some(Continual {
        switching,
        resets: ResetKind::ALL.to_vec(),
    });
    let mut params = random_learners(&problem, 12, &mut rng);
    for (i, p) in params.iter_mut().enumerate() {
        p.reset = (i % ResetKind::ALL.len()) as f64;
        p.hazard = rng.random_range(0.02..0.1);
        p.block = rng.random_range(5..30) as f64;
        p.sigma_mu = rng.random_range(0.2..1.0);
        p.reset_every = rng.random_range(5..25) as f64;
        p.shrink = rng.random_range(0.01..0.1);
        p.lr = p.lr.min(0.05);
        p.theta0_noise = 0.05;
    }
    let shared = problem.shared_data(&params[0]);
    let got = run_backend(backend, &problem, &shared, &params)?;
    let want = run_cpu::<f64>(&problem, &shared, &params);
    let drawn: u32 = want
        .outcomes
        .iter()
        .filter_map(|o| o.continual.map(|c| c.switches))
        .sum();
    if drawn == 0 {
        return Err(crate::error::Error::Internal(
            "the switching case drew no switch: it would check nothing".into(),
        ));
    }
    let k = steps as f64;
    let peak = want.theta.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let theta_tol = Tolerance::new(
        8.0 * k * f32::EPSILON as f64 * peak.max(1.0),
        2e-5 * k.sqrt(),
    );
    let loss_tol = Tolerance::new(1e-5, 1e-4);
    let c = |f: &Finals, which: fn(&super::ContinualOutcome) -> f64| {
        f.outcomes
            .iter()
            .map(|o| o.continual.as_ref().map_or(f64::NAN, which))
            .collect::<Vec<_>>()
    };
    let label = format!(
        "momentum quadratic x{steps} switching ({})",
        switching.name()
    );
    Ok(vec![
        row(
            format!("{label} switches"),
            &c(&got, |c| c.switches as f64),
            &c(&want, |c| c.switches as f64),
            Tolerance::new(0.0, 0.0),
        ),
        row(format!("{label} theta"), &got.theta, &want.theta, theta_tol),
        row(
            format!("{label} mean loss"),
            &got.outcomes.iter().map(|o| o.mean_loss).collect::<Vec<_>>(),
            &want
                .outcomes
                .iter()
                .map(|o| o.mean_loss)
                .collect::<Vec<_>>(),
            loss_tol,
        ),
        row(
            format!("{label} late loss"),
            &c(&got, |c| c.late_loss),
            &c(&want, |c| c.late_loss),
            loss_tol,
        ),
        row(
            format!("{label} oracle loss"),
            &c(&got, |c| c.oracle_loss),
            &c(&want, |c| c.oracle_loss),
            loss_tol,
        ),
    ])
}

pub fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    // Every rule over 1 and 50 steps, with and without noise, on the quadratic.
    for rule in RuleKind::all() {
        v.push(Case::new(
            "landscape",
            format!("{} rule", rule.name()),
            move |b, seed| {
                let mut rows = Vec::new();
                for (steps, noise) in [(1, false), (1, true), (50, false), (50, true)] {
                    rows.extend(rule_rows(
                        b,
                        LandscapeKind::Quadratic,
                        rule,
                        steps,
                        noise,
                        seed,
                    )?);
                }
                Ok(rows)
            },
        ));
    }
    // Drifts and partial controllability, under a stateful rule and a control rule.
    for (drift, rule) in [
        (DriftKind::Decay, RuleKind::MOMENTUM),
        (DriftKind::Rotation, RuleKind::Member(Member::Adam)),
        (DriftKind::Rotation, RuleKind::CONTROL_OPTIMAL),
    ] {
        v.push(Case::new(
            "landscape",
            format!("{} drift, mask, basis, {}", drift.name(), rule.name()),
            move |b, seed| {
                let mut rows = Vec::new();
                for control in 0..3 {
                    let mut p = small_problem(LandscapeKind::Quadratic, rule, 30);
                    p.landscape.dim = 36;
                    p.drift = drift;
                    match control {
                        1 => p.mask = Some((0..p.landscape.dim).map(|i| i % 3 != 1).collect()),
                        2 => p.basis = Some(11),
                        _ => {}
                    }
                    rows.extend(rule_rows_on(b, p, true, seed)?);
                }
                Ok(rows)
            },
        ));
    }
    for switching in Switching::ALL.iter().copied() {
        v.push(Case::new(
            "landscape",
            format!("switching ({}), every reset", switching.name()),
            move |b, seed| continual_rows(b, switching, seed),
        ));
    }
    // Coupled landscapes (neighbours, dense rows, the teacher's samples) under adam.
    for kind in LandscapeKind::ALL
        .iter()
        .copied()
        .filter(|&k| k != LandscapeKind::Quadratic)
    {
        v.push(Case::new(
            "landscape",
            format!("{} adam", kind.name()),
            move |b, seed| rule_rows(b, kind, RuleKind::Member(Member::Adam), 20, true, seed),
        ));
    }
    // Minibatch gradients: the sample indices come from the learner's Philox stream.
    v.push(Case::new(
        "landscape",
        "teacher_student minibatch",
        |b, seed| {
            let mut p = small_problem(LandscapeKind::TeacherStudent, RuleKind::MOMENTUM, 20);
            p.landscape.teacher.as_mut().expect("teacher").minibatch = 5;
            rule_rows_on(b, p, false, seed)
        },
    ));
    v
}
