//! Study configs in TOML, validated with messages that name the key and what is
//! allowed. The runner reads `[grid]`, `[run] chunk` and `[output] summary`; the family
//! reads the rest (see its [`Study::parse`]). The helpers here are the ones every
//! family parses its own sections with.
//!
//! A grid axis is a list of numbers, `{ linspace = [a, b, n] }`, `{ logspace = [a, b, n] }`
//! (n values from a to b, geometrically spaced: a and b are the end values, not their
//! logarithms), or `{ range = [a, b] }` (the integers a, a+1, ..., b-1). The grid is the
//! product of its axes in the order written, the last axis varying fastest; learner k
//! of the sweep is the k-th point of that product.

use super::grid::{round15, Axis, Grid, Values};
use super::study::{ParamSet, Study, StudyConfig};
use crate::error::{Error, Result};
use crate::keys::{boolean, err, finite, integer, section};
use toml::{Table, Value};

/// The runner's keys inside sections the family owns, for the family's "allowed"
/// messages.
pub const RUNNER_KEYS: &[(&str, &str)] = &[
    ("run", "chunk"),
    ("run", "max_learners"),
    ("output", "summary"),
    ("output", "plot_axes"),
    ("output", "format"),
    ("output", "width"),
    ("output", "dpi"),
];

/// "unknown key; allowed: ..." for a key of `section`, the runner's keys included.
pub fn unknown_key(section: &str, key: &str, allowed: &[&str]) -> Error {
    let mut all: Vec<&str> = allowed.to_vec();
    all.extend(
        RUNNER_KEYS
            .iter()
            .filter(|(s, _)| *s == section)
            .map(|(_, k)| *k),
    );
    err(
        format!("{section}.{key}"),
        format!("unknown key; allowed: {}", all.join(", ")),
    )
}

/// The picture keys of a table (`format`, `width`, `dpi`), removed from it; `prefix`
/// is how errors name the table (`output.`).
pub fn figure_keys(t: &mut Table, prefix: &str) -> Result<crate::plot::Figure> {
    let d = crate::plot::Figure::default();
    let formats = match t.remove("format") {
        None => d.formats.iter().map(|f| f.ext().to_string()).collect(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| err(format!("{prefix}format"), "lists formats as strings"))
            })
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(err(
                format!("{prefix}format"),
                "is a format or a list of them: \"svg\", \"png\", \"pdf\"",
            ))
        }
    };
    let width = t
        .remove("width")
        .map(|v| finite(&format!("{prefix}width"), &v))
        .transpose()?;
    let dpi = match t.remove("dpi") {
        Some(v) => integer(
            &format!("{prefix}dpi"),
            &v,
            crate::plot::DPI_RANGE.0 as i64,
            crate::plot::DPI_RANGE.1 as i64,
        )? as u32,
        None => d.dpi,
    };
    crate::plot::Figure::new(&formats, width, dpi, prefix)
}

/// The values of one numeric grid axis.
pub fn axis_values(key: &str, v: &Value) -> Result<Values> {
    let triple = |inner: &Value, what: &str| -> Result<(f64, f64, u64)> {
        let a = inner
            .as_array()
            .filter(|a| a.len() == 3)
            .ok_or_else(|| err(key, format!("{what} takes [start, end, count]")))?;
        let n = integer(&format!("{key}.{what}[2]"), &a[2], 1, 1 << 24)? as u64;
        Ok((finite(key, &a[0])?, finite(key, &a[1])?, n))
    };
    let values = match v {
        Value::Array(items) => Values::List(
            items
                .iter()
                .map(|x| finite(key, x).map(round15))
                .collect::<Result<Vec<_>>>()?,
        ),
        Value::Table(t) if t.len() == 1 => {
            let (form, inner) = t.iter().next().expect("one entry");
            match form.as_str() {
                "linspace" => {
                    let (a, b, n) = triple(inner, "linspace")?;
                    Values::Linspace { a, b, n }
                }
                "logspace" => {
                    let (a, b, n) = triple(inner, "logspace")?;
                    if !(a > 0.0 && b > 0.0) {
                        return Err(err(
                            key,
                            "logspace end values must be > 0 (they are values, not exponents)",
                        ));
                    }
                    Values::Logspace { a, b, n }
                }
                "range" => {
                    let r = inner
                        .as_array()
                        .filter(|a| a.len() == 2)
                        .ok_or_else(|| err(key, "range takes [start, end)"))?;
                    let a = integer(&format!("{key}.range[0]"), &r[0], 0, i64::MAX)? as u64;
                    let b = integer(&format!("{key}.range[1]"), &r[1], 0, i64::MAX)? as u64;
                    if b <= a {
                        return Err(err(key, format!("range [{a}, {b}) is empty")));
                    }
                    Values::Range { start: a, end: b }
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
    Ok(values)
}

impl<S: Study> StudyConfig<S> {
    pub fn from_toml(text: &str) -> Result<Self> {
        let mut root: Table = text
            .parse()
            .map_err(|e: toml::de::Error| err("config", e.to_string().trim().to_string()))?;
        let mut allowed: Vec<&str> = S::SECTIONS.to_vec();
        allowed.push("grid");
        if S::PRUNES {
            allowed.push("prune");
        }
        for key in root.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(err(
                    key.as_str(),
                    format!("unknown section; allowed: {}", allowed.join(", ")),
                ));
            }
        }
        let grid_table = section(&root, "grid", false)?.cloned().unwrap_or_default();
        root.remove("grid");
        let prune = super::prune::from_root(&root)?;
        root.remove("prune");
        // The runner's own keys.
        let mut chunk = 0;
        let mut summary = true;
        let mut max_learners = None;
        if let Some(Value::Table(run)) = root.get_mut("run") {
            if let Some(v) = run.remove("chunk") {
                chunk = integer("run.chunk", &v, 0, 1 << 26)?;
            }
            if let Some(v) = run.remove("max_learners") {
                max_learners = Some(integer("run.max_learners", &v, 1, i64::MAX)? as u64);
            }
        }
        let mut plot_axes = None;
        let mut figure = crate::plot::Figure::default();
        if let Some(Value::Table(output)) = root.get_mut("output") {
            figure = figure_keys(output, "output.")?;
            if let Some(v) = output.remove("summary") {
                summary = boolean("output.summary", &v)?;
            }
            if let Some(v) = output.remove("plot_axes") {
                let names: Option<Vec<String>> = v
                    .as_array()
                    .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect());
                match names {
                    Some(n) if (1..=2).contains(&n.len()) => plot_axes = Some(n),
                    _ => {
                        return Err(err(
                            "output.plot_axes",
                            "must list one or two grid axes by name, x first",
                        ))
                    }
                }
            }
        }
        let (mut study, base) = S::parse(&root, &grid_table)?;

        let fixed = study.fixed();
        let mut axes = Vec::new();
        for (k, v) in &grid_table {
            let key = format!("grid.{k}");
            if let Some(values) = study.categorical(k, v) {
                axes.push(Axis {
                    name: k.clone(),
                    values: Values::List(values.map_err(|e| match e {
                        Error::Invalid { message, .. } => err(&key, message),
                        e => e,
                    })?),
                    categorical: true,
                });
                continue;
            }
            if !<S::Params as ParamSet>::NAMES.contains(&k.as_str()) {
                return Err(err(
                    &key,
                    format!(
                        "is not a learner parameter; grid axes may be: {}",
                        <S::Params as ParamSet>::NAMES.join(", ")
                    ),
                ));
            }
            if fixed.contains(&k.as_str()) {
                return Err(err(
                    &key,
                    format!(
                        "shapes the data every learner of this {} sweep shares, so it cannot \
                         vary; run one sweep per value",
                        S::FAMILY
                    ),
                ));
            }
            axes.push(Axis {
                name: k.clone(),
                values: axis_values(&key, v)?,
                categorical: false,
            });
        }
        // A number both fixed in a section and swept: the grid would silently win.
        for axis in &axes {
            for (name, table) in &root {
                if let Value::Table(t) = table {
                    if t.contains_key(&axis.name) {
                        return Err(err(
                            format!("grid.{}", axis.name),
                            format!(
                                "is also set in [{name}] ({name}.{} = {}): the grid's values \
                                 would replace it; keep one",
                                axis.name, t[&axis.name]
                            ),
                        ));
                    }
                }
            }
        }
        let config = StudyConfig {
            study,
            base,
            grid: Grid { axes },
            chunk,
            summary,
            max_learners,
            plot_axes,
            figure,
            prune,
        };
        config.grid.size()?;
        if let Some(names) = &config.plot_axes {
            let replicates = config.study.replicates();
            for n in names {
                let ok =
                    config.grid.axes.iter().any(|a| {
                        &a.name == n && !a.categorical && !replicates.contains(&n.as_str())
                    });
                if !ok {
                    return Err(err(
                        "output.plot_axes",
                        format!(
                            "{n:?} is not a numeric, non-replicate grid axis of this sweep ({})",
                            config.grid.names().join(", ")
                        ),
                    ));
                }
            }
        }
        config.validate_axes()?;
        config.study.check(&config.base, &config.grid)?;
        config.check_prune()?;
        Ok(config)
    }

    /// Pruning needs each setting's replicates side by side (replicate axes last),
    /// rungs inside the run, and chunks that are its groups.
    fn check_prune(&self) -> Result<()> {
        let Some(p) = &self.prune else {
            return Ok(());
        };
        if let Some(why) = self.study.refuses_pruning() {
            return Err(err("prune", why));
        }
        let replicates = self.study.replicates();
        let is_rep = |a: &Axis| replicates.contains(&a.name.as_str());
        if let Some(i) = self.grid.axes.iter().position(is_rep) {
            if let Some(a) = self.grid.axes[i..].iter().find(|a| !is_rep(a)) {
                return Err(err(
                    "prune",
                    format!(
                        "needs the replicate axes ({}) last in [grid], so a setting's \
                         seeds are neighbours; move {} before them",
                        replicates.join(", "),
                        a.name
                    ),
                ));
            }
        }
        let steps = self.study.work_per_learner() as u64;
        if p.min_steps >= steps {
            return Err(err(
                "prune.min_steps",
                format!(
                    "{} leaves no rung before the last step ({steps})",
                    p.min_steps
                ),
            ));
        }
        if self.chunk > 0 {
            return Err(err(
                "run.chunk",
                "is set by [prune] group (a chunk is one group of settings); remove it",
            ));
        }
        if p.group > self.settings() {
            return Err(err(
                "prune.group",
                format!(
                    "{} is more than the {} settings of the grid",
                    p.group,
                    self.settings()
                ),
            ));
        }
        Ok(())
    }

    /// Learners per setting: the product of the replicate axes.
    pub fn replicates_per_setting(&self) -> u64 {
        let replicates = self.study.replicates();
        self.grid
            .axes
            .iter()
            .filter(|a| replicates.contains(&a.name.as_str()))
            .map(|a| a.values.len())
            .product()
    }

    /// Settings in the grid (points of the non-replicate axes).
    pub fn settings(&self) -> u64 {
        self.grid_size() / self.replicates_per_setting()
    }

    /// With pruning, the learners of one group (one chunk); chunks and shards are cut
    /// at multiples of it.
    pub fn group_learners(&self) -> Option<u64> {
        self.prune.as_ref().map(|p| {
            let settings = if p.group == 0 {
                self.settings()
            } else {
                p.group
            };
            settings * self.replicates_per_setting()
        })
    }

    /// Every value of every axis, with the base numbers, must make a valid learner
    /// under every combination of the categorical axes (rule kinds).
    fn validate_axes(&self) -> Result<()> {
        let cats: Vec<&Axis> = self.grid.axes.iter().filter(|a| a.categorical).collect();
        let combos: u64 = cats.iter().map(|a| a.values.len()).product();
        // Every learner holds a value of each axis: a number the axes always set is
        // checked at their values, not at its default.
        let mut first = self.base;
        for a in self.grid.axes.iter().filter(|a| !a.categorical) {
            first.set(&a.name, a.values.get(0));
        }
        for c in 0..combos {
            let mut base = first;
            let mut rest = c;
            for a in cats.iter().rev() {
                base.set(&a.name, a.values.get(rest % a.values.len()));
                rest /= a.values.len();
            }
            let mut b = base;
            self.study.complete(&mut b);
            self.study.validate(&b)?;
            for axis in self.grid.axes.iter().filter(|a| !a.categorical) {
                if let Some(why) = self.study.ignores(&b, &axis.name, &self.grid) {
                    return Err(err(
                        format!("grid.{}", axis.name),
                        format!("has no effect: {why}, so every value would repeat the same rows"),
                    ));
                }
                for v in axis.values.probes() {
                    let mut p = base;
                    p.set(&axis.name, v);
                    self.study.complete(&mut p);
                    self.study.validate(&p).map_err(|e| match e {
                        Error::Invalid { field, message } => err(
                            format!("grid.{} (value {v}) -> {field}", axis.name),
                            message,
                        ),
                        e => e,
                    })?;
                }
            }
        }
        Ok(())
    }

    pub fn grid_size(&self) -> u64 {
        self.grid.size().expect("validated when parsed")
    }

    /// The numbers of learner `k` (the k-th point of the grid, last axis fastest).
    pub fn learner(&self, k: u64) -> S::Params {
        let mut p = self.base;
        for (axis, v) in self.grid.axes.iter().zip(self.grid.point(k)) {
            p.set(&axis.name, v);
        }
        self.study.complete(&mut p);
        p
    }

    /// An axis value as result files write it.
    pub fn value_label(&self, axis: &str, v: f64) -> String {
        self.study.label(axis, v)
    }

    /// The inverse of [`StudyConfig::value_label`] (NaN for a label that is not one).
    pub fn parse_value(&self, axis: &str, s: &str) -> f64 {
        self.study.parse_label(axis, s).unwrap_or(f64::NAN)
    }

    /// The results.csv header.
    pub fn header(&self) -> String {
        let mut cols = vec!["learner".to_string()];
        cols.extend(self.grid.names());
        cols.extend(self.study.columns());
        if self.prune.is_some() {
            cols.push("pruned_at".into());
        }
        cols.join(",") + "\n"
    }
}
