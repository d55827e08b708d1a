//! w_0, an animal's GLM weights before its first trial: a fit starts each training
//! animal from it (a logistic fit to its first trials, zeros or given weights), and a
//! score needs it for held-out animals the fit never saw (refined under the fitted
//! rule).

use super::data::{Animal, Dataset, Trial};
use super::model::{self, Window};
use super::net::{Net, K};
use super::options::Init;
use rayon::prelude::*;

/// The logistic regression of choices on x = (s, 1) over the first `n` trials, by
/// Newton's method with a small ridge (so a perfect separation stays finite).
pub fn logistic_fit(trials: &[Trial], n: usize) -> [f64; K] {
    let mut w = [0.0; K];
    let ridge = 1e-2;
    for _ in 0..25 {
        let (mut g, mut h) = ([ridge * w[0], ridge * w[1]], [[ridge, 0.0], [0.0, ridge]]);
        for t in trials.iter().take(n) {
            let x = [t.stimulus, 1.0];
            let p = 1.0 / (1.0 + (-(w[0] * x[0] + w[1])).exp());
            let e = p - t.choice as f64;
            let v = p * (1.0 - p);
            for i in 0..K {
                g[i] += e * x[i];
                for j in 0..K {
                    h[i][j] += v * x[i] * x[j];
                }
            }
        }
        let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
        let step = [
            (h[1][1] * g[0] - h[0][1] * g[1]) / det,
            (h[0][0] * g[1] - h[1][0] * g[0]) / det,
        ];
        w = [w[0] - step[0], w[1] - step[1]];
        if step[0].abs() + step[1].abs() < 1e-10 {
            break;
        }
    }
    w
}

pub(super) fn initial_w0(init: Init, a: &Animal) -> [f64; K] {
    match init {
        Init::Zeros => [0.0; K],
        Init::Given(w) => w,
        Init::PerAnimal => logistic_fit(&a.trials, 100),
    }
}

/// The untrained w_0 of each animal: its logistic fit (`Init::PerAnimal`), zeros or
/// the given one. Held-out animals' start here ([`heldout_w0_under`] refines them).
pub fn heldout_w0(init: Init, data: &Dataset) -> Vec<[f64; K]> {
    data.animals.iter().map(|a| initial_w0(init, a)).collect()
}

/// The first trials of an animal its held-out w_0 is fitted to.
pub const W0_TRIALS: usize = 100;

/// The w_0 that minimises `nll` (a model's summed NLL of an animal's first trials as a
/// function of w_0) from `start`: Newton's method on central differences (the function
/// is smooth in two variables, whatever the model), each step halved until it lowers
/// the NLL.
pub fn refine_w0(nll: impl Fn([f64; K]) -> f64, start: [f64; K]) -> [f64; K] {
    let h = 1e-4;
    let mut w = start;
    let mut f = nll(w);
    for _ in 0..30 {
        let at = |d0: f64, d1: f64| nll([w[0] + d0, w[1] + d1]);
        let (p0, m0, p1, m1) = (at(h, 0.0), at(-h, 0.0), at(0.0, h), at(0.0, -h));
        let g = [(p0 - m0) / (2.0 * h), (p1 - m1) / (2.0 * h)];
        let h00 = (p0 - 2.0 * f + m0) / (h * h);
        let h11 = (p1 - 2.0 * f + m1) / (h * h);
        let h01 = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4.0 * h * h);
        let det = h00 * h11 - h01 * h01;
        let mut step = if h00 > 0.0 && det > 0.0 {
            [
                -(h11 * g[0] - h01 * g[1]) / det,
                -(h00 * g[1] - h01 * g[0]) / det,
            ]
        } else {
            // Not convex here: a short step down the gradient.
            let n = (g[0] * g[0] + g[1] * g[1]).sqrt().max(1e-12);
            [-0.5 * g[0] / n, -0.5 * g[1] / n]
        };
        let mut moved = false;
        for _ in 0..20 {
            let next = [w[0] + step[0], w[1] + step[1]];
            let fn_ = nll(next);
            if fn_ < f {
                (w, f, moved) = (next, fn_, true);
                break;
            }
            step = [0.5 * step[0], 0.5 * step[1]];
        }
        if !moved || step[0].abs() + step[1].abs() < 1e-6 {
            break;
        }
    }
    w
}

/// w_0 for held-out animals under a fitted network: with `Init::PerAnimal`, each
/// animal's logistic fit refined to the w_0 under which the network best predicts its
/// first [`W0_TRIALS`] choices (as training fitted the training animals' w_0 under
/// it); other inits as they are.
pub fn heldout_w0_under(net: &Net, phi: &[f64], init: Init, data: &Dataset) -> Vec<[f64; K]> {
    let start = heldout_w0(init, data);
    if init != Init::PerAnimal {
        return start;
    }
    data.animals
        .par_iter()
        .zip(start)
        .map(|(a, w)| {
            let first = &a.trials[..a.trials.len().min(W0_TRIALS)];
            let win = std::cell::RefCell::new(Window::new(net, first.len()));
            let nll = |w0: [f64; K]| {
                let mut win = win.borrow_mut();
                let n = first.len();
                model::window(net, phi, first, 0, n, w0, 1.0, None, &mut win, None).0
            };
            refine_w0(nll, w)
        })
        .collect()
}
