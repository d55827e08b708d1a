//! A PsyTrack-style baseline (Roy et al., Neuron 2021): no learning rule, the GLM's
//! weights take a Gaussian random walk
//!
//! ```text
//! w_0 ~ N(0, σ_init² I),  w_t = w_{t−1} + N(0, diag(σ²)),  p(y_t = 1) = σ(w_t · x_t),
//! ```
//!
//! with one σ per weight shared by the animals. The weights' MAP given an animal's
//! choices comes by Newton's method on the log posterior, whose Hessian is block
//! tridiagonal (2 × 2 blocks a trial: the trial's likelihood on the diagonal, the walk
//! between neighbours); σ maximises the Laplace approximation of the evidence summed
//! over the training animals. Held-out animals are scored by the walk's approximate
//! filter: each choice predicted from the earlier ones only (a Gaussian belief over w,
//! the logistic's predictive by the probit approximation, the update by one Newton step
//! at the prior's mean), so the score is a prediction, as the other models' are.

use super::data::{Animal, Trial};
use super::net::K;
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;

/// The prior's standard deviation of w_0 (the weights' scale is a few units).
pub const SIGMA_INIT: f64 = 4.0;

/// The range searched for each σ.
const LOG_SIGMA: (f64, f64) = (-10.0, 0.0);

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PsyTrack {
    /// The walk's standard deviation per trial, per weight (stimulus, bias).
    pub sigma: [f64; K],
}

type M2 = [[f64; 2]; 2];

fn x_of(t: &Trial) -> [f64; K] {
    [t.stimulus, 1.0]
}

fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// log σ(a) if y = 1, log(1 − σ(a)) if y = 0, stably.
fn log_lik(a: f64, y: u8) -> f64 {
    let s = if y == 1 { a } else { -a };
    -((-s).max(0.0) + (-s.abs()).exp().ln_1p())
}

fn inv(m: M2) -> (M2, f64) {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    (
        [
            [m[1][1] / det, -m[0][1] / det],
            [-m[1][0] / det, m[0][0] / det],
        ],
        det,
    )
}

fn mul_v(m: &M2, v: [f64; 2]) -> [f64; 2] {
    [
        m[0][0] * v[0] + m[0][1] * v[1],
        m[1][0] * v[0] + m[1][1] * v[1],
    ]
}

impl PsyTrack {
    /// Per trial and weight, the prior precision's diagonal and the walk's coupling
    /// −1/σ² to the next trial.
    fn prior_diag(&self, t: usize, n: usize, k: usize) -> f64 {
        let walk = 1.0 / (self.sigma[k] * self.sigma[k]);
        let mut d = 0.0;
        if t == 0 {
            d += 1.0 / (SIGMA_INIT * SIGMA_INIT);
        }
        if t > 0 {
            d += walk;
        }
        if t + 1 < n {
            d += walk;
        }
        d
    }

    /// The MAP weights of one animal (starting from `w`, replaced) and the Laplace
    /// approximation of its log evidence.
    pub fn map(&self, trials: &[Trial], w: &mut [[f64; K]]) -> f64 {
        let n = trials.len();
        let walk = [0, 1].map(|k| 1.0 / (self.sigma[k] * self.sigma[k]));
        let mut s_inv: Vec<M2> = vec![[[0.0; 2]; 2]; n];
        let mut z = vec![[0.0; 2]; n];
        let mut step = vec![[0.0; 2]; n];
        let log_post = |w: &[[f64; K]]| {
            let mut lp = 0.0;
            for (t, tr) in trials.iter().enumerate() {
                lp += log_lik(w[t][0] * tr.stimulus + w[t][1], tr.choice);
                for (k, &sigma) in self.sigma.iter().enumerate() {
                    let d = if t == 0 {
                        w[0][k] / SIGMA_INIT
                    } else {
                        (w[t][k] - w[t - 1][k]) / sigma
                    };
                    lp -= 0.5 * d * d;
                }
            }
            lp
        };
        let mut current = log_post(w);
        let mut log_det = 0.0;
        for _ in 0..50 {
            // Block LDLᵀ of H = −∇² log posterior (S_t = A_t − B S_{t−1}⁻¹ B, B =
            // diag(−1/σ²)), solving H step = ∇ log posterior on the way.
            log_det = 0.0;
            for t in 0..n {
                let tr = &trials[t];
                let x = x_of(tr);
                let p = sigmoid(w[t][0] * x[0] + w[t][1]);
                let v = p * (1.0 - p);
                let mut a: M2 = [[0.0; 2]; 2];
                let mut g = [0.0; 2];
                for i in 0..K {
                    for j in 0..K {
                        a[i][j] = v * x[i] * x[j];
                    }
                    a[i][i] += self.prior_diag(t, n, i);
                    g[i] = (tr.choice as f64 - p) * x[i];
                    // The prior's gradient: −(C⁻¹ w)_t.
                    let mut cw = self.prior_diag(t, n, i) * w[t][i];
                    if t > 0 {
                        cw -= walk[i] * w[t - 1][i];
                    }
                    if t + 1 < n {
                        cw -= walk[i] * w[t + 1][i];
                    }
                    g[i] -= cw;
                }
                if t > 0 {
                    // A_t − B S⁻¹ B with B diagonal; z_t = g_t − B S⁻¹ z_{t−1}.
                    let si = s_inv[t - 1];
                    let sz = mul_v(&si, z[t - 1]);
                    for i in 0..K {
                        for j in 0..K {
                            a[i][j] -= walk[i] * si[i][j] * walk[j];
                        }
                        g[i] += walk[i] * sz[i];
                    }
                }
                let (si, det) = inv(a);
                log_det += det.ln();
                s_inv[t] = si;
                z[t] = g;
            }
            for t in (0..n).rev() {
                let mut r = z[t];
                if t + 1 < n {
                    for (i, ri) in r.iter_mut().enumerate() {
                        *ri += walk[i] * step[t + 1][i];
                    }
                }
                step[t] = mul_v(&s_inv[t], r);
            }
            // Newton's step, halved while it does not raise the log posterior.
            let mut scale = 1.0;
            let mut next: Vec<[f64; K]> = w.to_vec();
            let mut gain = None;
            for _ in 0..30 {
                for t in 0..n {
                    for k in 0..K {
                        next[t][k] = w[t][k] + scale * step[t][k];
                    }
                }
                let lp = log_post(&next);
                if lp >= current {
                    gain = Some(lp - current);
                    current = lp;
                    break;
                }
                scale *= 0.5;
            }
            match gain {
                Some(g) => {
                    w.copy_from_slice(&next);
                    if g < 1e-10 {
                        break;
                    }
                }
                None => break,
            }
        }
        // log p(y | σ) ≈ log p(y, w*) − ½ log det H + (D/2) log 2π, with log p(w*) =
        // log_post's prior part − ½ log det(2π C): the 2π terms cancel.
        let log_det_c: f64 = (0..K)
            .map(|k| 2.0 * SIGMA_INIT.ln() + 2.0 * (n as f64 - 1.0) * self.sigma[k].ln())
            .sum();
        current - 0.5 * log_det_c - 0.5 * log_det
    }

    /// The filter's log-likelihood of each choice given the earlier ones, summed.
    pub fn predictive(&self, trials: &[Trial]) -> f64 {
        let mut m = [0.0; K];
        let v0 = SIGMA_INIT * SIGMA_INIT;
        let mut p_cov: M2 = [[v0, 0.0], [0.0, v0]];
        let mut ll = 0.0;
        for tr in trials {
            let x = x_of(tr);
            let a = m[0] * x[0] + m[1];
            let px = mul_v(&p_cov, x);
            let var = x[0] * px[0] + x[1] * px[1];
            // The probit approximation of E[σ(w·x)] under the belief.
            let kappa = 1.0 / (1.0 + std::f64::consts::PI * var / 8.0).sqrt();
            ll += log_lik(kappa * a, tr.choice);
            // One Newton step from the mean: precision += p(1 − p) x xᵀ.
            let p = sigmoid(a);
            let h = p * (1.0 - p);
            let denom = 1.0 + h * var;
            for i in 0..K {
                for j in 0..K {
                    p_cov[i][j] -= h * px[i] * px[j] / denom;
                }
            }
            let post_px = mul_v(&p_cov, x);
            for i in 0..K {
                m[i] += post_px[i] * (tr.choice as f64 - p);
                p_cov[i][i] += self.sigma[i] * self.sigma[i];
            }
        }
        ll
    }
}

/// Fits σ by maximising the summed Laplace evidence of the animals: per weight a
/// golden-section search over log σ, two rounds of coordinate ascent. Returns the fit
/// and the mean filter log-likelihood per trial of the training animals.
pub fn fit(animals: &[Animal]) -> Result<(PsyTrack, f64)> {
    if animals.is_empty() {
        return Err(Error::invalid("psytrack", "no animals to fit"));
    }
    let mut ws: Vec<Vec<[f64; K]>> = animals
        .iter()
        .map(|a| vec![[0.0; K]; a.trials.len()])
        .collect();
    let evidence = |fit: &PsyTrack, ws: &mut Vec<Vec<[f64; K]>>| -> f64 {
        animals
            .par_iter()
            .zip(ws.par_iter_mut())
            .map(|(a, w)| fit.map(&a.trials, w))
            .sum()
    };
    let mut best = PsyTrack {
        sigma: [0.01, 0.01],
    };
    let golden = 0.5 * (5f64.sqrt() - 1.0);
    for _round in 0..2 {
        for k in 0..K {
            let at = |log_s: f64, best: &PsyTrack| {
                let mut f = *best;
                f.sigma[k] = log_s.exp();
                f
            };
            let (mut lo, mut hi) = LOG_SIGMA;
            let mut c = hi - golden * (hi - lo);
            let mut d = lo + golden * (hi - lo);
            let mut fc = evidence(&at(c, &best), &mut ws);
            let mut fd = evidence(&at(d, &best), &mut ws);
            while hi - lo > 0.05 {
                if fc > fd {
                    (hi, d, fd) = (d, c, fc);
                    c = hi - golden * (hi - lo);
                    fc = evidence(&at(c, &best), &mut ws);
                } else {
                    (lo, c, fc) = (c, d, fd);
                    d = lo + golden * (hi - lo);
                    fd = evidence(&at(d, &best), &mut ws);
                }
            }
            best = at(0.5 * (lo + hi), &best);
        }
    }
    Ok((best, log_likelihood(&best, animals)))
}

/// The filter's summed log-likelihood over the animals.
fn mean_predictive(fit: &PsyTrack, animals: &[Animal]) -> f64 {
    animals.par_iter().map(|a| fit.predictive(&a.trials)).sum()
}

/// The filter's mean log-likelihood per trial of the animals (nats).
pub fn log_likelihood(fit: &PsyTrack, animals: &[Animal]) -> f64 {
    let trials: usize = animals.iter().map(|a| a.trials.len()).sum();
    mean_predictive(fit, animals) / trials as f64
}
