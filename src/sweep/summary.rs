//! DIR/summary.svg and DIR/summary.png: what a sweep found, drawn the way a talk would
//! show it.
//!
//! Seeds (and any replicate axis) are never an axis: each setting is summarised over
//! its seeds by the median of the headline value (final loss) and its interquartile
//! range. A categorical axis (the rule kind) gives one heat-map panel per value. Each
//! panel's two axes are the two other axes with the most values (or `[output]
//! plot_axes`); every remaining axis is taken at its best value for the cell. The
//! colour bar is logarithmic with ticks; a cell whose settings all diverged (most seeds
//! flagged) is crossed out and counted. Below, the mean curves of the best settings
//! (when the study records a series per learner): the median over seeds with the
//! interquartile band, log scale, a legend naming each setting and its final value.
//!
//! One file over 600 lines because it is one picture: reading the results into
//! settings, laying out the panels and drawing them share the layout's every number.

use super::study::Study;
use super::study::StudyConfig;
use crate::error::{Error, Result};
// The kit's vocabulary: charts, axes, ticks, legends, colours and sizes.
use crate::plot::*;
use crate::stats::{median, quantile};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// One row of results.csv: learner, axis values, headline value, flagged (diverged).
pub type ResultRow = (u64, Vec<f64>, f64, bool);

/// Rows of a results.csv, the columns found by name.
pub fn read_results<S: Study>(cfg: &StudyConfig<S>, path: &Path) -> Result<Vec<ResultRow>> {
    let text = read(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            Error::invalid(path.display().to_string(), format!("has no column {name}"))
        })
    };
    let axis_cols: Vec<usize> = cfg
        .grid
        .axes
        .iter()
        .map(|a| col(&a.name))
        .collect::<Result<_>>()?;
    let head = col(cfg.study.headline())?;
    let flag = cfg.study.flag().map(col).transpose()?;
    Ok(lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            let axes = cfg
                .grid
                .axes
                .iter()
                .zip(&axis_cols)
                .map(|(a, &i)| cfg.parse_value(&a.name, field(i)))
                .collect();
            (
                field(0).parse().unwrap_or(0),
                axes,
                field(head).parse().unwrap_or(f64::NAN),
                flag.is_some_and(|i| field(i) == "true"),
            )
        })
        .collect())
}

/// A setting: one value of every non-replicate axis, summarised over its seeds.
#[derive(Clone, Debug)]
pub struct Setting {
    /// Axis values (replicate axes NaN).
    pub key: Vec<f64>,
    pub learners: Vec<u64>,
    pub median: f64,
    pub q25: f64,
    pub q75: f64,
    /// Most seeds diverged (or none has a finite value).
    pub diverged: bool,
}

/// Every setting of the results, in first-seen order.
pub fn settings<S: Study>(cfg: &StudyConfig<S>, rows: &[ResultRow]) -> Vec<Setting> {
    let replicates = cfg.study.replicates();
    let rep: Vec<bool> = cfg
        .grid
        .axes
        .iter()
        .map(|a| replicates.contains(&a.name.as_str()))
        .collect();
    let mut order: Vec<Vec<u64>> = Vec::new();
    // Per setting: its key, learners, values and how many diverged.
    type Group = (Vec<f64>, Vec<u64>, Vec<f64>, usize);
    let mut groups: HashMap<Vec<u64>, Group> = HashMap::new();
    for (k, axes, value, flagged) in rows {
        let key: Vec<f64> = axes
            .iter()
            .zip(&rep)
            .map(|(&v, &r)| if r { f64::NAN } else { v })
            .collect();
        let bits: Vec<u64> = key.iter().map(|v| v.to_bits()).collect();
        let g = groups.entry(bits.clone()).or_insert_with(|| {
            order.push(bits);
            (key, vec![], vec![], 0)
        });
        g.1.push(*k);
        g.2.push(*value);
        g.3 += *flagged as usize;
    }
    order
        .into_iter()
        .map(|bits| {
            let (key, learners, values, flagged) = groups.remove(&bits).expect("seen");
            let median = median(values.iter().copied().filter(|x| x.is_finite()).collect());
            Setting {
                key,
                median,
                q25: quantile(&values, 0.25),
                q75: quantile(&values, 0.75),
                diverged: 2 * flagged > learners.len() || !median.is_finite(),
                learners,
            }
        })
        .collect()
}

/// A value of axis `i` as the plot prints it: categorical values by name, numbers in
/// the one format of their axis.
fn axis_label<S: Study>(cfg: &StudyConfig<S>, i: usize, v: f64) -> String {
    let a = &cfg.grid.axes[i];
    if a.categorical {
        cfg.value_label(&a.name, v)
    } else {
        Ticks::values(&a.values.all()).label(v)
    }
}

/// A setting's values of the non-replicate axes, as "lr=0.01 beta1=0.9".
fn describe<S: Study>(cfg: &StudyConfig<S>, s: &Setting) -> String {
    s.key
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| format!("{}={}", cfg.grid.axes[i].name, axis_label(cfg, i, v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the summary draws: panels of heat maps and the best settings' curves.
struct Layout {
    /// The panel axis (categorical) and its values.
    panel: Option<(usize, Vec<f64>)>,
    /// Heat-map axes (x, y), each with its values.
    x: Option<(usize, Vec<f64>)>,
    y: Option<(usize, Vec<f64>)>,
}

fn layout<S: Study>(cfg: &StudyConfig<S>) -> Layout {
    let replicates = cfg.study.replicates();
    let axes = &cfg.grid.axes;
    let free: Vec<usize> = (0..axes.len())
        .filter(|&i| !replicates.contains(&axes[i].name.as_str()) && axes[i].values.len() <= 64)
        .collect();
    let panel = free
        .iter()
        .copied()
        .find(|&i| axes[i].categorical && axes[i].values.len() > 1);
    let mut rest: Vec<usize> = free.into_iter().filter(|&i| Some(i) != panel).collect();
    let chosen: Vec<usize> = match &cfg.plot_axes {
        Some(names) => names
            .iter()
            .filter_map(|n| axes.iter().position(|a| &a.name == n))
            .collect(),
        None => {
            rest.sort_by_key(|&i| std::cmp::Reverse(axes[i].values.len()));
            rest.into_iter().take(2).collect()
        }
    };
    let with_values = |i: usize| (i, axes[i].values.all());
    Layout {
        panel: panel.map(with_values),
        x: chosen.first().copied().map(with_values),
        y: chosen.get(1).copied().map(with_values),
    }
}

/// A cell of a heat map: the best setting for its values (other axes at their best).
struct Cell<'a> {
    x: usize,
    y: usize,
    best: Option<&'a Setting>,
    /// Every candidate setting diverged.
    diverged: bool,
}

fn cells<'a>(lay: &Layout, settings: &'a [Setting], panel: Option<f64>) -> Vec<Cell<'a>> {
    let xs = lay.x.as_ref().map_or(vec![f64::NAN], |(_, v)| v.clone());
    let ys = lay.y.as_ref().map_or(vec![f64::NAN], |(_, v)| v.clone());
    let matches = |s: &Setting, axis: &Option<(usize, Vec<f64>)>, v: f64| {
        axis.as_ref().is_none_or(|(i, _)| s.key[*i] == v)
    };
    let mut out = Vec::new();
    for (xi, &xv) in xs.iter().enumerate() {
        for (yi, &yv) in ys.iter().enumerate() {
            let candidates: Vec<&Setting> = settings
                .iter()
                .filter(|s| {
                    matches(s, &lay.x, xv)
                        && matches(s, &lay.y, yv)
                        && lay
                            .panel
                            .as_ref()
                            .is_none_or(|(i, _)| Some(s.key[*i]) == panel)
                })
                .collect();
            let best = candidates
                .iter()
                .filter(|s| !s.diverged)
                .min_by(|a, b| a.median.total_cmp(&b.median))
                .copied();
            out.push(Cell {
                x: xi,
                y: yi,
                diverged: best.is_none() && !candidates.is_empty(),
                best,
            });
        }
    }
    out
}

/// Mean curves: for each chosen setting, (x, median, q25, q75) over its seeds.
type Curve = Vec<(f64, f64, f64, f64)>;

fn read_curves(path: &Path, chosen: &[&Setting]) -> Result<Vec<Curve>> {
    let mut owner: HashMap<u64, usize> = HashMap::new();
    for (c, s) in chosen.iter().enumerate() {
        for &k in &s.learners {
            owner.insert(k, c);
        }
    }
    let mut by: Vec<BTreeMap<u64, (f64, Vec<f64>)>> = vec![BTreeMap::new(); chosen.len()];
    let text = read(path)?;
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        let (Some(Ok(k)), Some(Ok(x)), Some(Ok(y))) = (
            f.next().map(str::parse::<u64>),
            f.next().map(str::parse::<f64>),
            f.next().map(str::parse::<f64>),
        ) else {
            continue;
        };
        if let Some(&c) = owner.get(&k) {
            by[c].entry(x.to_bits()).or_insert((x, vec![])).1.push(y);
        }
    }
    Ok(by
        .into_iter()
        .map(|m| {
            let mut pts: Curve = m
                .into_values()
                .map(|(x, ys)| {
                    (
                        x,
                        quantile(&ys, 0.5),
                        quantile(&ys, 0.25),
                        quantile(&ys, 0.75),
                    )
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts
        })
        .collect())
}

/// Everything drawn, computed once for both files.
struct Summary<'a, S: Study> {
    cfg: &'a StudyConfig<S>,
    lay: Layout,
    settings: Vec<Setting>,
    curves: Vec<(String, Curve)>,
    /// Colour scale: log10 of the lowest and highest median shown.
    lo: f64,
    hi: f64,
}

pub fn write_summary<S: Study>(
    cfg: &StudyConfig<S>,
    dir: &Path,
    fig: &Figure,
) -> Result<Vec<std::path::PathBuf>> {
    let rows = read_results(cfg, &dir.join(S::RESULTS))?;
    let settings = settings(cfg, &rows);
    let lay = layout(cfg);
    let panels: Vec<Option<f64>> = lay
        .panel
        .as_ref()
        .map_or(vec![None], |(_, v)| v.iter().map(|&x| Some(x)).collect());
    let shown: Vec<f64> = panels
        .iter()
        .flat_map(|&p| cells(&lay, &settings, p))
        .filter_map(|c| c.best.map(|s| s.median))
        .filter(|m| *m > 0.0 && m.is_finite())
        .map(f64::log10)
        .collect();
    let (lo, hi) = shown
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo, hi.max(lo + 1e-3))
    } else {
        (-1.0, 0.0)
    };
    let mut ranked: Vec<&Setting> = settings.iter().filter(|s| !s.diverged).collect();
    ranked.sort_by(|a, b| a.median.total_cmp(&b.median));
    ranked.truncate(5);
    let curves = if cfg.study.series().is_some() && dir.join(S::SERIES).exists() {
        let c = read_curves(&dir.join(S::SERIES), &ranked)?;
        ranked
            .iter()
            .zip(c)
            .map(|(s, c)| {
                let v = Ticks::Scientific(2).label(s.median);
                // The quantity's words without their units: "held-out NLL 4.1×10⁻¹".
                let what = cfg.study.quantity(cfg.study.headline());
                let what = what.split(", ").next().unwrap_or_default();
                (format!("{}: {what} {v}", describe(cfg, s)), c)
            })
            // A curve with no finite point has nothing to draw; none is kept for it.
            .filter(|(_, c)| c.iter().any(|p| p.1.is_finite()))
            .collect()
    } else {
        vec![]
    };
    let summary = Summary {
        cfg,
        lay,
        settings,
        curves,
        lo,
        hi,
    };
    write_picture(dir, "summary", &SummaryPicture { summary, panels }, fig)
}

struct SummaryPicture<'a, S: Study> {
    summary: Summary<'a, S>,
    panels: Vec<Option<f64>>,
}

impl<S: Study> Picture for SummaryPicture<'_, S> {
    fn size(&self) -> (u32, u32) {
        self.summary.size(self.panels.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.summary.draw(root, &self.panels)
    }
}

const PANEL: u32 = 440;
const CURVES_H: u32 = 440;
/// The title and subtitle above the heat maps; the colour bar's strip.
const HEAD: u32 = 2 * TITLE + 30;
const BAR_W: u32 = 150;

impl<S: Study> Summary<'_, S> {
    fn size(&self, panels: usize) -> (u32, u32) {
        let cols = panels.clamp(1, 3) as u32;
        let rows = panels.div_ceil(3).max(1) as u32;
        let heat_h = HEAD + rows * PANEL;
        let curves = if self.curves.is_empty() { 0 } else { CURVES_H };
        ((cols * PANEL + BAR_W).max(900), heat_h + curves)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        panels: &[Option<f64>],
    ) -> Result<()> {
        let cfg = self.cfg;
        root.fill(&WHITE).map_err(plot_err)?;
        let (_, h) = root.dim_in_pixel();
        let curves_h = if self.curves.is_empty() { 0 } else { CURVES_H };
        let (top, bottom) = root.split_vertically(h - curves_h);
        let diverged = self.settings.iter().filter(|s| s.diverged).count();
        let name = |a: &Option<(usize, Vec<f64>)>| {
            a.as_ref().map_or("(none)".to_string(), |(i, _)| {
                cfg.grid.axes[*i].name.clone()
            })
        };
        let folded: Vec<String> = cfg
            .grid
            .axes
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                !cfg.study.replicates().contains(&a.name.as_str())
                    && self.lay.panel.as_ref().is_none_or(|p| p.0 != *i)
                    && self.lay.x.as_ref().is_none_or(|p| p.0 != *i)
                    && self.lay.y.as_ref().is_none_or(|p| p.0 != *i)
            })
            .map(|(_, a)| a.name.clone())
            .collect();
        let seeds = self
            .settings
            .iter()
            .map(|s| s.learners.len())
            .max()
            .unwrap_or(1);
        let title = cfg.study.describe();
        let quantity = cfg.study.quantity(cfg.study.headline());
        let colour = format!(
            "colour: {}{}",
            quantity.split(", ").next().unwrap_or_default(),
            if seeds > 1 {
                format!(", median over {seeds} seeds")
            } else {
                ", one seed per setting".into()
            }
        );
        let subtitle = format!(
            "{colour}; cells: {} × {}{}; {} of {} settings diverged (most seeds), crossed out",
            name(&self.lay.x),
            name(&self.lay.y),
            match folded.len() {
                0 => String::new(),
                1 => format!("; {} at its best value", folded[0]),
                _ => format!("; {} at their best values", folded.join(", ")),
            },
            diverged,
            self.settings.len()
        );
        top.draw(&Text::new(title, (12, 8), font(TITLE + 2)))
            .map_err(plot_err)?;
        top.draw(&Text::new(
            subtitle,
            (12, 12 + TITLE as i32 + 6),
            font(LABEL - 1).color(&MUTED),
        ))
        .map_err(plot_err)?;
        let (tw, _) = top.dim_in_pixel();
        let body = top.margin(HEAD, 0, 0, 0);
        let (heats, bar) = body.split_horizontally(tw - BAR_W);
        let cols = panels.len().clamp(1, 3);
        let rows = panels.len().div_ceil(3).max(1);
        let areas = heats.split_evenly((rows, cols));
        for (area, &p) in areas.iter().zip(panels) {
            self.heat(area, p)?;
        }
        colour_bar(
            &bar.margin(10, 70, 0, 20),
            (self.lo, self.hi),
            true,
            &format!(
                "{} (log scale)",
                self.cfg.study.quantity(self.cfg.study.headline())
            ),
            ramp,
        )?;
        if !self.curves.is_empty() {
            self.draw_curves(&bottom)?;
        }
        Ok(())
    }

    fn heat<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: Option<f64>,
    ) -> Result<()> {
        let cfg = self.cfg;
        let lay = &self.lay;
        let nx = lay.x.as_ref().map_or(1, |(_, v)| v.len()) as i32;
        let ny = lay.y.as_ref().map_or(1, |(_, v)| v.len()) as i32;
        let caption = match (&lay.panel, panel) {
            (Some((i, _)), Some(v)) => {
                format!("{} = {}", cfg.grid.axes[*i].name, axis_label(cfg, *i, v))
            }
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, font(TITLE))
            .margin(8)
            .x_label_area_size(LABEL + TICK + 22)
            .y_label_area_size(LABEL + 5 * TICK)
            // (0..n - 1).into_segmented() has n segments, one per value.
            .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())
            .map_err(plot_err)?;
        let tick = |axis: &Option<(usize, Vec<f64>)>, v: &SegmentValue<i32>| match (axis, v) {
            (Some((i, vals)), SegmentValue::CenterOf(k)) => vals
                .get(*k as usize)
                .map_or(String::new(), |&x| axis_label(cfg, *i, x)),
            _ => String::new(),
        };
        // Every label where they fit side by side; else every other one (or third).
        let (w, _) = area.dim_in_pixel();
        let widest = lay.x.as_ref().map_or(0, |(i, vals)| {
            vals.iter()
                .map(|&v| {
                    area.estimate_text_size(&axis_label(cfg, *i, v), &font(TICK))
                        .map_or(60, |s| s.0)
                })
                .max()
                .unwrap_or(0)
        }) as i32
            + 8;
        let room = (w as i32 - (LABEL + 5 * TICK) as i32 - 16) / nx.max(1);
        let every = (1..=8).find(|k| room * k >= widest).unwrap_or(8);
        let xfmt = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(k) if k % every != 0 => String::new(),
            _ => tick(&lay.x, v),
        };
        let yfmt = |v: &SegmentValue<i32>| tick(&lay.y, v);
        let x_name = lay
            .x
            .as_ref()
            .map_or(String::new(), |(i, _)| cfg.grid.axes[*i].name.clone());
        let y_name = lay
            .y
            .as_ref()
            .map_or(String::new(), |(i, _)| cfg.grid.axes[*i].name.clone());
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nx as usize + 1)
            .y_labels(ny as usize + 1)
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .label_style(font(TICK))
            .x_desc(x_name)
            .y_desc(y_name)
            .axis_desc_style(font(LABEL))
            .draw()
            .map_err(plot_err)?;
        let cells = cells(lay, &self.settings, panel);
        let seg = |v: i32| SegmentValue::Exact(v);
        chart
            .draw_series(cells.iter().map(|c| {
                let fill = match c.best {
                    Some(s) if s.median > 0.0 => {
                        ramp((s.median.log10() - self.lo) / (self.hi - self.lo)).filled()
                    }
                    Some(_) => ramp(0.0).filled(),
                    None => RGBColor(200, 200, 200).filled(),
                };
                Rectangle::new(
                    [
                        (seg(c.x as i32), seg(c.y as i32)),
                        (seg(c.x as i32 + 1), seg(c.y as i32 + 1)),
                    ],
                    fill,
                )
            }))
            .map_err(plot_err)?;
        // Diverged cells: crossed out.
        for c in cells.iter().filter(|c| c.diverged) {
            let (x, y) = (c.x as i32, c.y as i32);
            for (a, b) in [((x, y), (x + 1, y + 1)), ((x, y + 1), (x + 1, y))] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(seg(a.0), seg(a.1)), (seg(b.0), seg(b.1))],
                        BLACK.stroke_width(1),
                    )))
                    .map_err(plot_err)?;
            }
        }
        Ok(())
    }

    fn draw_curves<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (x_name, y_name) = self.cfg.study.series().expect("curves need a series");
        let (x_name, y_label) = (
            self.cfg.study.quantity(x_name),
            self.cfg.study.quantity(y_name),
        );
        let xs = self.curves.iter().flat_map(|c| c.1.iter().map(|p| p.0));
        let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let ys: Vec<f64> = self
            .curves
            .iter()
            .flat_map(|c| c.1.iter().flat_map(|p| [p.1, p.2, p.3]))
            .filter(|v| v.is_finite())
            .collect();
        if ys.is_empty() || !x0.is_finite() {
            return Ok(());
        }
        let (y0, y1) = ys
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
                (a.min(y), b.max(y))
            });
        // A band only where seeds spread.
        let spread = self.curves.iter().any(|c| c.1.iter().any(|p| p.3 > p.2));
        let entries: Vec<Entry> = self
            .curves
            .iter()
            .enumerate()
            .map(|(i, (label, _))| {
                let c = COLOURS[i % COLOURS.len()];
                Entry::new(
                    label.clone(),
                    if spread { Mark::Band(c) } else { Mark::Line(c) },
                )
            })
            .collect();
        let area = legend_below(area, &entries)?;
        let mut builder = ChartBuilder::on(&area);
        builder
            .caption(
                if spread {
                    format!(
                        "the best {} settings: median {} over seeds, band: interquartile range",
                        self.curves.len(),
                        y_label.split(", ").next().unwrap_or_default()
                    )
                } else {
                    format!(
                        "the best {} settings: {}",
                        self.curves.len(),
                        y_label.split(", ").next().unwrap_or_default()
                    )
                },
                font(TITLE),
            )
            .margin(12)
            .x_label_area_size(LABEL + TICK + 22)
            .y_label_area_size(LABEL + 5 * TICK);
        let x = x0..x1.max(x0 + 1.0);
        // A log axis for curves that span decades (losses falling); a linear one for
        // narrow curves, where a log axis would have no tick inside its range.
        let xt = Ticks::linear(x.start, x.end, X_TICKS);
        if y0 > 0.0 && y1 / y0 > 10.0 {
            let (a, b) = (y0 / 1.5, y1 * 1.5);
            let chart = builder
                .build_cartesian_2d(x, (a..b).log_scale())
                .map_err(plot_err)?;
            let yt = Ticks::log(a, b, Y_TICKS);
            let n = yt.count(a, b, Y_TICKS);
            self.curves_on(
                chart,
                (&x_name, &format!("{y_label} (log scale)")),
                (xt, yt, n),
                (spread, true),
            )
        } else {
            let pad = (y1 - y0).max(1e-12 * y1.abs()).max(1e-300) * 0.05;
            let chart = builder
                .build_cartesian_2d(x, y0 - pad..y1 + pad)
                .map_err(plot_err)?;
            let yt = Ticks::linear(y0 - pad, y1 + pad, Y_TICKS);
            self.curves_on(
                chart,
                (&x_name, &y_label),
                (xt, yt, Y_TICKS),
                (spread, false),
            )
        }
    }

    fn curves_on<'a, DB: DrawingBackend + 'a, Y>(
        &self,
        mut chart: ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
        (x_name, y_name): (&str, &str),
        (xt, yt, y_count): (Ticks, Ticks, usize),
        (spread, log): (bool, bool),
    ) -> Result<()>
    where
        Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        // Whole-number series (epochs, steps) get no ticks between whole numbers.
        let whole = self
            .curves
            .iter()
            .all(|c| c.1.iter().all(|p| p.0.fract() == 0.0));
        let x_label = |v: &f64| {
            if whole && v.fract() != 0.0 {
                String::new()
            } else {
                xt.label(*v)
            }
        };
        axes(
            &mut chart,
            (x_name, X_TICKS, &x_label),
            (y_name, y_count, &|v| yt.label(*v)),
            Lines::Both,
        )?;
        for (i, (_, c)) in self.curves.iter().enumerate() {
            let color = COLOURS[i % COLOURS.len()];
            let ok = |v: f64| v.is_finite() && (!log || v > 0.0);
            let band: Vec<(f64, f64)> = c
                .iter()
                .filter(|p| ok(p.3))
                .map(|p| (p.0, p.3))
                .chain(c.iter().rev().filter(|p| ok(p.2)).map(|p| (p.0, p.2)))
                .collect();
            if spread && band.len() > 2 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band,
                        color.mix(0.18).filled(),
                    )))
                    .map_err(plot_err)?;
            }
            chart
                .draw_series(LineSeries::new(
                    c.iter().filter(|p| ok(p.1)).map(|p| (p.0, p.1)),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?;
        }
        Ok(())
    }
}

/// The best setting of a finished run: its axes' values and its headline (the median
/// over its seeds).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Best {
    /// Each non-replicate axis and its value (categorical axes by name).
    pub setting: serde_json::Map<String, serde_json::Value>,
    /// The headline column, its median over the setting's seeds, and how many seeds.
    pub quantity: String,
    pub median: f64,
    pub seeds: usize,
    /// All of it in words, as the command line prints it.
    pub text: String,
}

/// The best setting of the finished run in `dir`; None when no setting has a finite
/// value.
pub fn best<S: Study>(cfg: &StudyConfig<S>, dir: &Path) -> Option<Best> {
    let rows = read_results(cfg, &dir.join(S::RESULTS)).ok()?;
    let settings = settings(cfg, &rows);
    let best = settings
        .iter()
        .filter(|s| !s.diverged && s.median.is_finite())
        .min_by(|a, b| a.median.total_cmp(&b.median))?;
    let seeds = best.learners.len();
    let setting = best
        .key
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| {
            let a = &cfg.grid.axes[i];
            let value = if a.categorical {
                serde_json::Value::from(cfg.value_label(&a.name, v))
            } else {
                serde_json::Value::from(v)
            };
            (a.name.clone(), value)
        })
        .collect();
    let quantity = cfg.study.quantity(cfg.study.headline());
    let (words, units) = quantity.split_once(", ").unwrap_or((&quantity, ""));
    let text = format!(
        "{} ({words} {}{}{})",
        describe(cfg, best),
        // Four significant digits, as a terminal prints numbers.
        if (1e-3..1e4).contains(&best.median.abs()) {
            format!("{:.4}", best.median)
        } else {
            format!("{:.3e}", best.median)
        },
        if units.is_empty() {
            String::new()
        } else {
            format!(" {units}")
        },
        if seeds > 1 {
            format!(", median over {seeds} seeds")
        } else {
            String::new()
        }
    );
    Some(Best {
        setting,
        quantity: cfg.study.headline().to_string(),
        median: best.median,
        seeds,
        text,
    })
}

/// Settings summarised over seeds, for callers that want the table (benches, tests).
pub fn setting_summary<S: Study>(cfg: &StudyConfig<S>, dir: &Path) -> Result<Vec<Setting>> {
    Ok(settings(cfg, &read_results(cfg, &dir.join(S::RESULTS))?))
}
