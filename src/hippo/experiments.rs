//! The published experiments' networks (spec §3, §4), with their constants.

use super::decode::Ridge;
use super::model::{Act, Compartment, Layer, Learning, Source, Spec, State, Theta};
use super::ring::{ring_distance, Agent, PlaceCells};
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

/// Experiment B's world and network stepped together: the agent moves, the place cells
/// fire, the network steps, the velocity cells read the agent's new velocity.
#[derive(Clone, Debug)]
pub struct RingRun<F> {
    pub spec: Spec,
    pub state: State<F>,
    pub agent: Agent,
    pub places: PlaceCells,
    pub seed: u64,
    /// The theta frequency (Hz).
    pub theta_freq: f64,
    z: Vec<F>,
}

impl<F: Real> RingRun<F> {
    /// A fresh network and world from one seed: place cells 0.06 m wide, theta 5 Hz.
    pub fn new(spec: Spec, seed: u64) -> Self {
        RingRun {
            state: State::new(&spec, seed),
            agent: Agent::new(seed),
            places: PlaceCells::new(spec.n_z, 0.06, seed),
            seed,
            theta_freq: 5.0,
            z: vec![F::zero(); spec.n_z],
            spec,
        }
    }

    /// `n` steps with gate `theta` in both layers, calling `each` after every step.
    pub fn steps(&mut self, n: u64, theta: Theta, learning: Learning, mut each: impl FnMut(&Self)) {
        for _ in 0..n {
            let t = self.state.step;
            self.agent.step(t, self.spec.dt, self.seed);
            self.places.rates(self.agent.x, &mut self.z);
            let th = F::c(theta.at(t, self.spec.dt, self.theta_freq));
            let vel = self.agent.velocity_cells();
            self.state
                .step(&self.spec, &self.z, vel, [th, th], learning);
            each(self);
        }
    }

    /// Steps in `seconds` of simulated time.
    pub fn steps_in(&self, seconds: f64) -> u64 {
        (seconds / self.spec.dt).round() as u64
    }
}

/// The path-integration test (spec §4, §7): per run, `spin_up` s of normal theta without
/// learning, then θ ≡ 1 in HPC and MEC (sensory input no longer reaches the somata) for
/// `lesion` s while the agent keeps moving, the HPC rates decoded every step. Runs
/// follow one another on a copy of `trained`; noise stays on. Returns, per step after the
/// lesion starts, the periodic distance between decoded and true position (m), one
/// vector per run.
pub fn path_integration_errors<F: Real>(
    trained: &RingRun<F>,
    decoder: &Ridge,
    runs: usize,
    spin_up: f64,
    lesion: f64,
) -> Vec<Vec<f64>> {
    let mut run = trained.clone();
    (0..runs)
        .map(|_| {
            run.steps(run.steps_in(spin_up), Theta::Square, Learning::Off, |_| {});
            let mut errors = Vec::new();
            run.steps(run.steps_in(lesion), Theta::Apical, Learning::Off, |r| {
                let p: Vec<f32> = r
                    .state
                    .p
                    .iter()
                    .map(|x| x.to_f64().unwrap_or(f64::NAN) as f32)
                    .collect();
                errors.push(ring_distance(decoder.position(&p), r.agent.x));
            });
            errors
        })
        .collect()
}

/// Trains a ring run for `minutes` with normal theta, keeping the HPC rates and the
/// position every 4th step over the last `record` minutes (the decoder's samples).
pub fn train_ring<F: Real>(
    run: &mut RingRun<F>,
    minutes: f64,
    record: f64,
) -> (Vec<Vec<f32>>, Vec<f64>) {
    let total = run.steps_in(60.0 * minutes);
    let from = total.saturating_sub(run.steps_in(60.0 * record));
    let (mut rates, mut positions) = (Vec::new(), Vec::new());
    let mut i = 0u64;
    run.steps(total, Theta::Square, Learning::On, |r| {
        if i >= from && i.is_multiple_of(4) {
            rates.push(
                r.state
                    .p
                    .iter()
                    .map(|x| x.to_f64().unwrap_or(f64::NAN) as f32)
                    .collect(),
            );
            positions.push(r.agent.x);
        }
        i += 1;
    });
    (rates, positions)
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
