//! Fits as a study of the runner (`rulelab infer sweep CONFIG.toml`, spec §4): each
//! point of the grid is one fit of the dnn or the rnn model to the same animals, scored
//! on the same held-out animals. Hidden size, layers, GRU units, skip, lr, trunc,
//! batch, epochs, decay, seed and the model itself may be grid axes; the runner shards,
//! checkpoints (a chunk is a setting's seeds, fitted side by side, when seed is the last
//! axis; else one fit) and resumes as for any sweep. results.csv holds a row per fit,
//! epochs.csv each fit's training curve.
//!
//! The data files are read and hashed when the config is parsed: the hashes are part
//! of the config the manifest records, so a resumed or merged run whose data changed
//! is refused instead of mixing fits of two data sets.
//!
//! Its config and its study share one file (over 600 lines): a fit's sections are the
//! fit's own settings, which the study's chunks hand to the fit engine unchanged.

use super::data::Dataset;
use super::fit;
use super::input::Input;
use super::net::{Net, K};
use super::options::{FitConfig, FitOptions, Init};
use super::rule::Rule;
use super::simulate::RuleAt;
use crate::error::{Error, Result};
use crate::gpu::Backend;
use crate::keys::{boolean, err, finite, integer, section, string, whole};
use crate::sweep::config::unknown_key;
use crate::sweep::prune::PrunePlan;
use crate::sweep::{Compute, Grid, ParamSet, Parse, Present};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::{Table, Value};

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
    work: f64,
    /// Whether any fit is an rnn (a GRU setting has an effect).
    #[serde(skip)]
    rnn: bool,
    /// Learners per chunk (see [`Study::chunk_size`]).
    #[serde(skip)]
    seeds_per_chunk: u64,
    #[serde(skip)]
    animals: Arc<Animals>,
}

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

impl FitStudy {
    /// The fit settings of one grid point.
    pub fn config(&self, p: &FitParams) -> FitConfig {
        FitConfig {
            gru: if p.model == 1.0 { p.gru as usize } else { 0 },
            skip: p.model == 1.0 && p.skip == 1.0,
            hidden: p.hidden as usize,
            layers: p.layers as usize,
            epochs: p.epochs as usize,
            batch: p.batch as usize,
            trunc: p.trunc as usize,
            lr: p.lr,
            decay: p.decay,
            decay_every: 5,
            seed: p.seed as u64,
            init: self.init,
            restarts: self.restarts,
        }
    }
}

/// What one fit reports.
pub struct FitOutcome {
    pub train_ll: f64,
    pub test_ll: f64,
    /// φ's length.
    pub parameters: usize,
    /// RMSE of the fitted against the true Δw_stim on the spec's grid (simulated data).
    pub dw_rmse: Option<f64>,
    pub epochs: Vec<fit::Epoch>,
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
        (matches!(name, "gru" | "skip") && p.model == 0.0)
            .then(|| "the dnn model has no GRU".to_string())
    }

    fn check(&self, base: &FitParams, _grid: &Grid) -> Result<()> {
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

impl Compute for FitStudy {
    type Outcome = FitOutcome;

    type Prepared = Arc<Animals>;

    const WORK: &'static str = "trial-steps";

    const LEARNERS: &'static str = "fits";

    /// Trial-steps of one fit at the config's own numbers: every training trial, every
    /// epoch, every restart.
    fn work_per_learner(&self) -> f64 {
        self.work
    }

    fn prepare(&self, _base: &FitParams) -> Result<Arc<Animals>> {
        // Read once at parse; checked again here, so a file rewritten since the config
        // was read is refused instead of silently fitted in its old form.
        if crate::files::fnv_hex(&self.train)? != self.train_fnv {
            return Err(changed(&self.train));
        }
        if let Heldout::File { path, fnv: want } = &self.heldout {
            if crate::files::fnv_hex(path)? != *want {
                return Err(changed(path));
            }
        }
        Ok(self.animals.clone())
    }

    fn learner_bytes(&self) -> u64 {
        // φ and every animal's w_0, as f32, per restart.
        let net = Net::dnn(1024, 8);
        ((net.len() + K * self.train_animals) * 4 * self.restarts) as u64
    }

    /// A setting's seeds per chunk (they run side by side, see `run_chunk`) when seed
    /// is the grid's last axis, at most 16; else one fit, checkpointed as it ends.
    fn chunk_size(&self, _backend: &Backend) -> u64 {
        self.seeds_per_chunk
    }

    fn run_chunk(
        &self,
        animals: &Arc<Animals>,
        backend: &Backend,
        learners: &[FitParams],
        _prune: Option<&PrunePlan>,
    ) -> Result<Vec<FitOutcome>> {
        // Fits that differ only in their seed run side by side, one restart each (and
        // each restart is the fit its seed makes alone, so the grouping changes no row).
        let mut groups: Vec<(FitParams, Vec<usize>)> = vec![];
        for (i, p) in learners.iter().enumerate() {
            let key = FitParams { seed: 0.0, ..*p };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, idx)) => idx.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let mut out: Vec<Option<FitOutcome>> = (0..learners.len()).map(|_| None).collect();
        for (_, idx) in groups {
            let cfg = self.config(&learners[idx[0]]);
            // A fit of `restarts` restarts from seed s runs seeds s, s + 1, …
            let own = |i: usize| {
                fit::restart_seeds(&FitConfig {
                    seed: learners[i].seed as u64,
                    ..cfg.clone()
                })
            };
            let mut seeds: Vec<u64> = vec![];
            for &i in &idx {
                for s in own(i) {
                    if !seeds.contains(&s) {
                        seeds.push(s);
                    }
                }
            }
            let scored = fit::fit_scored_seeds(
                &cfg,
                &seeds,
                &animals.train.data,
                Some(&animals.test),
                backend,
                |_| {},
            )
            .map_err(|e| match e {
                // Ctrl-C inside a fit: the runner says where the sweep stopped.
                Error::Stopped { .. } => Error::Interrupted { done: 0, total: 0 },
                e => e,
            })?;
            for &i in &idx {
                // The learner's best restart by training likelihood, as `infer fit` picks.
                let best = own(i)
                    .iter()
                    .map(|s| seeds.iter().position(|x| x == s).expect("ran"))
                    .max_by(|&a, &b| scored.train_ll[a].total_cmp(&scored.train_ll[b]))
                    .expect("a restart");
                let fitted = &scored.fits[best];
                let dw_rmse = match &animals.truth {
                    Some(truth) => {
                        let rule = Rule::new(
                            &fitted.net,
                            &fitted.phi,
                            &animals.train.data,
                            &fitted.w0,
                            super::rule::History::Any,
                        )?;
                        let grid = super::rule::rule_grid(&rule, &[], &[], Some(truth), 1001);
                        super::rule::recovery(&grid).map(|r| r.0)
                    }
                    None => None,
                };
                out[i] = Some(FitOutcome {
                    train_ll: scored.train_ll[best],
                    test_ll: scored.test_ll[best].expect("held-out animals"),
                    parameters: fitted.net.len(),
                    dw_rmse,
                    epochs: fitted.epochs.clone(),
                });
            }
        }
        Ok(out.into_iter().map(|o| o.expect("every fit ran")).collect())
    }
}

impl Present for FitStudy {
    const SERIES: &'static str = "epochs.csv";

    fn columns(&self) -> Vec<String> {
        let mut c = vec!["train_ll", "test_ll", "test_nll", "parameters"];
        if self.animals.truth.is_some() {
            c.push("dw_rmse");
        }
        c.into_iter().map(String::from).collect()
    }

    fn write_row(&self, o: &FitOutcome, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(
            out,
            ",{},{},{},{}",
            o.train_ll, o.test_ll, -o.test_ll, o.parameters
        );
        if self.animals.truth.is_some() {
            let _ = write!(out, ",{}", o.dw_rmse.unwrap_or(f64::NAN));
        }
    }

    /// The held-out negative log-likelihood per trial (the summary's colour: lower is
    /// better).
    fn headline(&self) -> &'static str {
        "test_nll"
    }

    fn summary(cfg: &crate::sweep::StudyConfig<Self>, dir: &std::path::Path) -> Result<()> {
        crate::sweep::summary::write_summary(cfg, dir)
    }

    fn series(&self) -> Option<(&'static str, &'static str)> {
        Some(("epoch", "train_nll"))
    }

    fn series_columns(&self) -> Option<Vec<String>> {
        Some(["epoch", "train_nll", "lr"].map(String::from).to_vec())
    }

    /// Each epoch's mean negative log-likelihood per training trial (the loss the fit
    /// minimises, positive, so the summary draws it on its log axis) and lr.
    fn write_series(&self, learner: u64, o: &FitOutcome, out: &mut String) {
        use std::fmt::Write;
        for e in &o.epochs {
            let _ = writeln!(out, "{learner},{},{},{}", e.epoch, -e.train_ll, e.lr);
        }
    }

    fn bytes_per_learner(&self, _grid: &Grid) -> u64 {
        200 + 60 * 20
    }
}

fn changed(path: &Path) -> Error {
    Error::invalid(
        path.display().to_string(),
        "changed since the sweep's config was read (its hash differs): the sweep's fits \
         would mix two data sets; restore it, or start again in a new directory",
    )
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
