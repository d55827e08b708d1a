//! The horizon picture: how far ahead a learner looks (the discount γ) sets the ratio of
//! its convergence rates on a stiff and a shallow direction, from √(h₁/h₂) (γ → 0,
//! ballistic) to h₁/h₂ (γ → ∞, gradient descent). `rulelab control horizon DIR` reads a
//! finished sweep of a control rule over `gamma × h_min` on a one-coordinate quadratic
//! (each learner is one direction: coordinates of a diagonal quadratic do not interact
//! under these rules), measures each learner's rate from its loss trajectory, and sets
//! the ratios beside the closed form (`examples/sweeps/horizon.toml`).

use super::learner::control_gain;
use super::{LandscapeKind, LandscapeRule, Noise, RuleKind, Spectrum, SweepConfig};
use crate::error::{Error, Result};
// The kit's vocabulary: charts, axes, ticks, legends, colours and sizes.
use crate::plot::*;
use crate::sweep::store;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One discount's rates, measured and in closed form, for the two curvatures.
#[derive(Clone, Debug, Serialize)]
pub struct HorizonRow {
    pub gamma: f64,
    pub h: [f64; 2],
    /// −½ d ln L / dt fitted over the trajectory (t = step · lr).
    pub measured: [f64; 2],
    /// The optimal rate of the continuous problem.
    pub closed: [f64; 2],
    pub ratio_measured: f64,
    pub ratio_closed: f64,
    /// η·k of the rows' rule (the ratio depends on γ / (η k) only).
    pub eta_k: f64,
}

/// The optimal rate r = h · (r/h) of a direction with curvature h under discount γ: the
/// closed form the control_optimal rule's gain is (metric g = 1).
fn rate(h: f64, gamma: f64, eta_k: f64) -> f64 {
    h * control_gain(h, gamma, eta_k)
}

fn refuse(dir: &Path, why: impl Into<String>) -> Error {
    Error::invalid(dir.display().to_string(), why.into())
}

/// The least-squares slope of ln L against t over the points where L is a positive
/// normal f32 well above underflow.
fn log_slope(points: &[(f64, f64)]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(_, l)| l.is_finite() && *l > 1e-30)
        .map(|&(t, l)| (t, l.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let (mt, ml) = pts
        .iter()
        .fold((0.0, 0.0), |(a, b), (t, l)| (a + t / n, b + l / n));
    let (sxy, sxx) = pts.iter().fold((0.0, 0.0), |(a, b), (t, l)| {
        (a + (t - mt) * (l - ml), b + (t - mt) * (t - mt))
    });
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Measures a finished horizon sweep in `dir` (its files verified against the manifest).
pub fn measure(dir: &Path) -> Result<(SweepConfig, Vec<HorizonRow>)> {
    let m = store::read_manifest(dir)?;
    if !m.complete {
        return Err(refuse(
            dir,
            "holds an unfinished sweep: finish it with --resume first",
        ));
    }
    for (file, marks) in m.files() {
        let path = dir.join(&file);
        let v = store::verify(&path, &marks)?;
        if v.good != marks.len() || v.len != marks.last().expect("a header").bytes {
            return Err(refuse(
                &path,
                "does not match its manifest: run the sweep again with --resume to repair it",
            ));
        }
    }
    let cfg = SweepConfig::from_toml(&m.config)?;
    let s = &cfg.study;
    let p = &s.problem;
    let control = |r: &RuleKind| {
        matches!(
            r,
            RuleKind::Landscape(LandscapeRule::ControlOptimal | LandscapeRule::ControlEstimated)
        )
    };
    let shape_ok = p.landscape.kind == LandscapeKind::Quadratic
        && p.landscape.dim == 1
        && matches!(
            p.landscape.spectrum,
            Spectrum::Linspace | Spectrum::Logspace
        )
        && p.noise == Noise::None
        && s.rules.len() == 1
        && control(&s.rules[0])
        && s.trajectories;
    let axes = cfg.grid.names();
    let h_axis = cfg.grid.axes.iter().find(|a| a.name == "h_min");
    if !shape_ok
        || axes.len() != 2
        || !axes.iter().any(|a| a == "gamma")
        || h_axis.is_none_or(|a| a.values.len() != 2)
    {
        return Err(refuse(
            dir,
            "is not a horizon sweep: one control rule on a noiseless one-coordinate quadratic \
             (linspace or logspace spectrum), [grid] gamma and h_min with two curvatures, \
             trajectories on (see examples/sweeps/horizon.toml)",
        ));
    }
    let hs = h_axis.expect("checked").values.all();
    let dt = |k: u64| cfg.learner(k).lr;
    let text = std::fs::read_to_string(dir.join("trajectories.csv"))
        .map_err(crate::files::io_error(&dir.join("trajectories.csv")))?;
    let mut curves: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        let (Some(Ok(k)), Some(Ok(step)), Some(Ok(loss))) = (
            f.next().map(str::parse::<u64>),
            f.next().map(str::parse::<f64>),
            f.next().map(str::parse::<f64>),
        ) else {
            return Err(refuse(dir, format!("trajectories.csv: bad line {line:?}")));
        };
        curves.entry(k).or_default().push((step * dt(k), loss));
    }
    let mut by_gamma: BTreeMap<u64, (f64, [f64; 2], f64, f64)> = BTreeMap::new();
    for (k, pts) in &curves {
        let p = cfg.learner(*k);
        let which = hs
            .iter()
            .position(|&h| h == p.h_min)
            .expect("an axis value");
        let rate = log_slope(pts).map_or(f64::NAN, |s| -s / 2.0);
        let e = by_gamma
            .entry(p.gamma.to_bits())
            .or_insert((p.gamma, [f64::NAN; 2], p.eta, p.k));
        e.1[which] = rate;
    }
    let rows = by_gamma
        .into_values()
        .map(|(gamma, measured, eta, k)| {
            let closed = [rate(hs[0], gamma, eta * k), rate(hs[1], gamma, eta * k)];
            Ok(HorizonRow {
                gamma,
                h: [hs[0], hs[1]],
                measured,
                closed,
                ratio_measured: measured[0] / measured[1],
                ratio_closed: closed[0] / closed[1],
                eta_k: eta * k,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((cfg, rows))
}

struct HorizonPicture<'a> {
    rows: &'a [HorizonRow],
    rule: &'static str,
}

impl Picture for HorizonPicture<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let rows = self.rows;
        let h = rows[0].h;
        let (ballistic, gd) = ((h[0] / h[1]).sqrt(), h[0] / h[1]);
        let (lo, hi) = (ballistic.min(gd), ballistic.max(gd));
        let g0 = rows
            .iter()
            .map(|r| r.gamma)
            .filter(|g| *g > 0.0)
            .fold(f64::INFINITY, f64::min);
        let g1 = rows
            .iter()
            .map(|r| r.gamma)
            .fold(0.0f64, f64::max)
            .max(g0 * 10.0);
        let pad = 0.08 * (hi - lo);
        let (blue, red) = (COLOURS[0], COLOURS[3]);
        let ballistic_grey = RGBColor(150, 150, 150);
        let root = legend_below(
            root,
            &[
                Entry::new("closed form", Mark::Line(blue)),
                Entry::new("measured from the sweep's trajectories", Mark::Dot(red)),
                Entry::new("γ → 0: ballistic, √(h₁/h₂)", Mark::Dashed(ballistic_grey)),
                Entry::new("γ → ∞: gradient descent, h₁/h₂", Mark::Dashed(MUTED)),
            ],
        )?;
        let (y0, y1) = (lo - pad, hi + pad);
        let (xt, yt) = (Ticks::log(g0, g1, 8), Ticks::linear(y0, y1, Y_TICKS));
        let title = format!(
            "{}: rate ratio r(h = {}) / r(h = {}) against the horizon",
            self.rule,
            Ticks::values(&h).label(h[0]),
            Ticks::values(&h).label(h[1])
        );
        let mut chart = chart(&root, &title, (g0..g1).log_scale(), y0..y1)?;
        axes(
            &mut chart,
            (
                "discount γ (the horizon is 1/γ; log scale)",
                xt.count(g0, g1, 8),
                &|v| xt.label(*v),
            ),
            ("rate ratio", Y_TICKS, &|v| yt.label(*v)),
            Lines::Both,
        )?;
        for (y, grey) in [(ballistic, ballistic_grey), (gd, MUTED)] {
            chart
                .draw_series(dashed(vec![(g0, y), (g1, y)], grey.stroke_width(2)))
                .map_err(plot_err)?;
        }
        let curve: Vec<(f64, f64)> = (0..=200)
            .map(|i| {
                let g = g0 * (g1 / g0).powf(i as f64 / 200.0);
                let eta_k = rows[0].eta_k;
                (g, rate(h[0], g, eta_k) / rate(h[1], g, eta_k))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(curve, blue.stroke_width(2)))
            .map_err(plot_err)?;
        chart
            .draw_series(
                rows.iter()
                    .filter(|r| r.gamma > 0.0 && r.ratio_measured.is_finite())
                    .map(|r| Circle::new((r.gamma, r.ratio_measured), 4, red.filled())),
            )
            .map_err(plot_err)?;
        Ok(())
    }
}

/// Draws DIR/horizon.svg and .png.
pub fn draw(
    dir: &Path,
    cfg: &SweepConfig,
    rows: &[HorizonRow],
    fig: &Figure,
) -> Result<Vec<std::path::PathBuf>> {
    write_picture(
        dir,
        "horizon",
        &HorizonPicture {
            rows,
            rule: cfg.study.rules[0].name(),
        },
        fig,
    )
}
