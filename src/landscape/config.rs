//! A landscape sweep's config: what every learner shares ([`LandscapeStudy`]: the
//! problem, the rule kinds, the numbers the config sets) and how the `[landscape]`,
//! `[rule]`, `[continual]`, `[run]` and `[output]` sections become it.
//!
//! ```toml
//! [landscape]            # kind, dim, spectrum, noise and the landscape's numbers
//! [rule]                 # kind and the rule's numbers
//! [continual]            # hazard | block, sigma_mu, reset and its numbers
//! [grid]                 # axes: any number of [landscape], [rule], seed, or rule kinds
//! [run]                  # steps, record_every, threshold, blowup, seed (and chunk)
//! [output]               # trajectories (and summary)
//! ```

use super::{
    Continual, DriftKind, LandscapeKind, Noise, Params, Problem, ResetKind, RuleKind, Switching,
};
use crate::error::Result;
use crate::keys::{boolean, err, finite, integer, number, section, string};
use crate::loss::config::{parse_section, Caller};
use crate::optim::Hp;
use crate::sweep::config::unknown_key;
use crate::sweep::{ParamSet, StudyConfig};
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

pub(super) fn rule_names() -> Vec<&'static str> {
    RuleKind::all().into_iter().map(|r| r.name()).collect()
}

pub(super) fn rule_kind(key: &str, v: &Value) -> Result<RuleKind> {
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
    loss.shape.write_into(&mut base);
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
pub(super) const CONTINUAL_KEYS: &[&str] = &[
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
    pub(super) fn reset_axis(&mut self, values: &Value) -> Result<Vec<f64>> {
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
    pub(super) fn continual_ignores(&self, p: &Params, name: &str) -> Option<String> {
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

/// Parses and validates the family's sections (see [`Study::parse`](crate::sweep::Study::parse)).
pub fn parse(root: &Table, grid: &Table) -> Result<(LandscapeStudy, Params)> {
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

/// A small sweep that runs in a moment on the CPU device (two rules, two learning
/// rates, three seeds, recorded trajectories): what the registry offers as the family's
/// sample and the conformance tests run.
pub fn sample(_dir: &std::path::Path) -> Result<String> {
    Ok(
        "[landscape]\nkind = \"quadratic\"\ndim = 5\nnoise = \"isotropic\"\n\
        noise_sigma = 0.05\ntheta0_noise = 0.3\n[rule]\nkind = \"adam\"\n[grid]\n\
        rule = [\"adam\", \"momentum\"]\nlr = [1e-2, 1e-1]\nseed = { range = [0, 3] }\n\
        [run]\nsteps = 30\nrecord_every = 10\nchunk = 5\n[output]\ntrajectories = true\n\
        summary = false\n"
            .into(),
    )
}
