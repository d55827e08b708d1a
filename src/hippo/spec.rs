//! A hippocampal network's shape and numbers: the layers (HPC, MEC), each with a basal
//! and an apical compartment ([`Compartment`]: inputs, activation, plasticity, noise),
//! the time step, and the theta gate that switches the soma between them.

use crate::real::Real;
use serde::{Deserialize, Serialize};

/// A dendrite's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Act {
    Linear,
    /// max(0, tanh x).
    Retanh,
}

impl Act {
    /// (f(x), f'(x)).
    #[inline(always)]
    pub fn eval<F: Real>(self, x: F) -> (F, F) {
        match self {
            Act::Linear => (x, F::one()),
            // Branch-free, so that loops over neurons vectorise.
            Act::Retanh => {
                let t = x.max(F::zero()).tanh_fast();
                let df = if x > F::zero() {
                    F::one() - t * t
                } else {
                    F::zero()
                };
                (t, df)
            }
        }
    }
}

/// Where a compartment's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The sensory features (this step's).
    Z,
    /// The HPC somata.
    P,
    /// The MEC somata.
    G,
    /// The conjunctive velocity cells.
    C,
}

/// One compartment of a layer: its inputs, in order, then a bias when asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compartment {
    /// Each input block and the scale of its initial weights, N(0, (w_init/√n_in)²)
    /// with n_in the compartment's whole input count (the spec's words; scaling by each
    /// block's own size instead gave a worse path integrator on experiment B).
    pub inputs: Vec<(Source, f64)>,
    pub bias: bool,
    /// A fixed identity pathway from its one input (not plastic) instead of weights.
    pub identity: bool,
    pub act: Act,
    /// The OU noise's σ.
    pub sigma: f64,
    /// Learning rate per step (0: not plastic).
    pub eta: f64,
    pub lambda1: f64,
    pub lambda2: f64,
}

/// A layer of two-compartment neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub n: usize,
    pub basal: Compartment,
    pub apical: Compartment,
}

/// The network's shape and constants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub n_z: usize,
    pub hpc: Layer,
    pub mec: Layer,
    /// Conjunctive velocity cells (2 per MEC unit when path integrating, else none).
    pub conjunctive: bool,
    /// Seconds per step.
    pub dt: f64,
    pub tau_pi: f64,
    /// The OU noise's coherence time (s).
    pub tau_noise: f64,
}

impl Spec {
    pub fn n_c(&self) -> usize {
        if self.conjunctive {
            2 * self.mec.n
        } else {
            0
        }
    }

    pub(super) fn size(&self, s: Source) -> usize {
        match s {
            Source::Z => self.n_z,
            Source::P => self.hpc.n,
            Source::G => self.mec.n,
            Source::C => self.n_c(),
        }
    }

    /// Inputs of a compartment, its bias included.
    pub fn n_in(&self, c: &Compartment) -> usize {
        c.inputs.iter().map(|&(s, _)| self.size(s)).sum::<usize>() + usize::from(c.bias)
    }

    /// Checks the shape and the constants; the error names the key.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |k: &str, m: String| Err(crate::Error::invalid(k, m));
        if !(self.dt > 0.0 && self.dt.is_finite()) {
            return bad("dt", format!("{} must be > 0", self.dt));
        }
        // The spec asks dt/τ_PI ≤ 0.2 but its own defaults (dt 25 ms, τ_PI 100 ms) give
        // 0.25; the trace is a stable first-order filter for any ratio below 1, and we
        // refuse ratios above the defaults'.
        if self.tau_pi.is_nan() || self.tau_pi <= 0.0 || self.dt / self.tau_pi > MAX_DT_OVER_TAU_PI
        {
            return bad(
                "tau_pi",
                format!(
                    "dt / tau_pi = {} must be at most {MAX_DT_OVER_TAU_PI}",
                    self.dt / self.tau_pi
                ),
            );
        }
        if self.tau_noise.is_nan() || self.tau_noise <= 0.0 {
            return bad("tau_noise", format!("{} must be > 0", self.tau_noise));
        }
        for (name, n) in [
            ("n_z", self.n_z),
            ("hpc.n", self.hpc.n),
            ("mec.n", self.mec.n),
        ] {
            if n == 0 {
                return bad(name, "must be at least 1".into());
            }
        }
        for (name, layer) in [("hpc", &self.hpc), ("mec", &self.mec)] {
            for (part, c) in [("basal", &layer.basal), ("apical", &layer.apical)] {
                let key = format!("{name}.{part}");
                if c.inputs.is_empty() {
                    return bad(&key, "has no inputs".into());
                }
                if c.identity
                    && (c.inputs.len() != 1 || c.bias || self.size(c.inputs[0].0) != layer.n)
                {
                    return bad(
                        &key,
                        format!(
                            "an identity pathway needs one input of {} units and no bias",
                            layer.n
                        ),
                    );
                }
                if c.inputs.iter().any(|&(s, _)| s == Source::C) && !self.conjunctive {
                    return bad(&key, "reads conjunctive cells, but there are none".into());
                }
                for (k, v) in [
                    ("sigma", c.sigma),
                    ("eta", c.eta),
                    ("lambda1", c.lambda1),
                    ("lambda2", c.lambda2),
                ] {
                    if !(v >= 0.0 && v.is_finite()) {
                        return bad(
                            &format!("{key}.{k}"),
                            format!("{v} must be finite and >= 0"),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// The largest dt / τ_PI a spec may have (the published defaults').
pub const MAX_DT_OVER_TAU_PI: f64 = 0.25;

/// The theta gate at step t: a square wave at `freq` Hz (θ = 1, the apical phase, in
/// the first half of each cycle) or ½(1 + sin 2π phase).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theta {
    Square,
    Smooth,
    /// θ ≡ 0: pure inference.
    Basal,
    /// θ ≡ 1: pure generation.
    Apical,
}

impl Theta {
    pub fn at(self, step: u64, dt: f64, freq: f64) -> f64 {
        let phase = (step as f64 * dt * freq).fract();
        match self {
            Theta::Square => f64::from(u8::from(phase < 0.5)),
            Theta::Smooth => 0.5 * (1.0 + (2.0 * std::f64::consts::PI * phase).sin()),
            Theta::Basal => 0.0,
            Theta::Apical => 1.0,
        }
    }
}
