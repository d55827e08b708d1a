//! The summary of a batch of paths: for 2-D landscapes the paths over the loss's
//! contour bands with gradient flow from the same starts beside them, and for every
//! landscape the loss along each path.

use super::config::{PathConfig, PathStudy};
use crate::error::{Error, Result};
use crate::loss::data;
use crate::loss::eval::{curvature, loss_grad};
// The kit's vocabulary: charts, axes, ticks, legends, colours and sizes.
use crate::plot::*;
use crate::sweep::summary::read_results;
use crate::sweep::{Parse, Present};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most paths one picture draws (evenly spread over those in points.csv).
const MOST: usize = 200;

/// A path's points as points.csv holds them: (t, θ, loss) each.
type Points = Vec<(f64, Vec<f64>, f64)>;

struct Drawn {
    learner: u64,
    points: Points,
    /// Colour position in [0, 1]: the rank of the path's final S.
    shade: f64,
    flow: Vec<Vec<f64>>,
}

struct PathsPicture<'a> {
    study: &'a PathStudy,
    paths: Vec<Drawn>,
    total: u64,
    /// Contour bands: cell rectangles with their band index, and the band count.
    cells: Vec<([f64; 4], usize)>,
    bands: usize,
    bounds: [f64; 4],
}

/// Gradient flow θ' = −G⁻¹∇L from `start` until the gradient vanishes, the step
/// bounded by `h` in length (the flow's path, not its timing, is what is drawn).
fn gradient_flow(
    grad: impl Fn(&[f64], &mut [f64]),
    g: &[f64],
    start: &[f64],
    h: f64,
) -> Vec<Vec<f64>> {
    let mut theta = start.to_vec();
    let mut gr = vec![0.0; theta.len()];
    let mut out = vec![theta.clone()];
    for step in 0..20_000 {
        grad(&theta, &mut gr);
        let v: Vec<f64> = gr.iter().zip(g).map(|(x, gi)| -x / gi).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-9 {
            break;
        }
        let dt = (h / norm).min(0.05);
        theta.iter_mut().zip(&v).for_each(|(t, x)| *t += dt * x);
        if step % 10 == 0 {
            out.push(theta.clone());
        }
    }
    out.push(theta);
    out
}

fn read_points(path: &Path, dim: usize) -> Result<BTreeMap<u64, Points>> {
    let text = std::fs::read_to_string(path).map_err(crate::files::io_error(path))?;
    let mut by: BTreeMap<u64, Points> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<f64> = line
            .split(',')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Plot(format!("{} line {}: not numbers", path.display(), i + 1)))?;
        if f.len() != 4 + dim {
            return Err(Error::Plot(format!(
                "{} line {}: {} columns, expected {}",
                path.display(),
                i + 1,
                f.len(),
                4 + dim
            )));
        }
        by.entry(f[0] as u64)
            .or_default()
            .push((f[2], f[3..3 + dim].to_vec(), f[3 + dim]));
    }
    Ok(by)
}

pub fn write_paths(cfg: &PathConfig, dir: &Path, fig: &Figure) -> Result<Vec<PathBuf>> {
    let study = &cfg.study;
    let dim = study.landscape.dim;
    let all = read_points(&dir.join(PathStudy::SERIES), dim)?;
    let s_final: BTreeMap<u64, f64> = read_results(cfg, &dir.join(PathStudy::RESULTS))?
        .into_iter()
        .map(|r| (r.0, r.2))
        .collect();
    let total = s_final.len() as u64;
    let step = all.len().div_ceil(MOST).max(1);
    let chosen: Vec<(u64, Points)> = all.into_iter().step_by(step).collect();
    let mut ranks: Vec<(f64, usize)> = chosen
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (s_final.get(k).copied().unwrap_or(f64::NAN), i))
        .collect();
    ranks.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut shade = vec![0.0; chosen.len()];
    for (r, &(_, i)) in ranks.iter().enumerate() {
        shade[i] = r as f64 / (ranks.len().max(2) - 1) as f64;
    }
    let first = chosen.first().map(|c| cfg.learner(c.0)).unwrap_or(cfg.base);
    let land = first.shape();
    let shared = data::build(&study.landscape, &land);
    let h = curvature::<f64>(&study.landscape, &shared, &land);
    let loss_at =
        |at: &[f64], g: &mut [f64]| loss_grad(&study.landscape, &shared, &land, &h, at, g);

    // The box the paths span, with a margin.
    let mut bounds = [
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    if dim == 2 {
        for (_, pts) in &chosen {
            for (_, th, _) in pts {
                bounds = [
                    bounds[0].min(th[0]),
                    bounds[1].max(th[0]),
                    bounds[2].min(th[1]),
                    bounds[3].max(th[1]),
                ];
            }
        }
    }
    let scale = ((bounds[1] - bounds[0]).powi(2) + (bounds[3] - bounds[2]).powi(2)).sqrt();
    let paths: Vec<Drawn> = chosen
        .into_iter()
        .zip(shade)
        .map(|((learner, points), shade)| {
            let flow = if dim == 2 {
                let start = points[0].1.clone();
                gradient_flow(
                    |at, g| {
                        loss_at(at, g);
                    },
                    &study.g,
                    &start,
                    0.002 * scale.max(1e-6),
                )
            } else {
                vec![]
            };
            Drawn {
                learner,
                points,
                shade,
                flow,
            }
        })
        .collect();
    let (mut cells, mut bands) = (vec![], 0);
    if dim == 2 && scale.is_finite() {
        for d in &paths {
            for th in &d.flow {
                bounds = [
                    bounds[0].min(th[0]),
                    bounds[1].max(th[0]),
                    bounds[2].min(th[1]),
                    bounds[3].max(th[1]),
                ];
            }
        }
        let (mx, my) = (
            0.08 * (bounds[1] - bounds[0]).max(0.1),
            0.08 * (bounds[3] - bounds[2]).max(0.1),
        );
        bounds = [
            bounds[0] - mx,
            bounds[1] + mx,
            bounds[2] - my,
            bounds[3] + my,
        ];
        (cells, bands) = contour_cells(bounds, |at| loss_at(at, &mut [0.0; 2]));
    }
    let pic = PathsPicture {
        study,
        paths,
        total,
        cells,
        bands,
        bounds,
    };
    write_picture(dir, "summary", &pic, fig)
}

/// Cells of a 120 × 90 raster over `b`, each with its band: bands are deciles of the
/// loss over the raster, so they read as filled contours.
fn contour_cells(b: [f64; 4], loss: impl Fn(&[f64]) -> f64) -> (Vec<([f64; 4], usize)>, usize) {
    let (nx, ny) = (120, 90);
    let (dx, dy) = ((b[1] - b[0]) / nx as f64, (b[3] - b[2]) / ny as f64);
    let mut raw = Vec::with_capacity(nx * ny);
    for j in 0..ny {
        for i in 0..nx {
            let (x, y) = (b[0] + (i as f64 + 0.5) * dx, b[2] + (j as f64 + 0.5) * dy);
            raw.push((
                [x - dx / 2.0, y - dy / 2.0, x + dx / 2.0, y + dy / 2.0],
                loss(&[x, y]),
            ));
        }
    }
    let mut sorted: Vec<f64> = raw.iter().map(|r| r.1).filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let bands = 10;
    let edges: Vec<f64> = (1..bands)
        .map(|q| sorted.get(q * sorted.len() / bands).copied().unwrap_or(0.0))
        .collect();
    let cells = raw
        .into_iter()
        .map(|(r, v)| (r, edges.iter().filter(|&&e| v > e).count()))
        .collect();
    (cells, bands)
}

impl Picture for PathsPicture<'_> {
    fn size(&self) -> (u32, u32) {
        if self.cells.is_empty() {
            (900, 600)
        } else {
            (1500, 680)
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let title = if self.paths.len() == self.total as usize {
            format!("{}: {} paths", self.study.describe(), self.total)
        } else {
            format!(
                "{}: {} of {} paths",
                self.study.describe(),
                self.paths.len(),
                self.total
            )
        };
        let root = root.titled(&title, font(TITLE + 2)).map_err(plot_err)?;
        // Many paths are told apart by colour (the rank of their final action, with
        // its bar); a few by name in the legend.
        let ranked = self.paths.len() > 6;
        let mut entries = vec![];
        if !self.cells.is_empty() {
            entries.push(Entry::new(
                "gradient flow from the same start",
                Mark::Dashed(MUTED),
            ));
            entries.push(Entry::new("start", Mark::Dot(ramp(0.4))));
        }
        if !ranked {
            entries.extend(
                self.paths
                    .iter()
                    .map(|d| Entry::new(format!("path {}", d.learner), Mark::Line(self.colour(d)))),
            );
        }
        let root = legend_below(&root, &entries)?;
        let (w, _) = root.dim_in_pixel();
        let root = if ranked {
            let (body, bar) = root.split_horizontally(w - 130);
            colour_bar(
                &bar.margin(30, 60, 0, 10),
                (0.0, 100.0),
                false,
                "path's final S: percentile",
                |t| ramp(0.1 + 0.65 * t),
            )?;
            body
        } else {
            root
        };
        if self.cells.is_empty() {
            return self.draw_loss(&root);
        }
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w * 11 / 20);
        self.draw_plane(&left)?;
        self.draw_loss(&right)
    }
}

impl PathsPicture<'_> {
    fn colour(&self, d: &Drawn) -> RGBColor {
        ramp(0.1 + 0.65 * d.shade)
    }

    fn draw_plane<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let b = self.bounds;
        let (w, _) = area.dim_in_pixel();
        let (area, bar) = area.split_horizontally(w - 150);
        let band_colour = |t: f64| {
            let v = (252.0 - 80.0 * t.clamp(0.0, 1.0)) as u8;
            RGBColor(v, v, (v as f64 * 0.97 + 8.0).min(255.0) as u8)
        };
        colour_bar(
            &bar.margin(40, 60, 0, 10),
            (0.0, self.bands as f64),
            false,
            "loss decile over the box",
            band_colour,
        )?;
        let mut chart = chart(
            &area,
            "paths over the loss landscape",
            b[0]..b[1],
            b[2]..b[3],
        )?;
        let (xt, yt) = (
            Ticks::linear(b[0], b[1], X_TICKS),
            Ticks::linear(b[2], b[3], Y_TICKS),
        );
        axes(
            &mut chart,
            (&sub("θ_0"), X_TICKS, &|v| xt.label(*v)),
            (&sub("θ_1"), Y_TICKS, &|v| yt.label(*v)),
            Lines::None,
        )?;
        let band_colour = |i: usize| band_colour(i as f64 / (self.bands - 1).max(1) as f64);
        chart
            .draw_series(self.cells.iter().map(|(r, band)| {
                Rectangle::new([(r[0], r[1]), (r[2], r[3])], band_colour(*band).filled())
            }))
            .map_err(plot_err)?;
        for d in &self.paths {
            let flow: Vec<(f64, f64)> = d.flow.iter().map(|p| (p[0], p[1])).collect();
            chart
                .draw_series(dashed(flow, MUTED.stroke_width(2)))
                .map_err(plot_err)?;
        }
        for d in &self.paths {
            let c = self.colour(d);
            chart
                .draw_series(LineSeries::new(
                    d.points.iter().map(|p| (p.1[0], p.1[1])),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?;
            let (s, e) = (&d.points[0].1, &d.points[d.points.len() - 1].1);
            chart
                .draw_series([
                    Circle::new((s[0], s[1]), 3, c.filled()),
                    Circle::new((e[0], e[1]), 4, BLACK.stroke_width(1)),
                ])
                .map_err(plot_err)?;
        }
        Ok(())
    }

    fn draw_loss<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let pts = self.paths.iter().flat_map(|d| d.points.iter());
        let (t1, lo, hi) = pts.fold(
            (0.0f64, f64::INFINITY, f64::NEG_INFINITY),
            |(t, a, b), p| (t.max(p.0), a.min(p.2), b.max(p.2)),
        );
        if !lo.is_finite() {
            return Ok(());
        }
        let pad = 0.05 * (hi - lo).max(1e-9);
        let (x1, y0, y1) = (t1.max(1e-9), lo - pad, hi + pad);
        let mut chart = panel(
            area,
            "the loss along each path",
            0.0..x1,
            y0..y1,
            ("time t", "loss L(θ(t))"),
        )?;
        for d in &self.paths {
            let c = self.colour(d);
            chart
                .draw_series(LineSeries::new(
                    d.points.iter().map(|p| (p.0, p.2)),
                    c.stroke_width(if self.paths.len() > 20 { 1 } else { 2 }),
                ))
                .map_err(plot_err)?;
        }
        Ok(())
    }
}
