//! The CPU implementation of the family, written once and generic over the float type:
//! `CpuOptimizer<f64>` is the reference every kernel is checked against, and
//! `CpuOptimizer<f32>` is the CPU device (`--device cpu`), parallel over the arena.
//!
//! Each member is one arm of [`update_group`] (in `member.rs`, beside
//! its variant): a plain loop over zipped slices that the compiler vectorises, run over
//! chunks in parallel with rayon by the `each*` helpers of `each.rs`.

use super::config::Config;
use super::member::update_group;
use crate::error::{Error, Result};
use rayon::prelude::*;

pub use crate::real::Real;

/// The optimiser on the CPU, holding its own state.
pub struct CpuOptimizer<F: Real> {
    config: Config,
    arena_len: usize,
    states: Vec<Vec<F>>,
    t: u64,
    skipped: u64,
    /// The last step's clipping scale.
    last_scale: f64,
}

impl<F: Real> CpuOptimizer<F> {
    pub fn new(config: Config, arena_len: usize) -> Result<Self> {
        config.validate(arena_len)?;
        Ok(CpuOptimizer {
            arena_len,
            states: config.initial_states(arena_len),
            config,
            t: 0,
            skipped: 0,
            last_scale: 1.0,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// State buffers in the order [`super::Member::states`] names them.
    pub fn states(&self) -> &[Vec<F>] {
        &self.states
    }

    /// Group-steps skipped so far for non-finite gradients.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    pub fn last_clip_scale(&self) -> f64 {
        self.last_scale
    }

    /// Replaces the hyper-parameters of entry `i` (takes effect at the next step).
    pub fn set_hyper(&mut self, i: usize, h: super::Hyper) -> Result<()> {
        self.config = self.config.with_hyper(i, h, self.arena_len)?;
        Ok(())
    }

    /// One step: theta -= update(grads), in place.
    pub fn step(&mut self, theta: &mut [F], grads: &[F]) -> Result<()> {
        let n = self.arena_len;
        if theta.len() != grads.len() || theta.len() != n {
            return Err(Error::invalid(
                "grads",
                format!(
                    "lengths disagree: params {}, grads {}, optimiser arena {}",
                    theta.len(),
                    grads.len(),
                    n
                ),
            ));
        }
        self.t += 1;
        let cfg = &self.config;
        let skip: Vec<bool> = cfg
            .groups
            .iter()
            .map(|g| {
                cfg.skip_nonfinite
                    && grads[g.offset..g.offset + g.len]
                        .par_iter()
                        .any(|x| !x.is_finite())
            })
            .collect();
        self.skipped += skip.iter().filter(|&&s| s).count() as u64;
        let scale = match cfg.clip_norm {
            None => 1.0,
            Some(max) => {
                let sum: f64 = cfg
                    .groups
                    .iter()
                    .zip(&skip)
                    .filter(|(_, &s)| !s)
                    .map(|(g, _)| {
                        grads[g.offset..g.offset + g.len]
                            .par_iter()
                            .map(|x| {
                                let x = x.to_f64().unwrap();
                                x * x
                            })
                            .sum::<f64>()
                    })
                    .sum();
                (max / (sum.sqrt() + 1e-6)).min(1.0)
            }
        };
        self.last_scale = scale;
        let scale_f = F::from(scale).unwrap();
        for (g, _) in cfg.groups.iter().zip(&skip).filter(|(_, &s)| !s) {
            let r = g.offset..g.offset + g.len;
            let consts = cfg.member.consts(&cfg.hypers[g.hyper], self.t).cast::<F>();
            let mut slices: Vec<&mut [F]> =
                self.states.iter_mut().map(|s| &mut s[r.clone()]).collect();
            update_group(
                cfg.member,
                &consts,
                scale_f,
                &mut theta[r.clone()],
                &grads[r],
                &mut slices,
            );
        }
        Ok(())
    }
}
