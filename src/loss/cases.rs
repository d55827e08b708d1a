//! `rulelab check --family loss`: every landscape's loss and gradient at random points,
//! by the point evaluator (the landscape's WGSL in a driver of its own) or the CPU
//! device, against the f64 reference; and the small landscapes and random numbers the
//! families' own checks stand on.

use super::data::{self, Shared};
use super::eval::{curvature, loss_grad};
use super::{gpu, Landscape, LandscapeKind, Shape, TeacherShape};
use crate::check::{self, compare, Case, Row, Tolerance};
use crate::error::Result;
use crate::gpu::Backend;
use rand::rngs::StdRng;
use rand::Rng;

/// A small landscape of each kind (dimensions off the multiples of 4 and 16).
pub fn small_landscape(kind: LandscapeKind) -> Landscape {
    let (dim, teacher, samples) = match kind {
        LandscapeKind::Quadratic => (37, None, 0),
        LandscapeKind::QuadraticDense => (22, None, 0),
        LandscapeKind::DoubleWell => (10, None, 0),
        LandscapeKind::Rosenbrock => (13, None, 0),
        LandscapeKind::LinearRegression => (9, None, 40),
        LandscapeKind::TeacherStudent => (
            15,
            Some(TeacherShape {
                d_in: 4,
                hidden: 3,
                samples: 24,
                minibatch: 0,
            }),
            0,
        ),
    };
    Landscape {
        dim,
        data_seed: 3,
        teacher,
        samples,
        label_noise: 0.2,
        ..Landscape::new(kind)
    }
}

/// Random landscape numbers valid on every landscape.
pub fn random_shape(rng: &mut StdRng) -> Shape {
    Shape {
        mu: rng.random_range(-0.3..0.3),
        h_min: rng.random_range(0.01..0.1),
        h_max: rng.random_range(0.5..2.0),
        alpha: Shape::DEFAULT.alpha,
        a: rng.random_range(0.5..1.5),
        b: rng.random_range(0.5..1.5),
        c: rng.random_range(0.5..1.5),
        d: rng.random_range(-0.6..0.6),
    }
}

fn row(kernel: String, got: &[f64], want: &[f64], tol: Tolerance) -> Row {
    Row {
        family: "loss",
        kernel,
        size: got.len(),
        report: compare(got, want, tol),
    }
}

/// Loss and gradient at random points, by the point evaluator (the landscape's WGSL
/// composed into a second driver) or the CPU device.
pub fn loss_grad_rows(backend: &Backend, kind: LandscapeKind, seed: u64) -> Result<Vec<Row>> {
    let mut rng = check::rng(seed);
    let land = small_landscape(kind);
    let params: Vec<Shape> = (0..16).map(|_| random_shape(&mut rng)).collect();
    let shared = data::build(&land, &params[0]);
    let d = land.dim;
    let theta: Vec<f32> = params
        .iter()
        .flat_map(|_| {
            let (centre, spread) = (rng.random_range(-0.5..1.0), rng.random_range(0.2..0.8));
            check::normal(&mut rng, d, spread)
                .into_iter()
                .map(move |z| z + centre)
                .collect::<Vec<_>>()
        })
        .collect();
    let at = |shared: &Shared<f64>| -> (Vec<f64>, Vec<f64>) {
        let mut loss = Vec::new();
        let mut grad = vec![0.0; theta.len()];
        for (i, p) in params.iter().enumerate() {
            let h = curvature::<f64>(&land, shared, p);
            let th = check::widen(&theta[i * d..(i + 1) * d]);
            loss.push(loss_grad(
                &land,
                shared,
                p,
                &h,
                &th,
                &mut grad[i * d..(i + 1) * d],
            ));
        }
        (loss, grad)
    };
    let (got_loss, got_grad) = match backend {
        Backend::Gpu(g) => {
            let (l, gr) = gpu::loss_grad_at(g, &land, &shared, &params, &theta)?;
            (check::widen(&l), check::widen(&gr))
        }
        Backend::Cpu => {
            let s32 = shared.cast::<f32>();
            let mut loss = Vec::new();
            let mut grad = vec![0.0f32; theta.len()];
            for (i, p) in params.iter().enumerate() {
                let h = curvature::<f32>(&land, &s32, p);
                let th = &theta[i * d..(i + 1) * d];
                loss.push(loss_grad(&land, &s32, p, &h, th, &mut grad[i * d..(i + 1) * d]) as f64);
            }
            (loss, check::widen(&grad))
        }
    };
    let (want_loss, want_grad) = at(&shared);
    // Sums over the dimension (the loss; the dense product's rows; the teacher's
    // samples) grow a log2(n) * eps bound; tanh on a GPU adds a few ulps.
    let n = land.dim.max(land.teacher.map_or(0, |t| t.samples * t.d_in));
    let tol = Tolerance::reduction(n).max(Tolerance::new(1e-6, 2e-5));
    let peak = want_grad.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    Ok(vec![
        row(format!("{} loss", kind.name()), &got_loss, &want_loss, tol),
        row(
            format!("{} gradient", kind.name()),
            &got_grad,
            &want_grad,
            Tolerance::new(tol.atol.max(tol.rtol * peak), tol.rtol),
        ),
    ])
}

pub fn cases() -> Vec<Case> {
    LandscapeKind::ALL
        .iter()
        .map(|&kind| {
            Case::new(
                "loss",
                format!("{} loss_grad", kind.name()),
                move |b, seed| loss_grad_rows(b, kind, seed),
            )
        })
        .collect()
}
