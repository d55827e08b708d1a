//! Fits as a study of the runner (`rulelab infer sweep CONFIG.toml`, spec §4): each
//! point of the grid is one fit of the dnn or the rnn model to the same animals, scored
//! on the same held-out animals; the runner shards, checkpoints (a chunk is a setting's
//! seeds, fitted side by side, when seed is the last axis; else one fit) and resumes as
//! for any sweep. results.csv holds a row per fit, epochs.csv each fit's training
//! curve. The config's sections and axes are read in `config.rs`.

use super::config::{Animals, FitParams, FitStudy, Heldout};
use super::fit;
use super::net::{Net, K};
use super::options::{FitConfig, DECAY_EVERY};
use super::rule::Rule;
use crate::error::{Error, Result};
use crate::gpu::Backend;
use crate::sweep::prune::PrunePlan;
use crate::sweep::{Compute, Grid, Present};
use std::path::Path;
use std::sync::Arc;

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
            decay_every: DECAY_EVERY,
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

    fn summary(
        cfg: &crate::sweep::StudyConfig<Self>,
        dir: &std::path::Path,
        fig: &crate::plot::Figure,
    ) -> Result<Vec<std::path::PathBuf>> {
        crate::sweep::summary::write_summary(cfg, dir, fig)
    }

    fn series(&self) -> Option<(&'static str, &'static str)> {
        Some(("epoch", "train_ll"))
    }

    fn series_columns(&self) -> Option<Vec<String>> {
        Some(["epoch", "train_ll", "lr"].map(String::from).to_vec())
    }

    /// Each epoch's mean log-likelihood per training trial (as a fit's epochs.csv
    /// names it) and lr.
    fn write_series(&self, learner: u64, o: &FitOutcome, out: &mut String) {
        use std::fmt::Write;
        for e in &o.epochs {
            let _ = writeln!(out, "{learner},{},{},{}", e.epoch, e.train_ll, e.lr);
        }
    }

    fn quantity(&self, column: &str) -> String {
        match column {
            "test_nll" => "held-out NLL, nats per trial".into(),
            "train_ll" => "training LL, nats per trial".into(),
            "epoch" => "epoch".into(),
            c => c.replace('_', " "),
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
