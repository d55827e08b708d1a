//! Sweep configs in TOML, validated with messages that name the key and what is allowed.
//!
//! ```toml
//! [landscape]            # kind, dim, spectrum, noise and the landscape's numbers
//! [rule]                 # kind and the rule's numbers
//! [grid]                 # axes: any number of [landscape], [rule] or seed
//! [run]                  # steps, record_every, threshold, blowup, seed, chunk
//! [output]               # trajectories, summary
//! ```
//!
//! A grid axis is a list of numbers, `{ linspace = [a, b, n] }`, `{ logspace = [a, b, n] }`
//! (n values from a to b, geometrically spaced: a and b are the end values, not their
//! logarithms), or `{ range = [a, b] }` (the integers a, a+1, ..., b-1). The grid is the
//! product of its axes in the order written, the last axis varying fastest; learner k
//! of the sweep is the k-th point of that product.

use crate::error::{Error, Result};
use crate::landscape::{LandscapeKind, Noise, Params, Problem, RuleKind, Spectrum, TeacherShape};
use serde::Serialize;
use toml::{Table, Value};

const RULE_PARAMS: &[&str] = Params::RULE_NAMES;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axis {
    pub name: String,
    pub values: Vec<f64>,
}

/// A parsed and validated sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepConfig {
    /// The problem of the first rule kind; [`SweepConfig::problem_for`] gives each
    /// learner's.
    pub problem: Problem,
    /// The rule kinds: `[rule] kind`, or the names of a `rule` grid axis.
    pub rules: Vec<RuleKind>,
    /// Every learner's numbers before the grid sets its axes.
    pub base: Params,
    pub axes: Vec<Axis>,
    /// Learners per chunk (0: chosen for the device).
    pub chunk: usize,
    pub trajectories: bool,
    pub summary: bool,
}

fn err(key: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::invalid(key, msg)
}

fn number(key: &str, v: &Value) -> Result<f64> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Integer(i) => Ok(*i as f64),
        other => Err(err(
            key,
            format!("must be a number, not {}", other.type_str()),
        )),
    }
}

fn integer(key: &str, v: &Value, lo: i64, hi: i64) -> Result<usize> {
    match v {
        Value::Integer(i) if (lo..=hi).contains(i) => Ok(*i as usize),
        Value::Integer(i) => Err(err(key, format!("{i} is outside {lo}..={hi}"))),
        other => Err(err(
            key,
            format!("must be an integer, not {}", other.type_str()),
        )),
    }
}

fn string<'a>(key: &str, v: &'a Value, allowed: &[&str]) -> Result<&'a str> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(s),
        Some(s) => Err(err(
            key,
            format!("{s:?} is not one of {}", allowed.join(", ")),
        )),
        None => Err(err(
            key,
            format!("must be a string, one of {}", allowed.join(", ")),
        )),
    }
}

fn boolean(key: &str, v: &Value) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| err(key, format!("must be true or false, not {}", v.type_str())))
}

fn section<'a>(root: &'a Table, name: &str, required: bool) -> Result<Option<&'a Table>> {
    match root.get(name) {
        Some(Value::Table(t)) => Ok(Some(t)),
        Some(other) => Err(err(
            name,
            format!("must be a table ([{name}]), not {}", other.type_str()),
        )),
        None if required => Err(err(name, format!("the [{name}] section is missing"))),
        None => Ok(None),
    }
}

fn parse_kind<T: serde::de::DeserializeOwned>(key: &str, v: &Value, allowed: &[&str]) -> Result<T> {
    let s = string(key, v, allowed)?;
    T::deserialize(Value::String(s.to_string())).map_err(|e| err(key, e.to_string()))
}

/// The values of one grid axis.
fn axis_values(key: &str, v: &Value) -> Result<Vec<f64>> {
    let triple = |inner: &Value, what: &str| -> Result<(f64, f64, usize)> {
        let a = inner
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or_else(|| err(key, format!("{what} takes [start, end, count]")))?;
        let n = integer(&format!("{key}.{what}[2]"), &a[2], 1, 1 << 24)?;
        Ok((number(key, &a[0])?, number(key, &a[1])?, n))
    };
    let values = match v {
        Value::Array(items) => items
            .iter()
            .map(|x| number(key, x))
            .collect::<Result<Vec<_>>>()?,
        Value::Table(t) if t.len() == 1 => {
            let (form, inner) = t.iter().next().expect("one entry");
            match form.as_str() {
                "linspace" => {
                    let (a, b, n) = triple(inner, "linspace")?;
                    (0..n)
                        .map(|i| {
                            if n == 1 {
                                a
                            } else {
                                a + (b - a) * i as f64 / (n - 1) as f64
                            }
                        })
                        .collect()
                }
                "logspace" => {
                    let (a, b, n) = triple(inner, "logspace")?;
                    if !(a > 0.0 && b > 0.0) {
                        return Err(err(
                            key,
                            "logspace end values must be > 0 (they are values, not exponents)",
                        ));
                    }
                    (0..n)
                        .map(|i| {
                            if n == 1 {
                                a
                            } else {
                                a * (b / a).powf(i as f64 / (n - 1) as f64)
                            }
                        })
                        .collect()
                }
                "range" => {
                    let r = inner
                        .as_array()
                        .filter(|a| a.len() == 2)
                        .ok_or_else(|| err(key, "range takes [start, end)"))?;
                    let a = integer(&format!("{key}.range[0]"), &r[0], 0, i64::MAX)?;
                    let b = integer(&format!("{key}.range[1]"), &r[1], 0, i64::MAX)?;
                    if b <= a {
                        return Err(err(key, format!("range [{a}, {b}) is empty")));
                    }
                    (a..b).map(|i| i as f64).collect()
                }
                other => {
                    return Err(err(
                        key,
                        format!(
                        "{other:?} is not an axis form: use a list, linspace, logspace or range"
                    ),
                    ))
                }
            }
        }
        other => {
            return Err(err(
                key,
                format!(
                    "must be a list or {{ linspace | logspace | range = ... }}, not {}",
                    other.type_str()
                ),
            ))
        }
    };
    if values.is_empty() {
        return Err(err(key, "an axis needs at least one value"));
    }
    // Computed points are rounded to 15 significant digits, so 10^-1.5 * 10^... prints as
    // 0.03 and not 0.030000000000000002 in result files.
    let values: Vec<f64> = values
        .iter()
        .map(|v| format!("{v:.14e}").parse().unwrap_or(*v))
        .collect();
    if values.iter().any(|x| !x.is_finite()) {
        return Err(err(key, "every value must be finite"));
    }
    Ok(values)
}

impl SweepConfig {
    pub fn from_toml(text: &str) -> Result<SweepConfig> {
        let root: Table = text
            .parse()
            .map_err(|e: toml::de::Error| err("config", e.to_string().trim().to_string()))?;
        for key in root.keys() {
            if !["landscape", "rule", "grid", "run", "output"].contains(&key.as_str()) {
                return Err(err(
                    key.as_str(),
                    "unknown section; allowed: landscape, rule, grid, run, output",
                ));
            }
        }
        let mut base = Params::default();
        let landscape = section(&root, "landscape", true)?.expect("required");
        let rule = section(&root, "rule", true)?.expect("required");
        let land_kinds = [
            "quadratic",
            "quadratic_dense",
            "double_well",
            "rosenbrock",
            "linear_regression",
            "teacher_student",
        ];
        let rule_kinds = [
            "gd",
            "natural_gradient",
            "momentum",
            "nesterov",
            "ballistic",
            "adam",
            "adamw",
            "adabayes",
            "adabayes_fp",
            "kalman",
        ];
        let kind: LandscapeKind = parse_kind(
            "landscape.kind",
            landscape.get("kind").ok_or_else(|| {
                err(
                    "landscape.kind",
                    format!("is required: one of {}", land_kinds.join(", ")),
                )
            })?,
            &land_kinds,
        )?;
        let rule_kind: RuleKind = parse_kind(
            "rule.kind",
            rule.get("kind").ok_or_else(|| {
                err(
                    "rule.kind",
                    format!("is required: one of {}", rule_kinds.join(", ")),
                )
            })?,
            &rule_kinds,
        )?;

        let mut problem = Problem {
            landscape: kind,
            dim: 0,
            spectrum: Spectrum::Logspace,
            h: vec![],
            noise: Noise::None,
            rule: rule_kind,
            steps: 0,
            record_every: 0,
            threshold: None,
            blowup: 1e30,
            data_seed: 0,
            teacher: None,
            samples: 0,
            label_noise: 0.1,
        };
        let (mut d_in, mut hidden, mut t_samples, mut minibatch) = (None, None, None, 0usize);
        for (k, v) in landscape {
            let key = format!("landscape.{k}");
            match k.as_str() {
                "kind" => {}
                "dim" => problem.dim = integer(&key, v, 1, 1024)?,
                "spectrum" => problem.spectrum = parse_kind(&key, v, &["list", "linspace", "logspace", "power_law"])?,
                "h" => {
                    problem.h = v.as_array().ok_or_else(|| err(&key, "must be a list of numbers"))?.iter().map(|x| number(&key, x)).collect::<Result<_>>()?;
                    problem.spectrum = Spectrum::List;
                }
                "noise" => problem.noise = parse_kind(&key, v, &["none", "isotropic", "curvature"])?,
                "data_seed" => problem.data_seed = integer(&key, v, 0, i64::MAX)? as u64,
                "samples" => {
                    let n = integer(&key, v, 1, 1 << 20)?;
                    problem.samples = n;
                    t_samples = Some(n);
                }
                "label_noise" => problem.label_noise = number(&key, v)?,
                "d_in" => d_in = Some(integer(&key, v, 1, 1024)?),
                "hidden" => hidden = Some(integer(&key, v, 1, 1024)?),
                "minibatch" => minibatch = integer(&key, v, 0, 1 << 20)?,
                name if Params::NAMES.contains(&name) && !RULE_PARAMS.contains(&name) && name != "seed" && name != "rule" => {
                    base.set(name, number(&key, v)?);
                }
                _ => return Err(err(&key, "unknown key; allowed: kind, dim, spectrum, h, noise, noise_sigma, theta0, theta0_noise, mu, h_min, h_max, alpha, a, b, c, d, data_seed, samples, label_noise, d_in, hidden, minibatch")),
            }
        }
        if kind == LandscapeKind::TeacherStudent {
            let (Some(d_in), Some(hidden), Some(samples)) = (d_in, hidden, t_samples) else {
                return Err(err(
                    "landscape",
                    "teacher_student needs d_in, hidden and samples",
                ));
            };
            problem.teacher = Some(TeacherShape {
                d_in,
                hidden,
                samples,
                minibatch,
            });
            if problem.dim == 0 {
                problem.dim = hidden * d_in + hidden;
            }
            if !landscape.contains_key("theta0") {
                base.theta0 = 0.0;
            }
            if !landscape.contains_key("theta0_noise") {
                base.theta0_noise = 0.5;
            }
        }
        if problem.dim == 0 {
            return Err(err("landscape.dim", "is required: an integer in 1..=1024"));
        }
        for (k, v) in rule {
            let key = format!("rule.{k}");
            match k.as_str() {
                "kind" => {}
                name if RULE_PARAMS.contains(&name) => {
                    base.set(name, number(&key, v)?);
                }
                _ => {
                    return Err(err(
                        &key,
                        format!("unknown key; allowed: kind, {}", RULE_PARAMS.join(", ")),
                    ))
                }
            }
        }
        let mut chunk = 0;
        let run = section(&root, "run", true)?.expect("required");
        for (k, v) in run {
            let key = format!("run.{k}");
            match k.as_str() {
                "steps" => problem.steps = integer(&key, v, 1, 100_000_000)?,
                "record_every" => problem.record_every = integer(&key, v, 0, 100_000_000)?,
                "threshold" => problem.threshold = Some(number(&key, v)?),
                "blowup" => problem.blowup = number(&key, v)?,
                "seed" => base.seed = integer(&key, v, 0, 1 << 53)? as f64,
                "chunk" => chunk = integer(&key, v, 0, 1 << 26)?,
                _ => {
                    return Err(err(
                        &key,
                        "unknown key; allowed: steps, record_every, threshold, blowup, seed, chunk",
                    ))
                }
            }
        }
        if problem.steps == 0 {
            return Err(err("run.steps", "is required: an integer in 1..=100000000"));
        }
        let mut axes = Vec::new();
        let mut rules = vec![rule_kind];
        if let Some(grid) = section(&root, "grid", false)? {
            for (k, v) in grid {
                let key = format!("grid.{k}");
                if k == "rule" {
                    let names = v.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
                        err(
                            &key,
                            format!("must be a list of rule kinds: {}", rule_kinds.join(", ")),
                        )
                    })?;
                    rules = names
                        .iter()
                        .map(|n| parse_kind(&key, n, &rule_kinds))
                        .collect::<Result<_>>()?;
                    axes.push(Axis {
                        name: k.clone(),
                        values: (0..rules.len()).map(|i| i as f64).collect(),
                    });
                    continue;
                }
                if !Params::NAMES.contains(&k.as_str()) {
                    return Err(err(
                        &key,
                        format!(
                            "is not a learner parameter; grid axes may be: {}",
                            Params::NAMES.join(", ")
                        ),
                    ));
                }
                if problem.shared_params().contains(&k.as_str()) {
                    return Err(err(&key, format!("shapes the data every learner of a {} sweep shares, so it cannot vary; run one sweep per value", kind.name())));
                }
                axes.push(Axis {
                    name: k.clone(),
                    values: axis_values(&key, v)?,
                });
            }
        }
        let (mut trajectories, mut summary) = (false, true);
        if let Some(output) = section(&root, "output", false)? {
            for (k, v) in output {
                let key = format!("output.{k}");
                match k.as_str() {
                    "trajectories" => trajectories = boolean(&key, v)?,
                    "summary" => summary = boolean(&key, v)?,
                    _ => return Err(err(&key, "unknown key; allowed: trajectories, summary")),
                }
            }
        }
        if trajectories && problem.record_every == 0 {
            return Err(err("output.trajectories", "needs run.record_every > 0"));
        }
        problem.rule = rules[0];
        let config = SweepConfig {
            problem,
            rules,
            base,
            axes,
            chunk,
            trajectories,
            summary,
        };
        let size = config.grid_size();
        if size > 1u64 << 40 {
            return Err(err("grid", format!("has {size} points; at most 2^40")));
        }
        // Every value of every axis, with the base numbers, must make a valid learner
        // under every rule kind of the sweep.
        for r in 0..config.rules.len() {
            let mut base = config.base;
            base.rule = r as f64;
            let problem = config.problem_for(&base);
            problem.validate()?;
            problem.validate_params(&base)?;
            for axis in config.axes.iter().filter(|a| a.name != "rule") {
                for &v in &axis.values {
                    let mut p = base;
                    p.set(&axis.name, v);
                    problem.validate_params(&p).map_err(|e| match e {
                        Error::Invalid { field, message } => err(
                            format!("grid.{} (value {v}) -> {field}", axis.name),
                            message,
                        ),
                        e => e,
                    })?;
                }
            }
        }
        Ok(config)
    }

    /// The problem a learner runs: the sweep's, with the learner's rule kind.
    pub fn problem_for(&self, p: &Params) -> Problem {
        let mut problem = self.problem.clone();
        problem.rule = self.rules[p.rule as usize];
        problem
    }

    /// An axis value as result files write it (rule kinds by name).
    pub fn value_label(&self, axis: &str, v: f64) -> String {
        if axis == "rule" {
            self.rules[v as usize].name().to_string()
        } else {
            v.to_string()
        }
    }

    /// The inverse of [`SweepConfig::value_label`].
    pub fn parse_value(&self, axis: &str, s: &str) -> f64 {
        if axis == "rule" {
            self.rules
                .iter()
                .position(|r| r.name() == s)
                .map_or(f64::NAN, |i| i as f64)
        } else {
            s.parse().unwrap_or(f64::NAN)
        }
    }

    pub fn grid_size(&self) -> u64 {
        self.axes.iter().map(|a| a.values.len() as u64).product()
    }

    /// The numbers of learner `k` (the k-th point of the grid, last axis fastest).
    pub fn learner(&self, k: u64) -> Params {
        let mut p = self.base;
        let mut rest = k;
        for axis in self.axes.iter().rev() {
            let n = axis.values.len() as u64;
            p.set(&axis.name, axis.values[(rest % n) as usize]);
            rest /= n;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_order_is_last_axis_fastest() {
        let c = SweepConfig::from_toml(
            "[landscape]\nkind='quadratic'\ndim=4\n[rule]\nkind='adam'\n[run]\nsteps=3\n[grid]\nlr=[0.1,0.2]\nseed={range=[0,3]}\n",
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
}
