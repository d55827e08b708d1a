//! The discretised action of a path (`../shared/specs/landscape.md` §1) and its
//! gradient, for a batch of paths on one landscape.
//!
//! A path is θ_0..θ_N over [0, T], Δt = T/N. With v_n = (θ_{n+1} − θ_n)/Δt − f(θ_n) and
//! w_n = e^{−γ t_n} / N,
//!
//! ```text
//! S = Σ_{n=0}^{N−1} w_n [ v_nᵀ G v_n / (2η) + k L(θ_n) ]
//! ```
//!
//! (the running cost at the left point of each interval: θ_N carries no loss term). The
//! gradient with respect to a free point θ_m is
//!
//! ```text
//! ∂S/∂θ_m = w_{m−1} G v_{m−1} / (η Δt)
//!         + w_m [ −(I/Δt + J_f(θ_m))ᵀ G v_m / η + k ∇L(θ_m) ]     (the last term if m < N)
//! ```
//!
//! θ_0 is fixed, θ_N fixed or free; the gradient of a fixed point is 0. The drift f is
//! none, a decay −jθ, or a rotation qAθ on coordinate pairs (A = [[0, −1], [1, 0]]).

use crate::loss::data::Shared;
use crate::loss::eval::{curvature, loss_grad};
use crate::loss::{Drift, Landscape, Shape};
use crate::real::Real;
use serde::{Deserialize, Serialize};

/// The shape every path of a batch shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathShape {
    /// Intervals N (the path has N + 1 points).
    pub n: usize,
    /// The horizon T.
    pub t_end: f64,
    /// θ_N is a variable (true) or fixed.
    pub free_end: bool,
    pub drift: Drift,
    /// The metric G's diagonal (dim values).
    pub g: Vec<f64>,
}

/// One path's constants (its landscape numbers are in a landscape [`Shape`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathConsts {
    pub gamma: f64,
    pub eta: f64,
    pub k: f64,
}

/// S of one path (points (N + 1) × dim, row-major) and, into `grad` (same shape), its
/// gradient; fixed points get 0.
#[allow(clippy::too_many_arguments)]
pub fn action<F: Real>(
    landscape: &Landscape,
    shared: &Shared<F>,
    p: &Shape,
    shape: &PathShape,
    c: &PathConsts,
    theta: &[F],
    grad: &mut [F],
) -> F {
    let d = landscape.dim;
    let n = shape.n;
    let dt = F::c(shape.t_end / n as f64);
    let h = curvature::<F>(landscape, shared, p);
    let g: Vec<F> = shape.g.iter().map(|&x| F::c(x)).collect();
    let (eta, k) = (F::c(c.eta), F::c(c.k));
    // w_m = e^{−γ t_m} / N, by one exponential and a product per step.
    let decay = (-c.gamma * shape.t_end / n as f64).exp();
    let (mut w_prev, mut w_m) = (F::zero(), 1.0 / n as f64);
    let mut lgrad = vec![F::zero(); d];
    let mut v_prev = vec![F::zero(); d];
    let mut v = vec![F::zero(); d];
    let mut gv = vec![F::zero(); d];
    let mut s = F::zero();
    // Fixed points have zero gradient; every free point is written below.
    grad[..d].iter_mut().for_each(|x| *x = F::zero());
    if !shape.free_end {
        grad[n * d..].iter_mut().for_each(|x| *x = F::zero());
    }
    for m in 0..=n {
        let at = &theta[m * d..(m + 1) * d];
        // v_m and the running cost of interval m.
        if m < n {
            let next = &theta[(m + 1) * d..(m + 2) * d];
            let loss = loss_grad(landscape, shared, p, &h, at, &mut lgrad);
            let mut kinetic = F::zero();
            for i in 0..d {
                v[i] = (next[i] - at[i]) / dt - shape.drift.at(at, i);
                gv[i] = g[i] * v[i];
                kinetic = kinetic + gv[i] * v[i];
            }
            s = s + F::c(w_m) * (kinetic / (F::c(2.0) * eta) + k * loss);
        }
        let free = m > 0 && (m < n || shape.free_end);
        if free {
            let out = &mut grad[m * d..(m + 1) * d];
            for i in 0..d {
                let mut x = w_prev * g[i] * v_prev[i] / (eta * dt);
                if m < n {
                    x = x + F::c(w_m)
                        * (-(gv[i] / dt + shape.drift.jt(&gv, i)) / eta + k * lgrad[i]);
                }
                out[i] = x;
            }
        }
        std::mem::swap(&mut v_prev, &mut v);
        w_prev = F::c(w_m);
        w_m *= decay;
    }
    s
}

/// S and its gradient for every path of a batch, in parallel (the CPU device in f32,
/// the reference in f64).
#[allow(clippy::too_many_arguments)]
pub fn actions<F: Real>(
    landscape: &Landscape,
    shared: &Shared<F>,
    params: &[Shape],
    consts: &[PathConsts],
    shape: &PathShape,
    theta: &[F],
    grad: &mut [F],
) -> Vec<F> {
    use rayon::prelude::*;
    let len = (shape.n + 1) * landscape.dim;
    grad.par_chunks_mut(len)
        .zip(theta.par_chunks(len))
        .zip(params.par_iter().zip(consts.par_iter()))
        .map(|((g, t), (p, c))| action(landscape, shared, p, shape, c, t, g))
        .collect()
}
