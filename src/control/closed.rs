//! The closed forms of `../shared/specs/landscape.md` §2: learning rules as the optimal
//! feedback of a discounted linear-quadratic control problem, in f64.
//!
//! A learner minimises J = ∫ e^{−γt} [ (θ̇ − f)ᵀ G (θ̇ − f) / (2η) + k L(θ) ] dt on the
//! quadratic L = ½ (θ − μ)ᵀ H (θ − μ). With f = 0 and diagonal H and G the optimal
//! feedback is linear, θ̇_i = −r_i (θ_i − μ_i), coordinate by coordinate; the value is
//! V = ½ Σ p_i (θ_i − μ_i)², with η p² / g + γ p = k h (Riccati) and r = η p / g.

use crate::error::{Error, Result};
use serde::Serialize;

/// The control problem's constants: discount γ ≥ 0, inverse mass η > 0, loss weight
/// k > 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Control {
    pub gamma: f64,
    pub eta: f64,
    pub k: f64,
}

impl Control {
    /// Checks the constants; the error names the option.
    pub fn new(gamma: f64, eta: f64, k: f64) -> Result<Control> {
        if !(gamma >= 0.0 && gamma.is_finite()) {
            return Err(Error::invalid(
                "gamma",
                format!("{gamma} must be finite and >= 0"),
            ));
        }
        if !(eta > 0.0 && eta.is_finite()) {
            return Err(Error::invalid(
                "eta",
                format!("{eta} must be finite and > 0"),
            ));
        }
        if !(k > 0.0 && k.is_finite()) {
            return Err(Error::invalid("k", format!("{k} must be finite and > 0")));
        }
        Ok(Control { gamma, eta, k })
    }

    /// The optimal rate r = sqrt(γ²/4 + ηkh/g) − γ/2 of a coordinate with curvature h
    /// and metric g, written so that large γ keeps its precision (r = c / (sqrt(γ²/4 +
    /// c) + γ/2) with c = ηkh/g: no cancellation).
    pub fn rate(&self, h: f64, g: f64) -> f64 {
        let c = self.eta * self.k * h / g;
        c / ((self.gamma * self.gamma / 4.0 + c).sqrt() + self.gamma / 2.0)
    }

    /// The Riccati coefficient p (the value's curvature): r = η p / g.
    pub fn riccati(&self, h: f64, g: f64) -> f64 {
        g * self.rate(h, g) / self.eta
    }

    /// θ(t) under the optimal feedback from θ0.
    pub fn trajectory(&self, h: f64, g: f64, theta0: f64, mu: f64, t: f64) -> f64 {
        mu + (-self.rate(h, g) * t).exp() * (theta0 - mu)
    }

    /// The discounted cost paid up to time t from θ0.
    pub fn cost(&self, h: f64, g: f64, theta0: f64, mu: f64, t: f64) -> f64 {
        let r = self.rate(h, g);
        let d = 2.0 * r + self.gamma;
        let running = g * r * r / (2.0 * self.eta) + self.k * h / 2.0;
        running * (theta0 - mu).powi(2) * (1.0 - (-d * t).exp()) / d
    }

    /// The whole discounted cost, J∞ = V(θ0) = ½ p (θ0 − μ)².
    pub fn cost_to_go(&self, h: f64, g: f64, theta0: f64, mu: f64) -> f64 {
        0.5 * self.riccati(h, g) * (theta0 - mu).powi(2)
    }

    /// With a weight-decay drift f = −jθ (one coordinate, g = 1): the closed loop's
    /// rate sqrt(γ²/4 + ηkh + j² + γj) − γ/2 and its fixed point ηkhμ / (ηkh + j² + γj).
    pub fn decay_drift(&self, h: f64, mu: f64, j: f64) -> (f64, f64) {
        let a = self.eta * self.k * h;
        let g2 = self.gamma / 2.0;
        let rate = (g2 * g2 + a + j * j + self.gamma * j).sqrt() - g2;
        (rate, a * mu / (a + j * j + self.gamma * j))
    }

    /// With a rotation drift f = qAθ (two coordinates, A = [[0, −1], [1, 0]], isotropic h,
    /// G = I): the closed loop spirals in at rate sqrt(γ²/4 + ηkh) − γ/2 with angular
    /// frequency q, to ηkh (aI + γqA) μ / (a² + γ²q²), a = ηkh + q². Returns (rate,
    /// frequency, fixed point).
    ///
    /// The spec (§2) writes aI − γqA. Solving the HJB equation (V = ½p|θ|² + bᵀθ:
    /// (γ + ηp) b − qAᵀb = −khμ, then qAθ∞ = η(pθ∞ + b)) gives aI + γqA for this A, and
    /// an RK4 integration of that closed loop agrees (tests/control.rs); the sign flips
    /// with A's orientation, and at γ = 0 the two agree.
    pub fn rotation_drift(&self, h: f64, mu: [f64; 2], q: f64) -> (f64, f64, [f64; 2]) {
        let ekh = self.eta * self.k * h;
        let a = ekh + q * q;
        let den = a * a + self.gamma * self.gamma * q * q;
        let gq = self.gamma * q;
        // (aI + γqA) μ with Aμ = (−μ1, μ0).
        let fixed = [
            ekh * (a * mu[0] - gq * mu[1]) / den,
            ekh * (a * mu[1] + gq * mu[0]) / den,
        ];
        (self.rate(h, 1.0), q, fixed)
    }

    /// The optimal path between fixed endpoints θ(0) = θ0 and θ(T) = θT (f = 0, G = 1):
    /// θ(t) − μ = c1 e^{λ+ t} + c2 e^{λ− t}, λ± = γ/2 ± sqrt(γ²/4 + ηkh), the solution of
    /// the Euler–Lagrange equation θ̈ − γθ̇ − ηkh (θ − μ) = 0.
    pub fn fixed_endpoints(
        &self,
        h: f64,
        mu: f64,
        theta0: f64,
        theta_t: f64,
        t_end: f64,
    ) -> Bridge {
        let s = (self.gamma * self.gamma / 4.0 + self.eta * self.k * h).sqrt();
        let (lp, lm) = (self.gamma / 2.0 + s, self.gamma / 2.0 - s);
        let (a, b) = (theta0 - mu, theta_t - mu);
        // c1 e^{λ+ T} is computed as c1' = c1 e^{λ+ T} so large λ+ T cannot overflow:
        // θ − μ = c1' e^{λ+ (t − T)} + c2 e^{λ− t}.
        let (ep, em) = ((-lp * t_end).exp(), (lm * t_end).exp());
        // c1' ep + c2 = a; c1' + c2 em = b.
        let det = ep * em - 1.0;
        let c1 = (a * em - b) / det;
        let c2 = (b * ep - a) / det;
        Bridge {
            mu,
            lp,
            lm,
            c1,
            c2,
            t_end,
        }
    }
}

/// A fixed-endpoint optimal path (see [`Control::fixed_endpoints`]).
#[derive(Clone, Copy, Debug)]
pub struct Bridge {
    pub mu: f64,
    pub lp: f64,
    pub lm: f64,
    c1: f64,
    c2: f64,
    t_end: f64,
}

impl Bridge {
    pub fn at(&self, t: f64) -> f64 {
        self.mu + self.c1 * (self.lp * (t - self.t_end)).exp() + self.c2 * (self.lm * t).exp()
    }
}

/// The closed loop for a dense Hessian and G = I: H = U diag(h) Uᵀ, P = U diag(p) Uᵀ, and
/// the feedback θ̇ = −η P (θ − μ). Returns (P row-major, the rates r_i along the
/// eigenvectors, the eigenvalues h_i), eigenvalues ascending.
pub fn dense(c: &Control, h: &[f64], d: usize) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    if h.len() != d * d {
        return Err(Error::invalid(
            "h",
            format!(
                "holds {} values; a {d} x {d} matrix needs {}",
                h.len(),
                d * d
            ),
        ));
    }
    let m = nalgebra::DMatrix::from_row_slice(d, d, h);
    if (&m - m.transpose()).abs().max() > 1e-12 * m.abs().max().max(1.0) {
        return Err(Error::invalid("h", "must be symmetric"));
    }
    let eig = nalgebra::SymmetricEigen::new(m);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let hs: Vec<f64> = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    if hs.iter().any(|&v| v <= 0.0) {
        return Err(Error::invalid("h", "must be positive definite"));
    }
    let ps: Vec<f64> = hs.iter().map(|&v| c.riccati(v, 1.0)).collect();
    let mut p = vec![0.0; d * d];
    for (k, &i) in order.iter().enumerate() {
        let u = eig.eigenvectors.column(i);
        for r in 0..d {
            for col in 0..d {
                p[r * d + col] += u[r] * ps[k] * u[col];
            }
        }
    }
    let rates = hs.iter().map(|&v| c.rate(v, 1.0)).collect();
    Ok((p, rates, hs))
}

/// One row of `rulelab control rates`: a coordinate's rate, Riccati coefficient and
/// whole discounted cost from a unit displacement (θ0 − μ = 1).
#[derive(Clone, Debug, Serialize)]
pub struct RateRow {
    pub gamma: f64,
    pub h: f64,
    pub g: f64,
    pub rate: f64,
    pub p: f64,
    pub j_inf: f64,
}

/// The table for every γ and coordinate.
pub fn rates(eta: f64, k: f64, gammas: &[f64], h: &[f64], g: &[f64]) -> Result<Vec<RateRow>> {
    if h.is_empty() {
        return Err(Error::invalid("h", "name at least one curvature"));
    }
    if g.len() != h.len() {
        return Err(Error::invalid(
            "g",
            format!("has {} values; h has {}", g.len(), h.len()),
        ));
    }
    for (name, v) in [("h", h), ("g", g)] {
        if let Some(x) = v.iter().find(|x| !(**x > 0.0 && x.is_finite())) {
            return Err(Error::invalid(name, format!("{x} must be finite and > 0")));
        }
    }
    let mut rows = Vec::new();
    for &gamma in gammas {
        let c = Control::new(gamma, eta, k)?;
        for (&hi, &gi) in h.iter().zip(g) {
            rows.push(RateRow {
                gamma,
                h: hi,
                g: gi,
                rate: c.rate(hi, gi),
                p: c.riccati(hi, gi),
                j_inf: c.cost_to_go(hi, gi, 1.0, 0.0),
            });
        }
    }
    Ok(rows)
}
