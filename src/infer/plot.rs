//! DIR/fit.svg and .png: what a fit found, in four panels — the fitted rule (Δw_stim
//! against s for w_stim ∈ {−1, 0, 1}, b = 0) after rewarded and after unrewarded
//! trials, beside the true rule when the data was simulated; the log-likelihood over
//! epochs with the truth's as a line; inferred weight trajectories of a few animals
//! against the true ones.

use super::net::K;
use super::rule::{History, Rule};
use super::simulate::{stimuli, RuleAt, HISTORY};
use crate::error::Result;
use crate::plot::{
    data_range as range, draw_legend, panel, plot_err, write_picture, Picture, COLOURS,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

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
    pub truth_ll: Option<f64>,
    pub animals: Vec<Trajectory>,
}

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

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        rewarded: bool,
    ) -> Result<()> {
        let ws = [-1.0, 0.0, 1.0];
        let mut all = vec![];
        for &w in &ws {
            all.extend(self.rule(w, rewarded, false).into_iter().map(|p| p.1));
            if self.band.len() > 1 {
                all.extend(self.band(w, rewarded).into_iter().flat_map(|p| [p.1, p.2]));
            }
            if self.truth.is_some() {
                all.extend(self.rule(w, rewarded, true).into_iter().map(|p| p.1));
            }
        }
        let (y0, y1) = range(all.into_iter());
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
            area,
            &format!("Δw_stim {title}{history}"),
            -2.1f64..2.1,
            y0..y1,
            ("stimulus s", "Δw_stim"),
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
                .map_err(plot_err)?
                .label(format!("fitted, w_stim = {w}"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            if self.truth.is_some() {
                chart
                    .draw_series(DashedLineSeries::new(
                        self.rule(w, rewarded, true),
                        5,
                        4,
                        c.stroke_width(1),
                    ))
                    .map_err(plot_err)?
                    .label(format!("true, w_stim = {w}"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(1))
                    });
            }
        }
        if rewarded {
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft, 10)?;
        }
        Ok(())
    }
}

impl FitPicture<'_> {
    fn draw_epochs<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let (y0, y1) = range(self.epochs.iter().map(|e| e.1).chain(self.truth_ll));
        let x1 = self.epochs.len().max(2) as f64;
        let mut chart = panel(
            area,
            "log-likelihood per trial over epochs",
            1f64..x1,
            y0..y1,
            ("epoch", "train LL (nats)"),
        )?;
        let blue = COLOURS[0];
        chart
            .draw_series(LineSeries::new(
                self.epochs.iter().copied(),
                blue.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label("fit")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], blue.stroke_width(2))
            });
        if let Some(t) = self.truth_ll {
            let grey = RGBColor(90, 90, 90);
            chart
                .draw_series(DashedLineSeries::new(
                    [(1.0, t), (x1, t)],
                    6,
                    4,
                    grey.stroke_width(1),
                ))
                .map_err(plot_err)?
                .label("the true probabilities")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(1))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 10)?;
        Ok(())
    }

    fn draw_weights<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let values = self.animals.iter().flat_map(|a| {
            a.inferred
                .iter()
                .map(|w| w[0])
                .chain(a.truth.iter().flatten().map(|w| w[0]))
        });
        let (y0, y1) = range(values);
        let x1 = self
            .animals
            .iter()
            .map(|a| a.inferred.len())
            .max()
            .unwrap_or(2)
            .max(2) as f64;
        let title = if self.animals.iter().any(|a| a.truth.is_some()) {
            "stimulus weight: inferred (solid), true (dashed)"
        } else {
            "stimulus weight, inferred"
        };
        let mut chart = panel(area, title, 0f64..x1, y0..y1, ("trial", "w_stim"))?;
        for (i, a) in self.animals.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    a.inferred.iter().enumerate().map(|(t, w)| (t as f64, w[0])),
                    c.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(a.animal.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            if let Some(truth) = &a.truth {
                chart
                    .draw_series(DashedLineSeries::new(
                        truth.iter().enumerate().map(|(t, w)| (t as f64, w[0])),
                        5,
                        4,
                        c.stroke_width(1),
                    ))
                    .map_err(plot_err)?;
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, 10)?;
        Ok(())
    }
}

impl Picture for FitPicture<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 820)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let panels = root.split_evenly((2, 2));
        self.rule.draw(&panels[0], true)?;
        self.rule.draw(&panels[1], false)?;
        self.draw_epochs(&panels[2])?;
        self.draw_weights(&panels[3])?;
        Ok(())
    }
}

/// Draws DIR/fit.svg and .png.
pub fn write(dir: &Path, pic: &FitPicture) -> Result<()> {
    write_picture(dir, "fit", pic)
}

/// An rnn's rule after the last trials all rewarded (top) and all unrewarded (bottom),
/// each beside the truth taken after the same history.
pub struct HistoryPicture<'a> {
    pub panels: [RulePanels<'a>; 2],
}

impl Picture for HistoryPicture<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 820)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let areas = root.split_evenly((2, 2));
        for (i, p) in self.panels.iter().enumerate() {
            p.draw(&areas[2 * i], true)?;
            p.draw(&areas[2 * i + 1], false)?;
        }
        Ok(())
    }
}
