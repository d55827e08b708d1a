//! One learner's run on the CPU, generic over the float type: its initial point, the
//! rule's state and step constants, one step at a time (gradient, noise, metric, drift,
//! control mask, the rule's update through the optimiser family's own code), and the
//! statistics of its loss sequence. One file because a step is one thing: its parts
//! read each other's buffers.

use super::switching::ContinualRun;
use super::{
    purpose, DriftKind, LandscapeRule, LearnerOutcome, Noise, Params, Problem, ResetKind, RuleKind,
};
use crate::loss::data::Shared;
use crate::loss::eval::minibatch_grad;
use crate::loss::eval::{curvature, loss_grad};
use crate::loss::{Drift, Shape};
use crate::optim::{update_group, Consts, Member};
use crate::real::Real;
use crate::rng::{fill_normals, key_from_seed};

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

/// r/h of the optimal feedback (spec §2 with g = 1): r = (−γ + sqrt(γ² + 4ηk h))/2,
/// written 2ηk / (γ + sqrt(γ² + 4ηk h)) so that it neither cancels for small h nor
/// divides by h. WGSL: `control_gain` in landscape/control_gain.wgsl.
#[inline(always)]
pub fn control_gain<F: Real>(h: F, gamma: F, eta_k: F) -> F {
    F::c(2.0) * eta_k / (gamma + (gamma * gamma + F::c(4.0) * eta_k * h).sqrt())
}

/// One learner's state through a run.
pub(super) struct LearnerRun<F: Real> {
    pub(super) p: Params,
    /// The landscape's numbers of `p`.
    pub(super) shape: Shape,
    pub(super) h: Vec<F>,
    pub(super) noise_scale: Vec<F>,
    pub(super) metric_inv: Vec<F>,
    pub(super) theta: Vec<F>,
    /// θ_t, kept while the step runs when a drift or a control mask acts on it.
    pub(super) before: Vec<F>,
    pub(super) grad: Vec<F>,
    pub(super) states: Vec<Vec<F>>,
    pub(super) consts: Consts<f64>,
    pub(super) bc1: Vec<f64>,
    pub(super) bc2: Vec<f64>,
    pub(super) stats: Stats,
    pub(super) stopped: bool,
    /// The step the rule's step count starts from (a hard reset restarts it).
    pub(super) reset_at: usize,
    pub(super) continual: Option<Box<ContinualRun<F>>>,
}

impl<F: Real> LearnerRun<F> {
    #[inline(always)]
    pub(super) fn new(problem: &Problem, shared: &Shared<F>, p: Params) -> Self {
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
    pub(super) fn continual(
        problem: &Problem,
        shared: &Shared<F>,
        p: Params,
        oracle: bool,
    ) -> Self {
        let mut run = Self::new(problem, shared, p);
        run.continual = Some(Box::new(ContinualRun::new(
            problem,
            &p,
            initial_point::<F>(problem, &p),
            &run.h,
            &run.noise_scale,
            oracle,
        )));
        run
    }

    /// θ ← θ0 and the rule's state ← initial, its step count from t.
    pub(super) fn hard_reset(&mut self, t: usize) {
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
    pub(super) fn begin_step(&mut self, problem: &Problem, key: [u32; 2], t: usize) {
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
    pub(super) fn end_step(&mut self, pi: f64, t: usize) {
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
    pub(super) fn step(
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
    pub(super) fn drift_and_mask(&mut self, problem: &Problem, projector: &[F]) {
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
    pub(super) fn control_estimated(&mut self) {
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
    pub(super) fn member_step(&mut self, m: Member, t: usize) {
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
    pub(super) fn heavy_ball(&mut self, nesterov: bool) {
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
pub(super) struct Stats {
    pub(super) threshold: Option<f64>,
    pub(super) blowup: f64,
    pub(super) record_every: usize,
    pub(super) out: LearnerOutcome,
    pub(super) sum: f64,
    pub(super) count: usize,
    pub(super) records: usize,
}

impl Stats {
    pub(super) fn new(problem: &Problem) -> Self {
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
    pub(super) fn record(&mut self, t: usize, loss: f64) -> bool {
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

    pub(super) fn finish(mut self) -> LearnerOutcome {
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
