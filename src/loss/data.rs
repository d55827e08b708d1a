//! The fixed data some landscapes share across learners, built on the host in f64 from
//! `data_seed`: the dense Hessian of quadratic_dense, the quadratic form of a linear
//! regression, and the teacher network with its samples; and the projector onto a
//! seeded basis that a partially controlled learner moves in.

use super::{purpose, Landscape, LandscapeKind, Shape};
use crate::real::Real;
use crate::rng::{key_from_seed, normals4, philox4x32_10};

/// L(θ) = ½ (θ−μ)ᵀ A (θ−μ) + l_min, A symmetric positive definite (row-major D×D).
#[derive(Clone, Debug)]
pub struct Dense<F> {
    pub a: Vec<F>,
    pub mu: Vec<F>,
    pub l_min: F,
}

/// A teacher network and its samples; student parameters are laid out as the
/// teacher's (W1 row-major, then w2).
#[derive(Clone, Debug)]
pub struct Teacher<F> {
    /// Samples, row-major N x d_in.
    pub x: Vec<F>,
    /// Teacher outputs.
    pub y: Vec<F>,
}

/// Everything a chunk of learners shares, in the compute type.
#[derive(Clone, Debug)]
pub struct Shared<F> {
    pub dense: Option<Dense<F>>,
    pub teacher: Option<Teacher<F>>,
    /// The Hessian's diagonal at the optimum for dense landscapes (curvature noise and
    /// the natural-gradient metric).
    pub diag: Vec<F>,
    /// With `control = { basis = "random", m }`: P = B Bᵀ (row-major D×D), B the m
    /// seeded orthonormal directions the rule may move along; else empty.
    pub projector: Vec<F>,
}

impl Shared<f64> {
    pub fn cast<F: Real>(&self) -> Shared<F> {
        let v = |x: &[f64]| x.iter().map(|&y| F::c(y)).collect::<Vec<F>>();
        Shared {
            dense: self.dense.as_ref().map(|d| Dense {
                a: v(&d.a),
                mu: v(&d.mu),
                l_min: F::c(d.l_min),
            }),
            teacher: self.teacher.as_ref().map(|t| Teacher {
                x: v(&t.x),
                y: v(&t.y),
            }),
            diag: v(&self.diag),
            projector: v(&self.projector),
        }
    }
}

/// `n` standard normals from stream `stream` of the data seed.
pub fn gaussians(seed: u64, stream: u32, n: usize) -> Vec<f64> {
    let key = key_from_seed(seed);
    (0..n.div_ceil(4))
        .flat_map(|b| normals4::<f64>(philox4x32_10([b as u32, stream, 0, purpose::DATA], key)))
        .take(n)
        .collect()
}

/// A random orthogonal D x D matrix (row-major) from stream `stream` of the data seed:
/// Gram-Schmidt on a Gaussian matrix.
fn orthogonal(d: usize, seed: u64, stream: u32) -> Vec<f64> {
    let g = gaussians(seed, stream, d * d);
    let mut q: Vec<Vec<f64>> = (0..d).map(|i| g[i * d..(i + 1) * d].to_vec()).collect();
    for i in 0..d {
        for j in 0..i {
            let dot: f64 = q[i].iter().zip(&q[j]).map(|(a, b)| a * b).sum();
            let qj = q[j].clone();
            for (x, y) in q[i].iter_mut().zip(&qj) {
                *x -= dot * y;
            }
        }
        let norm = q[i].iter().map(|x| x * x).sum::<f64>().sqrt();
        q[i].iter_mut().for_each(|x| *x /= norm);
    }
    q.concat()
}

/// Solves A x = b for symmetric positive definite A by Cholesky.
fn solve_spd(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum();
            if i == j {
                l[i * d + i] = (a[i * d + i] - s).max(1e-300).sqrt();
            } else {
                l[i * d + j] = (a[i * d + j] - s) / l[j * d + j];
            }
        }
    }
    let mut y = vec![0.0; d];
    for i in 0..d {
        y[i] = (b[i] - (0..i).map(|k| l[i * d + k] * y[k]).sum::<f64>()) / l[i * d + i];
    }
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        x[i] = (y[i] - (i + 1..d).map(|k| l[k * d + i] * x[k]).sum::<f64>()) / l[i * d + i];
    }
    x
}

/// The network's output for one sample, f(x) = Σ_h w2_h tanh(W1_h · x / sqrt(d_in)) /
/// sqrt(H), leaving the hidden activations in `acts` (length H) for a backward pass.
pub fn forward<F: Real>(w: &[F], x: &[F], d_in: usize, hidden: usize, acts: &mut [F]) -> F {
    let scale_in = F::one() / F::c(d_in as f64).sqrt();
    let mut out = F::zero();
    for (h, a) in acts.iter_mut().enumerate() {
        let z = w[h * d_in..(h + 1) * d_in]
            .iter()
            .zip(x)
            .fold(F::zero(), |s, (&a, &b)| s + a * b);
        *a = (z * scale_in).tanh();
        out = out + w[hidden * d_in + h] * *a;
    }
    out / F::c(hidden as f64).sqrt()
}

/// Builds the shared data; `s` supplies the numbers that must be equal across points
/// ([`Landscape::shared_numbers`]). The projector is left empty: a learner with a control
/// basis adds it ([`projector`]).
pub fn build(land: &Landscape, s: &Shape) -> Shared<f64> {
    build_landscape(land, s)
}

/// P = B Bᵀ (row-major D×D), B the first m rows of a seeded orthogonal matrix: the
/// directions a partially controlled learner may move along. Its own stream (5) keeps
/// it independent of a dense Hessian's eigenvectors (stream 0).
pub fn projector(land: &Landscape, m: usize) -> Vec<f64> {
    let d = land.dim;
    let b = orthogonal(d, land.data_seed, 5);
    let mut proj = vec![0.0; d * d];
    for j in 0..d {
        for i in 0..d {
            proj[j * d + i] = (0..m).map(|k| b[k * d + j] * b[k * d + i]).sum();
        }
    }
    proj
}

fn build_landscape(land: &Landscape, s: &Shape) -> Shared<f64> {
    let d = land.dim;
    let seed = land.data_seed;
    match land.kind {
        LandscapeKind::QuadraticDense => {
            let h = land.spectrum_values(s);
            let u = orthogonal(d, seed, 0);
            // A = U diag(h) Uᵀ with U's rows as the eigenvectors.
            let mut a = vec![0.0; d * d];
            for i in 0..d {
                for j in 0..d {
                    a[i * d + j] = (0..d).map(|k| u[k * d + i] * h[k] * u[k * d + j]).sum();
                }
            }
            let diag = (0..d).map(|i| a[i * d + i]).collect();
            Shared {
                dense: Some(Dense {
                    a,
                    mu: vec![s.mu; d],
                    l_min: 0.0,
                }),
                teacher: None,
                diag,
                projector: vec![],
            }
        }
        LandscapeKind::LinearRegression => {
            let n = land.samples;
            let x = gaussians(seed, 1, n * d);
            let truth = gaussians(seed, 2, d);
            let noise = gaussians(seed, 3, n);
            let y: Vec<f64> = (0..n)
                .map(|i| {
                    (0..d).map(|k| x[i * d + k] * truth[k]).sum::<f64>()
                        + land.label_noise * noise[i]
                })
                .collect();
            let mut a = vec![0.0; d * d];
            let mut b = vec![0.0; d];
            for i in 0..n {
                let row = &x[i * d..(i + 1) * d];
                for j in 0..d {
                    b[j] += row[j] * y[i] / n as f64;
                    for k in 0..d {
                        a[j * d + k] += row[j] * row[k] / n as f64;
                    }
                }
            }
            let c = 0.5 * y.iter().map(|v| v * v).sum::<f64>() / n as f64;
            let mu = solve_spd(&a, &b, d);
            let l_min = c - 0.5 * b.iter().zip(&mu).map(|(x, y)| x * y).sum::<f64>();
            let diag = (0..d).map(|i| a[i * d + i]).collect();
            Shared {
                dense: Some(Dense { a, mu, l_min }),
                teacher: None,
                diag,
                projector: vec![],
            }
        }
        LandscapeKind::TeacherStudent => {
            let t = land.teacher.expect("validated");
            let w = gaussians(seed, 1, d);
            let x = gaussians(seed, 2, t.samples * t.d_in);
            let y = (0..t.samples)
                .map(|i| {
                    forward(
                        &w,
                        &x[i * t.d_in..(i + 1) * t.d_in],
                        t.d_in,
                        t.hidden,
                        &mut vec![0.0; t.hidden],
                    )
                })
                .collect();
            Shared {
                dense: None,
                teacher: Some(Teacher { x, y }),
                diag: vec![],
                projector: vec![],
            }
        }
        LandscapeKind::Quadratic | LandscapeKind::DoubleWell | LandscapeKind::Rosenbrock => {
            Shared {
                dense: None,
                teacher: None,
                diag: vec![],
                projector: vec![],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: LandscapeKind, dim: usize) -> Landscape {
        Landscape {
            dim,
            data_seed: 7,
            samples: 50,
            label_noise: 0.1,
            ..Landscape::new(kind)
        }
    }

    #[test]
    fn dense_hessian_has_the_spectrum() {
        let p = Shape {
            h_min: 0.5,
            h_max: 2.0,
            ..Shape::DEFAULT
        };
        let pr = problem(LandscapeKind::QuadraticDense, 6);
        let s = build(&pr, &p);
        let a = &s.dense.unwrap().a;
        // trace = Σ h, and A is symmetric.
        let tr: f64 = (0..6).map(|i| a[i * 6 + i]).sum();
        let want: f64 = pr.spectrum_values(&p).iter().sum();
        assert!((tr - want).abs() < 1e-10);
        for i in 0..6 {
            for j in 0..6 {
                assert!((a[i * 6 + j] - a[j * 6 + i]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn regression_quadratic_form_equals_the_data_loss() {
        let pr = problem(LandscapeKind::LinearRegression, 5);
        let s = build(&pr, &Shape::DEFAULT);
        let dense = s.dense.unwrap();
        let d = 5;
        let n = pr.samples;
        let x = gaussians(7, 1, n * d);
        let truth = gaussians(7, 2, d);
        let noise = gaussians(7, 3, n);
        let theta = [0.3, -1.0, 0.2, 0.9, -0.4];
        let data_loss: f64 = (0..n)
            .map(|i| {
                let y = (0..d).map(|k| x[i * d + k] * truth[k]).sum::<f64>() + 0.1 * noise[i];
                let pred: f64 = (0..d).map(|k| x[i * d + k] * theta[k]).sum();
                0.5 * (pred - y) * (pred - y)
            })
            .sum::<f64>()
            / n as f64;
        let r: Vec<f64> = theta.iter().zip(&dense.mu).map(|(a, b)| a - b).collect();
        let form: f64 = 0.5
            * (0..d)
                .map(|i| {
                    (0..d)
                        .map(|j| r[i] * dense.a[i * d + j] * r[j])
                        .sum::<f64>()
                })
                .sum::<f64>()
            + dense.l_min;
        assert!(
            (form - data_loss).abs() < 1e-10 * data_loss.max(1.0),
            "{form} vs {data_loss}"
        );
    }
}
