//! Landscape sweeps as a [`Study`]: the `[landscape]`, `[rule]`, `[run]` and `[output]`
//! sections, the rule kind as a categorical axis, the result columns of spec §7, and a
//! chunk run as one kernel per rule kind (GPU) or learners in lockstep (CPU).
//!
//! ```toml
//! [landscape]            # kind, dim, spectrum, noise and the landscape's numbers
//! [rule]                 # kind and the rule's numbers
//! [grid]                 # axes: any number of [landscape], [rule], seed, or rule kinds
//! [run]                  # steps, record_every, threshold, blowup, seed (and chunk)
//! [output]               # trajectories (and summary)
//! ```

use super::{
    cpu, gpu, Continual, DriftKind, LandscapeKind, LearnerOutcome, Noise, Params, Problem,
    ResetKind, RuleKind, Switching,
};
use crate::error::{Error, Result};
use crate::gpu::Backend;
use crate::keys::{boolean, err, finite, integer, number, section, string};
use crate::loss::config::{parse_section, Caller};
use crate::loss::data::Shared;
use crate::loss::Shape;
use crate::optim::Hp;
use crate::sweep::config::unknown_key;
use crate::sweep::prune::PrunePlan;
use crate::sweep::{ParamSet, Study, StudyConfig};
use serde::Serialize;
use toml::{Table, Value};

/// A landscape sweep's config.
pub type SweepConfig = StudyConfig<LandscapeStudy>;

/// What every learner of a landscape sweep shares.
#[derive(Clone, Debug, Serialize)]
pub struct LandscapeStudy {
    /// The problem of the first rule kind; [`LandscapeStudy::problem_for`] gives each
    /// learner's.
    pub problem: Problem,
    /// The rule kinds: `[rule] kind`, or the names of a `rule` grid axis.
    pub rules: Vec<RuleKind>,
    /// The rule's numbers the config sets (in `[rule]` or as axes); the others take
    /// each rule's own defaults (Lion's β2 is not Adam's).
    pub explicit: Vec<Hp>,
    /// Learner numbers the config fixes in a section (`rule.beta2`, `landscape.mu`):
    /// each must have an effect on some learner.
    pub fixed_keys: Vec<String>,
    pub trajectories: bool,
}

/// Shared data in the reference type and in the CPU device's.
pub struct Prepared {
    pub shared: Shared<f64>,
    pub shared_f32: Shared<f32>,
}

fn rule_names() -> Vec<&'static str> {
    RuleKind::all().into_iter().map(|r| r.name()).collect()
}

fn rule_kind(key: &str, v: &Value) -> Result<RuleKind> {
    let names = rule_names();
    let s = v.as_str().ok_or_else(|| {
        err(
            key,
            format!("must be a string, one of {}", names.join(", ")),
        )
    })?;
    RuleKind::from_name(s).ok_or_else(|| {
        err(
            key,
            format!("{s:?} is not one of {} (gd is sgd)", names.join(", ")),
        )
    })
}

/// Parses a `[landscape]` section: the loss (through the loss floor), the learner's own
/// keys (gradient noise, initial point, drift, partial control), every learner's
/// numbers from it, and the keys of learner numbers it set (each must have an effect).
pub fn parse_landscape(section: &Table) -> Result<(Problem, Params, Vec<String>)> {
    const LEARNER_KEYS: &[&str] = &[
        "noise",
        "noise_sigma",
        "theta0",
        "theta0_noise",
        "drift",
        "drift_rate",
        "control",
    ];
    let control = section
        .get("control")
        .map(|v| control_set("landscape.control", v))
        .transpose()?;
    let mut base = Params::default();
    let mut noise = Noise::None;
    let mut drift = DriftKind::None;
    let mut fixed_keys = Vec::new();
    let caller = Caller {
        keys: LEARNER_KEYS,
        forbidden: &[],
        seeds_data: matches!(control, Some(ControlSet::Basis(_))),
    };
    let loss = parse_section(section, &caller, |k, v| {
        let key = format!("landscape.{k}");
        match k {
            "noise" => {
                noise = Noise::from_name(string(&key, v, &Noise::names())?).expect("a listed name")
            }
            "drift" => {
                drift = DriftKind::from_name(string(&key, v, &DriftKind::names())?)
                    .expect("a listed name")
            }
            "control" => {}
            name if Params::NAMES.contains(&name)
                && !Params::is_rule_number(name)
                && !CONTINUAL_KEYS.contains(&name)
                && name != "seed"
                && name != "rule" =>
            {
                base.set(name, finite(&key, v)?);
                fixed_keys.push(key);
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    for name in Shape::NAMES {
        base.set(name, loss.shape.get(name).expect("a landscape number"));
    }
    fixed_keys.extend(loss.fixed_keys);
    if loss.landscape.kind == LandscapeKind::TeacherStudent {
        if !section.contains_key("theta0") {
            base.theta0 = 0.0;
        }
        if !section.contains_key("theta0_noise") {
            base.theta0_noise = 0.5;
        }
    }
    let (mask, basis) = match control {
        Some(ControlSet::Mask(m)) => (Some(m), None),
        Some(ControlSet::Basis(m)) => (None, Some(m)),
        None => (None, None),
    };
    let problem = Problem {
        landscape: loss.landscape,
        noise,
        rule: RuleKind::GD,
        steps: 0,
        record_every: 0,
        threshold: None,
        blowup: 1e30,
        drift,
        mask,
        basis,
        continual: None,
    };
    Ok((problem, base, fixed_keys))
}

/// The `[continual]` section's keys (all learner numbers, so grid axes too).
const CONTINUAL_KEYS: &[&str] = &[
    "hazard",
    "block",
    "sigma_mu",
    "reset",
    "reset_every",
    "shrink",
];

fn reset_kind(key: &str, v: &Value) -> Result<ResetKind> {
    let names = ResetKind::names();
    Ok(ResetKind::from_name(string(key, v, &names)?).expect("a listed name"))
}

/// Parses `[continual]` (spec §6): the switching (hazard or block, as a key or a grid
/// axis), σ_μ, the reset strategy and its numbers.
fn parse_continual(
    section: &Table,
    grid: &Table,
    problem: &Problem,
    base: &mut Params,
    fixed_keys: &mut Vec<String>,
) -> Result<Continual> {
    let mut resets = vec![ResetKind::None];
    for (k, v) in section {
        let key = format!("continual.{k}");
        match k.as_str() {
            "reset" => {
                if grid.contains_key("reset") {
                    return Err(err(&key, "is also a [grid] axis: give it in one place"));
                }
                resets = vec![reset_kind(&key, v)?];
            }
            name if CONTINUAL_KEYS.contains(&name) => {
                base.set(name, finite(&key, v)?);
                fixed_keys.push(key);
            }
            _ => return Err(unknown_key("continual", k, CONTINUAL_KEYS)),
        }
    }
    let has = |k: &str| section.contains_key(k) || grid.contains_key(k);
    let switching =
        match (has("hazard"), has("block")) {
            (true, false) => Switching::Hazard,
            (false, true) => Switching::Block,
            (true, true) => return Err(err(
                "continual",
                "give hazard (a switch probability per step) or block (a block length), not both",
            )),
            (false, false) => {
                return Err(err(
                    "continual",
                    "needs hazard (a switch probability per step) or block (a block length)",
                ))
            }
        };
    if problem.mask.is_some() || problem.basis.is_some() {
        return Err(err(
            "landscape.control",
            "partial control with [continual] is not available yet",
        ));
    }
    Ok(Continual { switching, resets })
}

enum ControlSet {
    Mask(Vec<bool>),
    Basis(usize),
}

/// `control = { mask = [1, 0, ...] }` (or booleans): the coordinates the rule moves; or
/// `control = { basis = "random", m = M }`: M seeded orthonormal directions.
fn control_set(key: &str, v: &Value) -> Result<ControlSet> {
    let t = v.as_table().ok_or_else(|| {
        err(
            key,
            "must be a table: control = { mask = [1, 0, ...] } or { basis = \"random\", m = M }",
        )
    })?;
    if t.contains_key("basis") || t.contains_key("m") {
        for k in t.keys() {
            if k != "basis" && k != "m" {
                return Err(err(format!("{key}.{k}"), "unknown key; allowed: basis, m"));
            }
        }
        let basis = t
            .get("basis")
            .ok_or_else(|| err(format!("{key}.basis"), "is required with m: \"random\""))?;
        string(&format!("{key}.basis"), basis, &["random"])?;
        let m = t.get("m").ok_or_else(|| {
            err(
                format!("{key}.m"),
                "is required: how many directions the rule controls",
            )
        })?;
        return Ok(ControlSet::Basis(integer(&format!("{key}.m"), m, 1, 1024)?));
    }
    for k in t.keys() {
        if k != "mask" {
            return Err(err(
                format!("{key}.{k}"),
                "unknown key; allowed: mask, basis, m",
            ));
        }
    }
    let mask = t.get("mask").and_then(Value::as_array).ok_or_else(|| {
        err(
            format!("{key}.mask"),
            "is required: a list of 0/1 per coordinate",
        )
    })?;
    mask.iter()
        .map(|x| match x {
            Value::Boolean(b) => Ok(*b),
            Value::Integer(0) => Ok(false),
            Value::Integer(1) => Ok(true),
            _ => Err(err(
                format!("{key}.mask"),
                format!("{x} is not 0, 1, true or false"),
            )),
        })
        .collect::<Result<_>>()
        .map(ControlSet::Mask)
}

impl LandscapeStudy {
    /// Whether results split the final loss into controlled and uncontrolled
    /// coordinates (a control mask on a diagonal quadratic).
    pub fn splits(&self) -> bool {
        (self.problem.mask.is_some() || self.problem.basis.is_some())
            && self.problem.landscape.kind == LandscapeKind::Quadratic
    }

    /// The reset strategies of a continual sweep (none otherwise).
    pub fn resets(&self) -> &[ResetKind] {
        self.problem
            .continual
            .as_ref()
            .map_or(&[], |c| c.resets.as_slice())
    }

    /// A `reset` grid axis: the strategies by name.
    fn reset_axis(&mut self, values: &Value) -> Result<Vec<f64>> {
        let key = "grid.reset";
        let Some(c) = self.problem.continual.as_mut() else {
            return Err(err(
                key,
                "needs a [continual] section (the switching landscape)",
            ));
        };
        let names = values.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
            err(
                key,
                format!(
                    "must be a list of strategies: {}",
                    ResetKind::names().join(", ")
                ),
            )
        })?;
        let resets = names
            .iter()
            .map(|n| reset_kind(key, n))
            .collect::<Result<Vec<_>>>()?;
        for (i, r) in resets.iter().enumerate() {
            if resets[..i].contains(r) {
                return Err(err(key, format!("lists {} twice", r.name())));
            }
        }
        c.resets = resets;
        Ok((0..c.resets.len()).map(|i| i as f64).collect())
    }

    /// Why a continual learner ignores its number `name`.
    fn continual_ignores(&self, p: &Params, name: &str) -> Option<String> {
        let Some(c) = &self.problem.continual else {
            return Some("there is no [continual] section (the landscape never switches)".into());
        };
        let reset = c.resets.get(p.reset as usize).copied()?;
        let reads = |k: ResetKind| {
            (reset != k).then(|| format!("reset = {} does not read {name}", reset.name()))
        };
        match name {
            "hazard" => (c.switching != Switching::Hazard)
                .then(|| "switches come every block steps".to_string()),
            "block" => (c.switching != Switching::Block)
                .then(|| "switches come at the hazard rate".to_string()),
            "reset_every" => reads(ResetKind::Scheduled),
            "shrink" => reads(ResetKind::Shrink),
            _ => None,
        }
    }

    /// The problem a learner runs: the sweep's, with the learner's rule kind.
    pub fn problem_for(&self, p: &Params) -> Problem {
        let mut problem = self.problem.clone();
        problem.rule = self.rules[p.rule as usize];
        problem
    }
}

impl Study for LandscapeStudy {
    type Params = Params;
    type Outcome = LearnerOutcome;
    type Prepared = Prepared;

    const FAMILY: &'static str = "landscape";
    const SECTIONS: &'static [&'static str] = &["landscape", "rule", "run", "output", "continual"];

    fn parse(root: &Table, grid: &Table) -> Result<(Self, Params)> {
        let landscape = section(root, "landscape", true)?.expect("required");
        let rule = section(root, "rule", true)?.expect("required");
        let rule_kind = rule_kind(
            "rule.kind",
            rule.get("kind").ok_or_else(|| {
                err(
                    "rule.kind",
                    format!("is required: one of {}", rule_names().join(", ")),
                )
            })?,
        )?;

        let (mut problem, mut base, mut fixed_keys) = parse_landscape(landscape)?;
        problem.rule = rule_kind;
        if let Some(c) = section(root, "continual", false)? {
            problem.continual = Some(parse_continual(
                c,
                grid,
                &problem,
                &mut base,
                &mut fixed_keys,
            )?);
        }
        let mut explicit = Vec::new();
        let rule_keys: Vec<&str> = std::iter::once("kind")
            .chain(Hp::ALL.iter().map(|hp| hp.name()))
            .collect();
        for (k, v) in rule {
            let key = format!("rule.{k}");
            match Hp::ALL.into_iter().find(|hp| hp.name() == k) {
                Some(hp) => {
                    base.set(k, finite(&key, v)?);
                    explicit.push(hp);
                    fixed_keys.push(key.clone());
                }
                None if k == "kind" => {}
                None => return Err(unknown_key("rule", k, &rule_keys)),
            }
        }
        explicit.extend(
            Hp::ALL
                .into_iter()
                .filter(|hp| grid.contains_key(hp.name())),
        );
        let run = section(root, "run", true)?.expect("required");
        const RUN_KEYS: &[&str] = &["steps", "record_every", "threshold", "blowup", "seed"];
        for (k, v) in run {
            let key = format!("run.{k}");
            match k.as_str() {
                "steps" => problem.steps = integer(&key, v, 1, 100_000_000)?,
                "record_every" => problem.record_every = integer(&key, v, 0, 100_000_000)?,
                "threshold" => problem.threshold = Some(finite(&key, v)?),
                "blowup" => problem.blowup = number(&key, v)?,
                "seed" => base.seed = integer(&key, v, 0, 1 << 53)? as f64,
                _ => return Err(unknown_key("run", k, RUN_KEYS)),
            }
        }
        if problem.steps == 0 {
            return Err(err("run.steps", "is required: an integer in 1..=100000000"));
        }
        if problem.record_every > problem.steps {
            return Err(err(
                "run.record_every",
                format!(
                    "{} is more than run.steps ({}): only the first loss would be recorded",
                    problem.record_every, problem.steps
                ),
            ));
        }
        let mut trajectories = false;
        if let Some(output) = section(root, "output", false)? {
            for (k, v) in output {
                match k.as_str() {
                    "trajectories" => trajectories = boolean(&format!("output.{k}"), v)?,
                    _ => return Err(unknown_key("output", k, &["trajectories"])),
                }
            }
        }
        if trajectories && problem.record_every == 0 {
            return Err(err("output.trajectories", "needs run.record_every > 0"));
        }
        let study = LandscapeStudy {
            problem,
            rules: vec![rule_kind],
            explicit,
            fixed_keys,
            trajectories,
        };
        Ok((study, base))
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

    /// The runner's summary, and for continual sweeps the regret picture.
    fn summary(cfg: &SweepConfig, dir: &std::path::Path) -> Result<()> {
        crate::sweep::summary::write_summary(cfg, dir)?;
        super::continual::write_regret(cfg, dir)
    }

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
