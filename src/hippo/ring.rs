//! Experiment B's world (spec §4, §7): an agent on a 1 m periodic track whose velocity is
//! an Ornstein–Uhlenbeck process, Gaussian place cells on a jittered grid, and the
//! velocity cells.

use crate::real::Real;
use crate::rng::{key_from_seed, normal_pair, philox4x32_10, uniform_open};

/// The agent: position in [0, 1) m and velocity (m/s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agent {
    pub x: f64,
    pub v: f64,
    /// The OU process: mean, σ (m/s) and coherence time (s).
    pub mean: f64,
    pub sigma: f64,
    pub tau: f64,
}

const AGENT: u32 = 0x5249_0001;
const CENTRES: u32 = 0x5249_0002;

impl Agent {
    /// At rest at a uniform random position (spec §7), σ = 0.5 m/s, τ = 0.7 s.
    pub fn new(seed: u64) -> Agent {
        let w = philox4x32_10([0, 0, 0, AGENT], key_from_seed(seed));
        Agent {
            x: uniform_open::<f64>(w[0]),
            v: 0.0,
            mean: 0.0,
            sigma: 0.5,
            tau: 0.7,
        }
    }

    /// One step: the position moves with the last velocity (wrapping), then the
    /// velocity takes its OU step, from a counter draw at (step, seed).
    pub fn step(&mut self, step: u64, dt: f64, seed: u64) {
        self.x = (self.x + self.v * dt).rem_euclid(1.0);
        let w = philox4x32_10(
            [step as u32, (step >> 32) as u32, 1, AGENT],
            key_from_seed(seed),
        );
        let (n, _) = normal_pair::<f64>(w[0], w[1]);
        let a = dt / self.tau;
        self.v += (self.mean - self.v) * a + self.sigma * (2.0 * a).sqrt() * n;
    }

    /// The velocity cells: (max(v, 0), max(−v, 0)) / 0.5.
    pub fn velocity_cells<F: Real>(&self) -> [F; 2] {
        [F::c(self.v.max(0.0) / 0.5), F::c((-self.v).max(0.0) / 0.5)]
    }
}

/// The shortest distance between two points of the ring.
pub fn ring_distance(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(1.0);
    d.min(1.0 - d)
}

/// Place cells: centres (i + ½ + j_i) / n with j_i ~ U(−¼, ¼) (a jittered uniform
/// grid), Gaussian tuning of width `width` m and peak 1.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaceCells {
    pub centres: Vec<f64>,
    pub width: f64,
}

impl PlaceCells {
    pub fn new(n: usize, width: f64, seed: u64) -> PlaceCells {
        let key = key_from_seed(seed);
        let centres = (0..n)
            .map(|i| {
                let u = uniform_open::<f64>(philox4x32_10([i as u32, 0, 0, CENTRES], key)[0]);
                ((i as f64 + 0.5 + 0.5 * (u - 0.5)) / n as f64).rem_euclid(1.0)
            })
            .collect();
        PlaceCells { centres, width }
    }

    /// The rates at position x.
    pub fn rates<F: Real>(&self, x: f64, out: &mut [F]) {
        let s2 = 2.0 * self.width * self.width;
        for (o, &c) in out.iter_mut().zip(&self.centres) {
            let d = ring_distance(x, c);
            *o = F::c((-d * d / s2).exp());
        }
    }
}
