//! A fit sweep's config (`rulelab infer sweep CONFIG.toml`): `[data]` (the training
//! file, held-out animals as a file or a fraction), `[fit]` (every fit's settings, each
//! one a possible grid axis: hidden size, layers, GRU units, skip, lr, trunc, batch,
//! epochs, decay, seed and the model itself), `[run]`, `[output]`, and `[grid]`.
//!
//! The data files are read and hashed when the config is parsed: the hashes are part
//! of the config the manifest records, so a resumed or merged run whose data changed
//! is refused instead of mixing fits of two data sets.

use super::data::Dataset;
use super::input::Input;
use super::options::{FitOptions, Init, DECAY_EVERY};
use super::simulate::RuleAt;
use crate::error::{Error, Result};
use crate::keys::{boolean, err, finite, integer, section, string, whole};
use crate::sweep::config::unknown_key;
use crate::sweep::{Grid, ParamSet, Parse};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use toml::{Table, Value};

/// The animals every fit of a sweep shares.
pub struct Animals {
    pub train: Input,
    pub test: Dataset,
    /// The truth's rule at the training data's mean recent-reward fraction (simulated
    /// data only).
    pub truth: Option<RuleAt>,
}

impl std::fmt::Debug for Animals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Animals({} train, {} held out)",
            self.train.data.animals.len(),
            self.test.animals.len()
        )
    }
}

/// Where the held-out animals come from.
#[derive(Clone, Debug, Serialize)]
pub enum Heldout {
    /// A file of other animals.
    File { path: PathBuf, fnv: String },
    /// This fraction of the training file's animals, chosen by a seeded shuffle that
    /// does not depend on any fit's seed (every fit is scored on the same animals).
    Fraction(f64),
}

/// A sweep of fits: the data, how held-out animals are chosen, and the settings no axis
/// may vary.
#[derive(Clone, Debug, Serialize)]
pub struct FitStudy {
    pub train: PathBuf,
    /// FNV-1a of the training file's bytes, as read when the config was parsed.
    pub train_fnv: String,
    pub ibl: bool,
    pub heldout: Heldout,
    pub init: Init,
    pub restarts: usize,
    pub train_animals: usize,
    pub test_animals: usize,
    /// The simulation's own mean log-likelihood per trial on the training and held-out
    /// animals, when the data was simulated (the ceiling a fit approaches).
    pub truth_train_ll: Option<f64>,
    pub truth_test_ll: Option<f64>,
    /// Trial-steps of one fit at the config's own epochs (the throughput figure).
    #[serde(skip)]
    pub(super) work: f64,
    /// Whether any fit is an rnn (a GRU setting has an effect).
    #[serde(skip)]
    pub(super) rnn: bool,
    /// Learners per chunk (see [`Study::chunk_size`]).
    #[serde(skip)]
    pub(super) seeds_per_chunk: u64,
    #[serde(skip)]
    pub(super) animals: Arc<Animals>,
}

crate::params! {
    /// One fit's numbers; every one may be a grid axis. NaN: the model's default.
    pub struct FitParams {
        /// 0 = dnn, 1 = rnn (a categorical axis: `model = ["dnn", "rnn"]`).
        model = 0.0,
        /// GRU units (rnn only; default 32).
        gru = f64::NAN,
        /// 1: the rnn's MLP also reads the trial's inputs beside the GRU's state (rnn
        /// only).
        skip = 0.0,
        /// Units per hidden layer of the rule's MLP (default 64 for the dnn, 32 for the rnn).
        hidden = f64::NAN,
        /// Hidden layers of the rule's MLP (default 3 for the dnn, 2 for the rnn).
        layers = f64::NAN,
        lr = FitOptions::default().lr,
        trunc = FitOptions::default().trunc as f64,
        batch = FitOptions::default().batch as f64,
        epochs = FitOptions::default().epochs as f64,
        /// The learning rate's factor every 5 epochs.
        decay = FitOptions::default().decay,
        /// φ's initialisation and the animals' order in each epoch.
        seed = FitOptions::default().seed as f64,
    }
}

const MODELS: [&str; 2] = ["dnn", "rnn"];

/// Counter seed of the held-out fraction's shuffle.
const HELDOUT_SEED: u64 = 0x4845_4c44;

/// The mean of per-animal log-likelihood sums over the animals `keep` selects.
fn mean_ll(sums: &[f64], data: &Dataset, keep: impl Fn(usize) -> bool) -> f64 {
    let (mut s, mut n) = (0.0, 0);
    for (i, a) in data.animals.iter().enumerate() {
        if keep(i) {
            s += sums[i];
            n += a.trials.len();
        }
    }
    s / n as f64
}

impl Parse for FitStudy {
    type Params = FitParams;

    const FAMILY: &'static str = "infer";

    const SECTIONS: &'static [&'static str] = &["data", "fit", "run", "output"];

    fn parse(root: &Table, grid: &Table) -> Result<(Self, FitParams)> {
        let data = section(root, "data", true)?.expect("required");
        const DATA_KEYS: &[&str] = &["train", "test", "holdout", "ibl"];
        let path = |k: &str| -> Result<Option<PathBuf>> {
            data.get(k)
                .map(|v| {
                    v.as_str().map(PathBuf::from).ok_or_else(|| {
                        err(format!("data.{k}"), "must be a path (a string)".to_string())
                    })
                })
                .transpose()
        };
        for k in data.keys() {
            if !DATA_KEYS.contains(&k.as_str()) {
                return Err(unknown_key("data", k, DATA_KEYS));
            }
        }
        let train_path = path("train")?
            .ok_or_else(|| err("data.train", "is required: the training animals' CSV"))?;
        let ibl = data
            .get("ibl")
            .map(|v| boolean("data.ibl", v))
            .transpose()?
            .unwrap_or(false);
        let test_path = path("test")?;
        let holdout = data
            .get("holdout")
            .map(|v| finite("data.holdout", v))
            .transpose()?;
        if test_path.is_some() && holdout.is_some() {
            return Err(err(
                "data.holdout",
                "has no effect with data.test (the held-out animals are that file's)",
            ));
        }
        if let Some(f) = holdout {
            if !(f > 0.0 && f < 1.0) {
                return Err(err("data.holdout", format!("{f} must be in (0, 1)")));
            }
        }
        let train = super::input::read(&train_path, ibl, 2)?;
        let train_fnv = crate::files::fnv_hex(&train_path)?;
        let truth_sums = super::input::truth_ll_by_animal(&train)?;
        let (heldout, kept, test, truth_train_ll, truth_test_ll) = match &test_path {
            Some(t) => {
                let input = super::input::read(t, ibl, 2)?;
                let truth_test = super::input::truth_ll_by_animal(&input)?
                    .map(|s| mean_ll(&s, &input.data, |_| true));
                let truth_train = truth_sums
                    .as_ref()
                    .map(|s| mean_ll(s, &train.data, |_| true));
                let test_fnv = crate::files::fnv_hex(t)?;
                if test_fnv == train_fnv {
                    return Err(err(
                        "data.test",
                        "holds the training file's bytes: held-out animals must be other \
                         animals (or leave data.test out and hold out a fraction)",
                    ));
                }
                let h = Heldout::File {
                    path: t.clone(),
                    fnv: test_fnv,
                };
                (h, None, input.data, truth_train, truth_test)
            }
            None => {
                let f = holdout.unwrap_or(0.2);
                if train.data.animals.len() < 2 {
                    return Err(err(
                        "data.train",
                        "holds one animal: give data.test, or more animals to hold some out",
                    ));
                }
                // The animals in a seeded order (dealt into n folds, each animal is its own
                // fold: its rank); the first fraction f of them (one at least) held out.
                let n = train.data.animals.len();
                let rank = super::cv::folds(n, n, HELDOUT_SEED);
                let cut = ((f * n as f64).round() as usize).clamp(1, n - 1);
                let pick = |out: bool| Dataset {
                    animals: train
                        .data
                        .animals
                        .iter()
                        .zip(&rank)
                        .filter(|(_, &r)| (r < cut) == out)
                        .map(|(a, _)| a.clone())
                        .collect(),
                    dropped: 0,
                };
                let (tr, te) = match &truth_sums {
                    Some(s) => (
                        Some(mean_ll(s, &train.data, |i| rank[i] >= cut)),
                        Some(mean_ll(s, &train.data, |i| rank[i] < cut)),
                    ),
                    None => (None, None),
                };
                (Heldout::Fraction(f), Some(pick(false)), pick(true), tr, te)
            }
        };
        let mut train = train;
        if let Some(kept) = kept {
            train.data = kept;
        }
        let truth = train.sim.as_ref().map(|r| RuleAt {
            sim: r.simulation.clone(),
            recent: super::rule::History::Any.recent(&train.data),
        });

        let mut base = FitParams::default();
        let (mut init, mut restarts) = (Init::PerAnimal, 1);
        const FIT_KEYS: &[&str] = &["model", "init", "restarts"];
        if let Some(f) = section(root, "fit", false)? {
            for (k, v) in f {
                let key = format!("fit.{k}");
                match k.as_str() {
                    "model" => {
                        let m = string(&key, v, &MODELS)?;
                        base.model = MODELS.iter().position(|x| *x == m).expect("listed") as f64;
                    }
                    "init" => init = parse_init(&key, v)?,
                    "restarts" => restarts = integer(&key, v, 1, 1024)?,
                    _ => {
                        if !base.set(k, finite(&key, v)?) {
                            let mut allowed = FIT_KEYS.to_vec();
                            allowed.extend(FitParams::NAMES.iter().filter(|n| **n != "model"));
                            return Err(unknown_key("fit", k, &allowed));
                        }
                    }
                }
            }
        }
        for name in ["run", "output"] {
            if let Some((k, _)) = section(root, name, false)?.and_then(|t| t.iter().next()) {
                return Err(unknown_key(name, k, &[]));
            }
        }
        let study = FitStudy {
            train: train_path,
            train_fnv,
            ibl,
            heldout,
            init,
            restarts,
            train_animals: train.data.animals.len(),
            test_animals: test.animals.len(),
            truth_train_ll,
            truth_test_ll,
            work: (train.data.trials() * restarts) as f64 * base.epochs,
            rnn: base.model == 1.0,
            seeds_per_chunk: match grid.iter().next_back() {
                Some((k, v)) if k == "seed" => crate::sweep::config::axis_values("grid.seed", v)?
                    .len()
                    .clamp(1, 16),
                _ => 1,
            },
            animals: Arc::new(Animals { train, test, truth }),
        };
        Ok((study, base))
    }

    fn categorical(&mut self, name: &str, values: &Value) -> Option<Result<Vec<f64>>> {
        if name != "model" {
            return None;
        }
        let key = "grid.model";
        let names = match values.as_array().filter(|a| !a.is_empty()) {
            Some(a) => a,
            None => return Some(Err(err(key, "must be a list of models: dnn, rnn"))),
        };
        let mut out: Vec<f64> = vec![];
        for v in names {
            let m = match string(key, v, &MODELS) {
                Ok(m) => m,
                Err(e) => return Some(Err(e)),
            };
            let i = MODELS.iter().position(|x| *x == m).expect("listed") as f64;
            if out.contains(&i) {
                return Some(Err(err(key, format!("lists {m} twice"))));
            }
            out.push(i);
        }
        self.rnn |= out.contains(&1.0);
        Some(Ok(out))
    }

    fn label(&self, axis: &str, v: f64) -> String {
        match axis {
            "model" => MODELS.get(v as usize).unwrap_or(&"?").to_string(),
            _ => v.to_string(),
        }
    }

    fn parse_label(&self, axis: &str, s: &str) -> Option<f64> {
        match axis {
            "model" => MODELS.iter().position(|m| *m == s).map(|i| i as f64),
            _ => s.parse().ok(),
        }
    }

    fn complete(&self, p: &mut FitParams) {
        let rnn = p.model == 1.0;
        let fill = |v: &mut f64, dnn: f64, rnn_default: f64| {
            if v.is_nan() {
                *v = if rnn { rnn_default } else { dnn };
            }
        };
        fill(&mut p.hidden, 64.0, 32.0);
        fill(&mut p.layers, 3.0, 2.0);
        fill(&mut p.gru, 0.0, 32.0);
        if !rnn {
            // The dnn has no GRU, whatever the config says (an axis over it is refused).
            p.gru = 0.0;
        }
    }

    fn validate(&self, p: &FitParams) -> Result<()> {
        whole("gru", p.gru, 0.0, super::rnn::MAX_GRU as f64)?;
        if p.model == 1.0 && p.gru == 0.0 {
            return Err(err(
                "gru",
                "0 must be at least 1 (an rnn without a GRU is the dnn)",
            ));
        }
        whole("skip", p.skip, 0.0, 1.0)?;
        whole("hidden", p.hidden, 1.0, 1024.0)?;
        whole("layers", p.layers, 1.0, 8.0)?;
        whole("trunc", p.trunc, 1.0, 1e9)?;
        whole("batch", p.batch, 1.0, 1e9)?;
        whole("epochs", p.epochs, 1.0, 1e6)?;
        whole("seed", p.seed, 0.0, u32::MAX as f64)?;
        self.config(p).validate().map_err(|e| match e {
            // The fit's own messages name command-line flags; a sweep's keys have no "--".
            Error::Invalid { field, message } => Error::Invalid {
                field: field.trim_start_matches("--").to_string(),
                message,
            },
            e => e,
        })
    }

    fn ignores(&self, p: &FitParams, name: &str, _grid: &Grid) -> Option<String> {
        if name == "decay" && p.epochs <= DECAY_EVERY as f64 {
            return Some(format!(
                "the rate decays every {DECAY_EVERY} epochs; this fit has {}",
                p.epochs
            ));
        }
        (matches!(name, "gru" | "skip") && p.model == 0.0)
            .then(|| "the dnn model has no GRU".to_string())
    }

    fn check(&self, base: &FitParams, grid: &Grid) -> Result<()> {
        let epochs_axis = grid.axes.iter().any(|a| a.name == "epochs");
        if base.decay != FitOptions::default().decay && !epochs_axis {
            if let Some(why) = self.ignores(base, "decay", grid) {
                return Err(err("fit.decay", format!("has no effect: {why}")));
            }
        }
        if !base.gru.is_nan() && !self.rnn {
            return Err(err(
                "fit.gru",
                "has no effect: no fit of the sweep is an rnn",
            ));
        }
        if base.skip != 0.0 && !self.rnn {
            return Err(err(
                "fit.skip",
                "has no effect: no fit of the sweep is an rnn",
            ));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let name = self.train.file_name().unwrap_or(self.train.as_os_str());
        format!(
            "fits to {} ({} animals + {} held out{})",
            name.to_string_lossy(),
            self.train_animals,
            self.test_animals,
            self.truth_test_ll
                .map(|t| format!(", truth's NLL {:.4}", -t))
                .unwrap_or_default()
        )
    }
}

/// `init`: "per-animal", "zeros", or [w_stim, w_bias].
fn parse_init(key: &str, v: &Value) -> Result<Init> {
    match v {
        Value::String(s) if s == "per-animal" => Ok(Init::PerAnimal),
        Value::String(s) if s == "zeros" => Ok(Init::Zeros),
        Value::Array(a) if a.len() == 2 => {
            let w0 = finite(key, &a[0])?;
            let w1 = finite(key, &a[1])?;
            Ok(Init::Given([w0, w1]))
        }
        _ => Err(err(
            key,
            "must be \"per-animal\", \"zeros\" or [w_stim, w_bias]",
        )),
    }
}

/// A small fit sweep that runs in a moment on the CPU device: 12 simulated reinforce
/// learners to train on and 6 to hold out (written into `dir`), two hidden sizes and
/// two seeds of a small dnn: the registry's sample.
pub fn sample(dir: &std::path::Path) -> Result<String> {
    use super::simulate::{self, Simulation, TrueRule};
    let (train, test) = (dir.join("train.csv"), dir.join("test.csv"));
    simulate::write(&Simulation::new(TrueRule::Reinforce, 12, 300, 1), &train)?;
    simulate::write(&Simulation::new(TrueRule::Reinforce, 6, 300, 2), &test)?;
    Ok(format!(
        "[data]\ntrain = {:?}\ntest = {:?}\n[fit]\nepochs = 2\ntrunc = 50\nbatch = 6\n\
         layers = 1\n[grid]\nhidden = [4, 8]\nseed = [0, 1]\n[output]\nsummary = false\n",
        train.display().to_string(),
        test.display().to_string()
    ))
}
