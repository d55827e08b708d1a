//! The moment-filter optimiser family (`../shared/specs/optim.md`): sgd, ballistic, adam,
//! adamw, adabayes, adabayes_fp and kalman, as fused in-place kernels over a flat
//! parameter arena described by a group table.
//!
//! Per member there is one WGSL function (`shaders/optim/<member>.wgsl`) and, in
//! [`member`], its variant, its row of the table and its arm of [`update_group`]
//! (generic over the float type: the f64 reference and the f32 CPU device); the
//! constants below are what both read. `gpu::GpuOptimizer` schedules the kernels;
//! `cases` registers them with `rulelab check`; `bench` measures them.
//!
//! Bias corrections and every other step- or hyper-parameter-derived constant are
//! computed on the host in f64 ([`Consts::new`]) and rounded once to f32, so the kernels
//! never form `1 - beta` from a rounded beta.

pub mod bench;
pub mod cases;
pub mod cpu;
pub mod gpu;
pub mod member;

pub use member::{update_group, Decay, Domain, Hp, Init, Member, Scale, Spec, StateSpec};

use crate::error::{Error, Result};
use num_traits::Float;
use serde::{Deserialize, Serialize};

impl Member {
    /// Per-parameter state buffers' names, in binding order.
    pub fn states(self) -> Vec<&'static str> {
        self.spec().states.iter().map(|s| s.name).collect()
    }

    /// Bytes moved per parameter per step (spec §4): read theta, g and every state;
    /// write theta and every state.
    pub fn bytes_per_param(self) -> u64 {
        4 * (3 + 2 * self.spec().states.len() as u64)
    }

    /// Initial value of each state for a group with hyper-parameters `h`.
    pub fn initial_state(self, h: &Hyper) -> Vec<f64> {
        self.spec()
            .states
            .iter()
            .map(|s| match s.init {
                Init::Zero => 0.0,
                Init::Hyper(hp) => hp.get(h),
            })
            .collect()
    }

    /// Whether the member reads `hp` (it ignores every other field of [`Hyper`]).
    pub fn reads(self, hp: Hp) -> bool {
        self.spec().hypers.iter().any(|&(h, _)| h == hp)
    }

    /// [`Hyper::default`] with this member's own defaults (Lion's β2, say).
    pub fn default_hyper(self) -> Hyper {
        let mut h = Hyper::default();
        for &(hp, v) in self.spec().defaults {
            hp.set(&mut h, v);
        }
        h
    }
}

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

/// A contiguous run of the arena updated with one set of hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub offset: usize,
    pub len: usize,
    /// Index into [`Config::hypers`].
    pub hyper: usize,
}

/// Everything that defines an optimiser over one arena.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub member: Member,
    pub hypers: Vec<Hyper>,
    pub groups: Vec<Group>,
    /// Global-norm gradient clipping: gradients are scaled by
    /// min(1, clip_norm / (||g|| + 1e-6)) over all groups not skipped.
    pub clip_norm: Option<f64>,
    /// Skip (and count) a group whose gradient holds NaN or an infinity this step.
    pub skip_nonfinite: bool,
}

impl Config {
    /// One group over the whole arena.
    pub fn single(member: Member, hyper: Hyper, len: usize) -> Config {
        Config {
            member,
            hypers: vec![hyper],
            groups: vec![Group {
                offset: 0,
                len,
                hyper: 0,
            }],
            clip_norm: None,
            skip_nonfinite: false,
        }
    }

    /// Checks every field the member uses and the group table against an arena of
    /// `arena_len` parameters; the error names the field.
    pub fn validate(&self, arena_len: usize) -> Result<()> {
        if arena_len == 0 {
            return Err(Error::invalid("arena", "length must be at least 1"));
        }
        let spec = self.member.spec();
        for (i, h) in self.hypers.iter().enumerate() {
            for &(hp, domain) in spec.hypers {
                domain
                    .check(hp.get(h))
                    .map_err(|m| Error::invalid(format!("hypers[{i}].{}", hp.name()), m))?;
            }
        }
        if self.groups.is_empty() {
            return Err(Error::invalid("groups", "at least one group is needed"));
        }
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by_key(|&i| self.groups[i].offset);
        let mut prev: Option<usize> = None;
        for &i in &order {
            let g = self.groups[i];
            let end = g.offset.saturating_add(g.len);
            if g.hyper >= self.hypers.len() {
                return Err(Error::invalid(
                    format!("groups[{i}].hyper"),
                    format!(
                        "{} names no entry of hypers (there are {})",
                        g.hyper,
                        self.hypers.len()
                    ),
                ));
            }
            if end > arena_len {
                return Err(Error::invalid(
                    format!("groups[{i}]"),
                    format!("range {}..{end} leaves the arena of {arena_len}", g.offset),
                ));
            }
            if let Some(p) = prev {
                let pg = self.groups[p];
                if g.offset < pg.offset + pg.len && g.len > 0 {
                    return Err(Error::invalid(
                        format!("groups[{i}]"),
                        format!(
                            "range {}..{end} overlaps groups[{p}] {}..{}",
                            g.offset,
                            pg.offset,
                            pg.offset + pg.len
                        ),
                    ));
                }
            }
            if g.len > 0 {
                prev = Some(i);
            }
        }
        if let Some(c) = self.clip_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(Error::invalid(
                    "clip_norm",
                    format!("{c} must be finite and > 0"),
                ));
            }
        }
        Ok(())
    }

    /// This config with hyper-parameter entry `i` replaced, validated.
    pub fn with_hyper(&self, i: usize, h: Hyper, arena_len: usize) -> Result<Config> {
        let mut c = self.clone();
        *c.hypers
            .get_mut(i)
            .ok_or_else(|| Error::invalid("hyper index", format!("{i} is out of range")))? = h;
        c.validate(arena_len)?;
        Ok(c)
    }

    /// Initial state buffers over the arena (elements outside every group stay 0).
    pub fn initial_states<F: Float>(&self, arena_len: usize) -> Vec<Vec<F>> {
        let k = self.member.spec().states.len();
        let mut out = vec![vec![F::zero(); arena_len]; k];
        for g in &self.groups {
            let init = self.member.initial_state(&self.hypers[g.hyper]);
            for (s, &v) in out.iter_mut().zip(&init) {
                s[g.offset..g.offset + g.len].fill(F::from(v).unwrap());
            }
        }
        out
    }
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
    /// The constants of step `t` (1-based) for hyper-parameters `h`.
    pub fn new(m: Member, h: &Hyper, t: u64) -> Self {
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
            decay: match m.spec().decay {
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
