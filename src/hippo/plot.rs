//! DIR/summary.svg and .png of a hippocampal run, drawn from DIR/losses.csv: the losses
//! over training; for B and C the path-integration error after the lesion and the
//! ring-attractor profiles (recurrent, conjunctive ±); for A the generated MEC
//! activity's autocorrelation against the latents'. With one setting (seeds only) each
//! panel draws the mean over models and the band from the lowest to the highest; with
//! several (grid axes other than the seed) one mean curve per setting, so that settings
//! are never pooled.

use super::config::{HippoParams, HippoStudy};
use super::protocol::Experiment;
use crate::error::{Error, Result};
// The kit's vocabulary: charts, axes, ticks, legends, colours and sizes.
use crate::plot::*;
use crate::sweep::{ParamSet, Parse, StudyConfig};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per stage, per setting, per column, per t: the values over the setting's models.
type Stages = BTreeMap<String, BTreeMap<usize, [BTreeMap<i64, Vec<f64>>; 3]>>;

/// The most settings a picture draws, one curve each.
const MAX_SETTINGS: usize = 8;
const PALETTE: [RGBColor; MAX_SETTINGS] = [
    COLOURS[0],
    COLOURS[1],
    COLOURS[2],
    COLOURS[3],
    COLOURS[4],
    COLOURS[5],
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Mean, lowest and highest over models at each t.
struct Band {
    t: Vec<f64>,
    mean: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

/// t as a map key: microseconds (the series' t are multiples of dt).
fn key(t: f64) -> i64 {
    (t * 1e6).round() as i64
}

fn band(by_t: &BTreeMap<i64, Vec<f64>>, scale: f64) -> Band {
    let mut b = Band {
        t: vec![],
        mean: vec![],
        lo: vec![],
        hi: vec![],
    };
    for (&t, v) in by_t {
        b.t.push(t as f64 * 1e-6 * scale);
        b.mean.push(v.iter().sum::<f64>() / v.len() as f64);
        b.lo.push(v.iter().copied().fold(f64::INFINITY, f64::min));
        b.hi.push(v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    }
    b
}

/// Reads losses.csv: learner,stage,t,loss_hpc,loss_mec,value; `setting` maps a
/// learner to its setting's index.
fn read(path: &Path, setting: &dyn Fn(u64) -> usize) -> Result<Stages> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let mut stages = Stages::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || {
            Error::invalid(
                format!("{}:{}", path.display(), i + 1),
                "is not learner,stage,t,loss_hpc,loss_mec,value",
            )
        };
        if f.len() != 6 {
            return Err(bad());
        }
        let learner: u64 = f[0].parse().map_err(|_| bad())?;
        let t: f64 = f[2].parse().map_err(|_| bad())?;
        let entry = stages
            .entry(f[1].to_string())
            .or_default()
            .entry(setting(learner))
            .or_default();
        for c in 0..3 {
            if !f[3 + c].is_empty() {
                let v: f64 = f[3 + c].parse().map_err(|_| bad())?;
                entry[c].entry(key(t)).or_default().push(v);
            }
        }
    }
    Ok(stages)
}

struct Summary {
    experiment: Experiment,
    stages: Stages,
    /// Each setting's label (one, empty, when only seeds vary).
    settings: Vec<String>,
    /// Experiment C: per setting, each model's error 1 s after the lesion before the
    /// shuffle, right after it and after retraining.
    transfer: BTreeMap<usize, [Vec<f64>; 3]>,
}

impl Summary {
    /// The column's band for every setting that has it: (setting, band).
    fn column(&self, stage: &str, c: usize, scale: f64) -> Vec<(usize, Band)> {
        self.stages
            .get(stage)
            .map(|by| {
                by.iter()
                    .map(|(&k, s)| (k, band(&s[c], scale)))
                    .filter(|(_, b)| !b.t.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One line per setting: named `what` alone with one setting, else after the
    /// setting; coloured `one` alone, else from the palette.
    fn lines(&self, bands: Vec<(usize, Band)>, what: &str, one: RGBColor) -> Vec<Line> {
        let single = self.settings.len() <= 1;
        bands
            .into_iter()
            .map(|(k, b)| Line {
                name: if single {
                    what.to_string()
                } else {
                    format!("{}: {what}", self.settings[k])
                },
                colour: if single {
                    one
                } else {
                    PALETTE[k % MAX_SETTINGS]
                },
                band: single,
                dashed: false,
                b,
            })
            .collect()
    }

    fn draw_bands<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        axes: (&str, &str),
        lines: &[Line],
        reference: Option<(&str, Vec<(f64, f64)>)>,
    ) -> Result<()> {
        let xs = lines.iter().flat_map(|l| l.b.t.iter().copied());
        let (x0, x1) = data_range(xs);
        let ys = lines
            .iter()
            .flat_map(|l| {
                let (lo, hi) = if l.band {
                    (&l.b.lo, &l.b.hi)
                } else {
                    (&l.b.mean, &l.b.mean)
                };
                lo.iter().chain(hi).copied()
            })
            .chain(reference.iter().flat_map(|r| r.1.iter().map(|p| p.1)));
        let (y0, y1) = data_range(ys);
        let mut entries: Vec<Entry> = lines
            .iter()
            .map(|l| {
                let mark = if l.dashed {
                    Mark::Dashed(l.colour)
                } else if l.band {
                    Mark::Band(l.colour)
                } else {
                    Mark::Line(l.colour)
                };
                Entry::new(l.name.clone(), mark)
            })
            .collect();
        if let Some((name, _)) = &reference {
            entries.push(Entry::new(*name, Mark::Dashed(MUTED)));
        }
        let area = legend_below(area, &entries)?;
        let mut chart = panel(&area, title, x0..x1, y0..y1, axes)?;
        for l in lines {
            let (b, c) = (&l.b, l.colour);
            if l.band {
                let mut poly: Vec<(f64, f64)> =
                    b.t.iter().copied().zip(b.hi.iter().copied()).collect();
                poly.extend(b.t.iter().copied().zip(b.lo.iter().copied()).rev());
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18).filled())))
                    .map_err(plot_err)?;
            }
            let points: Vec<(f64, f64)> = b.t.iter().copied().zip(b.mean.iter().copied()).collect();
            let style = c.stroke_width(2);
            if l.dashed {
                chart.draw_series(dashed(points, style))
            } else {
                chart.draw_series(LineSeries::new(points, style))
            }
            .map_err(plot_err)?;
        }
        if let Some((_, pts)) = reference {
            chart
                .draw_series(dashed(pts, MUTED.stroke_width(2)))
                .map_err(plot_err)?;
        }
        Ok(())
    }

    fn draw_losses<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let mut lines = vec![];
        for (stage, what) in [("train", "training"), ("retrain", "retraining")] {
            for (c, layer) in [(0, "HPC"), (1, "MEC")] {
                let one = if stage == "retrain" {
                    [RGBColor(214, 39, 40), RGBColor(148, 103, 189)][c]
                } else {
                    COLOURS[c]
                };
                let bands = self.column(stage, c, 1.0 / 60.0);
                let mut ls = self.lines(bands, &format!("{layer}, {what}"), one);
                // With several settings HPC is solid and MEC dashed, in each setting's
                // colour.
                if self.settings.len() > 1 && c == 1 {
                    ls.iter_mut().for_each(|l| l.dashed = true);
                }
                lines.extend(ls);
            }
        }
        self.draw_bands(
            area,
            "the monitor: EMA (60 s) of mean |basal − apical| activity",
            ("simulated minutes", "loss"),
            &lines,
            None,
        )
    }

    fn draw_lesion<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let bands = self.column("lesion", 2, 1.0);
        if bands.is_empty() {
            return Ok(());
        }
        let end = bands[0].1.t.last().copied().unwrap_or(1.0);
        let what = if self.settings.len() <= 1 {
            "mean over models (band: lowest to highest)"
        } else {
            "mean over seeds"
        };
        self.draw_bands(
            area,
            "path integration after the lesion (θ ≡ 1)",
            ("seconds after the lesion", "decoding error (cm)"),
            &self.lines(bands, what, COLOURS[0]),
            Some((
                "chance (uniform guess): 25 cm",
                vec![(0.0, 25.0), (end, 25.0)],
            )),
        )
    }

    fn draw_profile<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        stages: &[(&str, &str)],
        title: &str,
    ) -> Result<()> {
        let mut lines = vec![];
        for (i, (stage, name)) in stages.iter().enumerate() {
            let mut ls = self.lines(self.column(stage, 2, 1.0), name, COLOURS[i]);
            // With several settings c⁻ is dashed in each setting's colour.
            if self.settings.len() > 1 && i == 1 {
                ls.iter_mut().for_each(|l| l.dashed = true);
            }
            lines.extend(ls);
        }
        if lines.is_empty() {
            return Ok(());
        }
        self.draw_bands(
            area,
            title,
            (
                "offset from the unit (MEC units ordered by basal peak)",
                "mean weight",
            ),
            &lines,
            None,
        )
    }

    /// Experiment C's result: each model's error 1 s after the lesion before the
    /// shuffle, right after it, and after retraining, a dot per model and a bar at
    /// the mean, one colour per setting; chance dashed.
    fn draw_transfer<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        const WHEN: [&str; 3] = ["before", "shuffled", "retrained"];
        let single = self.settings.len() <= 1;
        let mut entries: Vec<Entry> = self
            .transfer
            .keys()
            .map(|&k| {
                let name = if single {
                    "a model (bar: mean)".to_string()
                } else {
                    format!("{} (bar: mean)", self.settings[k])
                };
                Entry::new(name, Mark::Dot(PALETTE[k % MAX_SETTINGS]))
            })
            .collect();
        entries.push(Entry::new(
            "chance (uniform guess): 25 cm",
            Mark::Dashed(MUTED),
        ));
        let area = legend_below(area, &entries)?;
        let ys = self
            .transfer
            .values()
            .flat_map(|v| v.iter().flatten().copied())
            .chain([0.0, 25.0]);
        let (y0, y1) = data_range(ys);
        let yt = Ticks::linear(y0, y1, Y_TICKS);
        let mut chart = chart(
            &area,
            "transfer: error 1 s after the lesion",
            -0.5..2.5,
            y0..y1,
        )?;
        axes(
            &mut chart,
            ("place cells, relative to the shuffle", 3, &|v| {
                category(*v, &WHEN)
            }),
            ("decoding error (cm)", Y_TICKS, &|v| yt.label(*v)),
            Lines::Horizontal,
        )?;
        chart
            .draw_series(dashed(
                vec![(-0.5, 25.0), (2.5, 25.0)],
                MUTED.stroke_width(2),
            ))
            .map_err(plot_err)?;
        let n = self.transfer.len().max(1) as f64;
        for (j, (&k, stages)) in self.transfer.iter().enumerate() {
            let c = PALETTE[k % MAX_SETTINGS];
            // Settings side by side within a stage; models spread across a setting's slot.
            let centre = |i: usize| i as f64 + (j as f64 + 0.5) / n * 0.6 - 0.3;
            for (i, v) in stages.iter().enumerate() {
                let m = v.len().max(1) as f64;
                chart
                    .draw_series(v.iter().enumerate().map(|(q, &y)| {
                        let dx = (q as f64 + 0.5) / m - 0.5;
                        Circle::new((centre(i) + 0.4 / n * dx, y), 4, c.mix(0.7).filled())
                    }))
                    .map_err(plot_err)?;
                if !v.is_empty() {
                    let mean = v.iter().sum::<f64>() / v.len() as f64;
                    let half = 0.25 / n;
                    chart
                        .draw_series(LineSeries::new(
                            [(centre(i) - half, mean), (centre(i) + half, mean)],
                            c.stroke_width(3),
                        ))
                        .map_err(plot_err)?;
                }
            }
            let means: Vec<(f64, f64)> = stages
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .map(|(i, v)| (centre(i), v.iter().sum::<f64>() / v.len() as f64))
                .collect();
            chart
                .draw_series(LineSeries::new(means, c.mix(0.5).stroke_width(1)))
                .map_err(plot_err)?;
        }
        Ok(())
    }

    fn draw_autocorr<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let bands = self.column("autocorr", 2, 1.0);
        if bands.is_empty() {
            return Ok(());
        }
        let truth: Vec<(f64, f64)> = bands[0]
            .1
            .t
            .iter()
            .map(|&t| (t, (-0.5 * t * t).exp()))
            .collect();
        self.draw_bands(
            area,
            "autocorrelation: generated MEC activity (θ ≡ 1) vs the latents",
            ("lag (s)", "autocorrelation"),
            &self.lines(bands, "generated, mean over models", COLOURS[0]),
            Some(("latents: RBF kernel, 1 s", truth)),
        )
    }
}

impl Picture for Summary {
    fn size(&self) -> (u32, u32) {
        match self.experiment {
            Experiment::Latents => (1200, 560),
            Experiment::Pathint => (1200, 1060),
            Experiment::Transfer => (1500, 1060),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        match self.experiment {
            Experiment::Latents => {
                let p = root.split_evenly((1, 2));
                self.draw_losses(&p[0])?;
                self.draw_autocorr(&p[1])?;
            }
            _ => {
                // Two rows without holes: training and path integration (and, for
                // C, the transfer) above, the ring attractor's two profiles below.
                let (_, h) = root.dim_in_pixel();
                let (top, bottom) = root.split_vertically(h / 2);
                let above = if self.experiment == Experiment::Transfer {
                    top.split_evenly((1, 3))
                } else {
                    top.split_evenly((1, 2))
                };
                let below = bottom.split_evenly((1, 2));
                self.draw_losses(&above[0])?;
                self.draw_lesion(&above[1])?;
                if let Some(area) = above.get(2) {
                    self.draw_transfer(area)?;
                }
                let p = [&below[0], &below[1]];
                self.draw_profile(
                    p[0],
                    &[("profile_recurrent", "recurrent g → g")],
                    "ring attractor: recurrent weights by offset",
                )?;
                self.draw_profile(
                    p[1],
                    &[
                        ("profile_conj_plus", "from c⁺ (rightward)"),
                        ("profile_conj_minus", "from c⁻ (leftward)"),
                    ],
                    "ring attractor: conjunctive weights by offset",
                )?;
            }
        }
        Ok(())
    }
}

/// One curve of a panel.
struct Line {
    name: String,
    colour: RGBColor,
    /// Shade the band from the lowest to the highest model.
    band: bool,
    dashed: bool,
    b: Band,
}

/// Draws DIR/summary.svg and .png from DIR/losses.csv. A run of more settings (grid
/// points apart from seeds) than a picture tells apart gets no picture, and a line
/// saying so.
pub fn write(dir: &Path, cfg: &StudyConfig<HippoStudy>, fig: &Figure) -> Result<Vec<PathBuf>> {
    let replicates = cfg.study.replicates();
    let axes: Vec<&str> = cfg
        .grid
        .axes
        .iter()
        .map(|a| a.name.as_str())
        .filter(|a| !replicates.contains(a))
        .collect();
    let mut labels: Vec<String> = vec![];
    let mut of_learner: BTreeMap<u64, usize> = BTreeMap::new();
    for k in 0..cfg.grid_size() {
        let p: HippoParams = cfg.learner(k);
        let label = axes
            .iter()
            .map(|a| format!("{a} = {}", cfg.value_label(a, p.get(a).unwrap_or(f64::NAN))))
            .collect::<Vec<_>>()
            .join(", ");
        let i = match labels.iter().position(|l| *l == label) {
            Some(i) => i,
            None => {
                labels.push(label);
                labels.len() - 1
            }
        };
        of_learner.insert(k, i);
    }
    if labels.len() > MAX_SETTINGS {
        return Err(Error::invalid(
            "summary",
            format!(
                "{} settings are more than a picture tells apart ({MAX_SETTINGS}); compare \
                 them in results.csv (the run itself is complete)",
                labels.len()
            ),
        ));
    }
    let setting = |k: u64| of_learner.get(&k).copied().unwrap_or(0);
    let stages = read(&dir.join("losses.csv"), &setting)?;
    let transfer = if cfg.study.experiment == Experiment::Transfer {
        read_transfer(&dir.join("results.csv"), &setting)?
    } else {
        BTreeMap::new()
    };
    write_picture(
        dir,
        "summary",
        &Summary {
            experiment: cfg.study.experiment,
            stages,
            settings: labels,
            transfer,
        },
        fig,
    )
}

/// Experiment C's three errors per model from results.csv, by setting.
fn read_transfer(
    path: &Path,
    setting: &dyn Fn(u64) -> usize,
) -> Result<BTreeMap<usize, [Vec<f64>; 3]>> {
    let text = std::fs::read_to_string(path).map_err(crate::files::io_error(path))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            Error::invalid(path.display().to_string(), format!("has no column {name}"))
        })
    };
    let cols = [
        col("pi_1s_before_cm")?,
        col("pi_1s_shuffled_cm")?,
        col("pi_1s_retrained_cm")?,
    ];
    let mut out: BTreeMap<usize, [Vec<f64>; 3]> = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let Some(Ok(k)) = f.first().map(|s| s.parse::<u64>()) else {
            continue;
        };
        let entry = out.entry(setting(k)).or_default();
        for (i, &c) in cols.iter().enumerate() {
            if let Some(Ok(v)) = f.get(c).map(|s| s.parse::<f64>()) {
                if v.is_finite() {
                    entry[i].push(v);
                }
            }
        }
    }
    Ok(out)
}
