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

impl Ridge {
    /// Fits rates (one row per sample, `n` features) to positions in [0, 1) m on the
    /// ring, with penalty `lambda` on the rate weights.
    pub fn fit(rates: &[Vec<f32>], positions: &[f64], lambda: f64) -> crate::Result<Ridge> {
        let n = rates.first().map_or(0, |r| r.len());
        if rates.len() <= n || rates.len() != positions.len() {
            return Err(crate::Error::invalid(
                "decoder",
                format!("{} samples of {n} rates are too few to fit", rates.len()),
            ));
        }
        let d = n + 1;
        let x = DMatrix::from_fn(
            rates.len(),
            d,
            |i, j| if j < n { rates[i][j] as f64 } else { 1.0 },
        );
        let mut gram = x.transpose() * &x;
        for j in 0..n {
            gram[(j, j)] += lambda;
        }
        let chol = gram.cholesky().ok_or_else(|| {
            crate::Error::invalid("decoder", "the rates' Gram matrix is singular".to_string())
        })?;
        let weights = [0, 1].map(|k| {
            let y = DVector::from_iterator(
                positions.len(),
                positions.iter().map(|&p| {
                    let a = 2.0 * std::f64::consts::PI * p;
                    if k == 0 {
                        a.cos()
                    } else {
                        a.sin()
                    }
                }),
            );
            chol.solve(&(x.transpose() * y)).iter().copied().collect()
        });
        Ok(Ridge { weights })
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
