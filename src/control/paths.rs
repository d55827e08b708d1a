//! Solving for optimal paths on a backend: the evaluators of S and its gradient that
//! L-BFGS drives (the GPU kernel, the f32 CPU device, the f64 reference).

use super::action::{action, PathConsts, PathShape};
use super::gpu::GpuPaths;
use crate::error::Result;
use crate::gpu::Backend;
use crate::lbfgs::{minimise, Evaluate, Solution, Stop};
use crate::loss::data::Shared;
use crate::loss::{Landscape, Shape};
use crate::real::Real;
use rayon::prelude::*;

/// The CPU implementation as an evaluator, in float type F (f64: the reference; f32:
/// the CPU device), parallel over the active paths.
pub struct CpuEval<'a, F: Real> {
    pub landscape: &'a Landscape,
    pub shared: Shared<F>,
    pub params: &'a [Shape],
    pub consts: &'a [PathConsts],
    pub shape: &'a PathShape,
}

impl<F: Real> Evaluate for CpuEval<'_, F> {
    fn eval(
        &mut self,
        theta: &[f64],
        active: &[bool],
        s: &mut [f64],
        grad: &mut [f64],
    ) -> Result<()> {
        let len = (self.shape.n + 1) * self.landscape.dim;
        grad.par_chunks_mut(len)
            .zip(s.par_iter_mut())
            .zip(theta.par_chunks(len))
            .with_min_len(16)
            .enumerate()
            // Buffers in F, one pair per rayon task.
            .map_init(
                || (vec![F::zero(); len], vec![F::zero(); len]),
                |(t, gf), (p, ((g, s), x))| {
                    if !active[p] {
                        return;
                    }
                    t.iter_mut().zip(x).for_each(|(o, &v)| *o = F::c(v));
                    let value = action(
                        self.landscape,
                        &self.shared,
                        &self.params[p],
                        self.shape,
                        &self.consts[p],
                        t,
                        gf,
                    );
                    g.iter_mut()
                        .zip(gf.iter())
                        .for_each(|(o, x)| *o = x.to_f64().unwrap_or(f64::NAN));
                    *s = value.to_f64().unwrap_or(f64::NAN);
                },
            )
            .for_each(drop);
        Ok(())
    }
}

/// The GPU kernel as an evaluator (every path is evaluated: one dispatch either way).
pub struct GpuEval(pub GpuPaths);

impl Evaluate for GpuEval {
    fn eval(
        &mut self,
        theta: &[f64],
        _active: &[bool],
        s: &mut [f64],
        grad: &mut [f64],
    ) -> Result<()> {
        let t: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
        let (sv, g) = self.0.eval(&t)?;
        s.copy_from_slice(&sv);
        grad.iter_mut().zip(g).for_each(|(o, x)| *o = f64::from(x));
        Ok(())
    }
}

/// Optimal paths from `theta` (paths × (N + 1) × dim, updated in place) on the backend;
/// `reference` runs the f64 CPU implementation instead.
#[allow(clippy::too_many_arguments)]
pub fn solve(
    backend: &Backend,
    reference: bool,
    landscape: &Landscape,
    shared: &Shared<f64>,
    params: &[Shape],
    consts: &[PathConsts],
    shape: &PathShape,
    theta: &mut [f64],
    stop: &Stop,
) -> Result<Vec<Solution>> {
    let len = (shape.n + 1) * landscape.dim;
    if reference {
        let mut e = CpuEval {
            landscape,
            shared: shared.clone(),
            params,
            consts,
            shape,
        };
        return minimise(&mut e, theta, len, stop);
    }
    match backend {
        Backend::Cpu => {
            let mut e = CpuEval {
                landscape,
                shared: shared.cast::<f32>(),
                params,
                consts,
                shape,
            };
            minimise(&mut e, theta, len, stop)
        }
        Backend::Gpu(gpu) => {
            let mut e = GpuEval(GpuPaths::new(
                gpu, landscape, shared, params, consts, shape,
            )?);
            minimise(&mut e, theta, len, stop)
        }
    }
}
