//! `rulelab bench sweep`: the reference workloads timed end to end on a device, in the
//! JSON shape of the optimiser bench (one object per workload and device).

use super::{LearnerOutcome, SweepConfig};
use crate::error::Result;
use crate::gpu::Backend;
use crate::sweep::{Compute, ParamSet};
use std::time::Instant;

pub const S1: &str = include_str!("../../examples/sweeps/s1_adam_quadratic.toml");

/// A coupled landscape: momentum on a 64-dimensional Rosenbrock valley.
pub const ROSENBROCK64: &str = r#"
[landscape]
kind = "rosenbrock"
dim = 64
theta0 = -0.5
theta0_noise = 0.1
noise = "isotropic"
noise_sigma = 0.01
[rule]
kind = "momentum"
[grid]
lr = { logspace = [1e-5, 3e-3, 16] }
beta1 = [0.0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99]
seed = { range = [0, 128] }
[run]
steps = 1000
blowup = 1e8
"#;

#[derive(Clone, Debug, serde::Serialize)]
pub struct SweepBenchRow {
    pub kernel: String,
    /// Learners.
    pub n: u64,
    pub dim: usize,
    pub steps: usize,
    /// Wall time of the whole run (all chunks, data and readback included).
    pub seconds: f64,
    pub learner_steps_per_s: f64,
    pub coordinate_steps_per_s: f64,
    pub median_final_loss: f64,
    /// The setting (all axes but seed) with the lowest mean final loss over seeds.
    pub best_setting: String,
    pub best_mean_final_loss: f64,
    pub device: String,
    pub adapter: String,
    /// The CPU's vector width in use (avx512, avx2, baseline), for CPU rows.
    pub simd: String,
}

/// Runs the first `learners` learners of a workload (all when None) on the backend.
pub fn run(
    name: &str,
    text: &str,
    backend: &Backend,
    learners: Option<u64>,
) -> Result<SweepBenchRow> {
    let cfg = SweepConfig::from_toml(text)?;
    let n = learners.map_or(cfg.grid_size(), |l| l.min(cfg.grid_size()));
    let chunk = match backend {
        Backend::Cpu => n,
        Backend::Gpu(_) => cfg.study.chunk_size(backend),
    };
    let t0 = Instant::now();
    let prepared = cfg.study.prepare(&cfg.base)?;
    let mut params = Vec::with_capacity(n as usize);
    let mut outcomes: Vec<LearnerOutcome> = Vec::with_capacity(n as usize);
    let mut lo = 0;
    while lo < n {
        let hi = (lo + chunk).min(n);
        let (p, o) = crate::sweep::run::run_learners(&cfg, &prepared, backend, lo, hi)?;
        params.extend(p);
        outcomes.extend(o);
        lo = hi;
    }
    let seconds = t0.elapsed().as_secs_f64();
    let finals: Vec<f64> = outcomes.iter().map(|o| o.final_loss).collect();
    // Mean final loss per setting (every axis but seed).
    let mut by: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
    for (k, o) in outcomes.iter().enumerate() {
        let p = &params[k];
        let key = cfg
            .grid
            .axes
            .iter()
            .filter(|a| a.name != "seed")
            .map(|a| format!("{}={}", a.name, p.get(&a.name).unwrap()))
            .collect::<Vec<_>>()
            .join(" ");
        let e = by.entry(key).or_default();
        e.0 += o.final_loss;
        e.1 += 1;
    }
    let (best_setting, best) = by
        .into_iter()
        .map(|(k, (s, c))| (k, s / c as f64))
        .filter(|(_, m)| m.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or_default();
    let steps = cfg.study.problem.steps;
    Ok(SweepBenchRow {
        kernel: name.to_string(),
        n,
        dim: cfg.study.problem.landscape.dim,
        steps,
        seconds,
        learner_steps_per_s: n as f64 * steps as f64 / seconds,
        coordinate_steps_per_s: n as f64 * steps as f64 * cfg.study.problem.landscape.dim as f64
            / seconds,
        median_final_loss: crate::stats::median(finals),
        best_setting,
        best_mean_final_loss: best,
        device: backend.kind().into(),
        adapter: backend.describe(),
        simd: if matches!(backend, Backend::Cpu) {
            crate::simd::level().into()
        } else {
            String::new()
        },
    })
}
