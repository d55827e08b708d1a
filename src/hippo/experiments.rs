//! The published experiments' networks (spec §3, §4), with their constants.

use super::model::{Act, Compartment, Layer, Source, Spec};

fn comp(inputs: Vec<(Source, f64)>, bias: bool, act: Act, eta: f64) -> Compartment {
    Compartment {
        inputs,
        bias,
        identity: false,
        act,
        sigma: 0.01,
        eta,
        lambda1: 0.0,
        lambda2: 0.0,
    }
}

fn identity(from: Source) -> Compartment {
    Compartment {
        inputs: vec![(from, 1.0)],
        bias: false,
        identity: true,
        act: Act::Linear,
        sigma: 0.01,
        eta: 0.0,
        lambda1: 0.0,
        lambda2: 0.0,
    }
}

/// Experiment A (§3): 50 sensory features, HPC 50, MEC 5, all linear; MEC apical
/// recurrent with λ2 = 0.005 and noise σ = 0.05.
pub fn latents() -> Spec {
    Spec {
        n_z: 50,
        hpc: Layer {
            n: 50,
            basal: identity(Source::Z),
            apical: comp(vec![(Source::G, 1.0)], false, Act::Linear, 1e-3),
        },
        mec: Layer {
            n: 5,
            basal: comp(vec![(Source::P, 1.0)], false, Act::Linear, 1e-3),
            apical: Compartment {
                sigma: 0.05,
                lambda2: 0.005,
                ..comp(vec![(Source::G, 0.1)], false, Act::Linear, 1e-3)
            },
        },
        conjunctive: false,
        dt: 0.025,
        tau_pi: 0.1,
        tau_noise: 0.3,
    }
}

/// Experiment B (§4): 100 place cells, HPC 100, MEC 100 with retanh dendrites, 200
/// conjunctive cells.
pub fn path_integration() -> Spec {
    Spec {
        n_z: 100,
        hpc: Layer {
            n: 100,
            basal: identity(Source::Z),
            apical: comp(vec![(Source::G, 1.0)], true, Act::Linear, 0.01),
        },
        mec: Layer {
            n: 100,
            basal: comp(vec![(Source::P, 1.0)], true, Act::Retanh, 0.01),
            apical: comp(
                vec![(Source::G, 0.2), (Source::C, 0.2)],
                false,
                Act::Retanh,
                0.01,
            ),
        },
        conjunctive: true,
        dt: 0.025,
        tau_pi: 0.1,
        tau_noise: 0.3,
    }
}
