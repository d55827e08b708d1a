//! The CPU implementation of the family, written once and generic over the float type:
//! `CpuOptimizer<f64>` is the reference every kernel is checked against, and
//! `CpuOptimizer<f32>` is the CPU device (`--device cpu`), parallel over the arena.
//!
//! Each member is one arm of [`update_group`] (in `member.rs`, beside
//! its variant): a plain loop over zipped slices that the compiler vectorises, run over
//! chunks in parallel with rayon by the `each*` helpers here.

use super::{update_group, Config, Consts};
use crate::error::{Error, Result};
use rayon::prelude::*;

pub use crate::real::Real;

/// Elements per parallel task: large enough to amortise scheduling, small enough to
/// balance two to hundreds of cores.
const CHUNK: usize = 1 << 15;

// The element functions receive the constants as arguments that each chunk copies into
// locals first. A closure that captured them by reference instead made LLVM reload them
// for every element (it cannot prove the stores to theta leave them alone), which
// halved the bandwidth.

#[inline(always)]
pub fn each1<F: Real>(
    t: &mut [F],
    g: &[F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F]| {
        let (c, scale) = (*c, scale);
        for (t, &g) in t.iter_mut().zip(g) {
            f(t, g * scale, &c)
        }
    };
    if t.len() <= CHUNK {
        // One learner's few coordinates (landscape sweeps): no task to schedule.
        return run(t, g);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .for_each(|(t, g)| run(t, g));
}

#[inline(always)]
pub fn each2<F: Real>(
    t: &mut [F],
    g: &[F],
    a: &mut [F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &mut F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F], a: &mut [F]| {
        let (c, scale) = (*c, scale);
        for ((t, &g), a) in t.iter_mut().zip(g).zip(a.iter_mut()) {
            f(t, g * scale, a, &c)
        }
    };
    if t.len() <= CHUNK {
        return run(t, g, a);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .for_each(|((t, g), a)| run(t, g, a));
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn each3<F: Real>(
    t: &mut [F],
    g: &[F],
    a: &mut [F],
    b: &mut [F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &mut F, &mut F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F], a: &mut [F], b: &mut [F]| {
        let (c, scale) = (*c, scale);
        for (((t, &g), a), b) in t.iter_mut().zip(g).zip(a.iter_mut()).zip(b.iter_mut()) {
            f(t, g * scale, a, b, &c)
        }
    };
    if t.len() <= CHUNK {
        return run(t, g, a, b);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .zip(b.par_chunks_mut(CHUNK))
        .for_each(|(((t, g), a), b)| run(t, g, a, b));
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
#[inline(always)]
pub fn each4<F: Real>(
    t: &mut [F],
    g: &[F],
    a: &mut [F],
    b: &mut [F],
    d: &mut [F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &mut F, &mut F, &mut F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F], a: &mut [F], b: &mut [F], d: &mut [F]| {
        let (c, scale) = (*c, scale);
        for ((((t, &g), a), b), d) in t
            .iter_mut()
            .zip(g)
            .zip(a.iter_mut())
            .zip(b.iter_mut())
            .zip(d.iter_mut())
        {
            f(t, g * scale, a, b, d, &c)
        }
    };
    if t.len() <= CHUNK {
        return run(t, g, a, b, d);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .zip(b.par_chunks_mut(CHUNK))
        .zip(d.par_chunks_mut(CHUNK))
        .for_each(|((((t, g), a), b), d)| run(t, g, a, b, d));
}

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
            let consts = Consts::new(cfg.member, &cfg.hypers[g.hyper], self.t).cast::<F>();
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
