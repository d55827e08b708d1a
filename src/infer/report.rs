//! What a fit found, written: metrics.json (with its notes), restarts.csv, epochs.csv,
//! rule_grid.csv, rule_history.csv, weights.csv and manifest.json.

use super::data::Dataset;
use super::fit::{self, Epoch, Fitted};
use super::input::Input;
use super::model;
use super::net::K;
use super::options::FitConfig;
use super::rule;
use super::rule::{History, Rule};
use super::simulate::RuleAt;
use crate::error::Result;
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize)]
pub struct Metrics {
    /// Mean log-likelihood per trial (nats) of the training and held-out animals.
    pub train_ll: f64,
    pub test_ll: Option<f64>,
    /// The true probabilities' log-likelihood, when the data came from `simulate`.
    pub truth_train_ll: Option<f64>,
    pub truth_test_ll: Option<f64>,
    /// The fitted rule's held-out LL started from each held-out animal's true w_0
    /// (simulated data): what is left of the gap to `truth_test_ll` is the rule's; the
    /// rest of `test_ll`'s gap is the held-out w_0, estimated from 100 trials.
    pub test_ll_true_w0: Option<f64>,
    /// RMSE of fitted against true Δw_stim on the spec's grid, and the truth's RMS.
    pub dw_rmse: Option<f64>,
    pub dw_true_rms: Option<f64>,
    /// The reinforce_base rule fitted by maximum likelihood (w_0: each animal's
    /// logistic fit): its α, β and log-likelihoods.
    pub baseline: super::baseline::Baseline,
    pub baseline_train_ll: f64,
    pub baseline_test_ll: Option<f64>,
    pub epochs: usize,
    /// Initialisations fitted side by side, and the one reported (restarts.csv has all).
    pub restarts: usize,
    pub best_restart: usize,
    /// Mean over the grid of the band's width (highest − lowest Δw_stim) across the
    /// restarts' rules, and across the bootstrap refits' when there are any.
    pub band_restarts: f64,
    pub bootstrap: usize,
    pub band_bootstrap: Option<f64>,
    /// RMS of the fitted Δw_stim over the grid: the scale the bands are read against
    /// where the truth is unknown.
    pub dw_fitted_rms: f64,
    pub seconds: f64,
    pub trials_per_second: f64,
    pub device: String,
    pub train_animals: usize,
    pub train_trials: usize,
    pub test_animals: Option<usize>,
    pub test_trials: Option<usize>,
    /// The rnn's rule after the last trials all rewarded against all unrewarded.
    pub history: Option<HistoryMetrics>,
    /// What the numbers say, in words (also printed after a fit).
    pub notes: Vec<String>,
}

/// How an rnn's fitted rule depends on the history (rule_history.csv's grid).
#[derive(Clone, Debug, Serialize)]
pub struct HistoryMetrics {
    /// RMS of Δw_stim after the last trials all rewarded over its RMS after all
    /// unrewarded: the factor the history scales the rule by (1 for a rule without
    /// history); the truth's beside it.
    pub gain: f64,
    pub gain_true: Option<f64>,
    /// RMSE of fitted against true Δw_stim after each history, and the truth's RMS.
    pub dw_rmse_rewarded: Option<f64>,
    pub dw_rmse_unrewarded: Option<f64>,
    pub dw_true_rms_rewarded: Option<f64>,
    pub dw_true_rms_unrewarded: Option<f64>,
}

/// Writes rule_history.csv (history, s, y, w_stim ∈ linspace(−2, 2, 9), b ∈ {−1, 0,
/// 1}, the fitted and true Δw_stim) and rule_history.svg/png for the rnn's rule after
/// each history.
pub(super) fn write_history(
    out: &Path,
    after: [&(History, Rule, Option<RuleAt>); 2],
    figure: &crate::plot::Figure,
) -> Result<HistoryMetrics> {
    let mut csv = String::from("history,s,y,w_stim,b,dw_stim_fitted,dw_stim_true\n");
    // Per history: Σ fitted², Σ true², Σ (fitted − true)², n.
    let mut sums = [[0.0; 3]; 2];
    let mut n = 0usize;
    for (i, (h, rule, truth)) in after.iter().enumerate() {
        let name = match h {
            History::Rewarded => "rewarded",
            History::Unrewarded => "unrewarded",
            History::Any => "any",
        };
        n = 0;
        for s in super::simulate::stimuli() {
            for y in [0u8, 1] {
                for k in 0..9 {
                    let ws = -2.0 + 0.5 * k as f64;
                    for b in [-1.0, 0.0, 1.0] {
                        let f = rule.delta([ws, b], s, y)[0];
                        let t = truth
                            .as_ref()
                            .map(|t| t.delta([ws, b], s, y, u8::from(s > 0.0))[0]);
                        sums[i][0] += f * f;
                        if let Some(t) = t {
                            sums[i][1] += t * t;
                            sums[i][2] += (f - t) * (f - t);
                        }
                        n += 1;
                        csv += &format!(
                            "{name},{s},{y},{ws},{b},{f},{}\n",
                            t.map(|t| t.to_string()).unwrap_or_default()
                        );
                    }
                }
            }
        }
    }
    crate::files::write_atomic(&out.join("rule_history.csv"), csv.as_bytes())?;
    let known = after[0].2.is_some();
    let rms = |x: f64| (x / n as f64).sqrt();
    let m = HistoryMetrics {
        gain: (sums[0][0] / sums[1][0]).sqrt(),
        gain_true: known.then(|| (sums[0][1] / sums[1][1]).sqrt()),
        dw_rmse_rewarded: known.then(|| rms(sums[0][2])),
        dw_rmse_unrewarded: known.then(|| rms(sums[1][2])),
        dw_true_rms_rewarded: known.then(|| rms(sums[0][1])),
        dw_true_rms_unrewarded: known.then(|| rms(sums[1][1])),
    };
    fn panel(a: &(History, Rule, Option<RuleAt>)) -> super::plot::RulePanels<'_> {
        super::plot::RulePanels {
            rule: &a.1,
            band: vec![],
            truth: a.2.as_ref(),
            history: Some(a.0),
        }
    }
    crate::plot::write_picture(
        out,
        "rule_history",
        &super::plot::HistoryPicture {
            panels: [panel(after[0]), panel(after[1])],
        },
        figure,
    )?;
    Ok(m)
}

/// The report's sentences: whether the rule was recovered (against a simulation's
/// truth), whether the baseline predicts better, and how far from the truth's
/// likelihood the fit is.
pub(super) fn notes(m: &Metrics, weight_noise: f64) -> Vec<String> {
    let mut out = vec![];
    if let (Some(rmse), Some(rms)) = (m.dw_rmse, m.dw_true_rms) {
        let ratio = rmse / rms;
        out.push(if ratio < 0.5 {
            format!(
                "the rule is recovered: Δw_stim RMSE {rmse:.4} on the grid is {ratio:.2} of the true rule's RMS {rms:.4}"
            )
        } else if ratio < 1.0 {
            format!(
                "the rule is partly recovered: Δw_stim RMSE {rmse:.4} on the grid is {ratio:.2} of the true rule's RMS {rms:.4}"
            )
        } else {
            let why = if weight_noise > 0.0 {
                format!(
                    " (the data's weights also take a random walk of σ = {weight_noise} a trial, and the network can read its drift as a rule)"
                )
            } else {
                String::new()
            };
            format!(
                "the rule is not recovered: Δw_stim RMSE {rmse:.4} on the grid is {ratio:.1}x the true rule's RMS {rms:.4}{why}"
            )
        });
    }
    let (ll, base, which) = match (m.test_ll, m.baseline_test_ll) {
        (Some(t), Some(b)) => (t, b, "held-out"),
        _ => (m.train_ll, m.baseline_train_ll, "training"),
    };
    if base > ll {
        out.push(format!(
            "the reinforce_base baseline predicts {which} choices better than the network rule ({base:.5} against {ll:.5} nats/trial)"
        ));
    }
    // How well the data pin the rule's shape down: the band's mean width against the
    // rule's size (the truth's where known), beside how close held-out LL comes.
    let band = match (m.band_bootstrap, m.restarts > 1) {
        (Some(b), _) => Some((b, "refits on resampled animals")),
        (None, true) => Some((m.band_restarts, "restarts from other initialisations")),
        (None, false) => None,
    };
    if let Some((width, source)) = band {
        let scale = m.dw_true_rms.unwrap_or(m.dw_fitted_rms);
        let ratio = width / scale.max(f64::MIN_POSITIVE);
        let whose = if m.dw_true_rms.is_some() {
            "true"
        } else {
            "fitted"
        };
        let near = match (m.test_ll, m.truth_test_ll) {
            (Some(t), Some(truth)) if truth - t < 0.01 => Some(truth - t),
            _ => None,
        };
        let mut line = if ratio > 0.5 {
            format!(
                "the rule's shape is poorly identified: {source} differ by {width:.4} on average over the grid, {ratio:.2} of the {whose} rule's RMS {scale:.4}"
            )
        } else if ratio < 0.2 {
            format!(
                "the rule's shape is well identified: {source} differ by {width:.4} on average over the grid, {ratio:.2} of the {whose} rule's RMS {scale:.4}"
            )
        } else {
            format!(
                "the rule's shape is loosely identified: {source} differ by {width:.4} on average over the grid, {ratio:.2} of the {whose} rule's RMS {scale:.4}"
            )
        };
        if let (Some(d), true) = (near, ratio > 0.5) {
            line += &format!(
                ", although held-out LL is within {d:.4} nats/trial of the truth's: the choices are predicted without the rule being pinned down"
            );
        }
        let off = matches!((m.dw_rmse, m.dw_true_rms), (Some(e), Some(r)) if e >= 0.5 * r);
        if ratio < 0.2 && off {
            line += "; narrow yet off the truth: the fit is biased (too few epochs, or a model that cannot express the rule), not uncertain";
        }
        if weight_noise > 0.0 && ratio > 0.5 {
            line += &format!(" (the weights' random walk of σ = {weight_noise} can mask the rule)");
        }
        out.push(line);
    }
    if let (Some(t), Some(truth)) = (m.test_ll, m.truth_test_ll) {
        let mut line = format!(
            "held-out LL is {:.4} nats/trial below the true probabilities'",
            truth - t
        );
        match m.test_ll_true_w0 {
            Some(tw) if tw > t => {
                line += &format!(
                    "; {:.4} of that remains from the held-out animals' true w_0, the rest is their w_0 estimated from 100 trials",
                    truth - tw
                )
            }
            Some(tw) => {
                line += &format!(
                    "; from the held-out animals' true w_0 it is {:.4}: the estimated w_0 is not what holds it back",
                    truth - tw
                )
            }
            None => {}
        }
        out.push(line);
    }
    out
}

pub(super) fn write_grid(path: &Path, grid: &[rule::GridPoint]) -> Result<()> {
    let mut s = String::from(
        "s,y,w_stim,b,dw_stim_fitted,dw_stim_lower,dw_stim_upper,dw_stim_boot_lower,\
         dw_stim_boot_upper,dw_stim_true\n",
    );
    for g in grid {
        let (bl, bu) = g
            .boot
            .map(|b| (b.0.to_string(), b.1.to_string()))
            .unwrap_or_default();
        s += &format!(
            "{},{},{},{},{},{},{},{bl},{bu},{}\n",
            g.s,
            g.y,
            g.w_stim,
            g.b,
            g.fitted,
            g.lower,
            g.upper,
            g.truth.map(|t| t.to_string()).unwrap_or_default()
        );
    }
    crate::files::write_atomic(path, s.as_bytes())
}

pub(super) fn write_weights(
    path: &Path,
    net: &super::net::Net,
    fitted: &Fitted,
    data: &Dataset,
) -> Result<()> {
    let mut s = String::from("animal,trial,w_stim,w_bias\n");
    for (a, &w0) in data.animals.iter().zip(&fitted.w0) {
        let path: Vec<[f64; K]> = model::weights(net, &fitted.phi, &a.trials, w0);
        for (t, w) in a.trials.iter().zip(path) {
            s += &format!("{},{},{},{}\n", a.id, t.trial, w[0], w[1]);
        }
    }
    crate::files::write_atomic(path, s.as_bytes())
}

/// restarts.csv: each restart's seed, likelihoods and whether it is the one reported.
pub(super) fn write_restarts(path: &Path, seed: u64, scored: &fit::Scored) -> Result<()> {
    let mut restarts = String::from("restart,seed,train_ll,test_ll,best\n");
    for (r, (tr, te)) in scored.train_ll.iter().zip(&scored.test_ll).enumerate() {
        restarts += &format!(
            "{r},{},{tr},{},{}\n",
            seed.wrapping_add(r as u64),
            te.map(|v| v.to_string()).unwrap_or_default(),
            r == scored.best
        );
    }
    crate::files::write_atomic(path, restarts.as_bytes())
}

/// epochs.csv: the reported fit's training curve.
pub(super) fn write_epochs(path: &Path, epochs: &[Epoch]) -> Result<()> {
    let mut text = String::from("epoch,train_ll,lr,seconds\n");
    for e in epochs {
        text += &format!("{},{},{},{}\n", e.epoch, e.train_ll, e.lr, e.seconds);
    }
    crate::files::write_atomic(path, text.as_bytes())
}

/// The files a fit writes besides manifest.json (which commits them, last).
pub(crate) const FIT_FILES: &[&str] = &[
    "restarts.csv",
    "rule_grid.csv",
    "weights.csv",
    "epochs.csv",
    "fit.svg",
    "fit.png",
    "fit.pdf",
    "rule_history.csv",
    "rule_history.svg",
    "rule_history.png",
    "rule_history.pdf",
    "metrics.json",
];

/// manifest.json's body: the settings, the data files with their hashes, and φ's size.
#[derive(Serialize)]
pub(super) struct FitManifest<'a> {
    config: &'a FitConfig,
    train: String,
    train_fnv: String,
    test: Option<String>,
    test_fnv: Option<String>,
    parameters: usize,
}

impl<'a> FitManifest<'a> {
    pub(super) fn new(
        cfg: &'a FitConfig,
        train: &Input,
        test: Option<&Input>,
        parameters: usize,
    ) -> Result<FitManifest<'a>> {
        let fnv = crate::files::fnv_hex;
        Ok(FitManifest {
            config: cfg,
            train: train.path.display().to_string(),
            train_fnv: fnv(&train.path)?,
            test: test.map(|t| t.path.display().to_string()),
            test_fnv: test.map(|t| fnv(&t.path)).transpose()?,
            parameters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(dw_rmse: f64, test_ll: f64, baseline_test_ll: f64) -> Metrics {
        Metrics {
            train_ll: -0.5,
            test_ll: Some(test_ll),
            truth_train_ll: Some(-0.45),
            truth_test_ll: Some(-0.46),
            test_ll_true_w0: Some(-0.465),
            dw_rmse: Some(dw_rmse),
            dw_true_rms: Some(0.01),
            baseline: super::super::baseline::Baseline {
                alpha: [0.0; K],
                beta: [0.0; K],
            },
            baseline_train_ll: -0.5,
            baseline_test_ll: Some(baseline_test_ll),
            epochs: 1,
            restarts: 1,
            best_restart: 0,
            band_restarts: 0.0,
            bootstrap: 0,
            band_bootstrap: None,
            dw_fitted_rms: 0.02,
            seconds: 1.0,
            trials_per_second: 1.0,
            device: String::new(),
            train_animals: 1,
            train_trials: 1,
            test_animals: Some(1),
            test_trials: Some(1),
            history: None,
            notes: vec![],
        }
    }

    #[test]
    fn notes_say_what_the_numbers_say() {
        let n = notes(&metrics(0.002, -0.47, -0.48), 0.0);
        assert!(
            n[0].starts_with("the rule is recovered") && n[0].contains("0.20 of"),
            "{n:?}"
        );
        assert!(!n.iter().any(|l| l.contains("baseline")), "{n:?}");
        assert!(n
            .iter()
            .any(|l| l.contains("0.0100 nats/trial below") && l.contains("0.0050 of that")));
        let n = notes(&metrics(0.007, -0.47, -0.48), 0.0);
        assert!(n[0].starts_with("the rule is partly recovered"), "{n:?}");
        let n = notes(&metrics(0.05, -0.47, -0.46), 0.05);
        assert!(
            n[0].starts_with("the rule is not recovered") && n[0].contains("5.0x"),
            "{n:?}"
        );
        assert!(n[0].contains("random walk of σ = 0.05"), "{n:?}");
        assert!(
            n.iter()
                .any(|l| l.contains("baseline predicts held-out choices better")),
            "{n:?}"
        );
        let n = notes(&metrics(0.05, -0.47, -0.46), 0.0);
        assert!(!n[0].contains("random walk"), "{n:?}");
        let n = notes(&metrics(0.05, -0.463, -0.46), 0.0);
        assert!(
            n.iter()
                .any(|l| l.contains("is 0.0050: the estimated w_0 is not")),
            "{n:?}"
        );
        // One restart and no bootstrap: nothing to say of the band.
        assert!(!n.iter().any(|l| l.contains("identified")), "{n:?}");
        // A wide bootstrap band with held-out LL near the truth's, and weight noise.
        let mut m = metrics(0.005, -0.463, -0.47);
        m.band_bootstrap = Some(0.007);
        let n = notes(&m, 0.05);
        let l = n
            .iter()
            .find(|l| l.contains("identified"))
            .expect("a band note");
        assert!(
            l.starts_with("the rule's shape is poorly identified: refits on resampled animals differ by 0.0070")
                && l.contains("0.70 of the true rule's RMS 0.0100")
                && l.contains("within 0.0030 nats/trial of the truth's")
                && l.contains("random walk of σ = 0.05"),
            "{l}"
        );
        // Restarts alone, narrow, no truth: read against the fitted rule.
        let mut m = metrics(0.005, -0.463, -0.47);
        (m.restarts, m.band_restarts, m.dw_true_rms) = (4, 0.002, None);
        let n = notes(&m, 0.0);
        let l = n
            .iter()
            .find(|l| l.contains("identified"))
            .expect("a band note");
        assert!(
            l.starts_with("the rule's shape is well identified: restarts from other initialisations differ by 0.0020")
                && l.contains("0.10 of the fitted rule's RMS 0.0200")
                && !l.contains("although"),
            "{l}"
        );
        // Narrow but far from the truth: a bias, said so.
        let mut m = metrics(0.008, -0.463, -0.47);
        (m.restarts, m.band_restarts) = (4, 0.001);
        let n = notes(&m, 0.0);
        let l = n
            .iter()
            .find(|l| l.contains("identified"))
            .expect("a band note");
        assert!(l.contains("narrow yet off the truth"), "{l}");
    }
}
