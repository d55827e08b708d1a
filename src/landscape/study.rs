//! Landscape sweeps as a [`Study`]: the `[landscape]`, `[rule]`, `[run]` and `[output]`
//! sections, the rule kind as a categorical axis, the result columns of spec §7, and a
//! chunk run as one kernel per rule kind (GPU) or learners in lockstep (CPU). The
//! sections are read in `config.rs`.

use super::config::{rule_kind, rule_names, LandscapeStudy, SweepConfig, CONTINUAL_KEYS};
use super::{cpu, gpu, DriftKind, LearnerOutcome, Noise, Params};
use crate::error::{Error, Result};
use crate::gpu::Backend;
use crate::keys::err;
use crate::loss::data::Shared;
use crate::optim::Hp;
use crate::sweep::prune::PrunePlan;
use crate::sweep::{Compute, ParamSet, Parse, Present};
use toml::{Table, Value};

/// Shared data in the reference type and in the CPU device's.
pub struct Prepared {
    pub shared: Shared<f64>,
    pub shared_f32: Shared<f32>,
}

impl Parse for LandscapeStudy {
    type Params = Params;

    const FAMILY: &'static str = "landscape";

    const SECTIONS: &'static [&'static str] = &["landscape", "rule", "run", "output", "continual"];

    fn parse(root: &Table, grid: &Table) -> Result<(Self, Self::Params)> {
        super::config::parse(root, grid)
    }

    fn categorical(&mut self, name: &str, values: &Value) -> Option<Result<Vec<f64>>> {
        if name == "reset" {
            return Some(self.reset_axis(values));
        }
        if name != "rule" {
            return None;
        }
        let key = format!("grid.{name}");
        let parsed = values
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                err(
                    &key,
                    format!("must be a list of rule kinds: {}", rule_names().join(", ")),
                )
            })
            .and_then(|names| {
                names
                    .iter()
                    .map(|n| rule_kind(&key, n))
                    .collect::<Result<Vec<_>>>()
            });
        Some(parsed.and_then(|rules| {
            for (i, r) in rules.iter().enumerate() {
                if rules[..i].contains(r) {
                    return Err(err(&key, format!("lists {} twice", r.name())));
                }
            }
            self.problem.rule = rules[0];
            self.rules = rules;
            Ok((0..self.rules.len()).map(|i| i as f64).collect())
        }))
    }

    fn label(&self, axis: &str, v: f64) -> String {
        match axis {
            "rule" => self.rules[v as usize].name().to_string(),
            "reset" => self.resets()[v as usize].name().to_string(),
            _ => v.to_string(),
        }
    }

    fn parse_label(&self, axis: &str, s: &str) -> Option<f64> {
        match axis {
            "rule" => self
                .rules
                .iter()
                .position(|r| r.name() == s)
                .map(|i| i as f64),
            "reset" => self
                .resets()
                .iter()
                .position(|r| r.name() == s)
                .map(|i| i as f64),
            _ => s.parse().ok(),
        }
    }

    fn ignores(&self, p: &Params, name: &str, grid: &crate::sweep::Grid) -> Option<String> {
        let rule = *self.rules.get(p.rule as usize)?;
        if let Some(hp) = Hp::ALL.iter().find(|h| h.name() == name) {
            return (!rule.reads().iter().any(|(h, _)| h == hp))
                .then(|| format!("{} does not read {name}", rule.name()));
        }
        if CONTINUAL_KEYS.contains(&name) {
            return self.continual_ignores(p, name);
        }
        match name {
            "seed" => {
                let random = self.problem.noise != Noise::None
                    || self.problem.continual.is_some()
                    || self
                        .problem
                        .landscape
                        .teacher
                        .is_some_and(|t| t.minibatch > 0)
                    || p.theta0_noise != 0.0
                    || grid.axes.iter().any(|a| a.name == "theta0_noise");
                (!random).then(|| {
                    "nothing in this sweep is random (noise = none, theta0_noise = 0, no \
                     minibatches, no [continual])"
                        .to_string()
                })
            }
            "noise_sigma" => {
                (self.problem.noise == Noise::None).then(|| "landscape.noise is none".into())
            }
            "drift_rate" => {
                (self.problem.drift == DriftKind::None).then(|| "landscape.drift is none".into())
            }
            _ => self.problem.landscape.ignores(name),
        }
    }

    fn check(&self, base: &Params, grid: &crate::sweep::Grid) -> Result<()> {
        for key in &self.fixed_keys {
            let name = key.split('.').nth(1).unwrap_or(key);
            let resets = self.resets().len().max(1);
            let why: Vec<String> = (0..self.rules.len() * resets)
                .filter_map(|i| {
                    let mut p = *base;
                    p.rule = (i / resets) as f64;
                    p.reset = (i % resets) as f64;
                    self.ignores(&p, name, grid)
                })
                .collect();
            if why.len() == self.rules.len() * resets {
                return Err(err(
                    key.as_str(),
                    format!("has no effect: {}", why.join("; ")),
                ));
            }
        }
        let rate_axis = grid.axes.iter().any(|a| a.name == "drift_rate");
        if self.problem.drift != DriftKind::None && base.drift_rate == 0.0 && !rate_axis {
            // A drift at rate 0 is no drift: the key would change nothing.
            return Err(err(
                "landscape.drift",
                format!(
                    "{:?} at drift_rate = 0 is no drift: give landscape.drift_rate (or a \
                     drift_rate axis)",
                    self.problem.drift.name()
                ),
            ));
        }
        Ok(())
    }

    fn fixed(&self) -> Vec<&'static str> {
        self.problem.shared_params().to_vec()
    }

    fn complete(&self, p: &mut Params) {
        let Some(&rule) = self.rules.get(p.rule as usize) else {
            return;
        };
        let defaults = rule.default_hyper();
        for hp in Hp::ALL {
            if !self.explicit.contains(&hp) {
                p.set(hp.name(), hp.get(&defaults));
            }
        }
    }

    fn validate(&self, p: &Params) -> Result<()> {
        if !(p.rule >= 0.0 && (p.rule as usize) < self.rules.len() && p.rule.fract() == 0.0) {
            return Err(Error::invalid("rule", format!("{} names no rule", p.rule)));
        }
        let problem = self.problem_for(p);
        problem.validate()?;
        problem.validate_params(p)
    }

    fn describe(&self) -> String {
        format!(
            "{} on {}, D = {}, {} steps",
            self.rules
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(" vs "),
            self.problem.landscape.kind.name(),
            self.problem.landscape.dim,
            self.problem.steps
        )
    }
}

impl Compute for LandscapeStudy {
    type Outcome = LearnerOutcome;

    type Prepared = Prepared;

    fn work_per_learner(&self) -> f64 {
        self.problem.steps as f64
    }

    fn prepare(&self, base: &Params) -> Result<Prepared> {
        let shared = self.problem.shared_data(base);
        Ok(Prepared {
            shared_f32: shared.cast::<f32>(),
            shared,
        })
    }

    /// The largest per-learner buffer: trajectories, or the state carried between
    /// windows of steps (theta and three states).
    fn learner_bytes(&self) -> u64 {
        let records = self
            .problem
            .steps
            .checked_div(self.problem.record_every)
            .map_or(0, |r| r + 1) as u64;
        (4 * records)
            .max(16 * self.problem.landscape.dim as u64)
            .max(32)
    }

    /// Runs the chunk in groups of one rule kind each (a kernel per kind), results in
    /// the chunk's order.
    const PRUNES: bool = true;

    fn refuses_pruning(&self) -> Option<String> {
        self.problem.continual.as_ref().map(|_| {
            "continual sweeps compare every learner with its oracle twin over the whole \
             run, so they cannot be pruned"
                .to_string()
        })
    }

    fn pruned_at(&self, o: &LearnerOutcome) -> Option<u64> {
        o.pruned_at.map(u64::from)
    }

    /// Each rule kind runs as its own group (a kernel per kind); with pruning, a rule's
    /// settings are judged among themselves, so every rule keeps its best.
    fn run_chunk(
        &self,
        prepared: &Prepared,
        backend: &Backend,
        learners: &[Params],
        prune: Option<&PrunePlan>,
    ) -> Result<Vec<LearnerOutcome>> {
        let mut out: Vec<Option<LearnerOutcome>> = vec![None; learners.len()];
        for r in 0..self.rules.len() {
            let idx: Vec<usize> = (0..learners.len())
                .filter(|&i| learners[i].rule as usize == r)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let group: Vec<Params> = idx.iter().map(|&i| learners[i]).collect();
            let plan = prune.map(|p| PrunePlan {
                prune: p.prune.clone(),
                setting: idx.iter().map(|&i| p.setting[i]).collect(),
            });
            let problem = self.problem_for(&group[0]);
            let outcomes = match backend {
                Backend::Cpu => {
                    cpu::run_chunk::<f32>(&problem, &prepared.shared_f32, &group, plan.as_ref())
                }
                Backend::Gpu(gpu) => {
                    gpu::run_chunk(gpu, &problem, &prepared.shared, &group, plan.as_ref())?
                }
            };
            for (i, o) in idx.into_iter().zip(outcomes) {
                out[i] = Some(o);
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.ok_or_else(|| {
                    Error::Internal(format!("learner {i} of the chunk names no rule kind"))
                })
            })
            .collect()
    }
}

impl Present for LandscapeStudy {
    fn columns(&self) -> Vec<String> {
        [
            "final_loss",
            "min_loss",
            "mean_loss",
            "steps_to_threshold",
            "diverged",
        ]
        .map(String::from)
        .to_vec()
        .into_iter()
        .chain(
            self.splits()
                .then(|| ["final_loss_controlled", "final_loss_uncontrolled"].map(String::from))
                .into_iter()
                .flatten(),
        )
        .chain(
            self.problem
                .continual
                .is_some()
                .then(|| ["late_loss", "oracle_loss", "regret", "switches"].map(String::from))
                .into_iter()
                .flatten(),
        )
        .collect()
    }

    fn write_row(&self, o: &LearnerOutcome, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(
            out,
            ",{},{},{},{},{}",
            o.final_loss,
            o.min_loss,
            o.mean_loss,
            o.steps_to_threshold
                .map(|t| t.to_string())
                .unwrap_or_default(),
            o.diverged
        );
        if self.splits() {
            let [c, u] = o.split.unwrap_or([f64::NAN; 2]);
            let _ = write!(out, ",{c},{u}");
        }
        if self.problem.continual.is_some() {
            match &o.continual {
                Some(c) => {
                    let _ = write!(
                        out,
                        ",{},{},{},{}",
                        c.late_loss, c.oracle_loss, c.regret, c.switches
                    );
                }
                None => out.push_str(",NaN,NaN,NaN,"),
            }
        }
    }

    /// The final loss; on a switching landscape the mean loss (the last step is one
    /// moment of the last block).
    fn headline(&self) -> &'static str {
        match self.problem.continual {
            Some(_) => "mean_loss",
            None => "final_loss",
        }
    }

    fn flag(&self) -> Option<&'static str> {
        Some("diverged")
    }

    fn series(&self) -> Option<(&'static str, &'static str)> {
        self.trajectories.then_some(("step", "loss"))
    }

    fn write_series(&self, learner: u64, o: &LearnerOutcome, out: &mut String) {
        use std::fmt::Write;
        let every = self.problem.record_every;
        for (r, loss) in o.trajectory.iter().enumerate() {
            let _ = writeln!(out, "{learner},{},{loss}", r * every);
        }
    }

    fn bytes_per_learner(&self, grid: &crate::sweep::Grid) -> u64 {
        // A row: the learner, ~12 bytes per axis, five columns of ~20; a record of the
        // series: learner, step and loss, ~30 bytes.
        let records = self
            .problem
            .steps
            .checked_div(self.problem.record_every)
            .map_or(0, |r| r + 1) as u64;
        let series = if self.trajectories { 30 * records } else { 0 };
        10 + 12 * grid.axes.len() as u64 + 100 + series
    }

    /// The runner's summary, and for continual sweeps the regret picture.
    fn summary(
        cfg: &SweepConfig,
        dir: &std::path::Path,
        fig: &crate::plot::Figure,
    ) -> Result<Vec<std::path::PathBuf>> {
        let mut drawn = crate::sweep::summary::write_summary(cfg, dir, fig)?;
        drawn.extend(super::continual::write_regret(cfg, dir, fig)?);
        Ok(drawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_order_is_last_axis_fastest() {
        let c = SweepConfig::from_toml(
            "[landscape]\nkind='quadratic'\ndim=4\nnoise='isotropic'\nnoise_sigma=0.1\n[rule]\nkind='adam'\n[run]\nsteps=3\n[grid]\nlr=[0.1,0.2]\nseed={range=[0,3]}\n",
        )
        .unwrap();
        assert_eq!(c.grid_size(), 6);
        let got: Vec<(f64, f64)> = (0..6)
            .map(|k| (c.learner(k).lr, c.learner(k).seed))
            .collect();
        assert_eq!(
            got,
            vec![
                (0.1, 0.0),
                (0.1, 1.0),
                (0.1, 2.0),
                (0.2, 0.0),
                (0.2, 1.0),
                (0.2, 2.0)
            ]
        );
    }

    #[test]
    fn every_rule_number_is_a_learner_parameter() {
        for hp in Hp::ALL {
            assert!(
                Params::NAMES.contains(&hp.name()),
                "{} is a hyper-parameter with no landscape Params field",
                hp.name()
            );
        }
    }
}
