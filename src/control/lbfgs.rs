//! Optimal paths by L-BFGS: every path of a batch has its own history and line search,
//! and all iterate in lockstep, so each round of trial points is one batched evaluation
//! of S and its gradient (one GPU dispatch).
//!
//! The host keeps the iterates in f64; the evaluations are those of the device (f32 on
//! a GPU or the CPU device, f64 for the reference). Fixed points have zero gradient, so
//! they never move. A path stops when max |∂S/∂θ| ≤ `gtol`, or S changes by at most
//! `ftol` relative in a step (converged), when no step along the search direction lowers
//! S any more although the gradient is not small (stalled: reported, not hidden), or at
//! `max_iter`.

use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Something that evaluates S and its gradient for every path of a batch at once.
pub trait Evaluate {
    /// S per path and the gradient (same layout as `theta`); paths with `active` false
    /// may be skipped (their results are ignored).
    fn eval(&mut self, theta: &[f64], active: &[bool]) -> Result<(Vec<f64>, Vec<f64>)>;
}

/// When to stop.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    pub gtol: f64,
    pub ftol: f64,
    pub max_iter: usize,
    /// L-BFGS memory.
    pub memory: usize,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            gtol: 1e-6,
            ftol: 1e-9,
            max_iter: 2000,
            memory: 10,
        }
    }
}

crate::named_enum! {
    /// How a path's optimisation ended.
    pub enum Status {
        Converged = "converged",
        /// No step lowers S, yet the gradient is not small.
        Stalled = "stalled",
        MaxIter = "max_iter",
    }
}

/// A path's result.
#[derive(Clone, Debug)]
pub struct PathResult {
    pub s_init: f64,
    pub s_final: f64,
    pub iterations: usize,
    pub status: Status,
    /// max |∂S/∂θ| at the end.
    pub grad_norm: f64,
    /// Batched evaluations this path took part in.
    pub evaluations: usize,
}

struct Lane {
    f: f64,
    g: Vec<f64>,
    history: VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    done: Option<Status>,
    iterations: usize,
    evaluations: usize,
    s_init: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// −H g by the two-loop recursion over the history.
fn direction(g: &[f64], history: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q: Vec<f64> = g.to_vec();
    let mut alpha = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let a = rho * dot(s, &q);
        q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
        alpha.push(a);
    }
    if let Some((s, y, _)) = history.back() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|x| *x *= gamma);
    }
    for ((s, y, rho), a) in history.iter().zip(alpha.iter().rev()) {
        let b = rho * dot(y, &q);
        q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
    }
    q.iter_mut().for_each(|x| *x = -*x);
    q
}

/// Minimises S for every path of `theta` (paths × len values, updated in place).
pub fn minimise(
    eval: &mut dyn Evaluate,
    theta: &mut [f64],
    len: usize,
    stop: &Stop,
) -> Result<Vec<PathResult>> {
    let n_paths = theta.len() / len;
    let all = vec![true; n_paths];
    let (f0, g0) = eval.eval(theta, &all)?;
    let mut lanes: Vec<Lane> = (0..n_paths)
        .map(|p| Lane {
            f: f0[p],
            g: g0[p * len..(p + 1) * len].to_vec(),
            history: VecDeque::new(),
            done: None,
            iterations: 0,
            evaluations: 1,
            s_init: f0[p],
        })
        .collect();
    for l in &mut lanes {
        if max_abs(&l.g) <= stop.gtol {
            l.done = Some(Status::Converged);
        }
        if !l.f.is_finite() {
            l.done = Some(Status::Stalled);
        }
    }
    const ARMIJO: f64 = 1e-4;
    const HALVINGS: usize = 40;
    for _ in 0..stop.max_iter {
        let running: Vec<bool> = lanes.iter().map(|l| l.done.is_none()).collect();
        if !running.iter().any(|&r| r) {
            break;
        }
        // Directions and first trial steps.
        let mut dirs: Vec<Vec<f64>> = Vec::with_capacity(n_paths);
        let mut steps = vec![0.0; n_paths];
        let mut slopes = vec![0.0; n_paths];
        for (p, l) in lanes.iter_mut().enumerate() {
            if !running[p] {
                dirs.push(vec![]);
                continue;
            }
            let mut d = direction(&l.g, &l.history);
            let mut slope = dot(&l.g, &d);
            if slope.is_nan() || slope >= 0.0 {
                // Not a descent direction: forget the history, go down the gradient.
                l.history.clear();
                d = l.g.iter().map(|x| -x).collect();
                slope = -dot(&l.g, &l.g);
            }
            steps[p] = if l.history.is_empty() {
                (1.0 / max_abs(&l.g)).min(1.0)
            } else {
                1.0
            };
            slopes[p] = slope;
            dirs.push(d);
        }
        // Backtracking, all searching paths evaluated together.
        let mut searching = running.clone();
        // Per path: S, the point and the gradient of its accepted step.
        type Step = (f64, Vec<f64>, Vec<f64>);
        let mut accepted: Vec<Option<Step>> = vec![None; n_paths];
        let mut best_tried = vec![f64::INFINITY; n_paths];
        let mut trial = theta.to_vec();
        for _ in 0..HALVINGS {
            if !searching.iter().any(|&s| s) {
                break;
            }
            for p in 0..n_paths {
                if searching[p] {
                    for i in 0..len {
                        trial[p * len + i] = theta[p * len + i] + steps[p] * dirs[p][i];
                    }
                }
            }
            let (f, g) = eval.eval(&trial, &searching)?;
            for p in 0..n_paths {
                if !searching[p] {
                    continue;
                }
                lanes[p].evaluations += 1;
                best_tried[p] = best_tried[p].min(f[p]);
                if f[p].is_finite() && f[p] <= lanes[p].f + ARMIJO * steps[p] * slopes[p] {
                    accepted[p] = Some((
                        f[p],
                        trial[p * len..(p + 1) * len].to_vec(),
                        g[p * len..(p + 1) * len].to_vec(),
                    ));
                    searching[p] = false;
                } else {
                    steps[p] *= 0.5;
                }
            }
        }
        for (p, l) in lanes.iter_mut().enumerate() {
            if !running[p] {
                continue;
            }
            l.iterations += 1;
            let Some((f_new, x_new, g_new)) = accepted[p].take() else {
                // No trial lowered S enough: within the evaluation's resolution the
                // path is at its minimum, or it is stuck.
                let flat = (best_tried[p] - l.f).abs() <= stop.ftol * l.f.abs().max(1e-300) * 10.0;
                l.done = Some(if flat || max_abs(&l.g) <= stop.gtol * 10.0 {
                    Status::Converged
                } else {
                    Status::Stalled
                });
                continue;
            };
            let x_old = &theta[p * len..(p + 1) * len];
            let s: Vec<f64> = x_new.iter().zip(x_old).map(|(a, b)| a - b).collect();
            let y: Vec<f64> = g_new.iter().zip(&l.g).map(|(a, b)| a - b).collect();
            let sy = dot(&s, &y);
            if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
                if l.history.len() == stop.memory {
                    l.history.pop_front();
                }
                l.history.push_back((s, y, 1.0 / sy));
            }
            let change = (l.f - f_new).abs() / l.f.abs().max(f_new.abs()).max(1e-300);
            theta[p * len..(p + 1) * len].copy_from_slice(&x_new);
            l.f = f_new;
            l.g = g_new;
            if max_abs(&l.g) <= stop.gtol || change <= stop.ftol {
                l.done = Some(Status::Converged);
            }
        }
    }
    Ok(lanes
        .into_iter()
        .map(|l| PathResult {
            s_init: l.s_init,
            s_final: l.f,
            iterations: l.iterations,
            status: l.done.unwrap_or(Status::MaxIter),
            grad_norm: max_abs(&l.g),
            evaluations: l.evaluations,
        })
        .collect())
}
