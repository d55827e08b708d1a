//! A learner on a switching landscape: when the optimum moves (at a hazard or in
//! blocks), the shift it moves by, the reset strategies (scheduled, shrink, the Bayesian
//! switch filter) and the late-loss statistics its regret is measured by.

use super::{purpose, Params, Problem, ResetKind, Switching, BAYES_FLOOR, BAYES_MEMORY};
use crate::real::Real;
use crate::rng::{fill_normals, philox4x32_10};

/// Step t switches when the 23 bits (w >> 9) of its Philox word fall below this: the
/// same as the uniform (k + ½)/2²³ < hazard, in integers so every backend agrees.
pub fn switch_threshold(hazard: f64) -> u32 {
    (hazard * 8_388_608.0 - 0.5).ceil().max(0.0) as u32
}

/// A continual learner's state beside its rule's (spec §6; [`super::Continual`]).
pub(super) struct ContinualRun<F: Real> {
    pub(super) reset: ResetKind,
    /// The oracle twin: resets exactly at the switches.
    pub(super) oracle: bool,
    pub(super) switching: Switching,
    pub(super) theta0: Vec<F>,
    pub(super) init: Vec<f64>,
    /// This block's shift δ, and θ − δ where the landscape is evaluated.
    pub(super) shift: Vec<F>,
    pub(super) shifted: Vec<F>,
    /// The current block [start, end) (end: the next switch, or steps + 1).
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) late_sum: f64,
    pub(super) late_count: usize,
    pub(super) switches: u32,
    /// bayes_reset: the last gradient and where it was seen, the innovation variance
    /// without a switch and the extra variance with one.
    pub(super) g_prev: Vec<F>,
    pub(super) th_prev: Vec<F>,
    pub(super) v: Vec<F>,
    pub(super) jump: Vec<F>,
    pub(super) have_prev: bool,
    pub(super) prior_logit: f64,
}

impl<F: Real> ContinualRun<F> {
    pub(super) fn new(
        problem: &Problem,
        p: &Params,
        theta0: Vec<F>,
        h: &[F],
        noise_scale: &[F],
        oracle: bool,
    ) -> Self {
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
            theta0,
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
    pub(super) fn switches_at(&self, p: &Params, key: [u32; 2], t: usize) -> bool {
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
    pub(super) fn begin_block(&mut self, problem: &Problem, p: &Params, key: [u32; 2], t: usize) {
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
    pub(super) fn record(&mut self, t: usize, loss: f64) {
        if t >= self.start + (self.end - self.start).div_ceil(2) {
            self.late_sum += loss;
            self.late_count += 1;
        }
    }

    /// bayes_reset's posterior switch probability from the gradient `g` seen at `theta`
    /// (then remembered for the next step).
    pub(super) fn switch_probability(&mut self, h: &[F], theta: &[F], g: &[F]) -> f64 {
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

    pub(super) fn outcome(&self) -> (f64, u32) {
        (self.late_sum / self.late_count as f64, self.switches)
    }
}
