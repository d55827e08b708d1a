//! Experiment A's latents (spec §3): independent Gaussian-process signals with an RBF
//! kernel (timescale 1 s, unit variance), sampled on the simulation's time grid
//! autoregressively: each new sample is drawn from its Gaussian conditional on the
//! last 3 s (the exact conditional of that window), the first window exactly from the
//! joint. The kernel carries a jitter of 1e-6 on its diagonal (a white-noise floor of
//! variance 1e-6), which keeps the smooth kernel's matrices well conditioned.

use crate::real::dot;
use crate::rng::{key_from_seed, normal_pair, philox4x32_10};
use nalgebra::{DMatrix, DVector};

const JITTER: f64 = 1e-6;
const PURPOSE: u32 = 0x4c41_0001;

/// A sampler of `n` latent signals.
#[derive(Clone, Debug)]
pub struct Latents {
    /// Conditional mean coefficients on the window (oldest first) and the conditional sd.
    coef: Vec<f64>,
    sd: f64,
    /// Per signal, its last samples twice over (2 × window): the window (oldest first)
    /// is `history[s][at..at + window]`, so a new sample is written, not shifted in.
    history: Vec<Vec<f64>>,
    at: usize,
    key: [u32; 2],
    step: u64,
}

fn kernel(lag_steps: f64, dt: f64, timescale: f64) -> f64 {
    let tau = lag_steps * dt / timescale;
    (-0.5 * tau * tau).exp()
}

impl Latents {
    /// `n` signals on a grid of `dt` s, timescale `timescale` s, conditioned on the last
    /// `window` s, from `seed`.
    pub fn new(
        n: usize,
        dt: f64,
        timescale: f64,
        window: f64,
        seed: u64,
    ) -> crate::Result<Latents> {
        let w = ((window / dt).round() as usize).max(1);
        let k = DMatrix::from_fn(w, w, |i, j| {
            kernel(i as f64 - j as f64, dt, timescale) + if i == j { JITTER } else { 0.0 }
        });
        let chol = k.clone().cholesky().ok_or_else(|| {
            crate::Error::invalid("latents", "the kernel matrix is not positive definite")
        })?;
        // The next sample's covariance with the window (oldest first).
        let k_star = DVector::from_fn(w, |i, _| kernel((w - i) as f64, dt, timescale));
        let coef = chol.solve(&k_star);
        let var = (1.0 + JITTER - k_star.dot(&coef)).max(0.0);
        let key = key_from_seed(seed);
        // The first window of every signal, exactly: L z.
        let l = chol.l();
        let history = (0..n)
            .map(|s| {
                let z = DVector::from_fn(w, |i, _| normal(key, i as u64, s as u32, 1));
                let first: Vec<f64> = (l.clone() * z).iter().copied().collect();
                [first.clone(), first].concat()
            })
            .collect();
        Ok(Latents {
            coef: coef.iter().copied().collect(),
            sd: var.sqrt(),
            history,
            at: 0,
            key,
            step: 0,
        })
    }

    /// The next sample of every signal.
    pub fn next(&mut self, out: &mut [f64]) {
        let w = self.coef.len();
        for (s, (h, o)) in self.history.iter_mut().zip(out.iter_mut()).enumerate() {
            let mean = dot(&h[self.at..self.at + w], &self.coef);
            let x = mean + self.sd * normal(self.key, self.step, s as u32, 2);
            // The oldest sample's two slots take the newest.
            h[self.at] = x;
            h[self.at + w] = x;
            *o = x;
        }
        self.at = (self.at + 1) % w;
        self.step += 1;
    }
}

fn normal(key: [u32; 2], step: u64, stream: u32, kind: u32) -> f64 {
    let w = philox4x32_10(
        [step as u32, (step >> 32) as u32, stream, PURPOSE ^ kind],
        key,
    );
    normal_pair::<f64>(w[0], w[1]).0
}
