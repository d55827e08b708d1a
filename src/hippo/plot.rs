//! DIR/summary.svg and .png of a hippocampal run, drawn from DIR/losses.csv: the losses
//! over training (mean over models, band from the lowest to the highest); for B and C
//! the path-integration error after the lesion and the ring-attractor profiles
//! (recurrent, conjunctive ±); for A the generated MEC activity's autocorrelation
//! against the latents'.

use super::protocol::Experiment;
use crate::error::{Error, Result};
use crate::sweep::plot::{
    data_range, draw_legend, panel, plot_err, write_picture, Picture, COLOURS,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Per stage and column, per t: the values over models.
type Stages = BTreeMap<String, [BTreeMap<i64, Vec<f64>>; 3]>;

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

/// Reads losses.csv: learner,stage,t,loss_hpc,loss_mec,value.
fn read(path: &Path) -> Result<Stages> {
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
        let t: f64 = f[2].parse().map_err(|_| bad())?;
        let entry = stages.entry(f[1].to_string()).or_default();
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
}

impl Summary {
    fn column(&self, stage: &str, c: usize, scale: f64) -> Option<Band> {
        self.stages
            .get(stage)
            .map(|s| band(&s[c], scale))
            .filter(|b| !b.t.is_empty())
    }

    fn draw_bands<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        axes: (&str, &str),
        lines: &[(String, Band, RGBColor)],
        reference: Option<(&str, Vec<(f64, f64)>)>,
    ) -> Result<()> {
        let xs = lines.iter().flat_map(|l| l.1.t.iter().copied());
        let (x0, x1) = data_range(xs);
        let ys = lines
            .iter()
            .flat_map(|l| l.1.lo.iter().chain(&l.1.hi).copied())
            .chain(reference.iter().flat_map(|r| r.1.iter().map(|p| p.1)));
        let (y0, y1) = data_range(ys);
        let mut chart = panel(area, title, x0..x1, y0..y1, axes)?;
        for (name, b, c) in lines {
            let c = *c;
            let mut poly: Vec<(f64, f64)> = b.t.iter().copied().zip(b.hi.iter().copied()).collect();
            poly.extend(b.t.iter().copied().zip(b.lo.iter().copied()).rev());
            chart
                .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18).filled())))
                .map_err(plot_err)?;
            chart
                .draw_series(LineSeries::new(
                    b.t.iter().copied().zip(b.mean.iter().copied()),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        if let Some((name, pts)) = reference {
            let grey = RGBColor(90, 90, 90);
            chart
                .draw_series(DashedLineSeries::new(pts, 6, 4, grey.stroke_width(1)))
                .map_err(plot_err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, 10)?;
        Ok(())
    }

    fn draw_losses<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let mut lines = vec![];
        for (stage, what) in [("train", "training"), ("retrain", "retraining")] {
            for (c, layer) in [(0, "HPC"), (1, "MEC")] {
                if let Some(b) = self.column(stage, c, 1.0 / 60.0) {
                    let colour = if stage == "retrain" {
                        [RGBColor(214, 39, 40), RGBColor(148, 103, 189)][c]
                    } else {
                        COLOURS[c]
                    };
                    lines.push((format!("{layer}, {what}"), b, colour));
                }
            }
        }
        self.draw_bands(
            area,
            "the monitor: EMA (60 s) of mean |a_B − a_A|",
            ("simulated minutes", "loss"),
            &lines,
            None,
        )
    }

    fn draw_lesion<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let Some(b) = self.column("lesion", 2, 1.0) else {
            return Ok(());
        };
        let end = b.t.last().copied().unwrap_or(1.0);
        self.draw_bands(
            area,
            "path integration: decoding error after the lesion (θ ≡ 1)",
            ("seconds after the lesion", "error (cm)"),
            &[(
                "mean over models (band: lowest to highest)".into(),
                b,
                COLOURS[0],
            )],
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
        let lines: Vec<(String, Band, RGBColor)> = stages
            .iter()
            .enumerate()
            .filter_map(|(i, (stage, name))| {
                self.column(stage, 2, 1.0)
                    .map(|b| (name.to_string(), b, COLOURS[i]))
            })
            .collect();
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

    fn draw_autocorr<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let Some(b) = self.column("autocorr", 2, 1.0) else {
            return Ok(());
        };
        let truth: Vec<(f64, f64)> = b.t.iter().map(|&t| (t, (-0.5 * t * t).exp())).collect();
        self.draw_bands(
            area,
            "autocorrelation: generated MEC activity (θ ≡ 1) vs the latents",
            ("lag (s)", "autocorrelation"),
            &[("generated, mean over models".into(), b, COLOURS[0])],
            Some(("latents: RBF kernel, 1 s", truth)),
        )
    }
}

impl Picture for Summary {
    fn size(&self) -> (u32, u32) {
        match self.experiment {
            Experiment::Latents => (1100, 420),
            _ => (1100, 820),
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
                let p = root.split_evenly((2, 2));
                self.draw_losses(&p[0])?;
                self.draw_lesion(&p[1])?;
                self.draw_profile(
                    &p[2],
                    &[("profile_recurrent", "recurrent g → g")],
                    "ring attractor: recurrent weights by offset",
                )?;
                self.draw_profile(
                    &p[3],
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

/// Draws DIR/summary.svg and .png from DIR/losses.csv.
pub fn write(dir: &Path, experiment: Experiment) -> Result<()> {
    let stages = read(&dir.join("losses.csv"))?;
    write_picture(dir, "summary", &Summary { experiment, stages })
}
