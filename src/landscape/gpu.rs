//! Landscape sweeps on a wgpu device: one kernel per (landscape, rule) pair, composed
//! from the shared driver (`shaders/landscape/sweep.wgsl`), the landscape's loss and
//! gradient, and the rule's step function (the optimiser family's own WGSL for member
//! rules). A chunk of learners is one dispatch that runs every step.

use super::learner::bias_corrections;
use super::{
    ContinualOutcome, DriftKind, LandscapeKind, LearnerOutcome, Noise, Params, Problem, ResetKind,
    RuleKind, Switching,
};
use crate::error::{Error, Result};
use crate::gpu::{DataArena, Gpu, Kernel};
use crate::loss::data::Shared;
use crate::loss::gpu::{land_data, row_of, stem, wgsl_file, Land, LandParams};
use crate::loss::Shape;
use crate::optim::Consts;
use crate::sweep::prune::{survivors, PrunePlan};
use std::borrow::Cow;

/// The sweep kernel for a landscape and a rule.
pub fn kernel(landscape: LandscapeKind, rule: RuleKind) -> Kernel {
    Kernel::new(
        format!("sweep_{}_{}", stem(wgsl_file(landscape)), rule.name()),
        "main",
        &["landscape/sweep.wgsl", wgsl_file(landscape), rule.wgsl()],
    )
}

/// Every kernel of the family (for shader validation).
pub fn kernels() -> Vec<Kernel> {
    let lands = [
        LandscapeKind::Quadratic,
        LandscapeKind::QuadraticDense,
        LandscapeKind::DoubleWell,
        LandscapeKind::Rosenbrock,
        LandscapeKind::TeacherStudent,
    ];
    let all: Vec<Kernel> = lands
        .iter()
        .flat_map(|&l| RuleKind::all().into_iter().map(move |r| kernel(l, r)))
        .collect();
    all
}

crate::gpu_struct! {
    /// The sweep kernel's uniform (its modes are the pipeline's constants: [`modes`]).
    struct SweepShape {
        land: Land,
        n_learners: u32,
        steps: u32,
        record_every: u32,
        n_records: u32,
        threshold: f32,
        blowup: f32,
        off_bias: u32,
        t_begin: u32,
        t_end: u32,
        off_mask: u32,
        /// Values carried per coordinate between windows (4, or 7 when switching).
        carry_width: u32,
    }
}

/// The WGSL's RESET_* codes: a strategy, or the oracle twin.
fn reset_code(r: Option<ResetKind>) -> u32 {
    match r {
        Some(ResetKind::None) => 0,
        Some(ResetKind::Scheduled) => 1,
        Some(ResetKind::Shrink) => 2,
        Some(ResetKind::BayesReset) => 3,
        None => 4,
    }
}

crate::gpu_struct! {
    /// One learner of a sweep chunk.
    struct SweepLearner {
        consts: Consts<f32>,
        land: LandParams,
        seed_lo: u32,
        seed_hi: u32,
        bc1_row: u32,
        bc2_row: u32,
        noise_sigma: f32,
        theta0: f32,
        theta0_noise: f32,
        metric_eps: f32,
        init0: f32,
        init1: f32,
        init2: f32,
        drift_rate: f32,
        switch_thr: u32,
        block: u32,
        reset: u32,
        reset_every: u32,
        sigma_mu: f32,
        shrink: f32,
        prior_logit: f32,
        _pad0: u32,
    }
}

crate::gpu_struct! {
    /// A learner's running statistics between windows of steps.
    struct Progress {
        final_loss: f32,
        min_loss: f32,
        sum: f32,
        count: u32,
        hit: i32,
        diverged: u32,
        _pad0: u32,
        _pad1: u32,
        blk_start: u32,
        blk_end: u32,
        late_sum: f32,
        late_count: u32,
        switches: u32,
        reset_at: u32,
        have_prev: u32,
        _pad2: u32,
    }
}

crate::gpu_struct! {
    /// What the sweep kernel writes per learner.
    struct SweepOut {
        final_loss: f32,
        min_loss: f32,
        mean_loss: f32,
        steps_to_threshold: i32,
        diverged: u32,
        late_loss: f32,
        switches: u32,
        _pad0: u32,
    }
}

/// Every struct this family shares with its WGSL.
pub fn layouts() -> Vec<crate::gpu::Layout> {
    use crate::gpu::GpuStruct;
    vec![
        SweepShape::layout(),
        SweepLearner::layout(),
        Progress::layout(),
        SweepOut::layout(),
    ]
}

/// Loop back-edges one step of the kernel runs per invocation, counted generously: the
/// step loop, the loss reduction, the four-coordinate loops and Philox rounds, plus the
/// landscape's own loops (a dense row per coordinate; the teacher's cooperative
/// forward and backward passes per sample).
fn loops_per_step(problem: &Problem, lanes: usize) -> u64 {
    let mut n = 2 + lanes.trailing_zeros() as u64 + 6 * 4 + 2 * 10;
    if problem.landscape.kind.is_dense() {
        n += 4 * (problem.landscape.dim as u64 + 1);
    }
    if problem.basis.is_some() {
        n += 4 * (problem.landscape.dim as u64 + 1) + 4;
    }
    if problem.continual.is_some() {
        // The scan (two Philox draws), the shifts at a switch and of drift partners
        // (a draw per coordinate), the filter's loops and its sum over lanes.
        n += 2 * 11 + 2 * 4 * 11 + 3 * 4 + 2 * lanes.trailing_zeros() as u64 + 4;
    }
    if let Some(t) = problem.landscape.teacher {
        // Per sample: this lane's share of the hidden units (d_in each), the output over
        // all hidden units, its four coordinates, and a Philox draw for minibatches.
        let mine = (t.hidden as u64).div_ceil(lanes as u64);
        let per_sample = 1 + mine * (t.d_in as u64 + 1) + t.hidden as u64 + 4 + 10;
        n += (t.samples + t.minibatch) as u64 * per_sample;
    }
    n + n / 2
}

/// Runs a chunk of learners on the GPU.
pub fn run_chunk(
    gpu: &Gpu,
    problem: &Problem,
    shared: &Shared<f64>,
    params: &[Params],
    prune: Option<&PrunePlan>,
) -> Result<Vec<LearnerOutcome>> {
    // The loss split needs each learner's final θ.
    let split = (problem.mask.is_some() || problem.basis.is_some())
        && problem.landscape.kind == LandscapeKind::Quadratic;
    let (mut outcomes, finals) = run_chunk_with(gpu, problem, shared, params, split, None, prune)?;
    if split {
        let d = problem.landscape.dim;
        for (i, o) in outcomes.iter_mut().enumerate() {
            let theta: Vec<f64> = finals[i * 2 * d..i * 2 * d + d]
                .iter()
                .map(|&x| x as f64)
                .collect();
            o.split = super::split_loss(problem, &params[i], &shared.projector, &theta);
        }
    }
    Ok(outcomes)
}

/// Runs a chunk; with `finals`, also returns each learner's final θ and the exact
/// gradient there (2 * dim values per learner), for checks; with every window of
/// steps `window` long when given (tests use it to show that windows do not change
/// results).
pub fn run_chunk_with(
    gpu: &Gpu,
    problem: &Problem,
    shared: &Shared<f64>,
    params: &[Params],
    finals: bool,
    window: Option<u64>,
    prune: Option<&PrunePlan>,
) -> Result<(Vec<LearnerOutcome>, Vec<f32>)> {
    if params.is_empty() {
        return Ok((vec![], vec![]));
    }
    let (params, resets) = with_twins(problem, params);
    let params = &params[..];
    let (n, d, steps) = (params.len(), problem.landscape.dim, problem.steps);
    let mut arena = DataArena::new();
    let (land, learners, off_bias, off_mask) =
        learner_table(problem, shared, params, &resets, &mut arena)?;
    let mut shape = sweep_shape(problem, land, n, off_bias, off_mask);
    let n_records = shape.n_records as usize;

    let kernel = kernel(problem.landscape.kind, problem.rule).specialised(&modes(problem, &resets));
    let pipeline = gpu.pipeline(&kernel)?;
    let uniform = gpu.uniform("sweep shape", &shape)?;
    let learner_buf = gpu.upload("sweep learners", &learners)?;
    let data_buf = arena.upload(gpu, "sweep data")?;
    // A learner the kernel never writes reads back as NaN with diverged = !0.
    let outs = gpu.poisoned(
        "sweep outcomes",
        n,
        SweepOut {
            final_loss: f32::NAN,
            min_loss: f32::NAN,
            mean_loss: f32::NAN,
            steps_to_threshold: -2,
            diverged: u32::MAX,
            late_loss: f32::NAN,
            switches: u32::MAX,
            _pad0: 0,
        },
    )?;
    let traj = gpu.poisoned("sweep trajectories", (n * n_records).max(1), f32::NAN)?;
    let fin = gpu.poisoned("sweep finals", if finals { n * 2 * d } else { 1 }, f32::NAN)?;
    let carry = gpu.zeros::<f32>("sweep carry", n * shape.carry_width as usize * d)?;
    let progress = gpu.zeros::<Progress>("sweep progress", n)?;
    let bind = gpu.bind_group(
        &pipeline,
        &[
            (0, uniform.as_entire_binding()),
            (1, learner_buf.buffer.as_entire_binding()),
            (2, data_buf.buffer.as_entire_binding()),
            (3, outs.buffer.as_entire_binding()),
            (4, traj.buffer.as_entire_binding()),
            (5, fin.buffer.as_entire_binding()),
            (6, carry.buffer.as_entire_binding()),
            (7, progress.buffer.as_entire_binding()),
        ],
    )?;
    let lanes = land.lanes as usize;
    let workgroups = n.div_ceil(256 / lanes) as u32;
    // Pruning: windows end just past each rung r (L(θ_r) recorded); the losing settings
    // are marked stopped (diverged = 2) in their carried statistics.
    let rung_ends: Vec<u64> = prune.map_or(vec![], |p| {
        p.prune
            .rungs(steps as u64)
            .into_iter()
            .map(|r| r + 1)
            .collect()
    });
    let mut pruned_at: Vec<Option<u32>> = vec![None; n];
    gpu.run_in_windows(
        steps as u64 + 1,
        loops_per_step(problem, lanes),
        window,
        &format!("one step of this {}", problem.landscape.kind.name()),
        &rung_ends,
        |begin, end| {
            (shape.t_begin, shape.t_end) = (begin as u32, end as u32);
            gpu.queue
                .write_buffer(&uniform, 0, bytemuck::bytes_of(&shape));
            gpu.dispatch_and_wait("sweep", &pipeline, &bind, workgroups)?;
            if let (Some(plan), true) = (prune, rung_ends.contains(&end)) {
                prune_at_rung(gpu, &progress, plan, end, &mut pruned_at)?;
            }
            Ok(())
        },
    )?;

    let outs = gpu.download(&outs)?;
    let traj = if n_records > 0 {
        gpu.download(&traj)?
    } else {
        vec![]
    };
    let mut outcomes = outcomes_of(
        &outs,
        &traj,
        n_records,
        &pruned_at,
        problem.continual.is_some(),
    )?;
    let mut finals = if finals { gpu.download(&fin)? } else { vec![] };
    if problem.continual.is_some() {
        // The second half are the oracle twins of the first.
        let half = n / 2;
        let oracles = outcomes.split_off(half);
        for (o, twin) in outcomes.iter_mut().zip(oracles) {
            let c = o.continual.as_mut().expect("set by outcomes_of");
            c.oracle_loss = twin.mean_loss;
            c.regret = o.mean_loss - twin.mean_loss;
        }
        finals.truncate(half * 2 * d);
    }
    Ok((outcomes, finals))
}

/// The chunk's learners and each one's reset strategy: on a switching landscape every
/// learner has an oracle twin in the same dispatch (the second half, resetting exactly
/// at the switches, its strategy None).
fn with_twins<'a>(
    problem: &Problem,
    params: &'a [Params],
) -> (Cow<'a, [Params]>, Vec<Option<ResetKind>>) {
    match &problem.continual {
        Some(c) => {
            let resets = params
                .iter()
                .map(|p| Some(c.resets[p.reset as usize]))
                .chain(params.iter().map(|_| None))
                .collect();
            (
                Cow::Owned(params.iter().chain(params).copied().collect()),
                resets,
            )
        }
        None => (
            Cow::Borrowed(params),
            vec![Some(ResetKind::None); params.len()],
        ),
    }
}

/// The shared data in `arena` (bias-correction rows, the landscape's tables, the
/// control mask or projector) and every learner's record: the landscape's `Land`, the
/// records, and the offsets of the bias rows and the mask.
fn learner_table(
    problem: &Problem,
    shared: &Shared<f64>,
    params: &[Params],
    resets: &[Option<ResetKind>],
    arena: &mut DataArena,
) -> Result<(Land, Vec<SweepLearner>, u32, u32)> {
    let mut beta_rows: Vec<u64> = Vec::new();
    let rows: Vec<(u32, u32)> = params
        .iter()
        .map(|p| {
            (
                row_of(&mut beta_rows, p.beta1.to_bits()),
                row_of(&mut beta_rows, p.beta2.to_bits()),
            )
        })
        .collect();
    let off_bias = arena.len() as u32;
    for &bits in &beta_rows {
        arena.push(
            bias_corrections(f64::from_bits(bits), problem.steps)
                .iter()
                .map(|&v| v as f32),
        );
    }
    let shapes: Vec<Shape> = params.iter().map(Params::shape).collect();
    let (land, points) = land_data(&problem.landscape, shared, &shapes, arena)?;
    // The mask (0/1 per coordinate) or the projector P (D×D) at off_mask.
    let off_mask = match (&problem.mask, problem.basis) {
        (Some(m), _) => arena.push(m.iter().map(|&x| if x { 1.0 } else { 0.0 })),
        (None, Some(_)) => arena.push(shared.projector.iter().map(|&x| x as f32)),
        (None, None) => 0,
    };
    let switching = problem.continual.as_ref().map(|c| c.switching);
    let learners = params
        .iter()
        .zip(points)
        .zip(rows)
        .zip(resets)
        .map(|(((p, land), (bc1_row, bc2_row)), &reset)| {
            let rho = match switching {
                Some(Switching::Hazard) => p.hazard,
                Some(Switching::Block) => 1.0 / p.block,
                None => 0.5,
            };
            let init = problem.rule.initial_state(p);
            let init = |k: usize| init.get(k).copied().unwrap_or(0.0) as f32;
            let seed = p.seed_u64();
            SweepLearner {
                consts: problem
                    .rule
                    .consts_member()
                    .consts(&p.hyper(), 1)
                    .cast::<f32>(),
                land,
                seed_lo: seed as u32,
                seed_hi: (seed >> 32) as u32,
                bc1_row,
                bc2_row,
                noise_sigma: p.noise_sigma as f32,
                theta0: p.theta0 as f32,
                theta0_noise: p.theta0_noise as f32,
                metric_eps: p.eps as f32,
                init0: init(0),
                init1: init(1),
                init2: init(2),
                drift_rate: p.drift_rate as f32,
                switch_thr: match switching {
                    Some(Switching::Hazard) => super::switching::switch_threshold(p.hazard),
                    _ => 0,
                },
                block: p.block as u32,
                reset: reset_code(reset),
                reset_every: p.reset_every as u32,
                sigma_mu: p.sigma_mu as f32,
                shrink: p.shrink as f32,
                prior_logit: (rho / (1.0 - rho)).ln() as f32,
                _pad0: 0,
            }
        })
        .collect();
    Ok((land, learners, off_bias, off_mask))
}

/// The kernel's uniform for the chunk (its window, t_begin..t_end, set per dispatch).
fn sweep_shape(
    problem: &Problem,
    land: Land,
    n: usize,
    off_bias: u32,
    off_mask: u32,
) -> SweepShape {
    let steps = problem.steps;
    let n_records = steps.checked_div(problem.record_every).map_or(0, |r| r + 1);
    SweepShape {
        land,
        n_learners: n as u32,
        steps: steps as u32,
        record_every: problem.record_every as u32,
        n_records: n_records as u32,
        threshold: problem.threshold.unwrap_or(0.0) as f32,
        blowup: problem.blowup.min(f32::MAX as f64) as f32,
        off_bias,
        t_begin: 0,
        t_end: 0,
        off_mask,
        carry_width: if problem.continual.is_some() { 7 } else { 4 },
    }
}

/// The kernel's modes for the chunk, the pipeline's `override` constants
/// (shaders/landscape/sweep.wgsl says what each means): a mode the chunk does not use
/// is compiled out of its pipeline.
fn modes(problem: &Problem, resets: &[Option<ResetKind>]) -> [(&'static str, f64); 7] {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    [
        (
            "NOISE",
            match problem.noise {
                Noise::None => 0.0,
                Noise::Isotropic => 1.0,
                Noise::Curvature => 2.0,
            },
        ),
        (
            "METRIC",
            match problem.rule {
                RuleKind::NATURAL_GRADIENT => 1.0,
                RuleKind::CONTROL_OPTIMAL => 2.0,
                _ => 0.0,
            },
        ),
        ("HAS_THRESHOLD", flag(problem.threshold.is_some())),
        (
            "DRIFT",
            match problem.drift {
                DriftKind::None => 0.0,
                DriftKind::Decay => 1.0,
                DriftKind::Rotation => 2.0,
            },
        ),
        (
            "MASKED",
            if problem.mask.is_some() {
                1.0
            } else if problem.basis.is_some() {
                2.0
            } else {
                0.0
            },
        ),
        (
            "CONTINUAL",
            match problem.continual.as_ref().map(|c| c.switching) {
                None => 0.0,
                Some(Switching::Hazard) => 1.0,
                Some(Switching::Block) => 2.0,
            },
        ),
        ("BAYES", flag(resets.contains(&Some(ResetKind::BayesReset)))),
    ]
}

/// At a rung (the window ending at `end`): the settings that lose stop, marked
/// diverged = 2 in their carried statistics.
fn prune_at_rung(
    gpu: &Gpu,
    progress: &crate::gpu::GpuBuffer<Progress>,
    plan: &PrunePlan,
    end: u64,
    pruned_at: &mut [Option<u32>],
) -> Result<()> {
    let mut pr = gpu.download(progress)?;
    let loss: Vec<f64> = pr
        .iter()
        .map(|p| {
            if p.diverged == 1 {
                f64::INFINITY
            } else {
                p.final_loss as f64
            }
        })
        .collect();
    let running: Vec<bool> = pr.iter().map(|p| p.diverged == 0).collect();
    let go_on = survivors(plan, &loss, &running);
    for (i, p) in pr.iter_mut().enumerate() {
        if running[i] && !go_on[i] {
            p.diverged = 2;
            pruned_at[i] = Some((end - 1) as u32);
        }
    }
    gpu.write(progress, &pr)
}

/// The learners' outcomes from what the kernel wrote (an unwritten learner is an error).
fn outcomes_of(
    outs: &[SweepOut],
    traj: &[f32],
    n_records: usize,
    pruned_at: &[Option<u32>],
    twins: bool,
) -> Result<Vec<LearnerOutcome>> {
    outs.iter()
        .enumerate()
        .map(|(i, o)| {
            if o.diverged > 2 {
                return Err(Error::Internal(format!(
                    "the sweep kernel left learner {i} of the chunk unwritten"
                )));
            }
            Ok(LearnerOutcome {
                final_loss: o.final_loss as f64,
                min_loss: o.min_loss as f64,
                mean_loss: o.mean_loss as f64,
                steps_to_threshold: (o.steps_to_threshold >= 0)
                    .then_some(o.steps_to_threshold as u32),
                diverged: o.diverged == 1,
                pruned_at: pruned_at[i],
                trajectory: traj
                    .get(i * n_records..(i + 1) * n_records)
                    .map(<[f32]>::to_vec)
                    .unwrap_or_default(),
                split: None,
                continual: twins.then_some(ContinualOutcome {
                    late_loss: o.late_loss as f64,
                    oracle_loss: f64::NAN,
                    regret: f64::NAN,
                    switches: o.switches,
                }),
            })
        })
        .collect()
}
