//! The published experiments' networks (spec §3, §4), with their constants, and the ring-attractor analysis.

use super::model::State;
use super::ring::PlaceCells;
use super::spec::{Act, Compartment, Layer, Source, Spec};
use crate::real::Real;

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

/// The ring-attractor analysis (spec §4): MEC units ordered by where their basal rate
/// map (the basal compartment's noise-free response to the place cells at 100 positions)
/// peaks, then the recurrent block and each conjunctive block of the MEC apical weights
/// permuted into that order, each row rolled so its own unit sits at the centre, and the
/// rows averaged. Returns (recurrent, conjunctive +, conjunctive −) profiles over offsets
/// −n/2..n/2 (index n/2 is the unit itself).
pub fn ring_profiles<F: Real>(spec: &Spec, state: &State<F>, places: &PlaceCells) -> [Vec<f64>; 3] {
    let n = spec.mec.n;
    let bins = 100;
    let basal = &state.dendrites[2];
    let n_in = spec.n_in(&spec.mec.basal);
    let mut z = vec![F::zero(); spec.n_z];
    let mut peak = vec![(f64::NEG_INFINITY, 0.0); n];
    for b in 0..bins {
        let x = (b as f64 + 0.5) / bins as f64;
        places.rates(x, &mut z);
        for (j, pk) in peak.iter_mut().enumerate() {
            let row = &basal.w[j * n_in..(j + 1) * n_in];
            let mut v = row[..spec.n_z]
                .iter()
                .zip(&z)
                .fold(F::zero(), |s, (&w, &r)| s + w * r);
            if spec.mec.basal.bias {
                v = v + row[n_in - 1];
            }
            let (a, _) = spec.mec.basal.act.eval(v);
            let a = a.to_f64().unwrap_or(f64::NAN);
            if a > pk.0 {
                *pk = (a, x);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| peak[a].1.total_cmp(&peak[b].1));
    let apical = &state.dendrites[3];
    let a_in = spec.n_in(&spec.mec.apical);
    let w = |i: usize, col: usize| apical.w[i * a_in + col].to_f64().unwrap_or(f64::NAN);
    std::array::from_fn(|block| {
        let block_at = block * n;
        let matrix: Vec<f64> = (0..n * n).map(|k| w(k / n, block_at + k % n)).collect();
        circulant_profile(&matrix, n, &order)
    })
}

/// Averages the rows of an n × n matrix after permuting rows and columns into `order`
/// and rolling row i so that column i lands at the centre (index n/2).
pub fn circulant_profile(matrix: &[f64], n: usize, order: &[usize]) -> Vec<f64> {
    let mut profile = vec![0.0; n];
    for (i, &oi) in order.iter().enumerate() {
        for (j, &oj) in order.iter().enumerate() {
            let offset = (j + n + n / 2 - i) % n;
            profile[offset] += matrix[oi * n + oj] / n as f64;
        }
    }
    profile
}
