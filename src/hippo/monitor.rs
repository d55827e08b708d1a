//! The training monitor: how far each layer's basal and apical activity still disagree.

use super::model::State;
use super::spec::Spec;
use crate::real::Real;

/// The training monitor (spec §2): per layer (HPC, MEC) an exponential moving average,
/// τ = 60 s, of mean |a_B − a_A|, started after the first two theta cycles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Monitor {
    /// The averages, None until the monitor starts.
    pub loss: Option<[f64; 2]>,
    /// Steps before it starts.
    pub start: u64,
    rate: f64,
}

impl Monitor {
    pub fn new(spec: &Spec, theta_freq: f64) -> Monitor {
        Monitor {
            loss: None,
            start: (2.0 / (theta_freq * spec.dt)).ceil() as u64,
            rate: spec.dt / 60.0,
        }
    }

    /// Reads the state after a step.
    pub fn update<F: Real>(&mut self, state: &State<F>) {
        self.observe(state.step, gaps(state));
    }

    /// Takes a step's mean |a_B − a_A| per layer (`step`: the steps done, this one
    /// included).
    pub fn observe(&mut self, step: u64, now: [f64; 2]) {
        if step <= self.start {
            return;
        }
        self.loss = Some(match self.loss {
            None => now,
            Some(m) => std::array::from_fn(|k| m[k] + self.rate * (now[k] - m[k])),
        });
    }
}

/// Mean |a_B − a_A| of HPC and of MEC in a state.
pub fn gaps<F: Real>(state: &State<F>) -> [f64; 2] {
    std::array::from_fn(|layer| {
        let (b, a) = (&state.dendrites[2 * layer], &state.dendrites[2 * layer + 1]);
        let gap: F =
            b.a.iter()
                .zip(&a.a)
                .fold(F::zero(), |s, (&x, &y)| s + (x - y).abs());
        gap.to_f64().unwrap_or(f64::NAN) / b.a.len() as f64
    })
}
