//! What a landscape sweep's learners are: the rule kinds, one learner's numbers
//! ([`Params`], every one a possible grid axis), the [`Problem`] every learner of a sweep
//! shares with its checks, and what a learner reports. One file because these types are
//! one vocabulary that every other file of the family speaks; their methods only check
//! and convert.

use crate::error::{Error, Result};
use crate::loss::data::Shared;
pub use crate::loss::{
    purpose, DriftKind, Landscape, LandscapeKind, Shape, Spectrum, TeacherShape,
};
use crate::optim::{Domain, Hp, Member};
use crate::sweep::ParamSet;
use serde::{Deserialize, Serialize};

crate::named_enum! {
    /// Gradient observation noise.
    pub enum Noise {
        None = "none",
        /// g = ∇L + σ ξ.
        Isotropic = "isotropic",
        /// g = ∇L + σ sqrt(h_i) ξ, h_i the Hessian's diagonal at the optimum (quadratic
        /// landscapes only; Fisher-like).
        Curvature = "curvature",
    }
}

crate::named_enum! {
    /// What a learner does about an optimum that switches (spec §6).
    pub enum ResetKind {
        /// Keep going.
        None = "none",
        /// Every reset_every steps: θ ← θ0 and the rule's state ← initial (its step count
        /// too, so Adam's bias correction starts again).
        Scheduled = "scheduled",
        /// Every step after the rule's: θ ← θ − shrink (θ − θ0).
        Shrink = "shrink",
        /// A two-hypothesis filter on the gradient's innovation (see
        /// [`Continual`]): θ and the rule's state move towards their initial values by
        /// the posterior switch probability π_t.
        BayesReset = "bayes_reset",
    }
}

crate::named_enum! {
    /// When the optimum switches.
    pub enum Switching {
        /// At each step t ≥ 1 with probability `hazard`.
        Hazard = "hazard",
        /// Every `block` steps.
        Block = "block",
    }
}

/// Continual learning on a switching landscape (spec §6, `[continual]`). Block b (from
/// one switch to the next, the first from t = 0) has the landscape L(θ − δ_b), δ_b ~
/// N(0, σ_μ² I) drawn by the counter RNG from the learner's seed and the block's first
/// step, so learners that share a seed share switch times (for one hazard) and optima
/// on every device, chunking and shard. Every learner runs beside an oracle twin, the
/// same rule with the same numbers, that resets θ and its state exactly at the switches;
/// the regret is the learner's mean loss minus its twin's.
///
/// bayes_reset's filter: with g_{t−1} seen at θ_{t−1}, the gradient predicted at θ_t is
/// g_{t−1} + h ⊙ (θ_t − θ_{t−1}) (h the curvature of a diagonal quadratic, else 1), and
/// its innovation e = g_t − prediction. Without a switch e_i ~ N(0, v_i), v_i a running
/// estimate (v ← v + (1 − β)(1 − π)(e² − v), β = 0.98, from 2σ² of the gradient noise,
/// floored at 10⁻⁶ c_i); with one e_i ~ N(0, v_i + c_i), c_i = 2σ_μ² h_i² (the gradient's
/// jump when the optimum moves from one draw to another). The posterior switch
/// probability, from the prior ρ (hazard, or 1/block), is
/// π = σ(logit ρ + Σ_i ln N(e_i; 0, v_i + c_i) − ln N(e_i; 0, v_i)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Continual {
    pub switching: Switching,
    /// The strategies of the sweep (`reset`, a categorical axis, indexes them).
    pub resets: Vec<ResetKind>,
}

/// bayes_reset's memory β for the innovation variance.
pub const BAYES_MEMORY: f64 = 0.98;
/// bayes_reset's floor on the innovation variance, relative to a switch's c_i.
pub const BAYES_FLOOR: f64 = 1e-6;

crate::named_enum! {
    /// The rules only landscapes have (not optimiser members).
    pub enum LandscapeRule {
        /// θ −= lr G⁻¹ g with G the Hessian's diagonal at the optimum (floored at eps):
        /// sgd's step on a preconditioned gradient.
        NaturalGradient = "natural_gradient",
        /// v = μ_m v + g; θ −= lr v (μ_m read from beta1).
        Momentum = "momentum",
        /// v = μ_m v + g; θ −= lr (g + μ_m v) (the PyTorch form).
        Nesterov = "nesterov",
        /// The optimal feedback of the control problem (spec §2, §4) with the known
        /// curvature: θ_i −= lr r_i g_i / h_i, where r_i = (−γ + sqrt(γ² + 4ηk h_i))/2
        /// is the optimal rate (h floored at eps; lr is Δt).
        ControlOptimal = "control_optimal",
        /// The same feedback with a running diagonal curvature estimate ĥ in place of
        /// h: the secant Δg_i/Δθ_i of the last step, clamped to [eps, 1/eps] and
        /// averaged, ĥ ← β2 ĥ + (1 − β2) secant, from ĥ = 1. Exact on a noiseless
        /// quadratic after one step; gradient noise biases the secant.
        ControlEstimated = "control_estimated",
    }
}

/// A learning rule a landscape learner runs: every member of the optimiser family
/// (its step function and CPU arm, unchanged), plus the rules only landscapes have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Member(Member),
    Landscape(LandscapeRule),
}

impl RuleKind {
    /// Plain gradient descent: the sgd member (configs may call it `gd`, the spec's
    /// name).
    pub const GD: RuleKind = RuleKind::Member(Member::Sgd);
    pub const NATURAL_GRADIENT: RuleKind = RuleKind::Landscape(LandscapeRule::NaturalGradient);
    pub const MOMENTUM: RuleKind = RuleKind::Landscape(LandscapeRule::Momentum);
    pub const NESTEROV: RuleKind = RuleKind::Landscape(LandscapeRule::Nesterov);
    pub const CONTROL_OPTIMAL: RuleKind = RuleKind::Landscape(LandscapeRule::ControlOptimal);

    /// Every rule: the optimiser family's members, then the landscape-only rules.
    pub fn all() -> Vec<RuleKind> {
        let members = Member::ALL.iter().map(|&m| RuleKind::Member(m));
        let own = LandscapeRule::ALL.iter().map(|&r| RuleKind::Landscape(r));
        members.chain(own).collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            RuleKind::Member(m) => m.name(),
            RuleKind::Landscape(r) => r.name(),
        }
    }

    /// The rule named `name` (`gd` is sgd).
    pub fn from_name(name: &str) -> Option<RuleKind> {
        if name == "gd" {
            return Some(Self::GD);
        }
        Self::all().into_iter().find(|r| r.name() == name)
    }

    /// The member whose step constants (and, for members, update) this rule uses.
    pub fn consts_member(self) -> Member {
        match self {
            RuleKind::Member(m) => m,
            RuleKind::Landscape(_) => Member::Sgd,
        }
    }

    /// The file with the rule's WGSL `fn step`.
    pub fn wgsl(self) -> &'static str {
        match self {
            RuleKind::Member(m) => m.spec().wgsl,
            RuleKind::Landscape(LandscapeRule::NaturalGradient | LandscapeRule::ControlOptimal) => {
                Member::Sgd.spec().wgsl
            }
            RuleKind::Landscape(LandscapeRule::ControlEstimated) => {
                "landscape/control_estimated.wgsl"
            }
            RuleKind::Landscape(LandscapeRule::Momentum) => "landscape/momentum.wgsl",
            RuleKind::Landscape(LandscapeRule::Nesterov) => "landscape/nesterov.wgsl",
        }
    }

    /// The rule's per-coordinate states and their initial values.
    pub fn initial_state(self, p: &Params) -> Vec<f64> {
        match self {
            RuleKind::Member(m) => m.initial_state(&p.hyper()),
            RuleKind::Landscape(LandscapeRule::NaturalGradient | LandscapeRule::ControlOptimal) => {
                vec![]
            }
            RuleKind::Landscape(LandscapeRule::Momentum | LandscapeRule::Nesterov) => vec![0.0],
            // The last gradient, the last step and the curvature estimate.
            RuleKind::Landscape(LandscapeRule::ControlEstimated) => vec![0.0, 0.0, 1.0],
        }
    }

    /// Whether θ moves by sign decisions (checks allow a tie that went the other way).
    pub fn sign_step(self) -> bool {
        match self {
            RuleKind::Member(m) => m.spec().sign_step,
            RuleKind::Landscape(_) => false,
        }
    }

    /// The rule's numbers (`[rule]` keys) and the values each may take; it ignores the
    /// others.
    pub fn reads(self) -> Vec<(Hp, Domain)> {
        match self {
            RuleKind::Member(m) => m.spec().hypers.to_vec(),
            RuleKind::Landscape(LandscapeRule::NaturalGradient) => {
                vec![(Hp::Lr, Domain::NonNegative), (Hp::Eps, Domain::Positive)]
            }
            RuleKind::Landscape(LandscapeRule::Momentum | LandscapeRule::Nesterov) => {
                vec![(Hp::Lr, Domain::NonNegative), (Hp::Beta1, Domain::Fraction)]
            }
            RuleKind::Landscape(LandscapeRule::ControlOptimal) => vec![
                (Hp::Lr, Domain::NonNegative),
                (Hp::Gamma, Domain::NonNegative),
                (Hp::Eta, Domain::Positive),
                (Hp::K, Domain::Positive),
                (Hp::Eps, Domain::Positive),
            ],
            RuleKind::Landscape(LandscapeRule::ControlEstimated) => vec![
                (Hp::Lr, Domain::NonNegative),
                (Hp::Gamma, Domain::NonNegative),
                (Hp::Eta, Domain::Positive),
                (Hp::K, Domain::Positive),
                (Hp::Eps, Domain::Positive),
                (Hp::Beta2, Domain::Fraction),
            ],
        }
    }

    /// The rule's own defaults for the numbers a config leaves unset.
    pub fn default_hyper(self) -> crate::optim::Hyper {
        match self {
            RuleKind::Member(m) => m.default_hyper(),
            // The control problem's unit inverse mass (adabayes's eta is another η).
            RuleKind::Landscape(
                LandscapeRule::ControlOptimal | LandscapeRule::ControlEstimated,
            ) => crate::optim::Hyper {
                eta: 1.0,
                ..crate::optim::Hyper::default()
            },
            RuleKind::Landscape(_) => crate::optim::Hyper::default(),
        }
    }
}

crate::params! {
    /// One learner's numbers. Every field may be a grid axis.
    pub struct Params {
    /// Seeds the learner's initial point, gradient noise and minibatches.
    seed = 0.0,
    /// Which of the sweep's rule kinds this learner runs (an index; a `rule` grid axis
    /// lists the kinds by name).
    rule = 0.0,
    lr = 1e-3,
    /// Adam-family β1; momentum and nesterov read their coefficient μ_m here too.
    beta1 = 0.9,
    beta2 = 0.999,
    eps = 1e-8,
    weight_decay = 0.0,
    sigma2 = 1e-2,
    eta = 1e-3,
    batch = 1.0,
    q = 1e-4,
    r_min = 1e-12,
    p0 = 1e3,
    r0 = 1.0,
    /// Control rules: the discount γ and the loss weight k (η is eta).
    gamma = 0.0,
    k = 1.0,
    /// The drift's rate per step: j of the decay −jθ, q of the rotation qAθ.
    drift_rate = 0.0,
    /// Gradient noise scale σ.
    noise_sigma = 0.0,
    /// Initial point: θ0_i = theta0 + theta0_noise ξ_i.
    theta0 = 1.0,
    theta0_noise = 0.0,
    /// The optimum μ of quadratic landscapes (every coordinate).
    mu = Shape::DEFAULT.mu,
    /// Spectrum end points and power-law exponent.
    h_min = Shape::DEFAULT.h_min,
    h_max = Shape::DEFAULT.h_max,
    alpha = Shape::DEFAULT.alpha,
    /// Double-well coefficients.
    a = Shape::DEFAULT.a,
    b = Shape::DEFAULT.b,
    c = Shape::DEFAULT.c,
    d = Shape::DEFAULT.d,
    /// Continual learning: the switch probability per step, or the block length, and
    /// the optimum's spread σ_μ.
    hazard = 0.0,
    block = 0.0,
    sigma_mu = 1.0,
    /// Which of the sweep's reset strategies (an index; a `reset` axis lists names),
    /// the scheduled period and the shrink rate ρ_s.
    reset = 0.0,
    reset_every = 0.0,
    shrink = 0.0,
    }
}

impl Params {
    /// Whether `name` is one of the rule's numbers (`[rule]` in configs: the optimiser
    /// family's hyper-parameters); the others belong to the landscape (seed and rule
    /// to `[run]` and `[grid]`).
    pub fn is_rule_number(name: &str) -> bool {
        Hp::ALL.iter().any(|hp| hp.name() == name)
    }

    pub fn seed_u64(&self) -> u64 {
        self.seed as u64
    }

    /// Sets the rule's numbers from optimiser-family hyper-parameters.
    pub fn set_hyper(&mut self, h: &crate::optim::Hyper) {
        for hp in Hp::ALL {
            self.set(hp.name(), hp.get(h));
        }
    }

    /// The landscape's numbers of this learner.
    pub fn shape(&self) -> Shape {
        Shape::of(self)
    }

    /// The optimiser-family hyper-parameters these numbers hold.
    pub fn hyper(&self) -> crate::optim::Hyper {
        let mut h = crate::optim::Hyper::default();
        for hp in Hp::ALL {
            hp.set(
                &mut h,
                self.get(hp.name())
                    .expect("every hyper-parameter is a field"),
            );
        }
        h
    }
}

/// What every learner of a sweep shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The loss (kind, dim, spectrum, seeded data); its fields sit at the top level of
    /// the manifest's problem.
    #[serde(flatten)]
    pub landscape: Landscape,
    pub noise: Noise,
    pub rule: RuleKind,
    pub steps: usize,
    /// Record the loss every this many steps (0: no trajectory).
    pub record_every: usize,
    pub threshold: Option<f64>,
    /// A learner whose loss is non-finite or above this is flagged diverged and stops.
    pub blowup: f64,
    /// The default drift f every step adds, θ += f(θ_t) (its rate is `drift_rate`).
    #[serde(default = "no_drift")]
    pub drift: DriftKind,
    /// Partial controllability: the coordinates the rule moves (None: all). The others
    /// move by the drift only.
    #[serde(default)]
    pub mask: Option<Vec<bool>>,
    /// Partial controllability in a random subspace: the rule's change is projected
    /// onto the span of m seeded orthonormal directions (`control = { basis =
    /// "random", m = M }`; the basis comes from data_seed).
    #[serde(default)]
    pub basis: Option<usize>,
    /// A switching optimum and the reset strategies (None: the landscape stays).
    #[serde(default)]
    pub continual: Option<Continual>,
}

fn no_drift() -> DriftKind {
    DriftKind::None
}

impl Problem {
    /// The data every learner shares: the loss's, and the control basis's projector.
    pub fn shared_data(&self, p: &Params) -> Shared<f64> {
        let mut shared = crate::loss::data::build(&self.landscape, &p.shape());
        if let Some(m) = self.basis {
            shared.projector = crate::loss::data::projector(&self.landscape, m);
        }
        shared
    }

    /// Numbers that must be the same for every learner because they shape shared data.
    pub fn shared_params(&self) -> &'static [&'static str] {
        self.landscape.shared_numbers()
    }

    /// Checks the problem's shape; the error names the config key.
    pub fn validate(&self) -> Result<()> {
        let bad = |k: &str, m: String| Err(Error::invalid(k, m));
        self.landscape.validate()?;
        let dim = self.landscape.dim;
        if self.drift == DriftKind::Rotation && !dim.is_multiple_of(2) {
            return bad(
                "landscape.drift",
                format!("rotation turns coordinate pairs: dim = {dim} must be even"),
            );
        }
        if let Some(m) = &self.mask {
            if m.len() != dim {
                return bad(
                    "landscape.control",
                    format!("mask has {} entries; dim is {dim}", m.len()),
                );
            }
            if !m.iter().any(|&x| x) {
                return bad(
                    "landscape.control",
                    "mask controls no coordinate: the rule would never move θ".into(),
                );
            }
        }
        if let Some(m) = self.basis {
            if m == 0 || m >= dim {
                return bad(
                    "landscape.control.m",
                    format!(
                        "{m} must be in 1..={} (dim - 1): m = dim controls every direction",
                        dim.saturating_sub(1).max(1)
                    ),
                );
            }
        }
        if self.noise == Noise::Curvature && !self.landscape.is_quadratic() {
            return bad(
                "landscape.noise",
                format!(
                    "curvature noise needs a quadratic landscape, not {}",
                    self.landscape.kind.name()
                ),
            );
        }
        if matches!(
            self.rule,
            RuleKind::NATURAL_GRADIENT | RuleKind::CONTROL_OPTIMAL
        ) && !self.landscape.is_quadratic()
        {
            return bad(
                "rule.kind",
                format!(
                    "{} reads the Hessian diagonal of a quadratic landscape, not {} \
                     (control_estimated estimates it on any landscape)",
                    self.rule.name(),
                    self.landscape.kind.name()
                ),
            );
        }
        if self.steps == 0 || self.steps > 100_000_000 {
            return bad(
                "run.steps",
                format!("{} must be in 1..=100000000", self.steps),
            );
        }
        if self.blowup.is_nan() || self.blowup <= 0.0 {
            return bad("run.blowup", format!("{} must be > 0", self.blowup));
        }
        Ok(())
    }

    /// Checks one learner's numbers for this problem.
    pub fn validate_params(&self, p: &Params) -> Result<()> {
        let bad = |k: &str, m: String| Err(Error::invalid(k, m));
        if !(p.seed >= 0.0 && p.seed.fract() == 0.0 && p.seed < 2f64.powi(53)) {
            return bad("seed", format!("{} must be a non-negative integer", p.seed));
        }
        let hyper = p.hyper();
        for (hp, domain) in self.rule.reads() {
            domain
                .check(hp.get(&hyper))
                .map_err(|m| Error::invalid(format!("rule.{}", hp.name()), m))?;
        }
        if !(p.noise_sigma >= 0.0 && p.noise_sigma.is_finite()) {
            return bad(
                "landscape.noise_sigma",
                format!("{} must be finite and >= 0", p.noise_sigma),
            );
        }
        for (k, v) in [
            ("landscape.theta0", p.theta0),
            ("landscape.theta0_noise", p.theta0_noise),
        ] {
            if !v.is_finite() {
                return bad(k, format!("{v} must be finite"));
            }
        }
        self.landscape.validate_shape(&p.shape())?;
        if let Some(c) = &self.continual {
            self.validate_continual(c, p)?;
        }
        Ok(())
    }

    /// A learner's continual-learning numbers: the switch rate, σ_μ and what its
    /// reset strategy needs.
    fn validate_continual(&self, c: &Continual, p: &Params) -> Result<()> {
        let bad = |k: &str, m: String| Err(Error::invalid(k, m));
        match c.switching {
            Switching::Hazard => {
                if !(p.hazard > 0.0 && p.hazard < 1.0) {
                    return bad(
                        "continual.hazard",
                        format!(
                            "{} must be in (0, 1): a switch probability per step",
                            p.hazard
                        ),
                    );
                }
            }
            Switching::Block => {
                if !(p.block >= 1.0 && p.block.fract() == 0.0 && p.block <= self.steps as f64) {
                    return bad(
                        "continual.block",
                        format!(
                            "{} must be an integer in 1..={} (run.steps)",
                            p.block, self.steps
                        ),
                    );
                }
            }
        }
        if !(p.sigma_mu > 0.0 && p.sigma_mu.is_finite()) {
            return bad(
                "continual.sigma_mu",
                format!("{} must be finite and > 0", p.sigma_mu),
            );
        }
        let Some(&reset) = c.resets.get(p.reset as usize) else {
            return bad("continual.reset", format!("{} names no strategy", p.reset));
        };
        match reset {
            ResetKind::Scheduled => {
                if !(p.reset_every >= 1.0 && p.reset_every.fract() == 0.0) {
                    return bad(
                        "continual.reset_every",
                        format!(
                            "reset = \"scheduled\" needs reset_every, an integer >= 1 (got {})",
                            p.reset_every
                        ),
                    );
                }
            }
            ResetKind::Shrink => {
                if !(p.shrink > 0.0 && p.shrink <= 1.0) {
                    return bad(
                        "continual.shrink",
                        format!(
                            "reset = \"shrink\" needs shrink, a rate in (0, 1] (got {})",
                            p.shrink
                        ),
                    );
                }
            }
            ResetKind::None | ResetKind::BayesReset => {}
        }
        Ok(())
    }
}

/// What a run reports for one learner (spec §7). Losses are L(θ_t) for t = 0..=steps,
/// θ_0 the initial point and θ_t the point after t updates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearnerOutcome {
    /// L(θ_steps), or the loss that flagged the learner as diverged.
    pub final_loss: f64,
    /// The smallest loss seen.
    pub min_loss: f64,
    /// The mean of the losses seen before any divergence (NaN if the first diverged).
    pub mean_loss: f64,
    /// The first t with L(θ_t) <= threshold.
    pub steps_to_threshold: Option<u32>,
    pub diverged: bool,
    /// The rung at which an adaptive sweep stopped this learner (its losses end there).
    pub pruned_at: Option<u32>,
    /// L(θ_t) at t = 0, record_every, 2 record_every, ... <= steps (NaN after divergence).
    pub trajectory: Vec<f32>,
    /// With a control mask on a diagonal quadratic: the final loss of the controlled
    /// and of the uncontrolled coordinates (they sum to final_loss).
    pub split: Option<[f64; 2]>,
    /// Continual learning: the learner's and its oracle twin's numbers.
    pub continual: Option<ContinualOutcome>,
}

/// A continual learner's results beside its oracle twin's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ContinualOutcome {
    /// The mean loss over the last ⌊L/2⌋ steps of every block of L steps (the run's
    /// last block as far as it went; NaN when no block has two steps).
    pub late_loss: f64,
    /// The oracle twin's mean loss.
    pub oracle_loss: f64,
    /// mean_loss − oracle_loss: the excess loss per step over resetting at the switches.
    pub regret: f64,
    /// How many times the optimum switched.
    pub switches: u32,
}

/// The final loss split into its controlled and uncontrolled parts, for a partially
/// controlled learner on a diagonal quadratic: with a mask ½ Σ h_i (θ_i − μ)² over each
/// set of coordinates; with a basis (projector P) ½ rᵀ H P r and ½ rᵀ H (I − P) r,
/// r = θ − μ. The parts sum to the loss.
pub fn split_loss(
    problem: &Problem,
    p: &Params,
    projector: &[f64],
    theta: &[f64],
) -> Option<[f64; 2]> {
    if problem.landscape.kind != LandscapeKind::Quadratic {
        return None;
    }
    let h = problem.landscape.spectrum_values(&p.shape());
    let r: Vec<f64> = theta.iter().map(|&x| x - p.mu).collect();
    let mut out = [0.0; 2];
    if let Some(mask) = &problem.mask {
        for ((&m, &x), &h) in mask.iter().zip(&r).zip(&h) {
            out[usize::from(!m)] += 0.5 * h * x * x;
        }
        return Some(out);
    }
    problem.basis?;
    let d = r.len();
    for j in 0..d {
        let pr: f64 = (0..d).map(|i| projector[j * d + i] * r[i]).sum();
        out[0] += 0.5 * h[j] * r[j] * pr;
        out[1] += 0.5 * h[j] * r[j] * (r[j] - pr);
    }
    Some(out)
}
