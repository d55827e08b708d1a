//! Batches of optimal paths as a [`Study`]: `rulelab control path CONFIG --out DIR`.
//! Every path is a learner of the study runner, so paths get everything sweeps have
//! (grid axes, shards, chunks, durable writes, resume, merge).
//!
//! ```toml
//! [landscape]   # any landscape of the sweep family (no gradient noise, no θ0)
//! [path]        # n, t_end, start | start_box, end, free_end, g, drift, drift_rate,
//!               # gamma, eta, k
//! [solver]      # gtol, ftol, max_iter, memory
//! [grid]        # axes over the numbers of PathParams
//! [output]      # points (every K-th path's points; 0: none), summary
//! ```
//!
//! Paths of a chunk that share N, T and the drift rate are one batch: one kernel
//! evaluates S and ∂S/∂θ for all of them, and L-BFGS moves them in lockstep.

use super::action::PathConsts;
use super::config::{PathConfig, PathParams, PathStudy};
use super::paths;
use crate::error::{Error, Result};
use crate::gpu::Backend;
use crate::keys::err;
use crate::lbfgs::{Solution, Status};
use crate::loss::data::{self, Shared};
use crate::loss::DriftKind;
use crate::loss::Shape;
use crate::sweep::prune::PrunePlan;
use crate::sweep::{Compute, Grid, Parse, Present};
use toml::Table;

/// A path's outcome: its result, and its final points with the loss at each.
pub struct PathOutcome {
    pub result: Solution,
    pub t_end: f64,
    pub points: Vec<f64>,
    pub loss: Vec<f64>,
}

/// Data the paths share, in f64 (the CPU device and the kernel cast what they need).
pub struct PathPrepared {
    pub shared: Shared<f64>,
}

impl PathStudy {
    /// Solves a batch of paths that share their shape.
    fn solve_batch(
        &self,
        prepared: &PathPrepared,
        backend: &Backend,
        group: &[PathParams],
    ) -> Result<Vec<PathOutcome>> {
        let shape = self.shape(&group[0]);
        let land: Vec<Shape> = group.iter().map(|p| p.shape()).collect();
        let consts: Vec<PathConsts> = group.iter().map(|p| p.consts()).collect();
        let mut theta: Vec<f64> = group.iter().flat_map(|p| self.initial(p)).collect();
        let results = paths::solve(
            backend,
            false,
            &self.landscape,
            &prepared.shared,
            &land,
            &consts,
            &shape,
            &mut theta,
            &self.stop,
        )?;
        let len = (shape.n + 1) * self.landscape.dim;
        Ok(results
            .into_iter()
            .zip(theta.chunks(len))
            .zip(group)
            .map(|((result, points), p)| PathOutcome {
                t_end: p.t_end,
                loss: self.loss_along(&prepared.shared, p, points),
                points: points.to_vec(),
                result,
            })
            .collect())
    }
}

impl Parse for PathStudy {
    type Params = PathParams;

    const FAMILY: &'static str = "control";

    const SECTIONS: &'static [&'static str] = &["landscape", "path", "solver", "output", "run"];

    fn parse(root: &Table, grid: &Table) -> Result<(Self, Self::Params)> {
        super::config::parse(root, grid)
    }

    fn fixed(&self) -> Vec<&'static str> {
        self.landscape.shared_numbers().to_vec()
    }

    fn ignores(&self, _p: &PathParams, name: &str, _grid: &Grid) -> Option<String> {
        let dim = self.landscape.dim;
        match name {
            "seed" => self
                .start_box
                .is_none()
                .then(|| "nothing is random: path.start_box is not set".into()),
            "start_0" | "start_1" if self.start_box.is_some() => {
                Some("path.start_box draws the starts".into())
            }
            "start_1" | "end_1" if dim < 2 => Some("the landscape has dim = 1".into()),
            "end_0" | "end_1" if self.end.is_none() => {
                Some("the free end starts where the path starts (path.end is not set)".into())
            }
            "drift_rate" => (self.drift == DriftKind::None).then(|| "path.drift is none".into()),
            _ => self.landscape.ignores(name),
        }
    }

    fn check(&self, base: &PathParams, grid: &Grid) -> Result<()> {
        for key in &self.fixed_keys {
            let name = key.split('.').nth(1).unwrap_or(key);
            if let Some(why) = self.ignores(base, name, grid) {
                return Err(err(key.as_str(), format!("has no effect: {why}")));
            }
        }
        Ok(())
    }

    fn validate(&self, p: &PathParams) -> Result<()> {
        let bad = |k: &str, m: String| Err(Error::invalid(k, m));
        if !(p.gamma >= 0.0 && p.gamma.is_finite()) {
            return bad(
                "gamma",
                format!("{} must be ≥ 0 (the discount rate γ)", p.gamma),
            );
        }
        if !(p.eta > 0.0 && p.eta.is_finite()) {
            return bad("eta", format!("{} must be > 0 (the inverse mass η)", p.eta));
        }
        if !(p.k > 0.0 && p.k.is_finite()) {
            return bad("k", format!("{} must be > 0 (the weight of the loss)", p.k));
        }
        if !(p.t_end > 0.0 && p.t_end.is_finite()) {
            return bad("t_end", format!("{} must be > 0 (the horizon T)", p.t_end));
        }
        if !(p.n >= 2.0 && p.n <= 1e6 && p.n.fract() == 0.0) {
            return bad(
                "n",
                format!("{} must be an integer in 2..=1000000 (intervals N)", p.n),
            );
        }
        if !(p.seed >= 0.0 && p.seed.fract() == 0.0) {
            return bad("seed", format!("{} must be an integer ≥ 0", p.seed));
        }
        self.landscape.validate()?;
        self.landscape.validate_shape(&p.shape())
    }

    fn describe(&self) -> String {
        format!(
            "optimal paths on {}, D = {}, {} end",
            self.landscape.kind.name(),
            self.landscape.dim,
            if self.free_end { "free" } else { "fixed" }
        )
    }
}

impl Compute for PathStudy {
    type Outcome = PathOutcome;

    type Prepared = PathPrepared;

    const WORK: &'static str = "paths";

    const LEARNERS: &'static str = "paths";

    fn work_per_learner(&self) -> f64 {
        1.0
    }

    fn prepare(&self, base: &PathParams) -> Result<PathPrepared> {
        Ok(PathPrepared {
            shared: data::build(&self.landscape, &base.shape()),
        })
    }

    /// Points and gradient of the longest path, in f32.
    fn learner_bytes(&self) -> u64 {
        4 * (self.max_n as u64 + 1) * self.landscape.dim as u64
    }

    /// Paths keep their iterates and L-BFGS history on the host (about 2·memory + 3
    /// copies of the path in f64), so chunks are sized to keep that near 1 GB.
    fn chunk_size(&self, backend: &Backend) -> u64 {
        let host = 8 * (2 * self.stop.memory as u64 + 3) * self.learner_bytes() / 4;
        let want = match backend {
            Backend::Cpu => (64 * rayon::current_num_threads()).max(1024) as u64,
            Backend::Gpu(_) => 1 << 14,
        };
        want.min((1u64 << 30) / host.max(1))
            .min(self.max_chunk(backend))
            .max(1)
    }

    fn run_chunk(
        &self,
        prepared: &PathPrepared,
        backend: &Backend,
        learners: &[PathParams],
        _prune: Option<&PrunePlan>,
    ) -> Result<Vec<PathOutcome>> {
        // Batches of one shape (N, T, drift rate).
        let mut batches: std::collections::BTreeMap<(u64, u64, u64), Vec<usize>> =
            Default::default();
        for (i, p) in learners.iter().enumerate() {
            let key = (p.n.to_bits(), p.t_end.to_bits(), p.drift_rate.to_bits());
            batches.entry(key).or_default().push(i);
        }
        let mut out: Vec<Option<PathOutcome>> = (0..learners.len()).map(|_| None).collect();
        for idx in batches.into_values() {
            let group: Vec<PathParams> = idx.iter().map(|&j| learners[j]).collect();
            for (j, o) in idx
                .into_iter()
                .zip(self.solve_batch(prepared, backend, &group)?)
            {
                out[j] = Some(o);
            }
        }
        Ok(out
            .into_iter()
            .map(|o| o.expect("every path solved"))
            .collect())
    }
}

impl Present for PathStudy {
    const RESULTS: &'static str = "paths.csv";

    const SERIES: &'static str = "points.csv";

    fn columns(&self) -> Vec<String> {
        let mut c: Vec<String> = [
            "s_init",
            "s_final",
            "iterations",
            "evaluations",
            "converged",
            "status",
            "grad_norm",
            "max_loss",
            "end_loss",
        ]
        .map(String::from)
        .to_vec();
        for i in 0..self.endpoint_columns() {
            c.push(format!("from_{i}"));
        }
        for i in 0..self.endpoint_columns() {
            c.push(format!("to_{i}"));
        }
        c
    }

    fn write_row(&self, o: &PathOutcome, out: &mut String) {
        use std::fmt::Write;
        let r = &o.result;
        let max_loss = o.loss.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
        let _ = write!(
            out,
            ",{},{},{},{},{},{},{},{},{}",
            r.s_init,
            r.s_final,
            r.iterations,
            r.evaluations,
            r.status == Status::Converged,
            r.status.name(),
            r.grad_norm,
            max_loss,
            o.loss.last().copied().unwrap_or(f64::NAN)
        );
        let d = self.landscape.dim;
        let cols = self.endpoint_columns();
        let last = o.points.len() - d;
        for x in o.points[..cols].iter().chain(&o.points[last..last + cols]) {
            let _ = write!(out, ",{x}");
        }
    }

    fn headline(&self) -> &'static str {
        "s_final"
    }

    fn series_columns(&self) -> Option<Vec<String>> {
        (self.points_every > 0).then(|| {
            let mut c = vec!["point".to_string(), "t".to_string()];
            c.extend((0..self.landscape.dim).map(|i| format!("theta_{i}")));
            c.push("loss".into());
            c
        })
    }

    fn write_series(&self, learner: u64, o: &PathOutcome, out: &mut String) {
        use std::fmt::Write;
        if self.points_every == 0 || !learner.is_multiple_of(self.points_every) {
            return;
        }
        let d = self.landscape.dim;
        let n = o.loss.len() - 1;
        let t_end = o.t_end;
        for (m, (at, loss)) in o.points.chunks(d).zip(&o.loss).enumerate() {
            let _ = write!(out, "{learner},{m},{}", t_end * m as f64 / n as f64);
            for x in at {
                let _ = write!(out, ",{x}");
            }
            let _ = writeln!(out, ",{loss}");
        }
    }

    fn summary(
        cfg: &PathConfig,
        dir: &std::path::Path,
        fig: &crate::plot::Figure,
    ) -> Result<Vec<std::path::PathBuf>> {
        if cfg.study.points_every > 0 {
            super::plot::write_paths(cfg, dir, fig)
        } else {
            crate::sweep::summary::write_summary(cfg, dir, fig)
        }
    }

    fn bytes_per_learner(&self, grid: &Grid) -> u64 {
        let d = self.landscape.dim as u64;
        let row = 10 + 12 * grid.axes.len() as u64 + 150 + 40 * self.endpoint_columns() as u64;
        let points = match self.points_every {
            0 => 0,
            k => (self.max_n as u64 + 1) * (40 + 20 * d) / k,
        };
        row + points
    }
}
