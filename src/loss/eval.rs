//! A landscape's loss, exact gradient and curvature at a point, generic over the float
//! type: in f64 the reference the kernels are checked against, in f32 what the CPU
//! device computes. One implementation serves the learners and the optimal paths.

use super::data::{forward, Shared};
use super::{purpose, Landscape, LandscapeKind, Shape};
use crate::real::Real;
use crate::rng::philox4x32_10;

/// The loss at θ, with its exact gradient written to `grad`; `h` is the curvature
/// ([`curvature`]) for the point's numbers `s`.
#[inline(always)]
pub fn loss_grad<F: Real>(
    land: &Landscape,
    shared: &Shared<F>,
    s: &Shape,
    h: &[F],
    theta: &[F],
    grad: &mut [F],
) -> F {
    let half = F::c(0.5);
    match land.kind {
        LandscapeKind::Quadratic => quadratic(F::c(s.mu), h, theta, grad),
        LandscapeKind::QuadraticDense | LandscapeKind::LinearRegression => {
            let dense = shared.dense.as_ref().expect("dense data");
            let d = land.dim;
            let mut loss = F::zero();
            for (i, g) in grad.iter_mut().enumerate() {
                let row = &dense.a[i * d..(i + 1) * d];
                *g = row
                    .iter()
                    .zip(theta)
                    .zip(&dense.mu)
                    .fold(F::zero(), |s, ((&a, &t), &m)| s + a * (t - m));
                loss = loss + half * (theta[i] - dense.mu[i]) * *g;
            }
            loss + dense.l_min
        }
        LandscapeKind::DoubleWell => {
            let (a, b, c, d) = (F::c(s.a), F::c(s.b), F::c(s.c), F::c(s.d));
            let mut loss = F::zero();
            for (g, t) in grad.chunks_mut(2).zip(theta.chunks(2)) {
                let (x, y) = (t[0], t[1]);
                let w = x * x - b;
                loss = loss + a * w * w + c * y * y + d * x;
                g[0] = F::c(4.0) * a * x * w + d;
                g[1] = F::c(2.0) * c * y;
            }
            loss
        }
        LandscapeKind::Rosenbrock => {
            let n = theta.len();
            let mut loss = F::zero();
            grad.iter_mut().for_each(|g| *g = F::zero());
            for i in 0..n - 1 {
                let (x, y) = (theta[i], theta[i + 1]);
                let w = y - x * x;
                let u = F::one() - x;
                loss = loss + F::c(100.0) * w * w + u * u;
                grad[i] = grad[i] - F::c(400.0) * x * w - F::c(2.0) * u;
                grad[i + 1] = grad[i + 1] + F::c(200.0) * w;
            }
            loss
        }
        LandscapeKind::TeacherStudent => {
            let t = land.teacher.expect("validated");
            let data = shared.teacher.as_ref().expect("teacher data");
            let n = t.samples;
            grad.iter_mut().for_each(|g| *g = F::zero());
            // With minibatches the rule never sees the full-batch gradient: the forward
            // pass alone gives the loss.
            let need_grad = t.minibatch == 0;
            let mut acts = vec![F::zero(); t.hidden];
            let mut loss = F::zero();
            for s in 0..n {
                let x = &data.x[s * t.d_in..(s + 1) * t.d_in];
                loss = loss
                    + sample(
                        theta,
                        need_grad.then_some(&mut *grad),
                        x,
                        data.y[s],
                        t.d_in,
                        t.hidden,
                        F::one(),
                        &mut acts,
                    );
            }
            let inv = F::one() / F::c(n as f64);
            grad.iter_mut().for_each(|g| *g = *g * inv);
            loss * inv
        }
    }
}

/// ½ (student(x) − y)² for one sample, adding weight times its gradient to `grad` when
/// given. `acts` (length hidden) is scratch for the hidden activations.
#[allow(clippy::too_many_arguments)]
pub fn sample<F: Real>(
    w: &[F],
    grad: Option<&mut [F]>,
    x: &[F],
    y: F,
    d_in: usize,
    hidden: usize,
    weight: F,
    acts: &mut [F],
) -> F {
    let sin = F::one() / F::c(d_in as f64).sqrt();
    let sh = F::one() / F::c(hidden as f64).sqrt();
    let r = forward(w, x, d_in, hidden, acts) - y;
    if let Some(grad) = grad {
        for (h, &act) in acts.iter().enumerate() {
            grad[hidden * d_in + h] = grad[hidden * d_in + h] + weight * r * act * sh;
            let back = weight * r * w[hidden * d_in + h] * sh * (F::one() - act * act) * sin;
            for (g, &xi) in grad[h * d_in..(h + 1) * d_in].iter_mut().zip(x) {
                *g = *g + back * xi;
            }
        }
    }
    F::c(0.5) * r * r
}

/// The minibatch gradient of teacher_student at step `step`: `m` samples drawn with
/// replacement, sample k at index philox([k / 4, step, 0, MINIBATCH])[k % 4] mod N.
pub fn minibatch_grad<F: Real>(
    land: &Landscape,
    shared: &Shared<F>,
    key: [u32; 2],
    step: u32,
    theta: &[F],
    grad: &mut [F],
) {
    let t = land.teacher.expect("validated");
    let data = shared.teacher.as_ref().expect("teacher data");
    grad.iter_mut().for_each(|g| *g = F::zero());
    let w = F::one() / F::c(t.minibatch as f64);
    let mut acts = vec![F::zero(); t.hidden];
    for k in 0..t.minibatch {
        let s = minibatch_index(key, step, k as u32, t.samples as u32) as usize;
        sample(
            theta,
            Some(&mut *grad),
            &data.x[s * t.d_in..(s + 1) * t.d_in],
            data.y[s],
            t.d_in,
            t.hidden,
            w,
            &mut acts,
        );
    }
}

/// Sample k of the minibatch at step `step`, of n samples.
pub fn minibatch_index(key: [u32; 2], step: u32, k: u32, n: u32) -> u32 {
    philox4x32_10([k / 4, step, 0, purpose::MINIBATCH], key)[(k % 4) as usize] % n
}

/// The scale of each coordinate's curvature: the Hessian diagonal at the optimum for
/// quadratic landscapes (spectrum or dense diagonal), else 1.
pub fn curvature<F: Real>(land: &Landscape, shared: &Shared<F>, s: &Shape) -> Vec<F> {
    match land.kind {
        LandscapeKind::Quadratic => land.spectrum_values(s).into_iter().map(F::c).collect(),
        LandscapeKind::QuadraticDense | LandscapeKind::LinearRegression => shared.diag.clone(),
        LandscapeKind::DoubleWell | LandscapeKind::Rosenbrock | LandscapeKind::TeacherStudent => {
            vec![F::one(); land.dim]
        }
    }
}

/// ½ Σ h (θ − μ)² with its gradient: sixteen partial sums so the loop vectorises
/// (a single running f32 sum would pin the order and forbid it).
#[inline(always)]
fn quadratic<F: Real>(mu: F, h: &[F], theta: &[F], grad: &mut [F]) -> F {
    let mut acc = [F::zero(); 16];
    let n = theta.len() / 16 * 16;
    for ((g, t), h) in grad[..n]
        .chunks_exact_mut(16)
        .zip(theta[..n].chunks_exact(16))
        .zip(h[..n].chunks_exact(16))
    {
        for k in 0..16 {
            let r = t[k] - mu;
            g[k] = h[k] * r;
            acc[k] = acc[k] + h[k] * r * r;
        }
    }
    for i in n..theta.len() {
        let r = theta[i] - mu;
        grad[i] = h[i] * r;
        acc[0] = acc[0] + h[i] * r * r;
    }
    F::c(0.5) * acc.iter().fold(F::zero(), |s, &a| s + a)
}
