//! The CPU implementation of landscape sweeps, generic over the float type: in f64 the
//! reference every kernel is checked against, in f32 (learners in parallel with rayon)
//! the CPU device. Member rules step through the optimiser family's own update code
//! (`optim::update_group`; one learner's step is in `learner.rs`), not a copy of it.

use super::learner::LearnerRun;
use super::{purpose, ContinualOutcome, LearnerOutcome, Noise, Params, Problem};
use crate::loss::data::Shared;
use crate::real::Real;
use crate::rng::{draw_normals, key_from_seed};
use crate::sweep::prune::{survivors, PrunePlan};
use rayon::prelude::*;

/// Runs one learner for `problem.steps` steps.
pub fn simulate<F: Real>(problem: &Problem, shared: &Shared<F>, p: &Params) -> LearnerOutcome {
    simulate_full(problem, shared, p).0
}

/// Runs one learner and also returns its final θ and the exact gradient there.
pub fn simulate_full<F: Real>(
    problem: &Problem,
    shared: &Shared<F>,
    p: &Params,
) -> (LearnerOutcome, Vec<F>, Vec<F>) {
    simulate_batch(problem, shared, std::slice::from_ref(p))
        .pop()
        .expect("one learner")
}

/// Runs learners that share a seed in lockstep. Returns each learner's outcome, final
/// θ and gradient there.
pub fn simulate_batch<F: Real>(
    problem: &Problem,
    shared: &Shared<F>,
    params: &[Params],
) -> Vec<(LearnerOutcome, Vec<F>, Vec<F>)> {
    let mut batch = Batch::new(problem, shared, params);
    advance(&mut batch, problem, shared, 0, problem.steps + 1);
    batch.finish()
}

/// Learners that share a seed, run in lockstep: their gradient noise is the same draw
/// (a function of seed, step and coordinate only), made once per step for the batch.
pub struct Batch<F: Real> {
    key: [u32; 2],
    words: [Vec<u32>; 4],
    xi: Vec<F>,
    runs: Vec<LearnerRun<F>>,
    /// Continual learning: each learner's oracle twin, in the same order.
    twins: Vec<LearnerRun<F>>,
}

impl<F: Real> Batch<F> {
    pub fn new(problem: &Problem, shared: &Shared<F>, params: &[Params]) -> Self {
        let seed = params.first().map_or(0, |p| p.seed_u64());
        assert!(
            params.iter().all(|p| p.seed_u64() == seed),
            "a batch shares one seed"
        );
        let nb = problem.landscape.dim.div_ceil(4);
        Batch {
            key: key_from_seed(seed),
            words: [vec![0; nb], vec![0; nb], vec![0; nb], vec![0; nb]],
            xi: vec![F::zero(); 4 * nb],
            runs: params
                .iter()
                .map(|p| match problem.continual {
                    Some(_) => LearnerRun::continual(problem, shared, *p, false),
                    None => LearnerRun::new(problem, shared, *p),
                })
                .collect(),
            twins: match problem.continual {
                Some(_) => params
                    .iter()
                    .map(|p| LearnerRun::continual(problem, shared, *p, true))
                    .collect(),
                None => vec![],
            },
        }
    }

    /// Each learner's outcome, final θ and gradient there.
    pub fn finish(self) -> Vec<(LearnerOutcome, Vec<F>, Vec<F>)> {
        let mut twins = self.twins.into_iter();
        self.runs
            .into_iter()
            .map(|r| {
                let mut o = r.stats.finish();
                if let (Some(c), Some(twin)) = (&r.continual, twins.next()) {
                    let (late_loss, switches) = c.outcome();
                    let oracle_loss = twin.stats.finish().mean_loss;
                    o.continual = Some(ContinualOutcome {
                        late_loss,
                        oracle_loss,
                        regret: o.mean_loss - oracle_loss,
                        switches,
                    });
                }
                (o, r.theta, r.grad)
            })
            .collect()
    }
}

crate::multiversion! {
    /// Runs iterations t0..t1 of a batch (t = 0..=steps: record L(θ_t), then take step
    /// t unless t = steps). Cutting a run into such pieces changes no bit.
    pub fn advance<F: Real>(batch: &mut Batch<F>, problem: &Problem, shared: &Shared<F>, t0: usize, t1: usize) -> () = advance_inner;
}

#[inline(always)]
fn advance_inner<F: Real>(
    batch: &mut Batch<F>,
    problem: &Problem,
    shared: &Shared<F>,
    t0: usize,
    t1: usize,
) {
    let Batch {
        key,
        words,
        xi,
        runs,
        twins,
    } = batch;
    for t in t0..t1.min(problem.steps + 1) {
        let noisy = problem.noise != Noise::None && t < problem.steps;
        if noisy && runs.iter().chain(twins.iter()).any(|r| !r.stopped) {
            draw_normals(*key, t as u32, 0, purpose::NOISE, words, xi);
        }
        for r in runs
            .iter_mut()
            .chain(twins.iter_mut())
            .filter(|r| !r.stopped)
        {
            r.step(problem, shared, *key, t, noisy.then_some(&xi[..]));
        }
    }
}

/// Learners per lockstep batch: enough to amortise the shared noise draw, few enough
/// that the batch's state stays in the core's caches.
const BATCH: usize = 32;

/// Runs every learner of a chunk, in parallel over batches of learners that share a
/// seed (their noise is drawn once per step), results in the chunk's order. With a
/// plan, the run stops at each rung for the pruning decision.
pub fn run_chunk<F: Real>(
    problem: &Problem,
    shared: &Shared<F>,
    params: &[Params],
    prune: Option<&PrunePlan>,
) -> Vec<LearnerOutcome> {
    let mut by_seed: std::collections::BTreeMap<u64, Vec<usize>> = Default::default();
    for (i, p) in params.iter().enumerate() {
        by_seed.entry(p.seed.to_bits()).or_default().push(i);
    }
    let mut batches: Vec<(Vec<usize>, Batch<F>)> = by_seed
        .into_values()
        .flat_map(|v| v.chunks(BATCH).map(<[usize]>::to_vec).collect::<Vec<_>>())
        .map(|idx| {
            let ps: Vec<Params> = idx.iter().map(|&i| params[i]).collect();
            let b = Batch::new(problem, shared, &ps);
            (idx, b)
        })
        .collect();
    let rungs = prune.map_or(vec![], |p| p.prune.rungs(problem.steps as u64));
    let mut t0 = 0;
    for end in rungs
        .iter()
        .map(|&r| r as usize + 1)
        .chain([problem.steps + 1])
    {
        batches
            .par_iter_mut()
            .for_each(|(_, b)| advance(b, problem, shared, t0, end));
        if let (Some(plan), true) = (prune, end <= problem.steps) {
            // The rung: every learner has recorded L(θ_r); the losing settings stop.
            let n = params.len();
            let (mut loss, mut running) = (vec![f64::NAN; n], vec![false; n]);
            for (idx, b) in &batches {
                for (&i, r) in idx.iter().zip(&b.runs) {
                    loss[i] = if r.stats.out.diverged {
                        f64::INFINITY
                    } else {
                        r.stats.out.final_loss
                    };
                    running[i] = !r.stopped;
                }
            }
            let go_on = survivors(plan, &loss, &running);
            for (idx, b) in &mut batches {
                for (&i, r) in idx.iter().zip(b.runs.iter_mut()) {
                    if running[i] && !go_on[i] {
                        r.stopped = true;
                        r.stats.out.pruned_at = Some((end - 1) as u32);
                    }
                }
            }
        }
        t0 = end;
    }
    let mut ordered: Vec<Option<LearnerOutcome>> = vec![None; params.len()];
    for (idx, b) in batches {
        for (i, (mut o, theta, _)) in idx.into_iter().zip(b.finish()) {
            if problem.mask.is_some() || problem.basis.is_some() {
                let theta: Vec<f64> = theta
                    .iter()
                    .map(|x| x.to_f64().unwrap_or(f64::NAN))
                    .collect();
                let projector: Vec<f64> = shared
                    .projector
                    .iter()
                    .map(|x| x.to_f64().unwrap_or(f64::NAN))
                    .collect();
                o.split = super::split_loss(problem, &params[i], &projector, &theta);
            }
            ordered[i] = Some(o);
        }
    }
    ordered
        .into_iter()
        .map(|o| o.expect("every learner ran"))
        .collect()
}
