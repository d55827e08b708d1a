//! `rulelab infer fit` as the library runs it: a fit checked and ready ([`FitPlan`]: the
//! settings settled and the data read before a device opens), then fitted, scored,
//! compared with the truth and reported, with the bootstrap's refits for a band on the
//! rule.

use super::data::Dataset;
use super::fit::{self, Epoch, Fitted};
use super::input::{read, truth_ll, truth_paths, Input};
use super::model;
use super::net::K;
use super::options::FitConfig;
use super::report::{
    notes, write_epochs, write_grid, write_history, write_restarts, write_weights, FitManifest,
    Metrics, FIT_FILES,
};
use super::rule::{History, Rule};
use super::simulate::RuleAt;
use super::{options, rule, w0};
use crate::error::{Error, Result};
use crate::outdir::Claim;
use crate::plot::Figure;
use std::path::Path;

/// The most bootstrap draws a fit takes: each is a whole refit, and a band from 10^3
/// draws is already as smooth as the rule grid shows.
const MAX_BOOTSTRAP: usize = 1000;

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
    /// How the fit's pictures are written (default: SVG and PNG at 300 dpi).
    pub figure: Figure,
}

impl FitPlan {
    /// The settings of a fit of `model` (dnn or rnn) from `opts`, refusing the rnn's own
    /// options for the dnn, and the training (and held-out) tables read.
    pub fn new(
        model: &str,
        opts: &options::FitOptions,
        train: &Path,
        test: Option<&Path>,
        ibl: bool,
    ) -> Result<FitPlan> {
        opts.refuse_rnn_only(model == "rnn", &format!("the {model} model has no GRU"))?;
        if let Some(t) = test {
            // A held-out score on the training animals would be the training score.
            let same_file = std::fs::canonicalize(t).ok() == std::fs::canonicalize(train).ok();
            let hash = crate::files::fnv_hex;
            if same_file || hash(t)? == hash(train)? {
                return Err(Error::invalid(
                    "--test",
                    format!(
                        "{} holds the training animals: a held-out score needs other animals",
                        t.display()
                    ),
                ));
            }
        }
        Ok(FitPlan {
            cfg: opts.config(model)?,
            train: read(train, ibl, 2)?,
            test: test.map(|t| read(t, ibl, 2)).transpose()?,
            figure: Figure::default(),
        })
    }

    /// Refuses, before any work, a bootstrap past its bound and an `out` the fit may
    /// not write (another run, files it would not write); [`FitPlan::run`] claims it.
    pub fn check(&self, bootstrap: usize, out: &Path) -> Result<()> {
        check_bootstrap(bootstrap, self.cfg.epochs)?;
        Claim::check(out, FIT_KIND, &inputs(&self.train, self.test.as_ref()))
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
            (backend, &self.figure),
            progress,
        )
    }
}

fn check_bootstrap(bootstrap: usize, epochs: usize) -> Result<()> {
    if bootstrap > MAX_BOOTSTRAP {
        return Err(Error::invalid(
            "--bootstrap",
            format!(
                "{bootstrap} must be at most {MAX_BOOTSTRAP}: each draw is a whole refit \
                 ({epochs} epochs)"
            ),
        ));
    }
    Ok(())
}

/// What a fit's manifest calls it.
const FIT_KIND: &str = "fit";

/// A fit's data files, which may sit in its directory.
fn inputs<'a>(train: &'a Input, test: Option<&'a Input>) -> Vec<&'a Path> {
    std::iter::once(&train.path)
        .chain(test.map(|t| &t.path))
        .map(|p| p.as_path())
        .collect()
}

/// Fits the training data and writes the report into `out`.
pub fn fit_and_report(
    cfg: &FitConfig,
    bootstrap: usize,
    train: &Input,
    test: Option<&Input>,
    out: &Path,
    (backend, figure): (&crate::gpu::Backend, &Figure),
    progress: impl FnMut(&Epoch),
) -> Result<Metrics> {
    check_bootstrap(bootstrap, cfg.epochs)?;
    let truth_train = truth_ll(train)?;
    let truth_test = test.map(truth_ll).transpose()?.flatten();
    let claim = Claim::new(out, FIT_KIND, FIT_FILES, &inputs(train, test))?;
    let start = std::time::Instant::now();
    let scored = fit::fit_scored(cfg, &train.data, test.map(|t| &t.data), backend, progress)?;
    let seconds = start.elapsed().as_secs_f64();
    let (all, best) = (&scored.fits, scored.best);
    write_restarts(&out.join("restarts.csv"), cfg.seed, &scored)?;
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
    // Ctrl-C between the phases after the fit, too (each long one checks its own).
    let phase = |at: &str| match crate::interrupt::requested() {
        true => Err(Error::Stopped { at: at.into() }),
        false => Ok(()),
    };
    phase("the rule's report")?;
    let start_w0 = w0::heldout_w0(cfg.init, &train.data);
    let boot: Vec<Rule> = bootstrap_refits(cfg, bootstrap, &train.data, backend)
        .map_err(|e| match e {
            Error::Stopped { at } => Error::Stopped {
                at: format!("the bootstrap's refits ({at})"),
            },
            e => e,
        })?
        .iter()
        .map(|phi| rule(phi, &start_w0, History::Any))
        .collect::<Result<_>>()?;
    let grid = rule::rule_grid(&rules[best], &rules, &boot, truth.as_ref(), 1001);
    let mean_width =
        |w: &dyn Fn(&rule::GridPoint) -> f64| grid.iter().map(w).sum::<f64>() / grid.len() as f64;
    let band_restarts = mean_width(&|g| g.upper - g.lower);
    let band_bootstrap =
        (!boot.is_empty()).then(|| mean_width(&|g| g.boot.map_or(0.0, |b| b.1 - b.0)));
    let rec = rule::recovery(&grid);
    write_grid(&out.join("rule_grid.csv"), &grid)?;
    write_weights(&out.join("weights.csv"), &net, fitted, &train.data)?;
    write_epochs(&out.join("epochs.csv"), &fitted.epochs)?;
    phase("the reinforce_base baseline")?;
    let base_w0 = w0::heldout_w0(options::Init::PerAnimal, &train.data);
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
    metrics.notes.extend(claim.note.clone());
    phase("drawing the fit")?;
    let band: Vec<&Rule> = if boot.is_empty() {
        rules.iter().collect()
    } else {
        boot.iter().collect()
    };
    draw(
        out,
        train,
        fitted,
        (&rules[best], band, truth.as_ref()),
        &metrics,
        figure,
    )?;
    if net.gru > 0 {
        // The rnn's rule after the last trials all rewarded and all unrewarded.
        let after = |h: History| -> Result<_> {
            Ok((h, rule(&fitted.phi, &fitted.w0, h)?, truth_after(h)))
        };
        let (a, b) = (after(History::Rewarded)?, after(History::Unrewarded)?);
        metrics.history = Some(write_history(out, [&a, &b], figure)?);
    }
    crate::files::write_json(&out.join("metrics.json"), &metrics)?;
    // manifest.json last: it commits the directory as a finished fit.
    claim.commit(&FitManifest::new(cfg, train, test, net.len())?)?;
    Ok(metrics)
}

/// fit.png and fit.svg: the rule (with its band) beside the truth, the training curve,
/// and the first animals' weights, inferred and true.
fn draw(
    out: &Path,
    train: &Input,
    fitted: &Fitted,
    (rule, band, truth): (&Rule, Vec<&Rule>, Option<&RuleAt>),
    metrics: &Metrics,
    figure: &Figure,
) -> Result<()> {
    let net = fitted.net;
    let shown = train.data.animals.len().min(3);
    let truths = truth_paths(train, shown)?;
    let pic = super::plot::FitPicture {
        rule: super::plot::RulePanels {
            rule,
            band,
            truth,
            history: None,
        },
        epochs: fitted
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, e.train_ll))
            .collect(),
        test_ll: metrics.test_ll,
        baseline: (metrics.baseline_train_ll, metrics.baseline_test_ll),
        truth: (metrics.truth_train_ll, metrics.truth_test_ll),
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
    super::plot::write(out, &pic, figure)?;
    Ok(())
}
