//! The CPU implementation of landscape sweeps, generic over the float type: in f64 the
//! reference every kernel is checked against, in f32 (learners in parallel with rayon)
//! the CPU device. Member rules step through the optimiser family's own update code
//! (`optim::cpu::update_group`), not a copy of it.

use super::{
    purpose, ContinualOutcome, DriftKind, LandscapeRule, LearnerOutcome, Noise, Params, Problem,
    ResetKind, RuleKind, Switching, BAYES_FLOOR, BAYES_MEMORY,
};
use crate::loss::data::Shared;
use crate::loss::eval::minibatch_grad;
use crate::loss::eval::{curvature, loss_grad};
use crate::loss::{Drift, Shape};
use crate::optim::{update_group, Consts, Member};
use crate::real::Real;
use crate::rng::{draw_normals, fill_normals, key_from_seed, philox4x32_10};
use crate::sweep::prune::{survivors, PrunePlan};
use rayon::prelude::*;

/// 1 / (1 − β^t) for t = 1..=steps, in f64, by a running product (the GPU host builds
/// its tables with this same function).
pub fn bias_corrections(beta: f64, steps: usize) -> Vec<f64> {
    let mut pow = 1.0;
    (0..steps)
        .map(|_| {
            pow *= beta;
            if pow < 1.0 {
                1.0 / (1.0 - pow)
            } else {
                1.0
            }
        })
        .collect()
}

/// The initial point: θ0_i = theta0 + theta0_noise ξ_i (ξ from the INIT stream).
pub fn initial_point<F: Real>(problem: &Problem, p: &Params) -> Vec<F> {
    let mut xi = vec![F::zero(); problem.landscape.dim];
    fill_normals(key_from_seed(p.seed_u64()), 0, 0, purpose::INIT, &mut xi);
    xi.iter()
        .map(|&z| F::c(p.theta0) + F::c(p.theta0_noise) * z)
        .collect()
}

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

/// r/h of the optimal feedback (spec §2 with g = 1): r = (−γ + sqrt(γ² + 4ηk h))/2,
/// written 2ηk / (γ + sqrt(γ² + 4ηk h)) so that it neither cancels for small h nor
/// divides by h. WGSL: `control_gain` in landscape/control_gain.wgsl.
#[inline(always)]
pub fn control_gain<F: Real>(h: F, gamma: F, eta_k: F) -> F {
    F::c(2.0) * eta_k / (gamma + (gamma * gamma + F::c(4.0) * eta_k * h).sqrt())
}

/// One learner's state through a run.
struct LearnerRun<F: Real> {
    p: Params,
    /// The landscape's numbers of `p`.
    shape: Shape,
    h: Vec<F>,
    noise_scale: Vec<F>,
    metric_inv: Vec<F>,
    theta: Vec<F>,
    /// θ_t, kept while the step runs when a drift or a control mask acts on it.
    before: Vec<F>,
    grad: Vec<F>,
    states: Vec<Vec<F>>,
    consts: Consts<f64>,
    bc1: Vec<f64>,
    bc2: Vec<f64>,
    stats: Stats,
    stopped: bool,
    /// The step the rule's step count starts from (a hard reset restarts it).
    reset_at: usize,
    continual: Option<Box<ContinualRun<F>>>,
}

/// Step t switches when the 23 bits (w >> 9) of its Philox word fall below this: the
/// same as the uniform (k + ½)/2²³ < hazard, in integers so every backend agrees.
pub fn switch_threshold(hazard: f64) -> u32 {
    (hazard * 8_388_608.0 - 0.5).ceil().max(0.0) as u32
}

/// A continual learner's state beside its rule's (spec §6; [`super::Continual`]).
struct ContinualRun<F: Real> {
    reset: ResetKind,
    /// The oracle twin: resets exactly at the switches.
    oracle: bool,
    switching: Switching,
    theta0: Vec<F>,
    init: Vec<f64>,
    /// This block's shift δ, and θ − δ where the landscape is evaluated.
    shift: Vec<F>,
    shifted: Vec<F>,
    /// The current block [start, end) (end: the next switch, or steps + 1).
    start: usize,
    end: usize,
    late_sum: f64,
    late_count: usize,
    switches: u32,
    /// bayes_reset: the last gradient and where it was seen, the innovation variance
    /// without a switch and the extra variance with one.
    g_prev: Vec<F>,
    th_prev: Vec<F>,
    v: Vec<F>,
    jump: Vec<F>,
    have_prev: bool,
    prior_logit: f64,
}

impl<F: Real> ContinualRun<F> {
    fn new(problem: &Problem, p: &Params, h: &[F], noise_scale: &[F], oracle: bool) -> Self {
        let c = problem.continual.as_ref().expect("a continual problem");
        let d = problem.landscape.dim;
        let rho = match c.switching {
            Switching::Hazard => p.hazard,
            Switching::Block => 1.0 / p.block,
        };
        let jump: Vec<F> = h
            .iter()
            .map(|&x| F::c(2.0 * p.sigma_mu * p.sigma_mu) * x * x)
            .collect();
        let mut run = ContinualRun {
            reset: problem.continual.as_ref().expect("continual").resets[p.reset as usize],
            oracle,
            switching: c.switching,
            theta0: initial_point::<F>(problem, p),
            init: problem.rule.initial_state(p),
            shift: vec![F::zero(); d],
            shifted: vec![F::zero(); d],
            start: 0,
            end: 0,
            late_sum: 0.0,
            late_count: 0,
            switches: 0,
            g_prev: vec![F::zero(); d],
            th_prev: vec![F::zero(); d],
            v: noise_scale
                .iter()
                .zip(&jump)
                .map(|(&s, &j)| (F::c(2.0) * s * s).max(F::c(BAYES_FLOOR) * j))
                .collect(),
            jump,
            have_prev: false,
            prior_logit: (rho / (1.0 - rho)).ln(),
        };
        if oracle {
            run.reset = ResetKind::None;
        }
        run
    }

    /// Whether the optimum switches at step t ≥ 1 (hazard: one uniform per step).
    fn switches_at(&self, p: &Params, key: [u32; 2], t: usize) -> bool {
        t >= 1
            && match self.switching {
                Switching::Hazard => {
                    let w = philox4x32_10([0, t as u32, 0, purpose::SWITCH], key)[0];
                    (w >> 9) < switch_threshold(p.hazard)
                }
                Switching::Block => t.is_multiple_of(p.block as usize),
            }
    }

    /// Starts the block at step t: its end, and its shift δ ~ N(0, σ_μ² I).
    fn begin_block(&mut self, problem: &Problem, p: &Params, key: [u32; 2], t: usize) {
        self.start = t;
        self.end = (t + 1..=problem.steps)
            .find(|&u| self.switches_at(p, key, u))
            .unwrap_or(problem.steps + 1);
        fill_normals(key, t as u32, 0, purpose::SHIFT, &mut self.shift);
        let s = F::c(p.sigma_mu);
        self.shift.iter_mut().for_each(|x| *x = *x * s);
    }

    /// Counts L(θ_t) in the late half of its block: its last ⌊L/2⌋ steps (none of a
    /// block of one step, such as a switch at the last step).
    fn record(&mut self, t: usize, loss: f64) {
        if t >= self.start + (self.end - self.start).div_ceil(2) {
            self.late_sum += loss;
            self.late_count += 1;
        }
    }

    /// bayes_reset's posterior switch probability from the gradient `g` seen at `theta`
    /// (then remembered for the next step).
    fn switch_probability(&mut self, h: &[F], theta: &[F], g: &[F]) -> f64 {
        let mut pi = 0.0;
        if self.have_prev {
            let mut llr = 0.0;
            for i in 0..g.len() {
                let predicted = self.g_prev[i] + h[i] * (theta[i] - self.th_prev[i]);
                let e = (g[i] - predicted).to_f64().unwrap_or(f64::NAN);
                let v = self.v[i].to_f64().unwrap_or(f64::NAN);
                let w = v + self.jump[i].to_f64().unwrap_or(f64::NAN);
                llr += 0.5 * ((v / w).ln() + e * e * (1.0 / v - 1.0 / w));
            }
            let z = self.prior_logit + llr;
            pi = if z.is_nan() {
                0.0
            } else {
                1.0 / (1.0 + (-z).exp())
            };
            let floor = F::c(BAYES_FLOOR);
            let rate = F::c((1.0 - BAYES_MEMORY) * (1.0 - pi));
            for i in 0..g.len() {
                let predicted = self.g_prev[i] + h[i] * (theta[i] - self.th_prev[i]);
                let e = g[i] - predicted;
                let v = self.v[i] + rate * (e * e - self.v[i]);
                self.v[i] = v.max(floor * self.jump[i]);
            }
        }
        self.g_prev.copy_from_slice(g);
        self.th_prev.copy_from_slice(theta);
        self.have_prev = true;
        pi
    }

    fn outcome(&self) -> (f64, u32) {
        (self.late_sum / self.late_count as f64, self.switches)
    }
}

impl<F: Real> LearnerRun<F> {
    #[inline(always)]
    fn new(problem: &Problem, shared: &Shared<F>, p: Params) -> Self {
        let d = problem.landscape.dim;
        let shape = p.shape();
        let h = curvature::<F>(&problem.landscape, shared, &shape);
        let noise_scale: Vec<F> = match problem.noise {
            Noise::None => vec![F::zero(); d],
            Noise::Isotropic => vec![F::c(p.noise_sigma); d],
            Noise::Curvature => h.iter().map(|&x| F::c(p.noise_sigma) * x.sqrt()).collect(),
        };
        let init = problem.rule.initial_state(&p);
        LearnerRun {
            p,
            shape,
            // The gradient's multiplier: G⁻¹ for the natural gradient, the optimal
            // feedback's r/h for control_optimal.
            metric_inv: h
                .iter()
                .map(|&x| {
                    let x = x.max(F::c(p.eps));
                    match problem.rule {
                        RuleKind::CONTROL_OPTIMAL => {
                            control_gain(x, F::c(p.gamma), F::c(p.eta * p.k))
                        }
                        _ => F::one() / x,
                    }
                })
                .collect(),
            h,
            noise_scale,
            theta: initial_point::<F>(problem, &p),
            before: vec![F::zero(); d],
            grad: vec![F::zero(); d],
            states: init.iter().map(|&v| vec![F::c(v); d]).collect(),
            consts: problem.rule.consts_member().consts(&p.hyper(), 1),
            bc1: bias_corrections(p.beta1, problem.steps),
            bc2: bias_corrections(p.beta2, problem.steps),
            stats: Stats::new(problem),
            stopped: false,
            reset_at: 0,
            continual: None,
        }
    }

    /// A continual learner, or its oracle twin.
    fn continual(problem: &Problem, shared: &Shared<F>, p: Params, oracle: bool) -> Self {
        let mut run = Self::new(problem, shared, p);
        run.continual = Some(Box::new(ContinualRun::new(
            problem,
            &p,
            &run.h,
            &run.noise_scale,
            oracle,
        )));
        run
    }

    /// θ ← θ0 and the rule's state ← initial, its step count from t.
    fn hard_reset(&mut self, t: usize) {
        let c = self.continual.as_mut().expect("continual");
        self.theta.copy_from_slice(&c.theta0);
        for (s, &v) in self.states.iter_mut().zip(&c.init) {
            s.iter_mut().for_each(|x| *x = F::c(v));
        }
        self.reset_at = t;
        c.have_prev = false;
    }

    /// Continual learning before step t: a switch (a new block and shift), the hard
    /// resets (the oracle's at switches, scheduled ones), and θ − δ.
    fn begin_step(&mut self, problem: &Problem, key: [u32; 2], t: usize) {
        let p = self.p;
        let c = self.continual.as_mut().expect("continual");
        let mut reset = false;
        if t == 0 {
            c.begin_block(problem, &p, key, 0);
        } else if t == c.end {
            c.switches += 1;
            c.begin_block(problem, &p, key, t);
            reset = c.oracle;
        }
        if c.reset == ResetKind::Scheduled && t > 0 && t.is_multiple_of(p.reset_every as usize) {
            reset = true;
        }
        if reset {
            self.hard_reset(t);
        }
        let c = self.continual.as_mut().expect("continual");
        for ((x, &th), &d) in c.shifted.iter_mut().zip(&self.theta).zip(&c.shift) {
            *x = th - d;
        }
    }

    /// Continual learning after the rule's step: shrink, or bayes_reset's soft reset by
    /// π (θ and the rule's state towards their initial values).
    fn end_step(&mut self, pi: f64, t: usize) {
        let c = self.continual.as_ref().expect("continual");
        let w = match c.reset {
            ResetKind::Shrink => self.p.shrink,
            ResetKind::BayesReset => pi,
            ResetKind::None | ResetKind::Scheduled => return,
        };
        let w = F::c(w);
        for (th, &t0) in self.theta.iter_mut().zip(&c.theta0) {
            *th = *th - w * (*th - t0);
        }
        if c.reset == ResetKind::BayesReset {
            for (s, &v) in self.states.iter_mut().zip(&c.init) {
                s.iter_mut().for_each(|x| *x = *x - w * (*x - F::c(v)));
            }
            // A switch the filter believes in restarts the step count too, so that
            // Adam's bias correction rescales its near-zero moments as after a hard
            // reset (the next step is t + 1).
            if pi > 0.5 {
                self.reset_at = t + 1;
            }
        }
    }

    /// Records L(θ_t) and, unless the run ends here, takes step t with noise `xi`.
    #[inline(always)]
    fn step(
        &mut self,
        problem: &Problem,
        shared: &Shared<F>,
        key: [u32; 2],
        t: usize,
        xi: Option<&[F]>,
    ) {
        if self.continual.is_some() {
            self.begin_step(problem, key, t);
        }
        // The landscape is evaluated at θ − δ on a switching landscape.
        let at = match &self.continual {
            Some(c) => &c.shifted,
            None => &self.theta,
        };
        let loss = loss_grad(
            &problem.landscape,
            shared,
            &self.shape,
            &self.h,
            at,
            &mut self.grad,
        );
        let loss = loss.to_f64().unwrap_or(f64::NAN);
        if let Some(c) = self.continual.as_mut() {
            if loss.is_finite() && loss <= problem.blowup {
                c.record(t, loss);
            }
        }
        if self.stats.record(t, loss) || t == problem.steps {
            self.stopped = true;
            return;
        }
        let at = match &self.continual {
            Some(c) => &c.shifted,
            None => &self.theta,
        };
        let grad = &mut self.grad;
        if problem.landscape.teacher.is_some_and(|tt| tt.minibatch > 0) {
            minibatch_grad(&problem.landscape, shared, key, t as u32, at, grad);
        }
        if let Some(xi) = xi {
            for ((g, &z), &s) in grad.iter_mut().zip(xi).zip(&self.noise_scale) {
                *g = *g + s * z;
            }
        }
        let pi = match self.continual.as_mut() {
            Some(c) if c.reset == ResetKind::BayesReset => {
                c.switch_probability(&self.h, &self.theta, &self.grad)
            }
            _ => 0.0,
        };
        let acted_on =
            problem.drift != DriftKind::None || problem.mask.is_some() || problem.basis.is_some();
        if acted_on {
            self.before.copy_from_slice(&self.theta);
        }
        match problem.rule {
            RuleKind::Member(m) => self.member_step(m, t),
            RuleKind::Landscape(LandscapeRule::NaturalGradient | LandscapeRule::ControlOptimal) => {
                self.grad
                    .iter_mut()
                    .zip(&self.metric_inv)
                    .for_each(|(g, &m)| *g = *g * m);
                self.member_step(Member::Sgd, t)
            }
            RuleKind::Landscape(LandscapeRule::Momentum) => self.heavy_ball(false),
            RuleKind::Landscape(LandscapeRule::Nesterov) => self.heavy_ball(true),
            RuleKind::Landscape(LandscapeRule::ControlEstimated) => self.control_estimated(),
        }
        if acted_on {
            self.drift_and_mask(problem, &shared.projector);
        }
        if self.continual.is_some() {
            self.end_step(pi, t);
        }
    }

    /// Partial controllability and the drift: an uncontrolled coordinate keeps θ_t
    /// (the rule's change is dropped), or with a basis the change u is projected, θ_t +
    /// P u; every coordinate adds f(θ_t). As the WGSL.
    #[inline(always)]
    fn drift_and_mask(&mut self, problem: &Problem, projector: &[F]) {
        let drift = Drift {
            kind: problem.drift,
            rate: self.p.drift_rate,
        };
        if !projector.is_empty() {
            let d = self.theta.len();
            // u in grad's place: the gradient is recomputed at the next step's point.
            for ((u, &th), &b) in self.grad.iter_mut().zip(&self.theta).zip(&self.before) {
                *u = th - b;
            }
            for j in 0..d {
                let row = &projector[j * d..(j + 1) * d];
                let pu = row
                    .iter()
                    .zip(&self.grad)
                    .fold(F::zero(), |s, (&a, &u)| s + a * u);
                self.theta[j] = self.before[j] + pu;
            }
        }
        for i in 0..self.theta.len() {
            let mut x = match &problem.mask {
                Some(m) if !m[i] => self.before[i],
                _ => self.theta[i],
            };
            if drift.kind != DriftKind::None {
                x = x + drift.at(&self.before, i);
            }
            self.theta[i] = x;
        }
    }

    /// control_estimated: the secant curvature estimate, then the optimal feedback's
    /// step with it (states: last gradient, last step, ĥ; as the WGSL step).
    #[inline(always)]
    fn control_estimated(&mut self) {
        let p = &self.p;
        let (lr, gamma, eta_k) = (F::c(p.lr), F::c(p.gamma), F::c(p.eta * p.k));
        let (eps, beta, keep) = (F::c(p.eps), F::c(p.beta2), F::c(1.0 - p.beta2));
        let [g_prev, d_prev, h_hat] = self.states.as_mut_slice() else {
            unreachable!("control_estimated has three states")
        };
        for i in 0..self.theta.len() {
            let g = self.grad[i];
            if d_prev[i] != F::zero() {
                // A non-finite secant (an overflowed difference) leaves ĥ as it is.
                let secant = (g - g_prev[i]) / d_prev[i];
                if secant.is_finite() {
                    let secant = secant.max(eps).min(F::one() / eps);
                    h_hat[i] = beta * h_hat[i] + keep * secant;
                }
            }
            let step = -(lr * control_gain(h_hat[i], gamma, eta_k) * g);
            self.theta[i] = self.theta[i] + step;
            g_prev[i] = g;
            d_prev[i] = step;
        }
    }

    /// An optimiser-family member's update, through the family's own code.
    #[inline(always)]
    fn member_step(&mut self, m: Member, t: usize) {
        self.consts.bc1 = self.bc1[t - self.reset_at];
        self.consts.bc2 = self.bc2[t - self.reset_at];
        let c = self.consts.cast::<F>();
        // Slices on the stack: this runs once per learner per step.
        let (th, grad) = (&mut self.theta, &self.grad);
        match self.states.as_mut_slice() {
            [] => update_group(m, &c, F::one(), th, grad, &mut []),
            [a] => update_group(m, &c, F::one(), th, grad, &mut [a]),
            [a, b] => update_group(m, &c, F::one(), th, grad, &mut [a, b]),
            [a, b, d] => update_group(m, &c, F::one(), th, grad, &mut [a, b, d]),
            _ => unreachable!("at most three states"),
        }
    }

    /// v = μ v + g; θ −= lr v (heavy ball) or lr (g + μ v) (nesterov).
    #[inline(always)]
    fn heavy_ball(&mut self, nesterov: bool) {
        let (lr, mu) = (F::c(self.p.lr), F::c(self.p.beta1));
        for ((th, &g), v) in self
            .theta
            .iter_mut()
            .zip(self.grad.iter())
            .zip(self.states[0].iter_mut())
        {
            *v = mu * *v + g;
            let step = if nesterov { g + mu * *v } else { *v };
            *th = *th - lr * step;
        }
    }
}

/// Running per-learner statistics of the loss sequence.
struct Stats {
    threshold: Option<f64>,
    blowup: f64,
    record_every: usize,
    out: LearnerOutcome,
    sum: f64,
    count: usize,
    records: usize,
}

impl Stats {
    fn new(problem: &Problem) -> Self {
        let records = problem
            .steps
            .checked_div(problem.record_every)
            .map_or(0, |r| r + 1);
        Stats {
            threshold: problem.threshold,
            blowup: problem.blowup,
            record_every: problem.record_every,
            out: LearnerOutcome {
                final_loss: f64::NAN,
                min_loss: f64::INFINITY,
                mean_loss: f64::NAN,
                steps_to_threshold: None,
                diverged: false,
                pruned_at: None,
                trajectory: Vec::with_capacity(records),
                split: None,
                continual: None,
            },
            sum: 0.0,
            count: 0,
            records,
        }
    }

    /// Records L(θ_t); returns true when the learner has diverged and must stop.
    fn record(&mut self, t: usize, loss: f64) -> bool {
        self.out.final_loss = loss;
        if self.record_every > 0 && t.is_multiple_of(self.record_every) {
            self.out.trajectory.push(loss as f32);
        }
        if !loss.is_finite() || loss > self.blowup {
            self.out.diverged = true;
            return true;
        }
        self.out.min_loss = self.out.min_loss.min(loss);
        self.sum += loss;
        self.count += 1;
        if self.out.steps_to_threshold.is_none() && self.threshold.is_some_and(|th| loss <= th) {
            self.out.steps_to_threshold = Some(t as u32);
        }
        false
    }

    fn finish(mut self) -> LearnerOutcome {
        if self.count > 0 {
            self.out.mean_loss = self.sum / self.count as f64;
        }
        if self.out.min_loss == f64::INFINITY {
            self.out.min_loss = f64::NAN;
        }
        self.out.trajectory.resize(self.records, f32::NAN);
        self.out
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
