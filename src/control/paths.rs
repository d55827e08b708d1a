//! Solving for optimal paths on a backend: the evaluators of S and its gradient that
//! L-BFGS drives (the GPU kernel, the f32 CPU device, the f64 reference).

use super::action::{action, PathConsts, PathShape};
use super::gpu::GpuPaths;
use super::lbfgs::{minimise, Evaluate, PathResult, Stop};
use crate::error::Result;
use crate::gpu::Backend;
use crate::landscape::data::Shared;
use crate::landscape::{Params, Problem};
use crate::real::Real;
use rayon::prelude::*;

/// The CPU implementation as an evaluator, in float type F (f64: the reference; f32:
/// the CPU device), parallel over the active paths.
pub struct CpuEval<'a, F: Real> {
    pub problem: &'a Problem,
    pub shared: Shared<F>,
    pub params: &'a [Params],
    pub consts: &'a [PathConsts],
    pub shape: &'a PathShape,
}

impl<F: Real> Evaluate for CpuEval<'_, F> {
    fn eval(&mut self, theta: &[f64], active: &[bool]) -> Result<(Vec<f64>, Vec<f64>)> {
        let len = (self.shape.n + 1) * self.problem.dim;
        let mut grad = vec![0.0; theta.len()];
        let s: Vec<f64> = grad
            .par_chunks_mut(len)
            .zip(theta.par_chunks(len))
            .enumerate()
            .map(|(p, (g, t))| {
                if !active[p] {
                    return f64::NAN;
                }
                let t: Vec<F> = t.iter().map(|&x| F::c(x)).collect();
                let mut gf = vec![F::zero(); len];
                let s = action(
                    self.problem,
                    &self.shared,
                    &self.params[p],
                    self.shape,
                    &self.consts[p],
                    &t,
                    &mut gf,
                );
                g.iter_mut()
                    .zip(&gf)
                    .for_each(|(o, x)| *o = x.to_f64().unwrap_or(f64::NAN));
                s.to_f64().unwrap_or(f64::NAN)
            })
            .collect();
        Ok((s, grad))
    }
}

/// The GPU kernel as an evaluator (every path is evaluated: one dispatch either way).
pub struct GpuEval(pub GpuPaths);

impl Evaluate for GpuEval {
    fn eval(&mut self, theta: &[f64], _active: &[bool]) -> Result<(Vec<f64>, Vec<f64>)> {
        let t: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
        let (s, g) = self.0.eval(&t)?;
        Ok((s, g.into_iter().map(f64::from).collect()))
    }
}

/// Optimal paths from `theta` (paths × (N + 1) × dim, updated in place) on the backend;
/// `reference` runs the f64 CPU implementation instead.
#[allow(clippy::too_many_arguments)]
pub fn solve(
    backend: &Backend,
    reference: bool,
    problem: &Problem,
    shared: &Shared<f64>,
    params: &[Params],
    consts: &[PathConsts],
    shape: &PathShape,
    theta: &mut [f64],
    stop: &Stop,
) -> Result<Vec<PathResult>> {
    let len = (shape.n + 1) * problem.dim;
    if reference {
        let mut e = CpuEval {
            problem,
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
                problem,
                shared: shared.cast::<f32>(),
                params,
                consts,
                shape,
            };
            minimise(&mut e, theta, len, stop)
        }
        Backend::Gpu(gpu) => {
            let mut e = GpuEval(GpuPaths::new(gpu, problem, shared, params, consts, shape)?);
            minimise(&mut e, theta, len, stop)
        }
    }
}
