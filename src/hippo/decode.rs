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
        let x = |j: usize| if j < self.n { rates[j] as f64 } else { 1.0 };
        let a = 2.0 * std::f64::consts::PI * position;
        let y = [a.cos(), a.sin()];
        for i in 0..d {
            let xi = x(i);
            // The upper triangle; fit mirrors it.
            for j in i..d {
                self.gram[i * d + j] += xi * x(j);
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
