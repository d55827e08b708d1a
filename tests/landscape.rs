//! Landscape kernels on the adapter (and the CPU device) against the f64 reference:
//! the same cases `rulelab check --family landscape` runs.

mod common;

use rulelab::check::Row;
use rulelab::gpu::Backend;
use rulelab::landscape::cases::{self as checks, rule_rows};
use rulelab::landscape::{LandscapeKind, RuleKind};
use rulelab::loss::cases::loss_grad_rows;
use rulelab::optim::Member;

fn assert_rows(rows: &[Row], seed: u64) {
    assert!(!rows.is_empty());
    for r in rows {
        assert!(r.report.pass, "{} (seed {seed}): {}", r.kernel, r.report);
    }
}

#[test]
fn every_landscape_loss_and_gradient_at_random_points() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("loss_grad");
    for &kind in LandscapeKind::ALL {
        assert_rows(
            &loss_grad_rows(&common::backend(&gpu), kind, seed).unwrap(),
            seed,
        );
    }
}

/// Every rule over 1 step and over 50 steps, with and without gradient noise, compared
/// exactly (to accumulated f32 round-off) on a short horizon away from the optimum.
#[test]
fn every_rule_over_1_and_50_steps_with_and_without_noise() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("rules");
    for rule in RuleKind::all() {
        for (steps, noise) in [(1, false), (1, true), (50, false), (50, true)] {
            assert_rows(
                &rule_rows(
                    &common::backend(&gpu),
                    LandscapeKind::Quadratic,
                    rule,
                    steps,
                    noise,
                    seed,
                )
                .unwrap(),
                seed,
            );
        }
    }
}

/// Coupled landscapes (neighbours and dense rows from workgroup memory) and minibatch
/// gradients, plus the CPU device against the same reference.
#[test]
fn coupled_landscapes_minibatches_and_the_cpu_device() {
    let seed = common::seed("coupled");
    let mut backends = vec![Backend::Cpu];
    if let Some(gpu) = common::gpu() {
        backends.push(common::backend(&gpu));
    }
    for b in &backends {
        for case in checks::cases() {
            assert_rows(&case.run(b, seed).unwrap(), seed);
        }
    }
}

/// A learner whose loss blows up is flagged, stops, and keeps its row; the others run on.
#[test]
fn diverging_learners_are_flagged_and_stop() {
    let seed = common::seed("diverge");
    let mut problem = checks::small_problem(LandscapeKind::Quadratic, RuleKind::GD, 60);
    problem.blowup = 1e6;
    let mut rng = rulelab::check::rng(seed);
    let mut params = checks::random_learners(&problem, 4, &mut rng);
    params[1].lr = 1e3; // h up to 2: each step multiplies the stiff coordinates by ~2000
    params[3].lr = 1e3;
    params[0].lr = 0.1;
    params[2].lr = 0.1;
    let shared = problem.shared_data(&params[0]);
    let mut backends = vec![Backend::Cpu];
    if let Some(gpu) = common::gpu() {
        backends.push(common::backend(&gpu));
    }
    for b in &backends {
        let f = checks::run_backend(b, &problem, &shared, &params).unwrap();
        let flags: Vec<bool> = f.outcomes.iter().map(|o| o.diverged).collect();
        assert_eq!(flags, vec![false, true, false, true], "{}", b.kind());
        for o in &f.outcomes {
            if o.diverged {
                assert!(
                    o.final_loss.is_nan() || o.final_loss > 1e6,
                    "the flagged loss is kept: {}",
                    o.final_loss
                );
                assert!(o.min_loss.is_finite() && o.mean_loss.is_finite());
            } else {
                assert!(o.final_loss.is_finite() && o.final_loss <= 1e6);
                assert!(o.min_loss <= o.final_loss);
            }
        }
    }
}

/// Long runs are cut into windows of steps (one dispatch each, state carried between
/// them); the cut must not change a single bit of the results.
#[test]
fn step_windows_do_not_change_results() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("windows");
    let mut rng = rulelab::check::rng(seed);
    for (kind, rule) in [
        (LandscapeKind::Quadratic, RuleKind::Member(Member::Kalman)),
        (LandscapeKind::Rosenbrock, RuleKind::NESTEROV),
    ] {
        let mut problem = checks::small_problem(kind, rule, 150);
        problem.noise = rulelab::landscape::Noise::Isotropic;
        problem.record_every = 7;
        problem.threshold = Some(0.3);
        problem.blowup = 1e3;
        let mut params = checks::random_learners(&problem, 6, &mut rng);
        params[2].theta0 = 40.0; // past the blowup bound at once: its row must survive the later windows
        let shared = problem.shared_data(&params[0]);
        let one = rulelab::landscape::gpu::run_chunk_with(
            &gpu,
            &problem,
            &shared,
            &params,
            true,
            Some(151),
            None,
        )
        .unwrap();
        let cut = rulelab::landscape::gpu::run_chunk_with(
            &gpu,
            &problem,
            &shared,
            &params,
            true,
            Some(13),
            None,
        )
        .unwrap();
        assert!(one.0.iter().any(|o| o.diverged));
        assert_eq!(
            format!("{:?}", one.0),
            format!("{:?}", cut.0),
            "{kind:?} {rule:?}"
        );
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one.1), bits(&cut.1));
    }
    // A switching landscape carries its block, late sums, step-count origin and the
    // filter's state across windows too.
    use rulelab::landscape::{Continual, ResetKind, Switching};
    let mut problem = checks::small_problem(
        LandscapeKind::Quadratic,
        RuleKind::Member(Member::Adam),
        150,
    );
    problem.noise = rulelab::landscape::Noise::Isotropic;
    problem.continual = Some(Continual {
        switching: Switching::Hazard,
        resets: ResetKind::ALL.to_vec(),
    });
    let mut params = checks::random_learners(&problem, 8, &mut rng);
    for (i, p) in params.iter_mut().enumerate() {
        p.reset = (i % 4) as f64;
        p.hazard = 0.05;
        p.reset_every = 11.0;
        p.shrink = 0.05;
    }
    let shared = problem.shared_data(&params[0]);
    let run = |w| {
        rulelab::landscape::gpu::run_chunk_with(
            &gpu,
            &problem,
            &shared,
            &params,
            true,
            Some(w),
            None,
        )
        .unwrap()
    };
    let (one, cut) = (run(151), run(13));
    assert!(one
        .0
        .iter()
        .all(|o| o.continual.is_some_and(|c| c.switches > 0)));
    assert_eq!(format!("{:?}", one.0), format!("{:?}", cut.0), "switching");
}

/// Runs far longer than one invocation may loop on a software adapter (lavapipe stops
/// every loop of an invocation after 65,535 iterations in all, silently): the kernel
/// must cut them into dispatches below that and still agree with the CPU.
#[test]
fn long_runs_and_heavy_steps_agree_with_the_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("long_runs");
    let mut rng = rulelab::check::rng(seed);
    let mut long = checks::small_problem(LandscapeKind::Quadratic, RuleKind::GD, 100_000);
    long.landscape.dim = 4;
    long.record_every = 10_000;
    let mut heavy = checks::small_problem(
        LandscapeKind::TeacherStudent,
        RuleKind::Member(Member::Adam),
        12,
    );
    heavy.landscape.teacher = Some(rulelab::landscape::TeacherShape {
        d_in: 8,
        hidden: 8,
        samples: 200,
        minibatch: 16,
    });
    heavy.landscape.dim = 72;
    for problem in [long, heavy] {
        let mut params = checks::random_learners(&problem, 2, &mut rng);
        // Slow enough that the loss stays well above f32's resolution of θ - μ.
        for p in &mut params {
            p.lr = if problem.landscape.kind == LandscapeKind::Quadratic {
                1e-5
            } else {
                p.lr.min(1e-3)
            };
        }
        let shared = problem.shared_data(&params[0]);
        // Ask for a single window: the adapter's loop budget must override it.
        let (got, _) = rulelab::landscape::gpu::run_chunk_with(
            &gpu,
            &problem,
            &shared,
            &params,
            false,
            Some(u64::MAX / 2),
            None,
        )
        .unwrap();
        // 100,000 f32 steps of size ~1e-6 θ carry f32's rounding bias (~1e-4 against
        // f64), so the comparison is with the CPU device, which runs the same f32 steps.
        for (g, p) in got.iter().zip(&params) {
            let want = rulelab::landscape::cpu::simulate::<f32>(&problem, &shared.cast(), p);
            let rel = (g.final_loss - want.final_loss).abs() / want.final_loss.abs();
            assert!(
                rel < 2e-5,
                "{:?}: gpu {} vs cpu {} (seed {seed})",
                problem.landscape.kind,
                g.final_loss,
                want.final_loss
            );
            assert!(
                g.trajectory.iter().all(|x| x.is_finite()),
                "{:?}: every record written",
                problem.landscape.kind
            );
        }
    }
}
