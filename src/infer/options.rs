//! A network fit's settings: as a person gives them ([`FitOptions`], the command line's
//! flags and the Python package's arguments, with the one set of defaults), and as a fit
//! runs them ([`FitConfig`], checked).

use super::net::{Net, K};
use crate::error::{Error, Result};
use serde::Serialize;

/// How the initial weights w_0 are set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Init {
    Zeros,
    /// The same given (w_stim, w_bias) for every animal, not trained.
    Given([f64; K]),
    /// Per animal: a logistic fit to its first 100 trials, then trained (held-out
    /// animals keep the fit).
    PerAnimal,
}

#[derive(Clone, Debug, Serialize)]
pub struct FitConfig {
    /// GRU units: 0 for the dnn model, G for the rnn.
    pub gru: usize,
    /// The rnn's MLP also reads the trial's inputs (see [`Net::skip`]).
    pub skip: bool,
    pub hidden: usize,
    pub layers: usize,
    pub epochs: usize,
    /// Animals per optimiser step.
    pub batch: usize,
    pub trunc: usize,
    pub lr: f64,
    /// The learning rate is multiplied by this every `decay_every` epochs.
    pub decay: f64,
    pub decay_every: usize,
    pub seed: u64,
    pub init: Init,
    /// Fits from this many initialisations of φ, side by side; the best by training
    /// likelihood is reported.
    pub restarts: usize,
}

impl FitConfig {
    pub fn net(&self) -> Net {
        Net {
            hidden: self.hidden,
            layers: self.layers,
            gru: self.gru,
            skip: self.skip,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let check = |ok: bool, key: &str, m: String| {
            if ok {
                Ok(())
            } else {
                Err(Error::invalid(key, m))
            }
        };
        check(
            (1..=1024).contains(&self.hidden),
            "--hidden",
            format!("{} must be in 1..=1024", self.hidden),
        )?;
        check(
            self.gru <= super::rnn::MAX_GRU,
            "--gru",
            format!("{} must be in 1..={}", self.gru, super::rnn::MAX_GRU),
        )?;
        check(
            (1..=8).contains(&self.layers),
            "--layers",
            format!("{} must be in 1..=8", self.layers),
        )?;
        check(self.epochs >= 1, "--epochs", "must be at least 1".into())?;
        check(self.batch >= 1, "--batch", "must be at least 1".into())?;
        check(
            (1..=1024).contains(&self.restarts),
            "--restarts",
            format!("{} must be in 1..=1024", self.restarts),
        )?;
        check(self.trunc >= 1, "--trunc", "must be at least 1".into())?;
        check(
            self.lr > 0.0 && self.lr.is_finite(),
            "--lr",
            format!("{} must be finite and > 0", self.lr),
        )?;
        check(
            self.decay > 0.0 && self.decay <= 1.0,
            "--decay",
            format!("{} must be in (0, 1]", self.decay),
        )?;
        Ok(())
    }
}

/// A network fit's settings as a person gives them: the command line's flags (`infer
/// fit` and `infer cv`) and the Python package's arguments, whose defaults are
/// [`FitOptions::default`]'s. Sizes left out take the model's defaults
/// ([`FitOptions::config`]).
#[derive(Clone, Debug, PartialEq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitOptions {
    /// Units per hidden layer of the rule's MLP (default 64 for the dnn, 32 for the rnn).
    pub hidden: Option<usize>,
    /// Hidden layers of the rule's MLP (default 3 for the dnn, 2 for the rnn).
    pub layers: Option<usize>,
    /// GRU units of the rnn model (default 32).
    pub gru: Option<usize>,
    /// The rnn's MLP also reads the trial's inputs (w, s, 1, d, y, r, z) beside the
    /// GRU's state, so the rnn holds the dnn's rules.
    pub skip: bool,
    pub epochs: usize,
    /// Animals per optimiser step.
    pub batch: usize,
    /// Trials per truncation window (w is detached between windows).
    pub trunc: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// The learning rate's factor every 5 epochs.
    pub decay: f64,
    /// w_0: per-animal (a logistic fit to the first 100 trials, then trained), zeros,
    /// or W_STIM,W_BIAS given for every animal (zeros and a given w_0 are not trained).
    pub init: String,
    pub seed: u64,
    /// Fit from this many initialisations side by side; report the best (by
    /// training likelihood) and all of them in restarts.csv.
    pub restarts: usize,
}

/// Epochs between the learning rate's decays.
pub const DECAY_EVERY: usize = 5;

impl Default for FitOptions {
    /// The defaults of every front end (the command line, the Python package, a fit
    /// sweep's numbers): written here only.
    fn default() -> Self {
        FitOptions {
            hidden: None,
            layers: None,
            gru: None,
            skip: false,
            epochs: 20,
            batch: 12,
            trunc: 500,
            lr: 3e-3,
            decay: 0.5,
            init: "per-animal".into(),
            seed: 0,
            restarts: 1,
        }
    }
}

impl FitOptions {
    /// The settings of a fit of `model` (dnn or rnn).
    pub fn config(&self, model: &str) -> Result<FitConfig> {
        let default = FitOptions::default();
        if self.decay != default.decay && self.epochs <= DECAY_EVERY {
            return Err(Error::invalid(
                "--decay",
                format!(
                    "has no effect: the rate decays every {DECAY_EVERY} epochs and --epochs \
                     is {}",
                    self.epochs
                ),
            ));
        }
        let (gru, hidden, layers) = match model {
            "dnn" => (0, 64, 3),
            "rnn" => match self.gru.unwrap_or(32) {
                0 => {
                    return Err(Error::invalid(
                        "--gru",
                        "0 must be at least 1 (an rnn without a GRU is the dnn)",
                    ))
                }
                g => (g, 32, 2),
            },
            other => {
                return Err(Error::invalid(
                    "--model",
                    format!("{other:?} is not one of dnn, rnn"),
                ))
            }
        };
        let init = match self.init.as_str() {
            "per-animal" => Init::PerAnimal,
            "zeros" => Init::Zeros,
            other => {
                let w: Vec<f64> = other
                    .split(',')
                    .map(|v| v.trim().parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .unwrap_or_default();
                if w.len() != 2 || w.iter().any(|v| !v.is_finite()) {
                    return Err(Error::invalid(
                        "--init",
                        format!(
                            "{other:?} is not per-animal, zeros or two finite numbers \
                             W_STIM,W_BIAS"
                        ),
                    ));
                }
                Init::Given([w[0], w[1]])
            }
        };
        let cfg = FitConfig {
            gru,
            // The dnn's settings in a cv beside an rnn ignore it (a lone dnn refuses it).
            skip: self.skip && gru > 0,
            hidden: self.hidden.unwrap_or(hidden),
            layers: self.layers.unwrap_or(layers),
            epochs: self.epochs,
            batch: self.batch,
            trunc: self.trunc,
            lr: self.lr,
            decay: self.decay,
            decay_every: DECAY_EVERY,
            seed: self.seed,
            init,
            restarts: self.restarts,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Refuses the rnn's own settings (--gru, --skip) when `has_rnn` is false: they
    /// would change nothing. `why` says what names no rnn.
    /// Refuses every network setting given away from its default (`--seed` aside, named
    /// in `keep`) when no network is fitted: they would change nothing.
    pub fn refuse_all_but(&self, keep: &[&str], why: &str) -> Result<()> {
        let (mine, default) = (
            serde_json::to_value(self).expect("serialises"),
            serde_json::to_value(FitOptions::default()).expect("serialises"),
        );
        let given = mine
            .as_object()
            .expect("a struct")
            .iter()
            .find(|(k, v)| !keep.contains(&k.as_str()) && default.get(k.as_str()) != Some(v));
        match given {
            Some((k, _)) => Err(Error::invalid(
                format!("--{k}"),
                format!("has no effect: {why}"),
            )),
            None => Ok(()),
        }
    }

    pub fn refuse_rnn_only(&self, has_rnn: bool, why: &str) -> Result<()> {
        for (flag, set) in [("--gru", self.gru.is_some()), ("--skip", self.skip)] {
            if set && !has_rnn {
                return Err(Error::invalid(flag, format!("has no effect: {why}")));
            }
        }
        Ok(())
    }
}
