//! Batched L-BFGS: every problem of a batch has its own history and line search, and
//! all iterate in lockstep, so each round of trial points is one batched evaluation of
//! the objectives f and their gradients (one GPU dispatch, when a kernel evaluates them).
//!
//! The host keeps the iterates in f64; the evaluations are whatever the caller computes
//! (f32 on a device, f64 for a reference). Coordinates with zero gradient never move, so
//! a caller fixes a coordinate by zeroing its gradient. A problem stops when max |∂f/∂x|
//! ≤ `gtol`, or f changes by at most `ftol` relative in a step (converged), when no step
//! along the search direction lowers f any more although the gradient is not small
//! (stalled: reported, not hidden), or at `max_iter`. It knows nothing of what f is.

use crate::error::Result;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Something that evaluates f and its gradient for every problem of a batch at once.
pub trait Evaluate {
    /// f per problem into `s` and the gradient into `grad` (same layout as `theta`);
    /// problems with `active` false may be skipped (their results are ignored).
    fn eval(
        &mut self,
        theta: &[f64],
        active: &[bool],
        s: &mut [f64],
        grad: &mut [f64],
    ) -> Result<()>;
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
    /// How a problem's optimisation ended.
    pub enum Status {
        Converged = "converged",
        /// No step lowers S, yet the gradient is not small.
        Stalled = "stalled",
        MaxIter = "max_iter",
    }
}

/// A problem's result.
#[derive(Clone, Debug)]
pub struct Solution {
    pub s_init: f64,
    pub s_final: f64,
    pub iterations: usize,
    pub status: Status,
    /// max |∂S/∂θ| at the end.
    pub grad_norm: f64,
    /// Batched evaluations this problem took part in.
    pub evaluations: usize,
}

/// One problem's optimiser state, with every buffer it needs allocated once.
struct Lane {
    f: f64,
    g: Vec<f64>,
    /// (s, y, 1/sᵀy), oldest first.
    history: VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    done: Option<Status>,
    iterations: usize,
    evaluations: usize,
    s_init: f64,
    // This iteration's line search.
    dir: Vec<f64>,
    alpha: Vec<f64>,
    step: f64,
    slope: f64,
    searching: bool,
    /// f of the accepted step; its point and gradient are in x_new and g_new.
    accepted: Option<f64>,
    x_new: Vec<f64>,
    g_new: Vec<f64>,
    best_tried: f64,
}

/// aᵀb with eight partial sums, which the compiler turns into vector instructions (a
/// single running sum must stay sequential); the two-loop recursion is mostly dots.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f64>() + tail
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// d = −H g by the two-loop recursion over the history (`alpha` is scratch).
fn direction(
    g: &[f64],
    history: &VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    d: &mut [f64],
    alpha: &mut Vec<f64>,
) {
    d.copy_from_slice(g);
    alpha.clear();
    for (s, y, rho) in history.iter().rev() {
        let a = rho * dot(s, d);
        d.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
        alpha.push(a);
    }
    if let Some((s, y, _)) = history.back() {
        let gamma = dot(s, y) / dot(y, y);
        d.iter_mut().for_each(|x| *x *= gamma);
    }
    for ((s, y, rho), a) in history.iter().zip(alpha.iter().rev()) {
        let b = rho * dot(y, d);
        d.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
    }
    d.iter_mut().for_each(|x| *x = -*x);
}

/// Minimises f for every problem of `theta` (problems × len values, updated in place).
pub fn minimise(
    eval: &mut dyn Evaluate,
    theta: &mut [f64],
    len: usize,
    stop: &Stop,
) -> Result<Vec<Solution>> {
    let n_problems = theta.len() / len;
    let all = vec![true; n_problems];
    let (mut f, mut g) = (vec![0.0; n_problems], vec![0.0; theta.len()]);
    eval.eval(theta, &all, &mut f, &mut g)?;
    let (f0, g0) = (&f, &g);
    let mut lanes: Vec<Lane> = (0..n_problems)
        .map(|p| {
            let g = g0[p * len..(p + 1) * len].to_vec();
            let done = if !f0[p].is_finite() {
                Some(Status::Stalled)
            } else if max_abs(&g) <= stop.gtol {
                Some(Status::Converged)
            } else {
                None
            };
            Lane {
                f: f0[p],
                g,
                history: VecDeque::with_capacity(stop.memory),
                done,
                iterations: 0,
                evaluations: 1,
                s_init: f0[p],
                dir: vec![0.0; len],
                alpha: Vec::with_capacity(stop.memory),
                step: 0.0,
                slope: 0.0,
                searching: false,
                accepted: None,
                x_new: vec![0.0; len],
                g_new: vec![0.0; len],
                best_tried: f64::INFINITY,
            }
        })
        .collect();
    const ARMIJO: f64 = 1e-4;
    const HALVINGS: usize = 40;
    // Problems per rayon task: one problem's work is microseconds.
    const GRAIN: usize = 16;
    // Trial points; a problem not searching keeps stale values the evaluator may ignore.
    let mut trial = theta.to_vec();
    // The host's work per problem (directions, trial points, updates) runs in parallel
    // over problems: with thousands of them it is as large as the evaluations.
    for _ in 0..stop.max_iter {
        if lanes.iter().all(|l| l.done.is_some()) {
            break;
        }
        // Directions and first trial steps.
        lanes.par_iter_mut().with_min_len(GRAIN).for_each(|l| {
            l.searching = l.done.is_none();
            l.accepted = None;
            l.best_tried = f64::INFINITY;
            if !l.searching {
                return;
            }
            direction(&l.g, &l.history, &mut l.dir, &mut l.alpha);
            l.slope = dot(&l.g, &l.dir);
            if l.slope.is_nan() || l.slope >= 0.0 {
                // Not a descent direction: forget the history, go down the gradient.
                l.history.clear();
                l.dir.iter_mut().zip(&l.g).for_each(|(d, g)| *d = -g);
                l.slope = -dot(&l.g, &l.g);
            }
            l.step = if l.history.is_empty() {
                (1.0 / max_abs(&l.g)).min(1.0)
            } else {
                1.0
            };
        });
        let running: Vec<bool> = lanes.iter().map(|l| l.searching).collect();
        // Backtracking, all searching problems evaluated together.
        for _ in 0..HALVINGS {
            let searching: Vec<bool> = lanes.iter().map(|l| l.searching).collect();
            if !searching.iter().any(|&s| s) {
                break;
            }
            trial
                .par_chunks_mut(len)
                .zip(theta.par_chunks(len))
                .zip(&lanes)
                .with_min_len(GRAIN)
                .filter(|(_, l)| l.searching)
                .for_each(|((t, x), l)| {
                    for i in 0..len {
                        t[i] = x[i] + l.step * l.dir[i];
                    }
                });
            eval.eval(&trial, &searching, &mut f, &mut g)?;
            lanes
                .par_iter_mut()
                .zip(trial.par_chunks(len))
                .zip(g.par_chunks(len))
                .zip(&f)
                .with_min_len(GRAIN)
                .filter(|(((l, _), _), _)| l.searching)
                .for_each(|(((l, t), g), &f)| {
                    l.evaluations += 1;
                    l.best_tried = l.best_tried.min(f);
                    if f.is_finite() && f <= l.f + ARMIJO * l.step * l.slope {
                        l.accepted = Some(f);
                        l.x_new.copy_from_slice(t);
                        l.g_new.copy_from_slice(g);
                        l.searching = false;
                    } else {
                        l.step *= 0.5;
                    }
                });
        }
        lanes
            .par_iter_mut()
            .zip(theta.par_chunks_mut(len))
            .zip(&running)
            .with_min_len(GRAIN)
            .filter(|(_, &run)| run)
            .for_each(|((l, x_old), _)| {
                l.iterations += 1;
                l.searching = false;
                let Some(f_new) = l.accepted.take() else {
                    // No trial lowered f enough: within the evaluation's resolution the
                    // problem is at its minimum, or it is stuck.
                    let flat =
                        (l.best_tried - l.f).abs() <= stop.ftol * l.f.abs().max(1e-300) * 10.0;
                    l.done = Some(if flat || max_abs(&l.g) <= stop.gtol * 10.0 {
                        Status::Converged
                    } else {
                        Status::Stalled
                    });
                    return;
                };
                // The oldest pair's buffers hold the newest when the history is full.
                let (mut s, mut y) = match l.history.len() == stop.memory {
                    true => l.history.pop_front().map(|(s, y, _)| (s, y)).expect("full"),
                    false => (vec![0.0; len], vec![0.0; len]),
                };
                for i in 0..len {
                    s[i] = l.x_new[i] - x_old[i];
                    y[i] = l.g_new[i] - l.g[i];
                }
                let sy = dot(&s, &y);
                if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
                    l.history.push_back((s, y, 1.0 / sy));
                }
                let change = (l.f - f_new).abs() / l.f.abs().max(f_new.abs()).max(1e-300);
                x_old.copy_from_slice(&l.x_new);
                std::mem::swap(&mut l.g, &mut l.g_new);
                l.f = f_new;
                if max_abs(&l.g) <= stop.gtol || change <= stop.ftol {
                    l.done = Some(Status::Converged);
                }
            });
    }
    Ok(lanes
        .into_iter()
        .map(|l| Solution {
            s_init: l.s_init,
            s_final: l.f,
            iterations: l.iterations,
            status: l.done.unwrap_or(Status::MaxIter),
            grad_norm: max_abs(&l.g),
            evaluations: l.evaluations,
        })
        .collect())
}
