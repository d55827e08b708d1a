//! The members of the family, in one place: each member's variant, its row of the
//! table (state buffers, the hyper-parameters it reads and their ranges, its WGSL file,
//! its decay) and its arm of the CPU update. Everything else (validation, the GPU
//! kernels, checks, benches, the landscape sweeps' rule list, the command line) reads
//! these.
//!
//! Adding a member: a variant in the list below, its row in [`Member::spec`], its arm in
//! [`update_group`] (both matches are exhaustive: a member missing from either does not
//! compile), and `shaders/optim/<name>.wgsl` with its `fn step`.

use super::consts::{Consts, Decay};
use super::hyper::Hyper;
use crate::real::Real;
use serde::{Deserialize, Serialize};

crate::named_enum! {
    /// A member of the family.
    pub enum Member {
    /// θ −= lr g.
    Sgd = "sgd",
    /// RMSprop without momentum, ε inside the root.
    Ballistic = "ballistic",
    /// Bias-corrected Adam (PyTorch, optax).
    Adam = "adam",
    /// Adam with decoupled decay, applied first (PyTorch order).
    Adamw = "adamw",
    /// Aitchison's Bayesian filter: an OU prior and a posterior variance per weight.
    Adabayes = "adabayes",
    /// The fixed point of adabayes.
    AdabayesFp = "adabayes_fp",
    /// The moment filter made explicit: mean, variance and noise estimate per weight.
    Kalman = "kalman",
    /// The sign of an interpolated momentum, with decoupled decay (Chen et al. 2023).
    Lion = "lion",
    /// Per-parameter steps shrinking with the summed squared gradients (Duchi et al.
    /// 2011).
    Adagrad = "adagrad",
    }
}

/// A hyper-parameter of [`Hyper`], by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hp {
    Lr,
    Beta1,
    Beta2,
    Eps,
    WeightDecay,
    Sigma2,
    Eta,
    Batch,
    Q,
    RMin,
    P0,
    R0,
    /// Control rules (landscape family): the discount γ and the loss weight k.
    Gamma,
    K,
}

impl Hp {
    pub const ALL: [Hp; 14] = [
        Hp::Lr,
        Hp::Beta1,
        Hp::Beta2,
        Hp::Eps,
        Hp::WeightDecay,
        Hp::Sigma2,
        Hp::Eta,
        Hp::Batch,
        Hp::Q,
        Hp::RMin,
        Hp::P0,
        Hp::R0,
        Hp::Gamma,
        Hp::K,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Hp::Lr => "lr",
            Hp::Beta1 => "beta1",
            Hp::Beta2 => "beta2",
            Hp::Eps => "eps",
            Hp::WeightDecay => "weight_decay",
            Hp::Sigma2 => "sigma2",
            Hp::Eta => "eta",
            Hp::Batch => "batch",
            Hp::Q => "q",
            Hp::RMin => "r_min",
            Hp::P0 => "p0",
            Hp::R0 => "r0",
            Hp::Gamma => "gamma",
            Hp::K => "k",
        }
    }

    pub fn get(self, h: &Hyper) -> f64 {
        match self {
            Hp::Lr => h.lr,
            Hp::Beta1 => h.beta1,
            Hp::Beta2 => h.beta2,
            Hp::Eps => h.eps,
            Hp::WeightDecay => h.weight_decay,
            Hp::Sigma2 => h.sigma2,
            Hp::Eta => h.eta,
            Hp::Batch => h.batch,
            Hp::Q => h.q,
            Hp::RMin => h.r_min,
            Hp::P0 => h.p0,
            Hp::R0 => h.r0,
            Hp::Gamma => h.gamma,
            Hp::K => h.k,
        }
    }

    pub fn set(self, h: &mut Hyper, v: f64) {
        let field = match self {
            Hp::Lr => &mut h.lr,
            Hp::Beta1 => &mut h.beta1,
            Hp::Beta2 => &mut h.beta2,
            Hp::Eps => &mut h.eps,
            Hp::WeightDecay => &mut h.weight_decay,
            Hp::Sigma2 => &mut h.sigma2,
            Hp::Eta => &mut h.eta,
            Hp::Batch => &mut h.batch,
            Hp::Q => &mut h.q,
            Hp::RMin => &mut h.r_min,
            Hp::P0 => &mut h.p0,
            Hp::R0 => &mut h.r0,
            Hp::Gamma => &mut h.gamma,
            Hp::K => &mut h.k,
        };
        *field = v;
    }
}

/// The values a hyper-parameter may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Finite and >= 0.
    NonNegative,
    /// Finite and > 0.
    Positive,
    /// [0, 1).
    Fraction,
    /// [0, 1] (a β of 1 holds an estimate fixed).
    ClosedFraction,
}

impl Domain {
    /// Whether `v` is allowed; the message says what is.
    pub fn check(self, v: f64) -> Result<(), String> {
        let (ok, allowed) = match self {
            Domain::NonNegative => (v >= 0.0 && v.is_finite(), "must be finite and >= 0"),
            Domain::Positive => (v > 0.0 && v.is_finite(), "must be finite and > 0"),
            Domain::Fraction => ((0.0..1.0).contains(&v), "must be in [0, 1)"),
            Domain::ClosedFraction => ((0.0..=1.0).contains(&v), "must be in [0, 1]"),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{v} {allowed}"))
        }
    }
}

/// A state buffer's initial value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    Zero,
    /// The value of a hyper-parameter (adabayes starts its posterior at σ²).
    Hyper(Hp),
}

/// The scale a state buffer works at, against which its f32 round-off is judged: an
/// error in a filtered quantity is absolute at that scale where its terms cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// The gradient the member sees (B g for members with a batch size).
    Gradient,
    /// Its square (second moments).
    GradientSquared,
    /// The largest value of a hyper-parameter (a prior variance).
    Hyper(Hp),
    /// The largest sum of two hyper-parameters (P0 + q).
    HyperSum(Hp, Hp),
    /// The larger of a hyper-parameter and the squared gradient (a noise estimate
    /// started at r0).
    HyperOrGradientSquared(Hp),
}

/// One per-parameter state buffer.
#[derive(Clone, Copy, Debug)]
pub struct StateSpec {
    pub name: &'static str,
    pub init: Init,
    pub scale: Scale,
}

/// A member's row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Per-parameter state buffers, in binding order.
    pub states: &'static [StateSpec],
    /// The hyper-parameters the member reads and the values each may take; it ignores
    /// every other field of [`Hyper`].
    pub hypers: &'static [(Hp, Domain)],
    /// Defaults that differ from [`Hyper::default`].
    pub defaults: &'static [(Hp, f64)],
    pub decay: Decay,
    /// The file under shaders/ with its `fn step(x: State, g: f32, c: Consts) -> State`.
    pub wgsl: &'static str,
    /// θ moves by lr·sign(...): a decision that ties within f32 round-off may go either
    /// way on the device and in the f64 reference, so checks allow a few elements one
    /// jump (2·lr) apart.
    pub sign_step: bool,
}

const M: StateSpec = StateSpec {
    name: "m",
    init: Init::Zero,
    scale: Scale::Gradient,
};
const V: StateSpec = StateSpec {
    name: "v",
    init: Init::Zero,
    scale: Scale::GradientSquared,
};

impl Member {
    /// The member's row of the table.
    pub fn spec(self) -> Spec {
        use Domain::*;
        match self {
            Member::Sgd => Spec {
                states: &[],
                hypers: &[(Hp::Lr, NonNegative)],
                defaults: &[],
                decay: Decay::None,
                wgsl: "optim/sgd.wgsl",
                sign_step: false,
            },
            Member::Ballistic => Spec {
                states: &[StateSpec {
                    name: "s",
                    init: Init::Zero,
                    scale: Scale::GradientSquared,
                }],
                hypers: &[
                    (Hp::Lr, NonNegative),
                    (Hp::Beta2, Fraction),
                    (Hp::Eps, Positive),
                ],
                defaults: &[],
                decay: Decay::None,
                wgsl: "optim/ballistic.wgsl",
                sign_step: false,
            },
            Member::Adam => Spec {
                states: &[M, V],
                hypers: &[
                    (Hp::Lr, NonNegative),
                    (Hp::Beta1, Fraction),
                    (Hp::Beta2, Fraction),
                    (Hp::Eps, Positive),
                ],
                defaults: &[],
                decay: Decay::None,
                wgsl: "optim/adam.wgsl",
                sign_step: false,
            },
            Member::Adamw => Spec {
                states: &[M, V],
                hypers: &[
                    (Hp::Lr, NonNegative),
                    (Hp::Beta1, Fraction),
                    (Hp::Beta2, Fraction),
                    (Hp::Eps, Positive),
                    (Hp::WeightDecay, NonNegative),
                ],
                defaults: &[],
                decay: Decay::Decoupled,
                wgsl: "optim/adam.wgsl",
                sign_step: false,
            },
            Member::Adabayes => Spec {
                states: &[
                    M,
                    StateSpec {
                        name: "s2_post",
                        init: Init::Hyper(Hp::Sigma2),
                        scale: Scale::Hyper(Hp::Sigma2),
                    },
                ],
                hypers: &[
                    (Hp::Beta1, Fraction),
                    (Hp::WeightDecay, Fraction),
                    (Hp::Sigma2, Positive),
                    (Hp::Eta, Positive),
                    (Hp::Batch, Positive),
                ],
                defaults: &[],
                decay: Decay::Drift,
                wgsl: "optim/adabayes.wgsl",
                sign_step: false,
            },
            Member::AdabayesFp => Spec {
                states: &[M, V],
                hypers: &[
                    (Hp::Beta1, Fraction),
                    (Hp::Beta2, Fraction),
                    (Hp::Eps, Positive),
                    (Hp::Sigma2, Positive),
                    (Hp::Eta, Positive),
                    (Hp::Batch, Positive),
                ],
                defaults: &[],
                decay: Decay::None,
                wgsl: "optim/adabayes_fp.wgsl",
                sign_step: false,
            },
            Member::Kalman => Spec {
                states: &[
                    M,
                    StateSpec {
                        name: "p",
                        init: Init::Hyper(Hp::P0),
                        scale: Scale::HyperSum(Hp::P0, Hp::Q),
                    },
                    StateSpec {
                        name: "r_hat",
                        init: Init::Hyper(Hp::R0),
                        scale: Scale::HyperOrGradientSquared(Hp::R0),
                    },
                ],
                hypers: &[
                    (Hp::Lr, NonNegative),
                    (Hp::Beta2, ClosedFraction),
                    (Hp::Eps, Positive),
                    (Hp::Q, NonNegative),
                    (Hp::RMin, Positive),
                    (Hp::P0, NonNegative),
                    (Hp::R0, Positive),
                ],
                defaults: &[],
                decay: Decay::None,
                wgsl: "optim/kalman.wgsl",
                sign_step: false,
            },
            Member::Lion => Spec {
                states: &[M],
                hypers: &[
                    (Hp::Lr, NonNegative),
                    (Hp::Beta1, Fraction),
                    (Hp::Beta2, Fraction),
                    (Hp::WeightDecay, NonNegative),
                ],
                defaults: &[(Hp::Beta2, 0.99)],
                decay: Decay::Decoupled,
                wgsl: "optim/lion.wgsl",
                sign_step: true,
            },
            Member::Adagrad => Spec {
                states: &[StateSpec {
                    name: "s",
                    init: Init::Zero,
                    scale: Scale::GradientSquared,
                }],
                hypers: &[(Hp::Lr, NonNegative), (Hp::Eps, Positive)],
                defaults: &[],
                decay: Decay::None,
                wgsl: "optim/adagrad.wgsl",
                sign_step: false,
            },
        }
    }
}

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

    /// The constants of step `t` (1-based) for hyper-parameters `h`.
    pub fn consts(self, h: &Hyper, t: u64) -> Consts<f64> {
        Consts::for_step(self.spec().decay, h, t)
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

/// One step of `member` over one group's slices. `scale` multiplies the gradient
/// (global-norm clipping; 1 otherwise). `states` are the member's state slices in the
/// order its spec names them. Each arm is a plain loop over zipped slices that the
/// compiler vectorises (`each*` run it over chunks in parallel).
#[inline(always)]
pub fn update_group<F: Real>(
    member: Member,
    c: &Consts<F>,
    scale: F,
    theta: &mut [F],
    g: &[F],
    states: &mut [&mut [F]],
) {
    use super::each::{each1, each2, each3, each4};
    // Matching the member alone keeps this exhaustive: a member without an arm does not
    // compile.
    fn wrong(member: Member, given: usize) -> ! {
        let has = member.spec().states.len();
        unreachable!("{} has {has} states, given {given}", member.name())
    }
    let n = states.len();
    match member {
        Member::Sgd => each1(theta, g, c, scale, |t, g, c| *t = *t - c.lr * g),
        Member::Ballistic => {
            let [s] = states else { wrong(member, n) };
            each2(theta, g, s, c, scale, |t, g, s, c| {
                *s = c.beta2 * *s + c.one_minus_beta2 * g * g;
                *t = *t - c.lr * g / (*s + c.eps).sqrt();
            })
        }
        Member::Adam | Member::Adamw => {
            let [m, v] = states else { wrong(member, n) };
            each3(theta, g, m, v, c, scale, |t, g, m, v, c| {
                *m = c.beta1 * *m + c.one_minus_beta1 * g;
                *v = c.beta2 * *v + c.one_minus_beta2 * g * g;
                let step = c.lr * (*m * c.bc1) / ((*v * c.bc2).sqrt() + c.eps);
                *t = *t * c.decay - step;
            })
        }
        Member::Adabayes => {
            let [m, s2] = states else { wrong(member, n) };
            each3(theta, g, m, s2, c, scale, |t, g, m, s2, c| {
                let g = g * c.batch;
                let prior = c.prior_keep * *s2 + c.prior_add;
                *s2 = prior / (F::one() + prior * g * g);
                *m = c.beta1 * *m + c.one_minus_beta1 * g;
                *t = (*t - *s2 * (*m * c.bc1)) * c.decay;
            })
        }
        Member::AdabayesFp => {
            let [m, v] = states else { wrong(member, n) };
            each3(theta, g, m, v, c, scale, |t, g, m, v, c| {
                let g = g * c.batch;
                *m = c.beta1 * *m + c.one_minus_beta1 * g;
                *v = c.beta2 * *v + c.one_minus_beta2 * g * g;
                let vhat = *v * c.bc2 + c.eps;
                let s2 = F::one() / (c.inv_2sigma2 + (c.inv_4sigma4 + vhat * c.inv_eta2).sqrt());
                *t = *t - s2 * (*m * c.bc1);
            })
        }
        Member::Kalman => {
            let [m, p, r] = states else { wrong(member, n) };
            each4(theta, g, m, p, r, c, scale, |t, g, m, p, r, c| {
                let prior = *p + c.q;
                let e = g - *m;
                *r = c.beta2 * *r + c.one_minus_beta2 * (e * e - prior).max(c.r_min);
                let gain = prior / (prior + *r);
                *m = *m + gain * e;
                // (1 - K) P- written as K r: no cancellation when K is near 1.
                *p = gain * *r;
                *t = *t - c.lr * *m / ((*m * *m + *p + *r).sqrt() + c.eps);
            })
        }
        Member::Lion => {
            let [m] = states else { wrong(member, n) };
            each2(theta, g, m, c, scale, |t, g, m, c| {
                let x = c.beta1 * *m + c.one_minus_beta1 * g;
                // sign(0) = 0, as WGSL's sign and torch.sign (not f32::signum).
                let u = if x > F::zero() {
                    F::one()
                } else if x < F::zero() {
                    -F::one()
                } else {
                    F::zero()
                };
                *m = c.beta2 * *m + c.one_minus_beta2 * g;
                *t = *t * c.decay - c.lr * u;
            })
        }
        Member::Adagrad => {
            let [s] = states else { wrong(member, n) };
            each2(theta, g, s, c, scale, |t, g, s, c| {
                *s = *s + g * g;
                *t = *t - c.lr * g / (s.sqrt() + c.eps);
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member's table row is consistent with the rest of the crate: a unique
    /// name that round-trips, a WGSL file that exists, states the GPU can bind, and
    /// hyper-parameters named once.
    #[test]
    fn every_member_has_a_complete_row() {
        let mut names: Vec<&str> = Member::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Member::ALL.len());
        for &m in Member::ALL {
            let s = m.spec();
            assert_eq!(Member::from_name(m.name()), Some(m));
            assert!(
                crate::gpu::Piece::find(s.wgsl).is_some(),
                "{}: no shaders/{}",
                m.name(),
                s.wgsl
            );
            assert!(s.states.len() <= 3, "{}: at most three states", m.name());
            for (i, (hp, _)) in s.hypers.iter().enumerate() {
                assert!(!s.hypers[..i].iter().any(|(h, _)| h == hp), "{}", m.name());
            }
            for (hp, _) in s.defaults {
                assert!(s.hypers.iter().any(|(h, _)| h == hp), "{}", m.name());
            }
        }
    }
}
