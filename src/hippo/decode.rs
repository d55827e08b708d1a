//! Decoding the agent's position from HPC soma rates: ridge regression of (cos, sin) of
//! the angle on the rates and a constant, angle = atan2. The published code fits a
//! Gaussian-process regressor (minutes per fit); this linear readout of the place-code
//! takes milliseconds (spec §7 allows a faster default).

use nalgebra::{DMatrix, DVector};

/// A fitted readout: weights per output (cos, sin) over the rates and a constant.
#[derive(Clone, Debug)]
pub struct Ridge {
    pub weights: [Vec<f64>; 2],
}

/// The sufficient statistics of a ridge fit, accumulated sample by sample (so a long
/// recording is never kept): XᵀX and Xᵀ(cos, sin) over the rates and a constant.
#[derive(Clone, Debug)]
pub struct RidgeStats {
    n: usize,
    gram: Vec<f64>,
    xty: [Vec<f64>; 2],
    samples: usize,
}

impl RidgeStats {
    /// For `n` rates per sample.
    pub fn new(n: usize) -> RidgeStats {
        let d = n + 1;
        RidgeStats {
            n,
            gram: vec![0.0; d * d],
            xty: [vec![0.0; d], vec![0.0; d]],
            samples: 0,
        }
    }

    /// Adds one sample: rates and the position in [0, 1) m on the ring.
    pub fn add(&mut self, rates: &[f32], position: f64) {
        let d = self.n + 1;
        let mut x: Vec<f64> = rates[..self.n].iter().map(|&r| r as f64).collect();
        x.push(1.0);
        let a = 2.0 * std::f64::consts::PI * position;
        let y = [a.cos(), a.sin()];
        for (i, &xi) in x.iter().enumerate() {
            // The upper triangle; fit mirrors it.
            let row = &mut self.gram[i * d + i..(i + 1) * d];
            for (g, &xj) in row.iter_mut().zip(&x[i..]) {
                *g += xi * xj;
            }
            self.xty[0][i] += xi * y[0];
            self.xty[1][i] += xi * y[1];
        }
        self.samples += 1;
    }

    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Solves the ridge problem with penalty `lambda` on the rate weights.
    pub fn fit(&self, lambda: f64) -> crate::Result<Ridge> {
        let (n, d) = (self.n, self.n + 1);
        if self.samples <= n {
            return Err(crate::Error::invalid(
                "decoder",
                format!("{} samples of {n} rates are too few to fit", self.samples),
            ));
        }
        let mut gram = DMatrix::from_fn(d, d, |i, j| self.gram[i.min(j) * d + i.max(j)]);
        for j in 0..n {
            gram[(j, j)] += lambda;
        }
        let chol = gram.cholesky().ok_or_else(|| {
            crate::Error::invalid("decoder", "the rates' Gram matrix is singular".to_string())
        })?;
        let weights = [0, 1].map(|k| {
            chol.solve(&DVector::from_column_slice(&self.xty[k]))
                .iter()
                .copied()
                .collect()
        });
        Ok(Ridge { weights })
    }
}

impl Ridge {
    /// Fits rates (one row per sample, `n` features) to positions in [0, 1) m on the
    /// ring, with penalty `lambda` on the rate weights.
    pub fn fit(rates: &[Vec<f32>], positions: &[f64], lambda: f64) -> crate::Result<Ridge> {
        let n = rates.first().map_or(0, |r| r.len());
        if rates.len() != positions.len() {
            return Err(crate::Error::invalid(
                "decoder",
                format!("{} samples for {} positions", rates.len(), positions.len()),
            ));
        }
        let mut stats = RidgeStats::new(n);
        for (r, &p) in rates.iter().zip(positions) {
            stats.add(r, p);
        }
        stats.fit(lambda)
    }

    /// The decoded position in [0, 1) m.
    pub fn position(&self, rates: &[f32]) -> f64 {
        let [c, s] = self.weights.each_ref().map(|w| {
            let n = w.len() - 1;
            w[..n]
                .iter()
                .zip(rates)
                .map(|(w, &r)| w * r as f64)
                .sum::<f64>()
                + w[n]
        });
        (s.atan2(c) / (2.0 * std::f64::consts::PI)).rem_euclid(1.0)
    }
}

/// The published code's decoder (spec §7): a Gaussian-process regressor's posterior mean
/// from HPC rates to (cos, sin) of the angle, RBF kernel of length scale 1 and variance
/// 1, noise variance 1e-10, in f64 — kernel ridge regression on every sample, a
/// Cholesky of the samples' m × m kernel (m ≈ 6,000: seconds to a minute, and m² floats
/// of memory). Where the kernel is too ill-conditioned for that noise the jitter grows
/// tenfold until the factorisation succeeds, and the one used is kept.
#[derive(Clone, Debug)]
pub struct Gp {
    n: usize,
    samples: Vec<f32>,
    alpha: [Vec<f64>; 2],
    /// The noise variance the factorisation needed (1e-10 unless it had to grow).
    pub jitter: f64,
}

/// The published decoder's kernel length scale and noise.
const GP_LENGTH: f64 = 1.0;
const GP_NOISE: f64 = 1e-10;

fn rbf(a: &[f32], b: &[f32]) -> f64 {
    let d2: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum();
    (-0.5 * d2 / (GP_LENGTH * GP_LENGTH)).exp()
}

impl Gp {
    pub fn fit(rates: &[Vec<f32>], positions: &[f64]) -> crate::Result<Gp> {
        let m = rates.len();
        let n = rates.first().map_or(0, |r| r.len());
        if m < 2 || m != positions.len() {
            return Err(crate::Error::invalid(
                "decoder",
                format!(
                    "{m} samples for {} positions: too few to fit",
                    positions.len()
                ),
            ));
        }
        let mut k = DMatrix::<f64>::zeros(m, m);
        for i in 0..m {
            for j in 0..=i {
                let v = rbf(&rates[i], &rates[j]);
                k[(i, j)] = v;
                k[(j, i)] = v;
            }
        }
        let mut jitter = GP_NOISE;
        let chol = loop {
            let mut kj = k.clone();
            for i in 0..m {
                kj[(i, i)] += jitter;
            }
            if let Some(c) = kj.cholesky() {
                break c;
            }
            jitter *= 10.0;
            if jitter > 1e-2 {
                return Err(crate::Error::invalid(
                    "decoder",
                    "the GP kernel of the rates is singular even with a noise of 1e-2",
                ));
            }
        };
        let alpha = [0, 1].map(|c| {
            let y = DVector::from_iterator(
                m,
                positions.iter().map(|&p| {
                    let a = 2.0 * std::f64::consts::PI * p;
                    if c == 0 {
                        a.cos()
                    } else {
                        a.sin()
                    }
                }),
            );
            chol.solve(&y).iter().copied().collect()
        });
        Ok(Gp {
            n,
            samples: rates.iter().flatten().copied().collect(),
            alpha,
            jitter,
        })
    }

    /// The decoded position in [0, 1) m.
    pub fn position(&self, rates: &[f32]) -> f64 {
        let (mut c, mut s) = (0.0, 0.0);
        for (i, x) in self.samples.chunks_exact(self.n).enumerate() {
            let k = rbf(x, rates);
            c += k * self.alpha[0][i];
            s += k * self.alpha[1][i];
        }
        (s.atan2(c) / (2.0 * std::f64::consts::PI)).rem_euclid(1.0)
    }
}

/// Which decoder a test uses.
#[derive(Clone, Debug)]
pub enum Decoder {
    Ridge(Ridge),
    Gp(Gp),
}

impl Decoder {
    pub fn position(&self, rates: &[f32]) -> f64 {
        match self {
            Decoder::Ridge(r) => r.position(rates),
            Decoder::Gp(g) => g.position(rates),
        }
    }
}
