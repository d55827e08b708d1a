//! A group's hyper-parameters: every member's numbers in one struct, of which each
//! member reads those its spec names.

use serde::{Deserialize, Serialize};

/// Hyper-parameters of one group. Each member reads the fields its spec names; the rest
/// are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hyper {
    /// Step size (sgd, ballistic, adam, adamw, kalman).
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// adamw: decoupled decay lambda (theta -= lr * lambda * theta); adabayes: weight
    /// drift lambda (theta *= 1 - lambda).
    pub weight_decay: f64,
    /// adabayes(_fp): prior variance sigma^2 of the OU weight prior.
    pub sigma2: f64,
    /// adabayes(_fp): the Adam-like learning rate eta.
    pub eta: f64,
    /// adabayes(_fp): batch size B; the kernels use g = B * (mean gradient).
    pub batch: f64,
    /// kalman: process variance of the gradient's random walk.
    pub q: f64,
    /// kalman: floor of the noise estimate's update.
    pub r_min: f64,
    /// kalman: initial posterior variance (large: a flat prior).
    pub p0: f64,
    /// kalman: initial noise estimate.
    pub r0: f64,
    /// control rules (landscape family): the discount γ ≥ 0 and the loss weight k > 0
    /// (with eta, the inverse mass η).
    pub gamma: f64,
    pub k: f64,
}

impl Default for Hyper {
    fn default() -> Self {
        Hyper {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            sigma2: 1e-2,
            eta: 1e-3,
            batch: 1.0,
            q: 1e-4,
            r_min: 1e-12,
            p0: 1e3,
            r0: 1.0,
            gamma: 0.0,
            k: 1.0,
        }
    }
}
