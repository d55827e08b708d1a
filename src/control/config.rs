//! A batch of paths' config: the numbers of one path ([`PathParams`], each a possible
//! grid axis), what every path of a batch shares ([`PathStudy`]) and how the
//! `[landscape]`, `[path]`, `[solver]` and `[output]` sections become them.

use super::action::{PathConsts, PathShape};
use crate::error::Result;
use crate::keys::{boolean, err, finite, integer, section, string};
use crate::lbfgs::Stop;
use crate::loss::config::{parse_section, Caller};
use crate::loss::data::Shared;
use crate::loss::eval::{curvature, loss_grad};
use crate::loss::{Drift, DriftKind};
use crate::loss::{Landscape, Shape};
use crate::sweep::config::{axis_values, unknown_key};
use crate::sweep::{ParamSet, StudyConfig};
use serde::Serialize;
use toml::{Table, Value};

/// A batch of paths' config.
pub type PathConfig = StudyConfig<PathStudy>;

crate::params! {
    /// One path's numbers. Every field may be a grid axis.
    pub struct PathParams {
    /// Draws the start from `path.start_box` (the only random thing).
    seed = 0.0,
    /// Discount γ ≥ 0, inverse mass η > 0, loss weight k > 0.
    gamma = 0.0,
    eta = 1.0,
    k = 1.0,
    /// Horizon T > 0 and intervals N ≥ 2.
    t_end = 1.0,
    n = 50.0,
    /// j of the decay drift, q of the rotation.
    drift_rate = 0.0,
    /// The first two coordinates of the start and of the end (the rest come from
    /// `path.start` and `path.end`).
    start_0 = 0.0,
    start_1 = 0.0,
    end_0 = 0.0,
    end_1 = 0.0,
    /// The landscape's numbers (see the landscape family).
    mu = Shape::DEFAULT.mu,
    h_min = Shape::DEFAULT.h_min,
    h_max = Shape::DEFAULT.h_max,
    alpha = Shape::DEFAULT.alpha,
    a = Shape::DEFAULT.a,
    b = Shape::DEFAULT.b,
    c = Shape::DEFAULT.c,
    d = Shape::DEFAULT.d,
    }
}

impl PathParams {
    /// The landscape's numbers of this path.
    pub fn shape(&self) -> Shape {
        Shape::of(self)
    }

    pub(super) fn consts(&self) -> PathConsts {
        PathConsts {
            gamma: self.gamma,
            eta: self.eta,
            k: self.k,
        }
    }
}

/// What every path of a batch shares.
#[derive(Clone, Debug, Serialize)]
pub struct PathStudy {
    pub landscape: Landscape,
    /// The start (dim values; coordinates 0 and 1 are `start_0` and `start_1`), or
    /// None when `start_box` draws it.
    pub start: Option<Vec<f64>>,
    /// Per coordinate [lo, hi]: the start is drawn uniformly from the box by the
    /// counter RNG from the path's seed.
    pub start_box: Option<Vec<[f64; 2]>>,
    /// The end (fixed, or the first guess of a free end); None for a free end that
    /// starts where the path starts.
    pub end: Option<Vec<f64>>,
    pub free_end: bool,
    pub drift: DriftKind,
    /// The metric's diagonal.
    pub g: Vec<f64>,
    pub stop: Stop,
    /// Every K-th path's points go to points.csv (0: none).
    pub points_every: u64,
    /// The largest N of the grid (sizes GPU chunks).
    pub max_n: usize,
    /// Numbers the config fixes in a section: each must have an effect.
    pub fixed_keys: Vec<String>,
}

fn list(key: &str, v: &Value, len: usize) -> Result<Vec<f64>> {
    let a = v
        .as_array()
        .ok_or_else(|| err(key, format!("must be a list of {len} numbers")))?;
    if a.len() != len {
        return Err(err(
            key,
            format!("has {} values; the landscape has dim = {len}", a.len()),
        ));
    }
    a.iter().map(|x| finite(key, x)).collect()
}

/// Uniform in [0, 1) for coordinate `i` of the start of the path with `seed`.
fn start_uniform(seed: u64, i: usize) -> f64 {
    let w = crate::rng::philox4x32_10(
        [seed as u32, (seed >> 32) as u32, i as u32, 0x5_7A27],
        [0x9E37_79B9, 0x5EED_0001],
    );
    (((w[0] as u64) << 21) ^ (w[1] as u64 >> 11)) as f64 / (1u64 << 53) as f64
}

impl PathStudy {
    /// The start of a path.
    pub fn start_of(&self, p: &PathParams) -> Vec<f64> {
        let dim = self.landscape.dim;
        match (&self.start, &self.start_box) {
            (_, Some(b)) => (0..dim)
                .map(|i| b[i][0] + (b[i][1] - b[i][0]) * start_uniform(p.seed as u64, i))
                .collect(),
            (Some(s), None) => {
                let mut s = s.clone();
                s[0] = p.start_0;
                if dim > 1 {
                    s[1] = p.start_1;
                }
                s
            }
            (None, None) => unreachable!("parse requires a start"),
        }
    }

    /// The end of a path (fixed, or the free end's first guess).
    pub fn end_of(&self, p: &PathParams, start: &[f64]) -> Vec<f64> {
        match &self.end {
            Some(e) => {
                let mut e = e.clone();
                e[0] = p.end_0;
                if e.len() > 1 {
                    e[1] = p.end_1;
                }
                e
            }
            None => start.to_vec(),
        }
    }

    /// A path's first guess: the straight line from its start to its end.
    pub fn initial(&self, p: &PathParams) -> Vec<f64> {
        let n = p.n as usize;
        let a = self.start_of(p);
        let b = self.end_of(p, &a);
        (0..=n)
            .flat_map(|m| {
                let s = m as f64 / n as f64;
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| x + s * (y - x))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn shape(&self, p: &PathParams) -> PathShape {
        PathShape {
            n: p.n as usize,
            t_end: p.t_end,
            free_end: self.free_end,
            drift: Drift {
                kind: self.drift,
                rate: p.drift_rate,
            },
            g: self.g.clone(),
        }
    }

    /// The loss at each point of a path, in f64.
    pub fn loss_along(&self, shared: &Shared<f64>, p: &PathParams, points: &[f64]) -> Vec<f64> {
        let land = p.shape();
        let h = curvature::<f64>(&self.landscape, shared, &land);
        let mut grad = vec![0.0; self.landscape.dim];
        points
            .chunks(self.landscape.dim)
            .map(|at| loss_grad(&self.landscape, shared, &land, &h, at, &mut grad))
            .collect()
    }

    /// Columns of the start and end points in paths.csv (landscapes up to 4-D).
    pub(super) fn endpoint_columns(&self) -> usize {
        if self.landscape.dim <= 4 {
            self.landscape.dim
        } else {
            0
        }
    }
}

fn stop_from(solver: Option<&Table>) -> Result<Stop> {
    let mut stop = Stop::default();
    for (k, v) in solver.into_iter().flatten() {
        let key = format!("solver.{k}");
        match k.as_str() {
            "gtol" => stop.gtol = positive(&key, v)?,
            "ftol" => stop.ftol = positive(&key, v)?,
            "max_iter" => stop.max_iter = integer(&key, v, 1, 10_000_000)?,
            "memory" => stop.memory = integer(&key, v, 1, 100)?,
            _ => {
                return Err(unknown_key(
                    "solver",
                    k,
                    &["gtol", "ftol", "max_iter", "memory"],
                ))
            }
        }
    }
    Ok(stop)
}

fn positive(key: &str, v: &Value) -> Result<f64> {
    let x = finite(key, v)?;
    if x > 0.0 {
        Ok(x)
    } else {
        Err(err(key, format!("{x} must be > 0")))
    }
}

/// Parses and validates the family's sections (see [`Study::parse`](crate::sweep::Study::parse)).
pub fn parse(root: &Table, grid: &Table) -> Result<(PathStudy, PathParams)> {
    let landscape = section(root, "landscape", true)?.expect("required");
    // Only the loss's keys: a learner's (noise, θ0, drift, control) are unknown here,
    // and the error lists the keys a path's landscape takes (its drift is in [path]).
    let caller = Caller {
        keys: &[],
        forbidden: &["minibatch"],
        seeds_data: false,
    };
    let loss = parse_section(landscape, &caller, |_, _| Ok(false))?;
    let (landscape, mut fixed_keys) = (loss.landscape, loss.fixed_keys);
    let dim = landscape.dim;
    let mut base = PathParams::default();
    loss.shape.write_into(&mut base);
    let path = section(root, "path", true)?.expect("required");
    const PATH_KEYS: &[&str] = &[
        "n",
        "t_end",
        "start",
        "start_box",
        "end",
        "free_end",
        "g",
        "drift",
        "drift_rate",
        "gamma",
        "eta",
        "k",
    ];
    let (mut start, mut start_box, mut end) = (None, None, None);
    let mut free_end = false;
    let mut drift = DriftKind::None;
    let mut g = vec![1.0; dim];
    for (k, v) in path {
        let key = format!("path.{k}");
        match k.as_str() {
            "start" => start = Some(list(&key, v, dim)?),
            "end" => end = Some(list(&key, v, dim)?),
            "g" => {
                g = list(&key, v, dim)?;
                if let Some(x) = g.iter().find(|x| **x <= 0.0) {
                    return Err(err(
                        &key,
                        format!("holds {x}: the metric must be positive (every g_i > 0)"),
                    ));
                }
            }
            "start_box" => {
                let rows = v.as_array().filter(|a| a.len() == dim).ok_or_else(|| {
                    err(
                        &key,
                        format!("must be a list of dim = {dim} [lo, hi] pairs"),
                    )
                })?;
                let mut b = Vec::with_capacity(dim);
                for r in rows {
                    let pair = list(&key, r, 2)
                        .map_err(|_| err(&key, "every entry must be a [lo, hi] pair of numbers"))?;
                    if pair[0] > pair[1] {
                        return Err(err(&key, format!("[{}, {}] has lo > hi", pair[0], pair[1])));
                    }
                    b.push([pair[0], pair[1]]);
                }
                start_box = Some(b);
            }
            "free_end" => free_end = boolean(&key, v)?,
            "drift" => {
                drift = DriftKind::from_name(string(&key, v, &DriftKind::names())?)
                    .expect("a listed name")
            }
            "start_0" | "start_1" | "end_0" | "end_1" => {
                return Err(err(
                    &key,
                    "is a grid axis; in [path] set the whole point (path.start, path.end)",
                ))
            }
            name if PathParams::NAMES.contains(&name) => {
                base.set(name, finite(&key, v)?);
                fixed_keys.push(key);
            }
            _ => return Err(unknown_key("path", k, PATH_KEYS)),
        }
    }
    match (&start, &start_box) {
        (Some(_), Some(_)) => {
            return Err(err(
                "path.start_box",
                "draws every start: remove path.start, or this",
            ))
        }
        (None, None) => {
            return Err(err(
                "path.start",
                format!("is required (dim = {dim} numbers), or path.start_box"),
            ))
        }
        _ => {}
    }
    if end.is_none() && !free_end {
        return Err(err(
            "path.end",
            format!("is required (dim = {dim} numbers) unless path.free_end = true"),
        ));
    }
    if let Some(s) = &start {
        base.start_0 = s[0];
        base.start_1 = s.get(1).copied().unwrap_or(0.0);
    }
    if let Some(e) = &end {
        base.end_0 = e[0];
        base.end_1 = e.get(1).copied().unwrap_or(0.0);
    }
    if drift != DriftKind::None && base.drift_rate == 0.0 && !grid.contains_key("drift_rate") {
        // A drift at rate 0 is no drift: the key would change nothing.
        return Err(err(
            "path.drift",
            format!(
                "{:?} at drift_rate = 0 is no drift: give path.drift_rate (or a drift_rate \
                 axis)",
                drift.name()
            ),
        ));
    }
    if drift == DriftKind::Rotation && !dim.is_multiple_of(2) {
        return Err(err(
            "path.drift",
            format!("rotation turns coordinate pairs: dim = {dim} must be even"),
        ));
    }
    let stop = stop_from(section(root, "solver", false)?)?;
    if let Some(run) = section(root, "run", false)? {
        if let Some(k) = run.keys().next() {
            return Err(unknown_key("run", k, &[]));
        }
    }
    let mut points_every = 1;
    if let Some(output) = section(root, "output", false)? {
        for (k, v) in output {
            match k.as_str() {
                "points" => points_every = integer("output.points", v, 0, i64::MAX)? as u64,
                _ => return Err(unknown_key("output", k, &["points"])),
            }
        }
    }
    let mut max_n = base.n;
    if let Some(v) = grid.get("n") {
        for x in axis_values("grid.n", v)?.probes() {
            max_n = max_n.max(x);
        }
    }
    let study = PathStudy {
        landscape,
        start,
        start_box,
        end,
        free_end,
        drift,
        g,
        stop,
        points_every,
        max_n: max_n.clamp(1.0, 1e7) as usize,
        fixed_keys,
    };
    Ok((study, base))
}

/// A small batch of paths that runs in a moment on the CPU device (the double well,
/// two discounts, two horizons, every path's points): the registry's sample.
pub fn sample(_dir: &std::path::Path) -> Result<String> {
    Ok(
        "[landscape]\nkind = \"double_well\"\ndim = 2\n[path]\nn = 12\nstart = [-1.0, 0.3]\n\
        end = [1.0, 0.0]\n[solver]\ngtol = 1e-5\n[grid]\ngamma = [0.0, 0.5]\n\
        t_end = [2.0, 4.0]\n[output]\npoints = 1\nsummary = false\n[run]\nchunk = 3\n"
            .into(),
    )
}
