//! `rulelab check --family control`: the action S and its gradient for random paths on
//! every landscape, with every drift, on the backend against the f64 reference.

use super::action::{actions, PathConsts, PathShape};
use super::gpu::GpuPaths;
use crate::check::{self, compare, Case, Row, Tolerance};
use crate::error::Result;
use crate::gpu::Backend;
use crate::loss::cases::{random_shape, small_landscape};
use crate::loss::{data, Drift, DriftKind, Landscape, LandscapeKind, Shape};
use rand::rngs::StdRng;
use rand::Rng;

/// A batch of random paths (start and end points, wiggly interiors) on `landscape`.
pub struct RandomPaths {
    pub params: Vec<Shape>,
    pub consts: Vec<PathConsts>,
    pub shape: PathShape,
    pub theta: Vec<f32>,
}

pub fn random_paths(
    landscape: &Landscape,
    n_paths: usize,
    drift: DriftKind,
    rng: &mut StdRng,
) -> RandomPaths {
    let d = landscape.dim;
    let n = 17; // neither a block's length nor a multiple of one
    let params: Vec<Shape> = (0..n_paths).map(|_| random_shape(rng)).collect();
    let consts = (0..n_paths)
        .map(|_| PathConsts {
            gamma: rng.random_range(0.0..2.0),
            eta: rng.random_range(0.5..2.0),
            k: rng.random_range(0.5..2.0),
        })
        .collect();
    let shape = PathShape {
        n,
        t_end: rng.random_range(1.0..4.0),
        free_end: rng.random(),
        drift: Drift {
            kind: drift,
            rate: rng.random_range(0.1..1.0),
        },
        g: (0..d).map(|_| rng.random_range(0.5..2.0)).collect(),
    };
    let mut theta = Vec::with_capacity(n_paths * (n + 1) * d);
    for _ in &params {
        let centre: f32 = rng.random_range(-0.5..1.0);
        let spread: f32 = rng.random_range(0.2..0.8);
        let a = check::normal(rng, d, spread);
        let b = check::normal(rng, d, 0.5);
        for m in 0..=n {
            let s = m as f32 / n as f32;
            for i in 0..d {
                let wiggle = if m == 0 || m == n {
                    0.0
                } else {
                    rng.random_range(-0.1..0.1)
                };
                theta.push(centre + (1.0 - s) * a[i] + s * b[i] + wiggle);
            }
        }
    }
    RandomPaths {
        params,
        consts,
        shape,
        theta,
    }
}

/// S and ∂S/∂θ on the backend (f32) for a batch.
pub fn eval_backend(
    backend: &Backend,
    landscape: &Landscape,
    shared: &data::Shared<f64>,
    r: &RandomPaths,
) -> Result<(Vec<f64>, Vec<f64>)> {
    match backend {
        Backend::Gpu(g) => {
            let mut paths = GpuPaths::new(g, landscape, shared, &r.params, &r.consts, &r.shape)?;
            let (s, grad) = paths.eval(&r.theta)?;
            Ok((s, check::widen(&grad)))
        }
        Backend::Cpu => {
            let mut grad = vec![0.0f32; r.theta.len()];
            let s = actions(
                landscape,
                &shared.cast::<f32>(),
                &r.params,
                &r.consts,
                &r.shape,
                &r.theta,
                &mut grad,
            );
            Ok((check::widen(&s), check::widen(&grad)))
        }
    }
}

/// The f64 reference from the same (f32) points.
pub fn eval_reference(
    landscape: &Landscape,
    shared: &data::Shared<f64>,
    r: &RandomPaths,
) -> (Vec<f64>, Vec<f64>) {
    let theta = check::widen(&r.theta);
    let mut grad = vec![0.0; theta.len()];
    let s = actions(
        landscape, shared, &r.params, &r.consts, &r.shape, &theta, &mut grad,
    );
    (s, grad)
}

pub fn action_rows(
    backend: &Backend,
    kind: LandscapeKind,
    drift: DriftKind,
    seed: u64,
) -> Result<Vec<Row>> {
    let mut rng = check::rng(seed ^ (drift as u64) << 40);
    let landscape = small_landscape(kind);
    let r = random_paths(&landscape, 6, drift, &mut rng);
    let shared = data::build(&landscape, &r.params[0]);
    let (s, g) = eval_backend(backend, &landscape, &shared, &r)?;
    let (ws, wg) = eval_reference(&landscape, &shared, &r);
    // Velocities are differences of nearby f32 points over Δt: a few ulps of |θ| / Δt,
    // squared and summed over N (d + samples) terms.
    let terms = r.shape.n
        * landscape
            .dim
            .max(landscape.teacher.map_or(0, |t| t.samples * t.d_in));
    let tol = Tolerance::reduction(terms).max(Tolerance::new(1e-6, 1e-4));
    let peak = wg.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let label = format!("{} {} paths", kind.name(), drift.name());
    Ok(vec![
        Row {
            family: "control",
            kernel: format!("{label} action"),
            size: s.len(),
            report: compare(&s, &ws, tol),
        },
        Row {
            family: "control",
            kernel: format!("{label} gradient"),
            size: g.len(),
            report: compare(&g, &wg, Tolerance::new(1e-5 * peak, tol.rtol)),
        },
    ])
}

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for &kind in LandscapeKind::ALL {
        for &drift in DriftKind::ALL {
            v.push(Case::new(
                "control",
                format!("{} {} paths", kind.name(), drift.name()),
                move |b, seed| action_rows(b, kind, drift, seed),
            ));
        }
    }
    v
}
