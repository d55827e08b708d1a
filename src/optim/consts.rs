//! The constants one step of one group uses, derived from its hyper-parameters on the
//! host in f64 and rounded once to the compute type, so no kernel forms `1 - beta` from a
//! rounded beta.

use super::hyper::Hyper;
use num_traits::Float;

/// How the step's `decay` constant is formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decay {
    None,
    /// θ *= 1 − lr λ before the step (decoupled weight decay).
    Decoupled,
    /// θ *= 1 − λ after the step (a weight drift).
    Drift,
}

/// The constants one step of one group uses, derived on the host in f64 and then cast
/// once to the compute type. `Consts<f32>` is the WGSL struct `Consts` (layout-tested).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Consts<F> {
    pub lr: F,
    pub beta1: F,
    pub one_minus_beta1: F,
    pub beta2: F,
    pub one_minus_beta2: F,
    pub eps: F,
    /// 1 / (1 - beta1^t)
    pub bc1: F,
    /// 1 / (1 - beta2^t)
    pub bc2: F,
    /// adamw: 1 - lr * lambda; adabayes: 1 - lambda; 1 for the others.
    pub decay: F,
    /// adabayes: e^{-eta^2 / sigma^2}, the prior's memory of the last posterior.
    pub prior_keep: F,
    /// adabayes: sigma^2 (1 - e^{-eta^2 / sigma^2}).
    pub prior_add: F,
    pub batch: F,
    /// adabayes_fp: 1 / eta^2, 1 / (2 sigma^2), 1 / (4 sigma^4).
    pub inv_eta2: F,
    pub inv_2sigma2: F,
    pub inv_4sigma4: F,
    pub q: F,
    pub r_min: F,
    /// control rules: the discount γ and η·k.
    pub ctl_gamma: F,
    pub ctl_eta_k: F,
    pub _pad: [F; 1],
}

// SAFETY: `Consts<f32>` is `repr(C)` and holds only f32 fields, so it has no padding
// and every bit pattern is a valid value.
unsafe impl bytemuck::Zeroable for Consts<f32> {}
// SAFETY: as above.
unsafe impl bytemuck::Pod for Consts<f32> {}
crate::gpu_layout!(Consts<f32> as "Consts" => {
    lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, bc1, bc2, decay,
    prior_keep, prior_add, batch, inv_eta2, inv_2sigma2, inv_4sigma4, q, r_min, ctl_gamma,
    ctl_eta_k, _pad,
});

impl Consts<f64> {
    /// The constants of step `t` (1-based) for hyper-parameters `h` and a member's
    /// decay ([`Member::consts`](super::Member::consts) reads it from the member).
    pub fn for_step(decay: Decay, h: &Hyper, t: u64) -> Self {
        let t = t.min(i32::MAX as u64) as i32;
        let bc = |b: f64| {
            let d = 1.0 - b.powi(t);
            if d > 0.0 {
                1.0 / d
            } else {
                1.0
            }
        };
        let keep = (-(h.eta * h.eta) / h.sigma2).exp();
        Consts {
            lr: h.lr,
            beta1: h.beta1,
            one_minus_beta1: 1.0 - h.beta1,
            beta2: h.beta2,
            one_minus_beta2: 1.0 - h.beta2,
            eps: h.eps,
            bc1: bc(h.beta1),
            bc2: bc(h.beta2),
            decay: match decay {
                Decay::Decoupled => 1.0 - h.lr * h.weight_decay,
                Decay::Drift => 1.0 - h.weight_decay,
                Decay::None => 1.0,
            },
            prior_keep: keep,
            prior_add: h.sigma2 * (1.0 - keep),
            batch: h.batch,
            inv_eta2: 1.0 / (h.eta * h.eta),
            inv_2sigma2: 1.0 / (2.0 * h.sigma2),
            inv_4sigma4: 1.0 / (4.0 * h.sigma2 * h.sigma2),
            q: h.q,
            r_min: h.r_min,
            ctl_gamma: h.gamma,
            ctl_eta_k: h.eta * h.k,
            _pad: [0.0; 1],
        }
    }

    pub fn cast<F: Float>(&self) -> Consts<F> {
        let c = |x: f64| F::from(x).unwrap();
        Consts {
            lr: c(self.lr),
            beta1: c(self.beta1),
            one_minus_beta1: c(self.one_minus_beta1),
            beta2: c(self.beta2),
            one_minus_beta2: c(self.one_minus_beta2),
            eps: c(self.eps),
            bc1: c(self.bc1),
            bc2: c(self.bc2),
            decay: c(self.decay),
            prior_keep: c(self.prior_keep),
            prior_add: c(self.prior_add),
            batch: c(self.batch),
            inv_eta2: c(self.inv_eta2),
            inv_2sigma2: c(self.inv_2sigma2),
            inv_4sigma4: c(self.inv_4sigma4),
            q: c(self.q),
            r_min: c(self.r_min),
            ctl_gamma: c(self.ctl_gamma),
            ctl_eta_k: c(self.ctl_eta_k),
            _pad: [F::zero(); 1],
        }
    }
}

/// The Kalman filter's steady-state gain for process variance q and noise r: the root
/// in (0, 1] of K^2 / (1 - K) = q / r.
pub fn kalman_steady_gain(q: f64, r: f64) -> f64 {
    let a = q / r;
    (-a + (a * a + 4.0 * a).sqrt()) / 2.0
}
