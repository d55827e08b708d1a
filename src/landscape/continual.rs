//! The picture of a continual sweep (spec §6): regret against the switch rate, one line
//! per reset strategy, the median over seeds with the interquartile band, one panel per
//! setting of the other axes (the learning rate, the rule...). Written beside the
//! runner's summary as DIR/regret.svg and .png.

use super::config::SweepConfig;
use super::Switching;
use crate::error::{Error, Result};
// The kit's vocabulary: charts, axes, ticks, legends, colours and sizes.
use crate::plot::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// At most this many panels; more settings of the other axes are left out and the
/// caption says so.
const MOST_PANELS: usize = 8;

/// Median and quartiles over seeds at each x, per strategy, per panel.
type Points = Vec<(f64, f64, f64, f64)>;

struct RegretPicture {
    x_name: &'static str,
    /// (panel title, [(strategy, points)]).
    panels: Vec<(String, Vec<(String, Points)>)>,
    left_out: usize,
}

fn quartiles(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let at = p * (v.len() - 1) as f64;
        let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
    };
    (q(0.25), q(0.5), q(0.75))
}

/// Reads DIR/results.csv of a continual sweep and draws DIR/regret.svg and .png.
pub fn write_regret(cfg: &SweepConfig, dir: &Path, fig: &Figure) -> Result<Vec<PathBuf>> {
    let Some(c) = &cfg.study.problem.continual else {
        return Ok(vec![]);
    };
    let x_name = match c.switching {
        Switching::Hazard => "hazard",
        Switching::Block => "block",
    };
    let path = dir.join("results.csv");
    let text = std::fs::read_to_string(&path).map_err(crate::files::io_error(&path))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let regret_col = col("regret")
        .ok_or_else(|| Error::invalid(path.display().to_string(), "has no column regret"))?;
    let x_col = col(x_name);
    let reset_col = col("reset");
    // The panel: every other axis that is not a replicate.
    let replicates = crate::sweep::Parse::replicates(&cfg.study);
    let others: Vec<(String, usize)> = cfg
        .grid
        .axes
        .iter()
        .map(|a| a.name.clone())
        .filter(|n| n != x_name && n != "reset" && !replicates.contains(&n.as_str()))
        .filter_map(|n| col(&n).map(|i| (n, i)))
        .collect();
    let default_reset = cfg.study.resets()[0].name().to_string();
    let default_x = match c.switching {
        Switching::Hazard => cfg.base.hazard,
        Switching::Block => cfg.base.block,
    };
    let mut groups: BTreeMap<String, BTreeMap<String, BTreeMap<u64, Vec<f64>>>> = BTreeMap::new();
    let mut order: Vec<String> = vec![];
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let field = |i: usize| f.get(i).copied().unwrap_or("");
        let x = x_col.map_or(Ok(default_x), |i| field(i).parse::<f64>());
        let regret = field(regret_col).parse::<f64>();
        let (Ok(x), Ok(regret)) = (x, regret) else {
            return Err(Error::invalid(
                path.display().to_string(),
                format!("bad row {line:?}"),
            ));
        };
        if !regret.is_finite() {
            continue;
        }
        let panel = others
            .iter()
            .map(|(n, i)| format!("{n} = {}", field(*i)))
            .collect::<Vec<_>>()
            .join(", ");
        if !order.contains(&panel) {
            order.push(panel.clone());
        }
        let reset = reset_col.map_or(default_reset.clone(), |i| field(i).to_string());
        groups
            .entry(panel)
            .or_default()
            .entry(reset)
            .or_default()
            .entry(x.to_bits())
            .or_default()
            .push(regret);
    }
    if groups.is_empty() {
        return Err(Error::invalid(
            path.display().to_string(),
            "has no learner with a finite regret to draw",
        ));
    }
    let left_out = order.len().saturating_sub(MOST_PANELS);
    let panels = order
        .into_iter()
        .take(MOST_PANELS)
        .map(|title| {
            let by_reset = groups.remove(&title).expect("a group per panel");
            let lines = cfg
                .study
                .resets()
                .iter()
                .filter_map(|r| {
                    let xs = by_reset.get(r.name())?;
                    let mut pts: Points = xs
                        .iter()
                        .map(|(&x, v)| {
                            let (q25, med, q75) = quartiles(&mut v.clone());
                            (f64::from_bits(x), med, q25, q75)
                        })
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Some((r.name().to_string(), pts))
                })
                .collect();
            (title, lines)
        })
        .collect();
    write_picture(
        dir,
        "regret",
        &RegretPicture {
            x_name,
            panels,
            left_out,
        },
        fig,
    )
}

impl Picture for RegretPicture {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid(self.panels.len(), 4);
        (
            (60 + 400 * cols as u32).max(700),
            TITLE + 2 * LEGEND + 60 + 360 * rows as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let spread = self
            .panels
            .iter()
            .any(|(_, l)| l.iter().any(|(_, p)| p.iter().any(|p| p.3 > p.2)));
        let mut caption = format!(
            "regret against the {}{}",
            if self.x_name == "hazard" {
                "hazard"
            } else {
                "block length"
            },
            if spread {
                ": median over seeds, band: interquartile range"
            } else {
                ""
            }
        );
        if self.left_out > 0 {
            caption += &format!(" ({} more panels not drawn)", self.left_out);
        }
        let body = root.titled(&caption, font(TITLE)).map_err(plot_err)?;
        // One legend for every panel: the resets, as each panel draws them.
        let names: Vec<&str> = self
            .panels
            .iter()
            .flat_map(|(_, l)| l.iter().map(|(n, _)| n.as_str()))
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        let colour_of = |name: &str| {
            COLOURS[names.iter().position(|n| *n == name).unwrap_or(0) % COLOURS.len()]
        };
        let entries: Vec<Entry> = names
            .iter()
            .map(|n| {
                let c = colour_of(n);
                Entry::new(
                    format!("reset: {n}"),
                    if spread { Mark::Band(c) } else { Mark::Line(c) },
                )
            })
            .collect();
        let body = legend_below(&body, &entries)?;
        let all = self
            .panels
            .iter()
            .flat_map(|(_, l)| l.iter().flat_map(|(_, p)| p));
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, 0.0f64, 0.0f64, 0.0f64);
        for &(x, _, q25, q75) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(q25);
            y1 = y1.max(q75);
        }
        if x1 <= x0 {
            (x0, x1) = (x0 / 2.0, x0 * 2.0);
        }
        let pad = 0.05 * (y1 - y0).max(1e-12);
        let (y0, y1) = (y0 - pad, y1 + pad);
        let areas = body.split_evenly(grid(self.panels.len(), 4));
        let xt = Ticks::log(x0, x1, X_TICKS);
        let yt = Ticks::linear(y0, y1, Y_TICKS);
        for ((title, lines), area) in self.panels.iter().zip(&areas) {
            let mut chart = chart(area, title, (x0..x1).log_scale(), y0..y1)?;
            axes(
                &mut chart,
                (self.x_name, xt.count(x0, x1, X_TICKS), &|v| xt.label(*v)),
                ("regret (mean loss − the oracle's)", Y_TICKS, &|v| {
                    yt.label(*v)
                }),
                Lines::Both,
            )?;
            chart
                .draw_series(LineSeries::new(
                    [(x0, 0.0), (x1, 0.0)],
                    RGBColor(150, 150, 150).stroke_width(1),
                ))
                .map_err(plot_err)?;
            for (name, pts) in lines {
                let colour = colour_of(name);
                let band: Vec<(f64, f64)> = pts
                    .iter()
                    .map(|p| (p.0, p.3))
                    .chain(pts.iter().rev().map(|p| (p.0, p.2)))
                    .collect();
                if spread {
                    chart
                        .draw_series([Polygon::new(band, colour.mix(0.18).filled())])
                        .map_err(plot_err)?;
                }
                chart
                    .draw_series(
                        pts.iter()
                            .map(|p| Circle::new((p.0, p.1), 3, colour.filled())),
                    )
                    .map_err(plot_err)?;
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|p| (p.0, p.1)),
                        colour.stroke_width(2),
                    ))
                    .map_err(plot_err)?;
            }
        }
        Ok(())
    }
}
