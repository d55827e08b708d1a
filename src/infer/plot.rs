//! DIR/fit.svg and .png: what a fit found, in four panels — the fitted rule (Δw_stim
//! against s for w_stim ∈ {−1, 0, 1}, b = 0) after rewarded and after unrewarded
//! trials, beside the true rule when the data was simulated; the log-likelihood over
//! epochs with the truth's as a line; inferred weight trajectories of a few animals
//! against the true ones.

use super::net::K;
use super::rule::{History, Rule};
use super::simulate::{stimuli, RuleAt, HISTORY};
use crate::error::Result;
// The kit's vocabulary: charts, axes, ticks, legends, colours and sizes.
use crate::plot::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Weight trajectories of one animal: inferred, and true when known.
pub struct Trajectory {
    pub animal: String,
    pub inferred: Vec<[f64; K]>,
    pub truth: Option<Vec<[f64; K]>>,
}

/// The fitted rule's panels: Δw_stim against s for w_stim ∈ {−1, 0, 1}, b = 0, after a
/// rewarded and after an unrewarded trial, with the band's spread and the truth.
pub struct RulePanels<'a> {
    pub rule: &'a Rule,
    /// The rules the band spans: the bootstrap refits', else every restart's (no band
    /// with one).
    pub band: Vec<&'a Rule>,
    pub truth: Option<&'a RuleAt>,
    /// For an rnn's rule after a given history: which (said in the titles).
    pub history: Option<History>,
}

pub struct FitPicture<'a> {
    pub rule: RulePanels<'a>,
    /// (epoch, train LL).
    pub epochs: Vec<(f64, f64)>,
    /// The final scores beside the training curve: the fit's held-out LL, the
    /// baseline's training and held-out LL, and the true probabilities' (simulated data).
    pub test_ll: Option<f64>,
    pub baseline: (f64, Option<f64>),
    pub truth: (Option<f64>, Option<f64>),
    pub animals: Vec<Trajectory>,
}

/// The stimulus weights the rule panels draw Δw_stim at.
const WS: [f64; 3] = [-1.0, 0.0, 1.0];

impl RulePanels<'_> {
    /// Δw_stim for w_stim = w, b = 0 after a rewarded (or unrewarded) trial at each s.
    fn rule(&self, w: f64, rewarded: bool, truth: bool) -> Vec<(f64, f64)> {
        stimuli()
            .iter()
            .map(|&s| {
                let z = u8::from(s > 0.0);
                let y = if rewarded { z } else { 1 - z };
                let d = match (truth, self.truth) {
                    (true, Some(t)) => t.delta([w, 0.0], s, y, z)[0],
                    _ => self.rule.delta([w, 0.0], s, y)[0],
                };
                (s, d)
            })
            .collect()
    }

    /// (s, lowest, highest) Δw_stim over the band's rules, as [`Self::rule`] draws.
    fn band(&self, w: f64, rewarded: bool) -> Vec<(f64, f64, f64)> {
        stimuli()
            .iter()
            .map(|&s| {
                let z = u8::from(s > 0.0);
                let y = if rewarded { z } else { 1 - z };
                let d = self.band.iter().map(|r| r.delta([w, 0.0], s, y)[0]);
                let (lo, hi) = d.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
                (s, lo, hi)
            })
            .collect()
    }

    /// Every value the two panels draw, for a y scale they share.
    fn values(&self) -> Vec<f64> {
        let mut all = vec![];
        for rewarded in [true, false] {
            for &w in &WS {
                all.extend(self.rule(w, rewarded, false).into_iter().map(|p| p.1));
                if self.band.len() > 1 {
                    all.extend(self.band(w, rewarded).into_iter().flat_map(|p| [p.1, p.2]));
                }
                if self.truth.is_some() {
                    all.extend(self.rule(w, rewarded, true).into_iter().map(|p| p.1));
                }
            }
        }
        all
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        rewarded: bool,
        (y0, y1): (f64, f64),
    ) -> Result<()> {
        let ws = WS;
        let mut entries = vec![];
        for (i, &w) in ws.iter().enumerate() {
            let c = COLOURS[i];
            let mark = if self.band.len() > 1 {
                Mark::Band(c)
            } else {
                Mark::Line(c)
            };
            entries.push(Entry::new(
                format!("fitted, {} = {}", sub("w_stim"), Ticks::Fixed(0).label(w)),
                mark,
            ));
            if self.truth.is_some() {
                entries.push(Entry::new("true", Mark::Dashed(c)));
            }
        }
        let area = legend_below(area, &entries)?;
        let title = if rewarded {
            "after rewarded trials"
        } else {
            "after unrewarded trials"
        };
        let history = match self.history {
            Some(History::Rewarded) => format!(", the {HISTORY} before all rewarded"),
            Some(History::Unrewarded) => format!(", the {HISTORY} before all unrewarded"),
            _ => String::new(),
        };
        let mut chart = panel(
            &area,
            &format!("{} {title}{history}", sub("Δw_stim")),
            -2.1f64..2.1,
            y0..y1,
            ("stimulus s", &format!("weight change {}", sub("Δw_stim"))),
        )?;
        for (i, &w) in ws.iter().enumerate() {
            let c = COLOURS[i];
            if self.band.len() > 1 {
                let band = self.band(w, rewarded);
                let outline: Vec<(f64, f64)> = band
                    .iter()
                    .map(|p| (p.0, p.1))
                    .chain(band.iter().rev().map(|p| (p.0, p.2)))
                    .collect();
                chart
                    .draw_series([Polygon::new(outline, c.mix(0.18).filled())])
                    .map_err(plot_err)?;
            }
            chart
                .draw_series(LineSeries::new(
                    self.rule(w, rewarded, false),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?;
            if self.truth.is_some() {
                chart
                    .draw_series(dashed(self.rule(w, rewarded, true), c.stroke_width(2)))
                    .map_err(plot_err)?;
            }
        }
        Ok(())
    }
}

impl FitPicture<'_> {
    /// The training curve, and the final scores as levels beside it: held-out LL is
    /// measured once, after the last epoch.
    fn draw_epochs<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let x1 = self.epochs.len().max(2) as f64;
        let blue = COLOURS[0];
        let mut levels: Vec<(String, RGBColor, f64, bool)> = vec![];
        if let Some(v) = self.test_ll {
            levels.push((
                "fit, held-out (after the last epoch)".into(),
                COLOURS[1],
                v,
                false,
            ));
        }
        levels.push((
            "baseline (reinforce_base), training".into(),
            COLOURS[2],
            self.baseline.0,
            true,
        ));
        if let Some(v) = self.baseline.1 {
            levels.push(("baseline, held-out".into(), COLOURS[2], v, false));
        }
        if let Some(v) = self.truth.0 {
            levels.push(("true probabilities, training".into(), MUTED, v, true));
        }
        if let Some(v) = self.truth.1 {
            levels.push(("true probabilities, held-out".into(), MUTED, v, false));
        }
        let levels: Vec<_> = levels.into_iter().filter(|l| l.2.is_finite()).collect();
        let mut entries = vec![Entry::new("fit, training (per epoch)", Mark::Line(blue))];
        entries.extend(levels.iter().map(|(n, c, _, solid)| {
            Entry::new(
                n.clone(),
                if *solid {
                    Mark::Line(*c)
                } else {
                    Mark::Dashed(*c)
                },
            )
        }));
        let area = legend_below(area, &entries)?;
        let (y0, y1) = data_range(
            self.epochs
                .iter()
                .map(|e| e.1)
                .chain(levels.iter().map(|l| l.2)),
        );
        let mut chart = panel(
            &area,
            "log-likelihood per trial",
            1f64..x1,
            y0..y1,
            ("epoch", "mean log-likelihood (nats per trial)"),
        )?;
        chart
            .draw_series(LineSeries::new(
                self.epochs.iter().copied(),
                blue.stroke_width(2),
            ))
            .map_err(plot_err)?;
        for (_, c, v, solid) in &levels {
            let pts = vec![(1.0, *v), (x1, *v)];
            if *solid {
                chart.draw_series(LineSeries::new(pts, c.mix(0.8).stroke_width(1)))
            } else {
                chart.draw_series(dashed(pts, c.stroke_width(2)))
            }
            .map_err(plot_err)?;
        }
        Ok(())
    }

    fn draw_weights<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let values = self.animals.iter().flat_map(|a| {
            a.inferred
                .iter()
                .map(|w| w[0])
                .chain(a.truth.iter().flatten().map(|w| w[0]))
        });
        let (y0, y1) = data_range(values);
        let x1 = self
            .animals
            .iter()
            .map(|a| a.inferred.len())
            .max()
            .unwrap_or(2)
            .max(2) as f64;
        let known = self.animals.iter().any(|a| a.truth.is_some());
        let mut entries = vec![];
        for (i, a) in self.animals.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            entries.push(Entry::new(format!("{}, inferred", a.animal), Mark::Line(c)));
            if a.truth.is_some() {
                entries.push(Entry::new("true", Mark::Dashed(c)));
            }
        }
        let area = legend_below(area, &entries)?;
        let title = if known {
            "stimulus weight of the first animals, inferred and true"
        } else {
            "stimulus weight of the first animals, inferred"
        };
        let mut chart = panel(&area, title, 0f64..x1, y0..y1, ("trial", &sub("w_stim")))?;
        for (i, a) in self.animals.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    a.inferred.iter().enumerate().map(|(t, w)| (t as f64, w[0])),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?;
            if let Some(truth) = &a.truth {
                let pts: Vec<(f64, f64)> = truth
                    .iter()
                    .enumerate()
                    .map(|(t, w)| (t as f64, w[0]))
                    .collect();
                chart
                    .draw_series(dashed(pts, c.stroke_width(2)))
                    .map_err(plot_err)?;
            }
        }
        Ok(())
    }
}

impl Picture for FitPicture<'_> {
    fn size(&self) -> (u32, u32) {
        (1300, 1100)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let panels = root.split_evenly((2, 2));
        // The two rule panels share a y scale, so that the rules after reward and
        // after no reward compare by eye.
        let y = data_range(self.rule.values().into_iter());
        self.rule.draw(&panels[0], true, y)?;
        self.rule.draw(&panels[1], false, y)?;
        self.draw_epochs(&panels[2])?;
        self.draw_weights(&panels[3])?;
        Ok(())
    }
}

/// Draws DIR/fit.svg and .png.
pub fn write(dir: &Path, pic: &FitPicture, fig: &Figure) -> Result<Vec<PathBuf>> {
    write_picture(dir, "fit", pic, fig)
}

/// An rnn's rule after the last trials all rewarded (top) and all unrewarded (bottom),
/// each beside the truth taken after the same history.
pub struct HistoryPicture<'a> {
    pub panels: [RulePanels<'a>; 2],
}

impl Picture for HistoryPicture<'_> {
    fn size(&self) -> (u32, u32) {
        (1300, 1100)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let areas = root.split_evenly((2, 2));
        // One y scale for all four panels: the picture exists to compare them.
        let y = data_range(self.panels.iter().flat_map(|p| p.values()));
        for (i, p) in self.panels.iter().enumerate() {
            p.draw(&areas[2 * i], true, y)?;
            p.draw(&areas[2 * i + 1], false, y)?;
        }
        Ok(())
    }
}
