//! The parametric baseline (spec §4): the reinforce_base rule
//!
//! ```text
//! Δw = α ⊙ (r − β) (y − p) x,   α, β ∈ R² (stimulus, bias),
//! ```
//!
//! fitted by maximum likelihood on the same data (full BPTT in f64, L-BFGS on the four
//! numbers, each animal's w_0 fixed at its logistic fit), so users see how much the
//! network rule gains over a textbook one. The fit runs on (a, b) = (α, α β), in which
//! Δw = (a r − b)(y − p) x is linear: in (α, β) the product makes valleys where L-BFGS
//! can stop with β of the wrong sign.

use super::data::{Animal, Trial};
use super::net::K;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Baseline {
    pub alpha: [f64; K],
    pub beta: [f64; K],
}

fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

impl Baseline {
    /// The rule of a = α and b = α β (θ = a_stim, a_bias, b_stim, b_bias); β is 0 where
    /// α is (there only α β matters).
    pub fn from_ab(theta: &[f64]) -> Baseline {
        let beta = |k: usize| {
            if theta[k] == 0.0 {
                0.0
            } else {
                theta[K + k] / theta[k]
            }
        };
        Baseline {
            alpha: [theta[0], theta[1]],
            beta: [beta(0), beta(1)],
        }
    }

    /// The rule's Δw after a trial.
    pub fn delta(&self, w: [f64; K], t: &Trial) -> [f64; K] {
        let x = [t.stimulus, 1.0];
        let p = sigmoid(w[0] * x[0] + w[1]);
        let (y, r) = (t.choice as f64, t.reward as f64);
        std::array::from_fn(|k| self.alpha[k] * (r - self.beta[k]) * (y - p) * x[k])
    }

    /// Summed NLL of one animal from w0, and its gradient with respect to (a, b) =
    /// (α, α β).
    pub fn animal(&self, trials: &[Trial], w0: [f64; K]) -> (f64, [f64; 2 * K]) {
        // Per trial p(right), kept for the backward pass; one exp and one log1p a trial.
        let mut ps = Vec::with_capacity(trials.len());
        let mut w = w0;
        let mut loss = 0.0;
        for t in trials {
            let a = w[0] * t.stimulus + w[1];
            let e = (-a.abs()).exp();
            loss += a.max(0.0) + e.ln_1p() - t.choice as f64 * a;
            let p = if a >= 0.0 {
                1.0 / (1.0 + e)
            } else {
                e / (1.0 + e)
            };
            ps.push(p);
            let (y, r) = (t.choice as f64, t.reward as f64);
            let x = [t.stimulus, 1.0];
            w = std::array::from_fn(|k| w[k] + self.alpha[k] * (r - self.beta[k]) * (y - p) * x[k]);
        }
        // Backward: g = ∂L/∂w_t, from ∂L/∂w_T = 0.
        let mut g = [0.0; K];
        let mut grad = [0.0; 2 * K];
        for (i, t) in trials.iter().enumerate().rev() {
            let x = [t.stimulus, 1.0];
            let p = ps[i];
            let (y, r) = (t.choice as f64, t.reward as f64);
            if i + 1 < trials.len() {
                // u_k = (a_k r − b_k)(y − p) x_k, a = α, b = α β:
                // ∂u_k/∂w_j = −α_k (r − β_k) p (1 − p) x_k x_j.
                let mut through = [0.0; K];
                for k in 0..K {
                    grad[k] += g[k] * r * (y - p) * x[k];
                    grad[K + k] -= g[k] * (y - p) * x[k];
                    let c = g[k] * -self.alpha[k] * (r - self.beta[k]) * p * (1.0 - p) * x[k];
                    for j in 0..K {
                        through[j] += c * x[j];
                    }
                }
                g = [g[0] + through[0], g[1] + through[1]];
            }
            let e = p - y;
            g = [g[0] + e * x[0], g[1] + e];
        }
        (loss, grad)
    }

    /// Mean NLL per trial over animals and its gradient in (a, b) = (α, α β) (animals in
    /// parallel).
    pub fn objective(&self, animals: &[Animal], w0: &[[f64; K]]) -> (f64, [f64; 2 * K]) {
        use rayon::prelude::*;
        let n: usize = animals.iter().map(|a| a.trials.len()).sum();
        let (loss, grad) = animals
            .par_iter()
            .zip(w0)
            .map(|(a, &w)| self.animal(&a.trials, w))
            .reduce(
                || (0.0, [0.0; 2 * K]),
                |(la, ga), (lb, gb)| (la + lb, std::array::from_fn(|i| ga[i] + gb[i])),
            );
        let inv = 1.0 / n as f64;
        (loss * inv, grad.map(|v| v * inv))
    }
}

impl Baseline {
    /// w_0 for held-out animals: each one's logistic fit refined to the w_0 under which
    /// the rule best predicts its first choices, as for the networks
    /// ([`super::w0::heldout_w0_under`]).
    pub fn heldout_w0(&self, data: &super::data::Dataset) -> Vec<[f64; K]> {
        use super::options::Init;
        use super::w0::{heldout_w0, refine_w0, W0_TRIALS};
        use rayon::prelude::*;
        data.animals
            .par_iter()
            .zip(heldout_w0(Init::PerAnimal, data))
            .map(|(a, w)| {
                let first = &a.trials[..a.trials.len().min(W0_TRIALS)];
                refine_w0(|w0| self.animal(first, w0).0, w)
            })
            .collect()
    }
}

/// The objective as the path optimiser's evaluator: one "path" of four numbers.
struct Objective<'a> {
    animals: &'a [Animal],
    w0: &'a [[f64; K]],
}

impl crate::lbfgs::Evaluate for Objective<'_> {
    fn eval(
        &mut self,
        theta: &[f64],
        _active: &[bool],
        s: &mut [f64],
        grad: &mut [f64],
    ) -> crate::error::Result<()> {
        let (f, g) = Baseline::from_ab(theta).objective(self.animals, self.w0);
        s[0] = f;
        grad.copy_from_slice(&g);
        Ok(())
    }
}

/// Fits α and β by L-BFGS (the path optimiser's, with its line search) on the full
/// data from α = 0.01, β = 0, at most `max_iter` iterations. β is weakly identified
/// (the likelihood is flat along it where α is small); the fit is judged by its
/// likelihood.
pub fn fit(animals: &[Animal], w0: &[[f64; K]], max_iter: usize) -> crate::error::Result<Baseline> {
    let mut theta = [0.01, 0.01, 0.0, 0.0];
    let stop = crate::lbfgs::Stop {
        gtol: 1e-9,
        ftol: 1e-12,
        max_iter,
        memory: 10,
    };
    crate::lbfgs::minimise(&mut Objective { animals, w0 }, &mut theta, 4, &stop)?;
    Ok(Baseline::from_ab(&theta))
}
