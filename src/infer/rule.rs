//! The fitted rule read back: Δw over a grid of trials (for the dnn at a weight, for the
//! rnn after a history, averaged over the GRU states the fit reaches), beside the
//! truth's, and how well it recovers the truth.

use super::data::{Dataset, Trial};
use super::net::{Net, K};
use super::simulate::{mean_recent, stimuli, RuleAt, HISTORY};
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;

/// One row of rule_grid.csv: Δw_stim fitted (and true) at a grid point.
#[derive(Clone, Debug, Serialize)]
pub struct GridPoint {
    pub s: f64,
    pub y: u8,
    pub w_stim: f64,
    pub b: f64,
    pub fitted: f64,
    /// The lowest and highest Δw_stim of every restart's rule here (the fitted one's
    /// alone with one restart): how far fits from other initialisations disagree.
    pub lower: f64,
    pub upper: f64,
    /// The lowest and highest of the bootstrap refits' rules (refits on animals drawn
    /// with replacement), when there are any.
    pub boot: Option<(f64, f64)>,
    pub truth: Option<f64>,
}

/// Which histories an rnn's rule is taken after: any the data met, or only after the
/// last [`HISTORY`] trials all rewarded (all unrewarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    Any,
    Rewarded,
    Unrewarded,
}

impl History {
    /// Whether trial t of these rewards comes after such a history.
    fn holds(self, rewards: &[u8], t: usize) -> bool {
        let last = || &rewards[t - HISTORY..t];
        match self {
            History::Any => true,
            History::Rewarded => t >= HISTORY && last().iter().all(|&r| r == 1),
            History::Unrewarded => t >= HISTORY && last().iter().all(|&r| r == 0),
        }
    }

    /// The fraction of recent trials rewarded a history-dependent truth reads after
    /// this history (for `Any`, the data's mean).
    pub fn recent(self, data: &Dataset) -> f64 {
        match self {
            History::Any => mean_recent(data),
            History::Rewarded => 1.0,
            History::Unrewarded => 0.0,
        }
    }
}

/// GRU states an rnn's rule is averaged over.
const STATES: usize = 8;
/// Animals whose states are pooled to draw them from.
const STATE_ANIMALS: usize = 24;

/// A fitted rule as a function of the trial just seen: the dnn's c ⊙ f_φ(w, trial);
/// the rnn's c ⊙ MLP(GRU(h, w, trial)) averaged over [`STATES`] GRU states h the model
/// reached in the data (before trials with the given history), spread evenly over
/// those of up to [`STATE_ANIMALS`] animals run from their w_0.
pub struct Rule {
    net: Net,
    phi: Vec<f64>,
    /// The rnn's rule from its states (none for the dnn).
    rnn: Option<super::rnn::FromStates>,
}

impl Rule {
    pub fn new(
        net: &Net,
        phi: &[f64],
        data: &Dataset,
        w0: &[[f64; K]],
        history: History,
    ) -> Result<Rule> {
        let mut rnn = None;
        if net.gru > 0 {
            let n = data.animals.len();
            let step = n.div_ceil(STATE_ANIMALS).max(1);
            let pooled: Vec<Vec<Vec<f64>>> = (0..n)
                .step_by(step)
                .collect::<Vec<_>>()
                .par_iter()
                .map(|&i| {
                    let a = &data.animals[i];
                    let rewards: Vec<u8> = a.trials.iter().map(|t| t.reward).collect();
                    super::model::states(net, phi, &a.trials, w0[i])
                        .into_iter()
                        .enumerate()
                        .filter(|(t, _)| history.holds(&rewards, *t))
                        .map(|(_, h)| h)
                        .collect()
                })
                .collect();
            let pooled: Vec<Vec<f64>> = pooled.into_iter().flatten().collect();
            if pooled.is_empty() {
                return Err(Error::invalid(
                    "data",
                    format!("no trial follows {history:?} history of {HISTORY} trials"),
                ));
            }
            let take = STATES.min(pooled.len());
            let states: Vec<Vec<f64>> = (0..take)
                .map(|i| pooled[i * pooled.len() / take].clone())
                .collect();
            rnn = Some(super::rnn::FromStates::new(net, phi, &states));
        }
        Ok(Rule {
            net: *net,
            phi: phi.to_vec(),
            rnn,
        })
    }

    /// Δw after a trial with stimulus s and choice y from weights (w_stim, b);
    /// `z = 1[s > 0]`, `r = 1[y = z]`, not a session start.
    pub fn delta(&self, w: [f64; K], s: f64, y: u8) -> [f64; K] {
        let z = u8::from(s > 0.0);
        let t = Trial {
            session: String::new(),
            trial: 0,
            stimulus: s,
            choice: y,
            correct: z,
            reward: u8::from(y == z),
            session_start: false,
        };
        let x = super::mlp::inputs(w, &t);
        if let Some(r) = &self.rnn {
            return r.delta(&x);
        }
        let c = &self.phi[self.net.c_offset()..];
        let mut acts = vec![0.0; self.net.acts()];
        let out = super::mlp::mlp(&self.net, &self.phi, &x, &mut acts);
        [c[0] * out[0], c[1] * out[1]]
    }
}

/// The spec's recovery grid: s over the 17 stimuli, y ∈ {0, 1}, w_stim over
/// linspace(−2, 2, points), b ∈ {−1, 0, 1}; the band's columns from the restarts' and
/// the bootstrap refits' rules.
pub fn rule_grid(
    fitted: &Rule,
    restarts: &[Rule],
    boot: &[Rule],
    truth: Option<&RuleAt>,
    points: usize,
) -> Vec<GridPoint> {
    let span = |rules: &[Rule], w: [f64; K], s: f64, y: u8, start: (f64, f64)| {
        rules
            .iter()
            .map(|r| r.delta(w, s, y)[0])
            .fold(start, |(lo, hi), d| (lo.min(d), hi.max(d)))
    };
    let cells: Vec<(f64, u8)> = stimuli()
        .into_iter()
        .flat_map(|s| [(s, 0u8), (s, 1)])
        .collect();
    cells
        .par_iter()
        .flat_map_iter(|&(s, y)| {
            (0..points).flat_map(move |i| {
                let ws = -2.0 + 4.0 * i as f64 / (points - 1).max(1) as f64;
                [-1.0, 0.0, 1.0].map(|b| {
                    let w = [ws, b];
                    let z = u8::from(s > 0.0);
                    let fitted = fitted.delta(w, s, y)[0];
                    let (lower, upper) = span(restarts, w, s, y, (fitted, fitted));
                    let boot = (!boot.is_empty())
                        .then(|| span(boot, w, s, y, (f64::INFINITY, f64::NEG_INFINITY)));
                    GridPoint {
                        s,
                        y,
                        w_stim: ws,
                        b,
                        fitted,
                        lower,
                        upper,
                        boot,
                        truth: truth.map(|t| t.delta(w, s, y, z)[0]),
                    }
                })
            })
        })
        .collect()
}

/// RMSE of fitted against true Δw_stim over the grid, and the RMS of the truth.
pub fn recovery(grid: &[GridPoint]) -> Option<(f64, f64)> {
    let n = grid.len() as f64;
    let mut se = 0.0;
    let mut ss = 0.0;
    for g in grid {
        let t = g.truth?;
        se += (g.fitted - t).powi(2);
        ss += t * t;
    }
    Some(((se / n).sqrt(), (ss / n).sqrt()))
}
