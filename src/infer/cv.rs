//! Cross-validation by held-out animal (spec §4): the animals split into K folds, each
//! model fitted on the other folds and scored on the held-out one (mean log-likelihood
//! per trial, the held-out animals' w_0 from their own first trials as `infer fit`
//! sets them), and every pair of models compared over the folds.

use super::data::Dataset;
use super::fit;
use super::input::{truth_ll_by_animal, Input};
use super::options::{FitConfig, Init};
use super::{baseline, psytrack};
use crate::error::{Error, Result};
// The kit's vocabulary: charts, axes, ticks, legends, colours and sizes.
use crate::plot::*;
use crate::rng::{key_from_seed, philox4x32_10};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;
use std::path::Path;

crate::named_enum! {
    /// The models cross-validation compares.
    pub enum CvModel {
        /// The GLM policy whose weights learn by an MLP rule (`infer fit --model dnn`).
        Dnn = "dnn",
        /// The rule an MLP reads from a GRU's state: history-dependent (`--model rnn`).
        Rnn = "rnn",
        /// The reinforce_base rule with α and β fitted by maximum likelihood.
        ReinforceBase = "reinforce_base",
        /// No rule: weights on a Gaussian random walk, σ per weight by the evidence
        /// (PsyTrack), each choice predicted from the earlier ones.
        Psytrack = "psytrack",
    }
}

/// Counter purpose of the fold assignment.
const FOLDS: u32 = 0x4356_0001;

/// The fold of each animal: the animals in a seeded random order, dealt round the
/// folds, so fold sizes differ by one at most.
pub fn folds(animals: usize, k: usize, seed: u64) -> Vec<usize> {
    let key = key_from_seed(seed);
    let mut order: Vec<usize> = (0..animals).collect();
    order.sort_by_key(|&i| (philox4x32_10([i as u32, 0, 0, FOLDS], key)[0], i));
    let mut fold = vec![0; animals];
    for (rank, &i) in order.iter().enumerate() {
        fold[i] = rank % k;
    }
    fold
}

/// One model on one fold.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// A [`CvModel`]'s name, or "truth" (the simulation's own probabilities).
    pub model: String,
    pub fold: usize,
    pub train_animals: usize,
    pub test_animals: usize,
    pub test_trials: usize,
    /// Mean log-likelihood per trial on the training folds (empty for the truth).
    pub train_ll: Option<f64>,
    pub test_ll: f64,
    /// The fitted parameters of a parametric model (columns of [`PARAMS`]); empty for
    /// the networks and the truth.
    pub params: Params,
}

/// A parametric model's fitted numbers by column name (`alpha_stim`, ...).
pub type Params = std::collections::BTreeMap<String, f64>;

/// The parameter columns of cv.csv, each per weight (stimulus, bias): reinforce_base's
/// rates α and baseline β, PsyTrack's random-walk σ.
pub const PARAMS: [&str; 6] = [
    "alpha_stim",
    "alpha_bias",
    "beta_stim",
    "beta_bias",
    "sigma_stim",
    "sigma_bias",
];

/// One pair of models over the folds: the mean of test_ll(a) − test_ll(b) and its
/// standard error (the folds' paired differences).
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    pub model_a: String,
    pub model_b: String,
    pub mean_diff: f64,
    pub se: f64,
    pub folds: usize,
    /// Folds where a scored higher.
    pub a_better: usize,
}

/// Checks K against the data: at least 2 folds, each with an animal.
pub fn validate(k: usize, animals: usize, models: &[CvModel]) -> Result<()> {
    if animals < 2 {
        return Err(Error::invalid(
            "DATA",
            format!(
                "holds {animals} animal{}: cross-validation by held-out animal needs at \
                 least 2",
                if animals == 1 { "" } else { "s" }
            ),
        ));
    }
    if k < 2 || k > animals {
        return Err(Error::invalid(
            "--folds",
            format!("{k} must be in 2..={animals} (the data's animals)"),
        ));
    }
    if models.is_empty() {
        return Err(Error::invalid("--models", "names no model"));
    }
    for (i, m) in models.iter().enumerate() {
        if models[..i].contains(m) {
            return Err(Error::invalid(
                "--models",
                format!("names {} twice", m.name()),
            ));
        }
    }
    Ok(())
}

/// One model's scores on one fold: a unit of a cross-validation's work, kept in its
/// checkpoint so a stopped cv continues where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Unit {
    /// The model's index in the cv's list.
    pub model: usize,
    pub fold: usize,
    pub train_ll: f64,
    pub test_ll: f64,
    pub params: Params,
}

/// Fits every model on every fold, each with its settings (the networks' from their
/// own; the folds are dealt by the first's seed); `progress` hears (model, folds) as
/// each set of fits starts. A network model's folds whose training sets are as large
/// fit side by side (in the same dispatches on a GPU), each fold's fit the one it
/// makes alone ([`fit::fit_jobs`]). Units in `done` are taken as they are; each new one
/// is handed to `record` as it finishes (a group of folds fitted side by side at
/// once). A signal stops it between units with [`Error::Paused`].
pub fn run(
    fits: &[(CvModel, FitConfig)],
    k: usize,
    input: &Input,
    backend: &crate::gpu::Backend,
    done: &[Unit],
    mut record: impl FnMut(&[Unit]) -> Result<()>,
    mut progress: impl FnMut(&str, &[usize]),
) -> Result<Vec<Row>> {
    let animals = &input.data.animals;
    let models: Vec<CvModel> = fits.iter().map(|f| f.0).collect();
    validate(k, animals.len(), &models)?;
    for (_, cfg) in fits {
        cfg.validate()?;
    }
    let fold_of = folds(animals.len(), k, fits[0].1.seed);
    let truth = truth_ll_by_animal(input)?;
    // Fold f's training animals (indices, in the data's order) and its split.
    let train_of = |fold: usize| -> Vec<usize> {
        (0..animals.len()).filter(|&i| fold_of[i] != fold).collect()
    };
    let split = |fold: usize, held: bool| Dataset {
        animals: animals
            .iter()
            .zip(&fold_of)
            .filter(|(_, &f)| (f == fold) == held)
            .map(|(a, _)| a.clone())
            .collect(),
        dropped: 0,
    };
    // (training, held-out) animals of each fold, copied once.
    let splits: Vec<(Dataset, Dataset)> =
        (0..k).map(|f| (split(f, false), split(f, true))).collect();
    let mut units: std::collections::BTreeMap<(usize, usize), Unit> = done
        .iter()
        .map(|u| ((u.model, u.fold), u.clone()))
        .collect();
    let total = (fits.len() * k) as u64;
    let mut keep = |units: &mut std::collections::BTreeMap<(usize, usize), Unit>,
                    new: Vec<Unit>|
     -> Result<()> {
        record(&new)?;
        units.extend(new.into_iter().map(|u| ((u.model, u.fold), u)));
        Ok(())
    };
    let paused = |units: &std::collections::BTreeMap<(usize, usize), Unit>| Error::Paused {
        done: units.len() as u64,
        total,
        what: "model-folds",
    };
    for (m, (model, cfg)) in fits.iter().enumerate() {
        if !matches!(model, CvModel::Dnn | CvModel::Rnn) {
            continue;
        }
        let mut by_size: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for fold in 0..k {
            by_size.entry(train_of(fold).len()).or_default().push(fold);
        }
        let seeds = fit::restart_seeds(cfg);
        for group in by_size.values() {
            if group.iter().all(|&f| units.contains_key(&(m, f))) {
                continue;
            }
            if crate::interrupt::requested() {
                return Err(paused(&units));
            }
            progress(model.name(), group);
            let jobs: Vec<fit::FitJob> = group
                .iter()
                .flat_map(|&fold| {
                    seeds.iter().map(move |&seed| fit::FitJob {
                        seed,
                        animals: train_of(fold),
                    })
                })
                .collect();
            let fitted = fit::fit_jobs(cfg, &jobs, &input.data, backend, |_| {});
            let mut fitted = match fitted {
                Err(Error::Stopped { .. }) => return Err(paused(&units)),
                other => other?.into_iter(),
            };
            let mut new = vec![];
            for &fold in group {
                // The fold's restarts, scored as `infer fit` scores them.
                let mine: Vec<fit::Fitted> = fitted.by_ref().take(seeds.len()).collect();
                let (train, test) = &splits[fold];
                let s = fit::score(cfg, mine, train, Some(test));
                new.push(Unit {
                    model: m,
                    fold,
                    train_ll: s.train_ll[s.best],
                    test_ll: s.test_ll[s.best].expect("held-out animals"),
                    params: Params::new(),
                });
            }
            keep(&mut units, new)?;
        }
    }
    let pair = |name: &str, v: [f64; 2]| {
        [("stim", v[0]), ("bias", v[1])].map(|(w, x)| (format!("{name}_{w}"), x))
    };
    for (fold, (train, test)) in splits.iter().enumerate() {
        for (m, (model, _)) in fits.iter().enumerate() {
            if units.contains_key(&(m, fold)) {
                continue;
            }
            if crate::interrupt::requested() {
                return Err(paused(&units));
            }
            progress(model.name(), &[fold]);
            let (train_ll, test_ll, params) = match model {
                CvModel::Dnn | CvModel::Rnn => unreachable!("fitted above"),
                CvModel::ReinforceBase => {
                    let w0 = super::w0::heldout_w0(Init::PerAnimal, train);
                    let b = baseline::fit(&train.animals, &w0, 200)?;
                    let test_w0 = b.heldout_w0(test);
                    (
                        -b.objective(&train.animals, &w0).0,
                        -b.objective(&test.animals, &test_w0).0,
                        pair("alpha", b.alpha)
                            .into_iter()
                            .chain(pair("beta", b.beta))
                            .collect(),
                    )
                }
                CvModel::Psytrack => {
                    let (p, train_ll) = psytrack::fit(&train.animals)?;
                    (
                        train_ll,
                        psytrack::log_likelihood(&p, &test.animals),
                        pair("sigma", p.sigma).into_iter().collect(),
                    )
                }
            };
            let unit = Unit {
                model: m,
                fold,
                train_ll,
                test_ll,
                params,
            };
            keep(&mut units, vec![unit])?;
        }
    }
    let mut rows = vec![];
    for fold in 0..k {
        let (train, test) = &splits[fold];
        let row = |model: &str, train_ll: Option<f64>, test_ll: f64, params: Params| Row {
            model: model.to_string(),
            fold,
            train_animals: train.animals.len(),
            test_animals: test.animals.len(),
            test_trials: test.trials(),
            train_ll,
            test_ll,
            params,
        };
        for (m, (model, _)) in fits.iter().enumerate() {
            let u = &units[&(m, fold)];
            rows.push(row(
                model.name(),
                Some(u.train_ll),
                u.test_ll,
                u.params.clone(),
            ));
        }
        if let Some(t) = &truth {
            let (mut sum, mut n) = (0.0, 0);
            for (a, (&f, &s)) in animals.iter().zip(fold_of.iter().zip(t)) {
                if f == fold {
                    sum += s;
                    n += a.trials.len();
                }
            }
            rows.push(row("truth", None, sum / n as f64, Params::new()));
        }
    }
    Ok(rows)
}

/// The models of the rows, in their order.
fn model_names(rows: &[Row]) -> Vec<&str> {
    let mut names: Vec<&str> = vec![];
    for r in rows {
        if !names.contains(&r.model.as_str()) {
            names.push(&r.model);
        }
    }
    names
}

/// A model's held-out LL on each fold, in fold order.
fn scores(rows: &[Row], model: &str) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.model == model)
        .map(|r| r.test_ll)
        .collect()
}

/// Mean and its standard error (sample variance over n − 1).
fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
}

/// Every pair of models (in the rows' order) over the folds.
pub fn compare(rows: &[Row]) -> Vec<Pair> {
    let names = model_names(rows);
    let mut out = vec![];
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let d: Vec<f64> = scores(rows, a)
                .iter()
                .zip(scores(rows, b))
                .map(|(x, y)| x - y)
                .collect();
            let (mean, se) = mean_se(&d);
            out.push(Pair {
                model_a: a.to_string(),
                model_b: b.to_string(),
                mean_diff: mean,
                se,
                folds: d.len(),
                a_better: d.iter().filter(|&&x| x > 0.0).count(),
            });
        }
    }
    out
}

/// Writes DIR/cv.csv, comparison.csv and cv.svg/png.
pub fn write(dir: &Path, rows: &[Row], pairs: &[Pair], fig: &Figure) -> Result<()> {
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut cv = format!(
        "model,fold,train_animals,test_animals,test_trials,train_ll,test_ll,{}\n",
        PARAMS.join(",")
    );
    for r in rows {
        let params: Vec<String> = PARAMS
            .iter()
            .map(|c| opt(r.params.get(*c).copied()))
            .collect();
        cv += &format!(
            "{},{},{},{},{},{},{},{}\n",
            r.model,
            r.fold,
            r.train_animals,
            r.test_animals,
            r.test_trials,
            opt(r.train_ll),
            r.test_ll,
            params.join(",")
        );
    }
    crate::files::write_atomic(&dir.join("cv.csv"), cv.as_bytes())?;
    let mut cmp = String::from("model_a,model_b,mean_diff,se,folds,a_better\n");
    for p in pairs {
        cmp += &format!(
            "{},{},{},{},{},{}\n",
            p.model_a, p.model_b, p.mean_diff, p.se, p.folds, p.a_better
        );
    }
    crate::files::write_atomic(&dir.join("comparison.csv"), cmp.as_bytes())?;
    draw(dir, rows, fig)?;
    Ok(())
}

/// Draws DIR/cv.svg and .png (and a PDF where `fig` asks) from the rows.
pub fn draw(dir: &Path, rows: &[Row], fig: &Figure) -> Result<Vec<std::path::PathBuf>> {
    write_picture(dir, "cv", &CvPicture { rows }, fig)
}

/// Held-out LL per model: each fold a point, joined across models by a grey line (the
/// comparison is paired: folds differ in difficulty more than models do), the mean a
/// bar with ± its standard error.
struct CvPicture<'a> {
    rows: &'a [Row],
}

impl Picture for CvPicture<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(plot_err)?;
        let names = model_names(self.rows);
        let (y0, y1) = data_range(self.rows.iter().map(|r| r.test_ll));
        let yt = Ticks::linear(y0, y1, Y_TICKS);
        let colour = |i: usize, name: &str| {
            // The truth, a ceiling rather than a model, in grey.
            if name == "truth" {
                MUTED
            } else {
                COLOURS[i % COLOURS.len()]
            }
        };
        let entries = vec![
            Entry::new(
                "a fold's held-out score (folds joined across models)",
                Mark::Dot(MUTED),
            ),
            Entry::new("mean over folds, ± its standard error", Mark::Line(MUTED)),
        ];
        let root = legend_below(root, &entries)?;
        let mut chart = chart(
            &root,
            "cross-validated held-out log-likelihood",
            -0.5..names.len() as f64 - 0.5,
            y0..y1,
        )?;
        axes(
            &mut chart,
            ("model", names.len() * 2 + 1, &|v| category(*v, &names)),
            ("held-out log-likelihood (nats per trial)", Y_TICKS, &|v| {
                yt.label(*v)
            }),
            Lines::Horizontal,
        )?;
        let fold_ll = |name: &str| scores(self.rows, name);
        let k = fold_ll(names[0]).len();
        let at = |i: usize, f: usize| i as f64 - 0.125 + 0.25 * f as f64 / k.max(1) as f64;
        for f in 0..k {
            let line: Vec<(f64, f64)> = names
                .iter()
                .enumerate()
                .filter_map(|(i, name)| fold_ll(name).get(f).map(|&v| (at(i, f), v)))
                .collect();
            chart
                .draw_series([PathElement::new(
                    line,
                    RGBColor(190, 190, 190).stroke_width(1),
                )])
                .map_err(plot_err)?;
        }
        for (i, name) in names.iter().enumerate() {
            let c = colour(i, name);
            let ll = fold_ll(name);
            let (mean, se) = mean_se(&ll);
            let x = i as f64;
            chart
                .draw_series(
                    ll.iter()
                        .enumerate()
                        .map(|(f, &v)| Circle::new((at(i, f), v), 4, c.filled())),
                )
                .map_err(plot_err)?;
            chart
                .draw_series([
                    PathElement::new(vec![(x - 0.3, mean), (x + 0.3, mean)], c.stroke_width(3)),
                    PathElement::new(vec![(x, mean - se), (x, mean + se)], c.stroke_width(2)),
                ])
                .map_err(plot_err)?;
        }
        Ok(())
    }
}
