//! `rulelab infer fit`: read the data, fit, and write what the fit found — metrics.json,
//! epochs.csv, rule_grid.csv, weights.csv and manifest.json — checking a simulation's
//! sidecars against the data before comparing with its truth.

use super::data::{read_csv, read_ibl, Dataset};
use super::fit::{self, Epoch, FitConfig, Fitted, History, Rule};
use super::model;
use super::net::K;
use super::simulate::{self, RuleAt, SimRecord};
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

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
fn write_history(
    out: &Path,
    after: [&(History, Rule, Option<RuleAt>); 2],
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
    )?;
    Ok(m)
}

/// The report's sentences: whether the rule was recovered (against a simulation's
/// truth), whether the baseline predicts better, and how far from the truth's
/// likelihood the fit is.
fn notes(m: &Metrics, weight_noise: f64) -> Vec<String> {
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

pub struct Input {
    pub path: PathBuf,
    pub data: Dataset,
    pub sim: Option<SimRecord>,
}

/// Reads a table (the project's CSV, or IBL with `ibl`) and its simulation record.
pub fn read(path: &Path, ibl: bool, min_trials: usize) -> Result<Input> {
    let data = if ibl {
        read_ibl(path)?
    } else {
        read_csv(path)?
    };
    data.require_trials(path, min_trials)?;
    let sim = if ibl {
        None
    } else {
        simulate::read_record(path)?
    };
    Ok(Input {
        path: path.to_path_buf(),
        data,
        sim,
    })
}

/// The true probabilities' mean log-likelihood per trial, from FILE.truth.csv, checked
/// row by row against the data (same animals, same number of trials).
fn truth_ll(input: &Input) -> Result<Option<f64>> {
    Ok(
        truth_ll_by_animal(input)?
            .map(|sums| sums.iter().sum::<f64>() / input.data.trials() as f64),
    )
}

/// Per animal, the summed log-likelihood of its choices under the true probabilities
/// (see [`truth_ll`]); None for data that was not simulated.
pub fn truth_ll_by_animal(input: &Input) -> Result<Option<Vec<f64>>> {
    if input.sim.is_none() {
        return Ok(None);
    }
    let file = simulate::sidecars(&input.path).0;
    let text = std::fs::read_to_string(&file).map_err(crate::files::io_error(&file))?;
    let mut lines = text.lines().skip(1);
    let mut sums = Vec::with_capacity(input.data.animals.len());
    for a in &input.data.animals {
        let mut sum = 0.0;
        for t in &a.trials {
            let line = lines.next().ok_or_else(|| {
                Error::invalid(file.display().to_string(), "has fewer rows than the data")
            })?;
            let f: Vec<&str> = line.split(',').collect();
            let p: f64 = f
                .get(4)
                .and_then(|v| v.parse().ok())
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    Error::invalid(file.display().to_string(), format!("bad row {line:?}"))
                })?;
            if f[0] != a.id || f[1].parse::<i64>().ok() != Some(t.trial) {
                return Err(Error::invalid(
                    file.display().to_string(),
                    format!(
                        "row {line:?} does not match the data's animal {} trial {}",
                        a.id, t.trial
                    ),
                ));
            }
            sum += if t.choice == 1 {
                p.ln()
            } else {
                (1.0 - p).ln()
            };
        }
        sums.push(sum);
    }
    if lines.next().is_some() {
        return Err(Error::invalid(
            file.display().to_string(),
            "has more rows than the data",
        ));
    }
    Ok(Some(sums))
}

/// The true weight paths of the first `n` animals, from FILE.truth.csv (already checked
/// against the data by `truth_ll`).
fn truth_paths(input: &Input, n: usize) -> Result<Option<Vec<Vec<[f64; K]>>>> {
    if input.sim.is_none() {
        return Ok(None);
    }
    let file = simulate::sidecars(&input.path).0;
    let text = std::fs::read_to_string(&file).map_err(crate::files::io_error(&file))?;
    let mut lines = text.lines().skip(1);
    let mut out = vec![];
    for a in input.data.animals.iter().take(n) {
        let path = (0..a.trials.len())
            .map(|_| {
                let f: Vec<f64> = lines
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .skip(2)
                    .take(2)
                    .map(|v| v.parse().unwrap_or(f64::NAN))
                    .collect();
                [
                    f.first().copied().unwrap_or(f64::NAN),
                    f.get(1).copied().unwrap_or(f64::NAN),
                ]
            })
            .collect();
        out.push(path);
    }
    Ok(Some(out))
}

/// Counter purpose of the bootstrap's draws of animals.
const BOOTSTRAP: u32 = 0x4253_0001;

/// φ of `n` refits (one restart each, the same initial φ) on the training animals drawn
/// with replacement, each draw a counter-RNG function of (seed, refit, slot). The refits
/// run side by side as jobs of one fit, each the fit it makes alone on its draw.
fn bootstrap_refits(
    cfg: &FitConfig,
    n: usize,
    data: &Dataset,
    backend: &crate::gpu::Backend,
) -> Result<Vec<Vec<f64>>> {
    if n == 0 {
        return Ok(vec![]);
    }
    let key = crate::rng::key_from_seed(cfg.seed);
    let m = data.animals.len();
    let jobs: Vec<fit::FitJob> = (0..n)
        .map(|b| fit::FitJob {
            seed: cfg.seed,
            animals: (0..m)
                .map(|i| {
                    let u: f64 = crate::rng::uniform_open(
                        crate::rng::philox4x32_10([b as u32, i as u32, 0, BOOTSTRAP], key)[0],
                    );
                    ((u * m as f64) as usize).min(m - 1)
                })
                .collect(),
        })
        .collect();
    let fitted = fit::fit_jobs(cfg, &jobs, data, backend, |_| {})?;
    Ok(fitted.into_iter().map(|f| f.phi).collect())
}

/// A fit checked and ready to run: `rulelab infer fit` (and the Python package) read
/// the data and settle the settings before opening a device.
pub struct FitPlan {
    pub cfg: FitConfig,
    pub train: Input,
    pub test: Option<Input>,
}

impl FitPlan {
    /// The settings of a fit of `model` (dnn or rnn) from `opts`, refusing the rnn's own
    /// options for the dnn, and the training (and held-out) tables read.
    pub fn new(
        model: &str,
        opts: &fit::FitOptions,
        train: &Path,
        test: Option<&Path>,
        ibl: bool,
    ) -> Result<FitPlan> {
        opts.refuse_rnn_only(model == "rnn", &format!("the {model} model has no GRU"))?;
        Ok(FitPlan {
            cfg: opts.config(model)?,
            train: read(train, ibl, 2)?,
            test: test.map(|t| read(t, ibl, 2)).transpose()?,
        })
    }

    /// Fits on `backend` and writes the report into `out` ([`fit_and_report`]).
    pub fn run(
        &self,
        bootstrap: usize,
        out: &Path,
        backend: &crate::gpu::Backend,
        progress: impl FnMut(&Epoch),
    ) -> Result<Metrics> {
        let test = self.test.as_ref();
        fit_and_report(
            &self.cfg,
            bootstrap,
            &self.train,
            test,
            out,
            backend,
            progress,
        )
    }
}

/// Fits the training data and writes the report into `out`.
pub fn fit_and_report(
    cfg: &FitConfig,
    bootstrap: usize,
    train: &Input,
    test: Option<&Input>,
    out: &Path,
    backend: &crate::gpu::Backend,
    progress: impl FnMut(&Epoch),
) -> Result<Metrics> {
    if out.join("metrics.json").exists() {
        return Err(Error::invalid(
            "--out",
            format!(
                "{} already holds a fit: choose another directory",
                out.display()
            ),
        ));
    }
    let truth_train = truth_ll(train)?;
    let truth_test = test.map(truth_ll).transpose()?.flatten();
    std::fs::create_dir_all(out).map_err(crate::files::io_error(out))?;
    let start = std::time::Instant::now();
    let scored = fit::fit_scored(cfg, &train.data, test.map(|t| &t.data), backend, progress)?;
    let seconds = start.elapsed().as_secs_f64();
    let (all, best) = (&scored.fits, scored.best);
    let mut restarts = String::from("restart,seed,train_ll,test_ll,best\n");
    for (r, (tr, te)) in scored.train_ll.iter().zip(&scored.test_ll).enumerate() {
        restarts += &format!(
            "{r},{},{tr},{},{}\n",
            cfg.seed.wrapping_add(r as u64),
            te.map(|v| v.to_string()).unwrap_or_default(),
            r == best
        );
    }
    crate::files::write_atomic(&out.join("restarts.csv"), restarts.as_bytes())?;
    let fitted = scored.best();
    let net = fitted.net;
    let (train_ll, test_ll) = (scored.train_ll[best], scored.test_ll[best]);
    // The rule on the spec's grid, beside the truth when it is known (and the same for
    // training and held-out data).
    // A history-dependent truth is taken at the training data's mean recent-reward
    // fraction (see RuleAt).
    let truth_after = |h: History| {
        train.sim.as_ref().map(|r| RuleAt {
            sim: r.simulation.clone(),
            recent: h.recent(&train.data),
        })
    };
    let truth = truth_after(History::Any);
    // An rnn's rules run from each animal's fitted w_0 (the bootstrap refits', fitted
    // to other draws of animals, from the logistic fits).
    let rule = |phi: &[f64], w0: &[[f64; K]], h: History| Rule::new(&net, phi, &train.data, w0, h);
    let rules: Vec<Rule> = all
        .iter()
        .map(|f| rule(&f.phi, &f.w0, History::Any))
        .collect::<Result<_>>()?;
    let start_w0 = fit::heldout_w0(cfg.init, &train.data);
    let boot: Vec<Rule> = bootstrap_refits(cfg, bootstrap, &train.data, backend)?
        .iter()
        .map(|phi| rule(phi, &start_w0, History::Any))
        .collect::<Result<_>>()?;
    let grid = fit::rule_grid(&rules[best], &rules, &boot, truth.as_ref(), 1001);
    let mean_width =
        |w: &dyn Fn(&fit::GridPoint) -> f64| grid.iter().map(w).sum::<f64>() / grid.len() as f64;
    let band_restarts = mean_width(&|g| g.upper - g.lower);
    let band_bootstrap =
        (!boot.is_empty()).then(|| mean_width(&|g| g.boot.map_or(0.0, |b| b.1 - b.0)));
    let rec = fit::recovery(&grid);
    write_grid(&out.join("rule_grid.csv"), &grid)?;
    write_weights(&out.join("weights.csv"), &net, fitted, &train.data)?;
    let mut epochs = String::from("epoch,train_ll,lr,seconds\n");
    for e in &fitted.epochs {
        epochs += &format!("{},{},{},{}\n", e.epoch, e.train_ll, e.lr, e.seconds);
    }
    crate::files::write_atomic(&out.join("epochs.csv"), epochs.as_bytes())?;
    let base_w0 = fit::heldout_w0(fit::Init::PerAnimal, &train.data);
    let baseline = super::baseline::fit(&train.data.animals, &base_w0, 200)?;
    let baseline_train_ll = -baseline.objective(&train.data.animals, &base_w0).0;
    let test_ll_true_w0 = match test {
        Some(t) => truth_paths(t, t.data.animals.len())?.map(|paths| {
            let w0: Vec<[f64; K]> = paths.iter().map(|p| p[0]).collect();
            fit::log_likelihood(&net, &fitted.phi, &t.data.animals, &w0, cfg.trunc)
        }),
        None => None,
    };
    let baseline_test_ll = test.map(|t| {
        let w0 = baseline.heldout_w0(&t.data);
        -baseline.objective(&t.data.animals, &w0).0
    });
    let trials = train.data.trials();
    let mut metrics = Metrics {
        train_ll,
        test_ll,
        truth_train_ll: truth_train,
        truth_test_ll: truth_test,
        test_ll_true_w0,
        dw_rmse: rec.map(|r| r.0),
        dw_true_rms: rec.map(|r| r.1),
        baseline,
        baseline_train_ll,
        baseline_test_ll,
        epochs: cfg.epochs,
        restarts: cfg.restarts,
        best_restart: best,
        band_restarts,
        bootstrap,
        band_bootstrap,
        dw_fitted_rms: (grid.iter().map(|g| g.fitted * g.fitted).sum::<f64>() / grid.len() as f64)
            .sqrt(),
        seconds,
        trials_per_second: (trials * cfg.epochs * cfg.restarts) as f64 / seconds,
        device: backend.describe(),
        train_animals: train.data.animals.len(),
        train_trials: trials,
        test_animals: test.map(|t| t.data.animals.len()),
        test_trials: test.map(|t| t.data.trials()),
        history: None,
        notes: vec![],
    };
    let noise = train
        .sim
        .as_ref()
        .map_or(0.0, |r| r.simulation.weight_noise);
    metrics.notes = notes(&metrics, noise);
    #[derive(Serialize)]
    struct Manifest<'a> {
        config: &'a FitConfig,
        train: String,
        train_fnv: String,
        test: Option<String>,
        test_fnv: Option<String>,
        parameters: usize,
    }
    let fnv = crate::files::fnv_hex;
    let manifest = Manifest {
        config: cfg,
        train: train.path.display().to_string(),
        train_fnv: fnv(&train.path)?,
        test: test.map(|t| t.path.display().to_string()),
        test_fnv: test.map(|t| fnv(&t.path)).transpose()?,
        parameters: net.len(),
    };
    crate::files::write_json(&out.join("manifest.json"), &manifest)?;
    let shown = train.data.animals.len().min(3);
    let truths = truth_paths(train, shown)?;
    let pic = super::plot::FitPicture {
        rule: super::plot::RulePanels {
            rule: &rules[best],
            band: if boot.is_empty() {
                rules.iter().collect()
            } else {
                boot.iter().collect()
            },
            truth: truth.as_ref(),
            history: None,
        },
        epochs: fitted
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, e.train_ll))
            .collect(),
        truth_ll: truth_train,
        animals: (0..shown)
            .map(|i| super::plot::Trajectory {
                animal: train.data.animals[i].id.clone(),
                inferred: model::weights(
                    &net,
                    &fitted.phi,
                    &train.data.animals[i].trials,
                    fitted.w0[i],
                ),
                truth: truths.as_ref().map(|t| t[i].clone()),
            })
            .collect(),
    };
    super::plot::write(out, &pic)?;
    if net.gru > 0 {
        // The rnn's rule after the last trials all rewarded and all unrewarded.
        let after = |h: History| -> Result<_> {
            Ok((h, rule(&fitted.phi, &fitted.w0, h)?, truth_after(h)))
        };
        let (a, b) = (after(History::Rewarded)?, after(History::Unrewarded)?);
        metrics.history = Some(write_history(out, [&a, &b])?);
    }
    // metrics.json last: its presence says the fit is complete.
    crate::files::write_json(&out.join("metrics.json"), &metrics)?;
    Ok(metrics)
}

fn write_grid(path: &Path, grid: &[fit::GridPoint]) -> Result<()> {
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

fn write_weights(
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
