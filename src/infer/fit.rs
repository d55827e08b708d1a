//! Fitting the dnn model (spec §2, §4): Adam from the optimiser family on φ (the MLP and
//! c) and on each animal's w_0, minibatches of animals, truncated BPTT, step decay; then
//! the held-out log-likelihood, and against a simulation's truth the rule's recovery.

use super::data::{Animal, Dataset, Trial};
use super::model::{self, Window};
use super::net::{Net, K};
use super::simulate::{mean_recent, stimuli, RuleAt, HISTORY};
use crate::error::{Error, Result};
use crate::optim::{update_group, Hyper, Member};
use crate::real::Real;
use crate::rng::{key_from_seed, philox4x32_10, uniform_open};
use rayon::prelude::*;
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
            decay_every: 5,
            seed: self.seed,
            init,
            restarts: self.restarts,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Refuses the rnn's own settings (--gru, --skip) when `has_rnn` is false: they
    /// would change nothing. `why` says what names no rnn.
    pub fn refuse_rnn_only(&self, has_rnn: bool, why: &str) -> Result<()> {
        for (flag, set) in [("--gru", self.gru.is_some()), ("--skip", self.skip)] {
            if set && !has_rnn {
                return Err(Error::invalid(flag, format!("has no effect: {why}")));
            }
        }
        Ok(())
    }
}

/// One epoch's line of epochs.csv.
#[derive(Clone, Debug, Serialize)]
pub struct Epoch {
    pub epoch: usize,
    /// Mean log-likelihood per training trial during the epoch (nats).
    pub train_ll: f64,
    pub lr: f64,
    pub seconds: f64,
}

pub struct Fitted {
    pub net: Net,
    pub phi: Vec<f64>,
    /// w_0 of each training animal.
    pub w0: Vec<[f64; K]>,
    pub epochs: Vec<Epoch>,
}

/// The logistic regression of choices on x = (s, 1) over the first `n` trials, by
/// Newton's method with a small ridge (so a perfect separation stays finite).
pub fn logistic_fit(trials: &[Trial], n: usize) -> [f64; K] {
    let mut w = [0.0; K];
    let ridge = 1e-2;
    for _ in 0..25 {
        let (mut g, mut h) = ([ridge * w[0], ridge * w[1]], [[ridge, 0.0], [0.0, ridge]]);
        for t in trials.iter().take(n) {
            let x = [t.stimulus, 1.0];
            let p = 1.0 / (1.0 + (-(w[0] * x[0] + w[1])).exp());
            let e = p - t.choice as f64;
            let v = p * (1.0 - p);
            for i in 0..K {
                g[i] += e * x[i];
                for j in 0..K {
                    h[i][j] += v * x[i] * x[j];
                }
            }
        }
        let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
        let step = [
            (h[1][1] * g[0] - h[0][1] * g[1]) / det,
            (h[0][0] * g[1] - h[1][0] * g[0]) / det,
        ];
        w = [w[0] - step[0], w[1] - step[1]];
        if step[0].abs() + step[1].abs() < 1e-10 {
            break;
        }
    }
    w
}

/// PyTorch's default initialisation of a linear layer, U(−1/√in, 1/√in) for W and b,
/// and of a GRU, drawn from the counter RNG; c = 10⁻³ (spec §2).
pub fn initial_phi(net: &Net, seed: u64) -> Vec<f64> {
    let key = key_from_seed(seed);
    let mut phi = vec![0.0; net.len()];
    for l in 0..=net.layers {
        let (n_in, n_out) = net.dims(l);
        let bound = 1.0 / (n_in as f64).sqrt();
        let o = net.offset(l);
        for (i, p) in phi[o..o + n_in * n_out + n_out].iter_mut().enumerate() {
            let w = philox4x32_10([i as u32, l as u32, 0, 21], key)[0];
            *p = bound * (2.0 * uniform_open::<f64>(w) - 1.0);
        }
    }
    // The GRU's weights and biases, U(−1/√G, 1/√G) as PyTorch's.
    let g = super::net::gru_len(net.gru);
    for (i, p) in phi[..g].iter_mut().enumerate() {
        let w = philox4x32_10([i as u32, 0, 1, 21], key)[0];
        *p = (2.0 * uniform_open::<f64>(w) - 1.0) / (net.gru as f64).sqrt();
    }
    let c = net.c_offset();
    phi[c..c + K].fill(1e-3);
    phi
}

fn initial_w0(init: Init, a: &Animal) -> [f64; K] {
    match init {
        Init::Zeros => [0.0; K],
        Init::Given(w) => w,
        Init::PerAnimal => logistic_fit(&a.trials, 100),
    }
}

/// The Adam hyper-parameters of every fit (spec §2: PyTorch's defaults) at rate `lr`.
fn adam_hyper(lr: f64) -> Hyper {
    Hyper {
        lr,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        ..Hyper::default()
    }
}

/// Adam on a flat vector with its own step count (the optimiser family's update).
pub(crate) struct Adam<F> {
    m: Vec<F>,
    v: Vec<F>,
    t: u64,
}

impl<F: Real> Adam<F> {
    pub(crate) fn new(n: usize) -> Self {
        Adam {
            m: vec![F::zero(); n],
            v: vec![F::zero(); n],
            t: 0,
        }
    }

    pub(crate) fn step(&mut self, lr: f64, theta: &mut [F], g: &[F]) {
        self.t += 1;
        let c = Member::Adam.consts(&adam_hyper(lr), self.t).cast::<F>();
        update_group(
            Member::Adam,
            &c,
            F::one(),
            theta,
            g,
            &mut [&mut self.m, &mut self.v],
        );
    }
}

/// The mean log-likelihood per trial of `animals` under φ from their w_0 (nats). The
/// model runs in f32 on the CPU device's path, as the fit trains it (in f64 it would be
/// several times slower and gain no reported digit); the animals' sums add in f64.
pub fn log_likelihood(
    net: &Net,
    phi: &[f64],
    animals: &[Animal],
    w0: &[[f64; K]],
    trunc: usize,
) -> f64 {
    let trials: usize = animals.iter().map(|a| a.trials.len()).sum();
    let phi: Vec<f32> = phi.iter().map(|&v| v as f32).collect();
    let total: f64 = animals
        .par_iter()
        .zip(w0)
        .map(|(a, w)| {
            let mut win = Window::new(net, trunc);
            let w = [w[0] as f32, w[1] as f32];
            model::animal(net, &phi, &a.trials, w, trunc, 1.0, None, &mut win).0 as f64
        })
        .sum();
    -total / trials as f64
}

/// A fit's restarts with their mean log-likelihoods per trial: on the training animals
/// from their fitted w_0, and on held-out animals from w_0 refined under each restart
/// to their first trials ([`heldout_w0_under`]). The fit is the restart with the best
/// training likelihood.
pub struct Scored {
    pub fits: Vec<Fitted>,
    pub train_ll: Vec<f64>,
    pub test_ll: Vec<Option<f64>>,
    pub best: usize,
}

impl Scored {
    pub fn best(&self) -> &Fitted {
        &self.fits[self.best]
    }
}

/// [`fit`], then each restart scored on the training and the held-out animals.
pub fn fit_scored(
    cfg: &FitConfig,
    train: &Dataset,
    test: Option<&Dataset>,
    backend: &crate::gpu::Backend,
    progress: impl FnMut(&Epoch),
) -> Result<Scored> {
    fit_scored_seeds(cfg, &restart_seeds(cfg), train, test, backend, progress)
}

/// [`fit_seeds`], then each seed's fit scored as in [`fit_scored`].
pub fn fit_scored_seeds(
    cfg: &FitConfig,
    seeds: &[u64],
    train: &Dataset,
    test: Option<&Dataset>,
    backend: &crate::gpu::Backend,
    progress: impl FnMut(&Epoch),
) -> Result<Scored> {
    let fits = fit_seeds(cfg, seeds, train, backend, progress)?;
    Ok(score(cfg, fits, train, test))
}

/// Scores restarts fitted to `train` (see [`Scored`]).
pub fn score(
    cfg: &FitConfig,
    fits: Vec<Fitted>,
    train: &Dataset,
    test: Option<&Dataset>,
) -> Scored {
    let train_ll: Vec<f64> = fits
        .iter()
        .map(|f| log_likelihood(&f.net, &f.phi, &train.animals, &f.w0, cfg.trunc))
        .collect();
    let test_ll = fits
        .iter()
        .map(|f| {
            test.map(|t| {
                let w0 = heldout_w0_under(&f.net, &f.phi, cfg.init, t);
                log_likelihood(&f.net, &f.phi, &t.animals, &w0, cfg.trunc)
            })
        })
        .collect();
    let best = (0..fits.len())
        .max_by(|&a, &b| train_ll[a].total_cmp(&train_ll[b]))
        .expect("a restart");
    Scored {
        fits,
        train_ll,
        test_ll,
        best,
    }
}

/// Where a fit's parameters live while it runs: on the host for the CPU device, in
/// buffers on a GPU.
enum Engine<'g> {
    Cpu {
        adam: Adam<f32>,
        grad: Vec<f32>,
    },
    Gpu {
        gpu: &'g crate::gpu::Gpu,
        dev: Box<super::gpu::DnnOnDevice<'g>>,
        opt: Box<crate::optim::gpu::GpuOptimizer>,
    },
}

/// Fits φ and the training animals' w_0 on the backend — the CPU device (f32, animals
/// and restarts in parallel) or the GPU kernels (a batch's animals of every restart side
/// by side in the same dispatches, the gradient reduced and Adam stepped on the device)
/// — `cfg.restarts` times, restart r with seed `cfg.seed + r`, calling `progress` after
/// each epoch with the best restart's figures. Returns every restart: restart r is
/// exactly the fit that seed makes alone (see [`fit_seeds`]).
///
/// Both devices keep the parameters in one arena: each restart's φ, then each
/// restart's w_0 of every animal, stepped by one Adam as `torch.optim.Adam` steps a
/// model's parameters: the w_0 of animals outside a batch get a zero gradient and
/// still move with their momentum. With `Init::Zeros` or `Init::Given` the w_0 are
/// left out of it.
pub fn fit(
    cfg: &FitConfig,
    train: &Dataset,
    backend: &crate::gpu::Backend,
    progress: impl FnMut(&Epoch),
) -> Result<Vec<Fitted>> {
    fit_seeds(cfg, &restart_seeds(cfg), train, backend, progress)
}

/// The seeds of a fit's restarts: seed, seed + 1, …
pub fn restart_seeds(cfg: &FitConfig) -> Vec<u64> {
    (0..cfg.restarts)
        .map(|r| cfg.seed.wrapping_add(r as u64))
        .collect()
}

/// Fits from each of `seeds` side by side (in place of `cfg.seed` and `cfg.restarts`):
/// each restart draws its φ and shuffles the animals into its batches from its own
/// seed, and weighs its batch's NLL by its own trial count, so that restart r is the
/// fit `seeds[r]` makes alone, to the last bit. A sweep over seeds runs its fits this
/// way, in the same dispatches.
pub fn fit_seeds(
    cfg: &FitConfig,
    seeds: &[u64],
    train: &Dataset,
    backend: &crate::gpu::Backend,
    progress: impl FnMut(&Epoch),
) -> Result<Vec<Fitted>> {
    let all: Vec<usize> = (0..train.animals.len()).collect();
    let jobs: Vec<FitJob> = seeds
        .iter()
        .map(|&seed| FitJob {
            seed,
            animals: all.clone(),
        })
        .collect();
    fit_jobs(cfg, &jobs, train, backend, progress)
}

/// One of several fits run side by side: its seed and the animals it trains on
/// (indices into the data set).
#[derive(Clone, Debug)]
pub struct FitJob {
    pub seed: u64,
    pub animals: Vec<usize>,
}

/// Fits side by side (the restarts of [`fit`], generalised): job j trains on its own
/// animals (an animal may come twice, as in a bootstrap draw) from its own seed and is
/// the fit that seed makes alone on a data set of just those animals, in their order, to
/// the last bit. The jobs must hold as many animals each (their batches then line up:
/// every job steps at every batch). Cross-validation runs a model's folds this way, and
/// the bootstrap its refits.
pub fn fit_jobs(
    cfg: &FitConfig,
    jobs: &[FitJob],
    train: &Dataset,
    backend: &crate::gpu::Backend,
    mut progress: impl FnMut(&Epoch),
) -> Result<Vec<Fitted>> {
    cfg.validate()?;
    let Some(first) = jobs.first() else {
        return Err(Error::invalid("seeds", "a fit needs at least one seed"));
    };
    // Animals per job, the same for all.
    let n_job = first.animals.len();
    if n_job == 0
        || jobs.iter().any(|j| {
            j.animals.len() != n_job || j.animals.iter().any(|&i| i >= train.animals.len())
        })
    {
        return Err(Error::invalid(
            "jobs",
            "fits side by side need as many animals each, all in the data set",
        ));
    }
    let net = cfg.net();
    let np = net.len();
    let r_n = jobs.len();
    // Restart r starts from φ drawn with its seed; every restart from the same w_0.
    let mut arena: Vec<f32> = jobs
        .iter()
        .flat_map(|j| initial_phi(&net, j.seed))
        .map(|x| x as f32)
        .collect();
    // Each job's w_0, one per place in its list of animals.
    for job in jobs {
        arena.extend(
            job.animals
                .iter()
                .flat_map(|&i| initial_w0(cfg.init, &train.animals[i]))
                .map(|x| x as f32),
        );
    }
    let w0_base = r_n * np;
    let w0_at = |r: usize, j: usize| w0_base + (r * n_job + j) * K;
    let trained = match cfg.init {
        Init::Zeros | Init::Given(_) => w0_base,
        Init::PerAnimal => arena.len(),
    };
    let mut engine = match backend {
        crate::gpu::Backend::Cpu => Engine::Cpu {
            adam: Adam::new(trained),
            grad: vec![0.0; arena.len()],
        },
        crate::gpu::Backend::Gpu(gpu) => {
            let animals: Vec<&Animal> = train.animals.iter().collect();
            let max_slots = r_n * cfg.batch.min(n_job);
            let dev = super::gpu::DnnOnDevice::new(
                gpu, net, &animals, &arena, r_n, n_job, max_slots, cfg.trunc,
            )?;
            let mut config =
                crate::optim::Config::single(Member::Adam, adam_hyper(cfg.lr), trained);
            // A non-finite gradient skips the step and is counted; the epoch then fails.
            config.skip_nonfinite = true;
            let opt = crate::optim::gpu::GpuOptimizer::new(
                gpu,
                config,
                &dev.params.buffer,
                &dev.grads.buffer,
                trained,
            )?;
            Engine::Gpu {
                gpu,
                dev: Box::new(dev),
                opt: Box::new(opt),
            }
        }
    };
    let keys: Vec<[u32; 2]> = jobs
        .iter()
        .map(|j| key_from_seed(j.seed ^ 0x5eed))
        .collect();
    let mut epochs: Vec<Vec<Epoch>> = vec![Vec::with_capacity(cfg.epochs); r_n];
    let non_finite = |epoch: usize| {
        Error::invalid(
            "fit",
            format!("the gradient became non-finite in epoch {epoch}: lower --lr"),
        )
    };
    let start = std::time::Instant::now();
    for epoch in 0..cfg.epochs {
        let lr = cfg.lr * cfg.decay.powi((epoch / cfg.decay_every) as i32);
        // Each job's seeded shuffle of its places (sorted by a Philox key per epoch and
        // place, as in a data set of just its animals): (place, animal).
        let orders: Vec<Vec<(usize, usize)>> = jobs
            .iter()
            .zip(&keys)
            .map(|(job, &key)| {
                let mut order: Vec<usize> = (0..n_job).collect();
                order.sort_by_key(|&j| philox4x32_10([j as u32, epoch as u32, 0, 22], key)[0]);
                order.iter().map(|&j| (j, job.animals[j])).collect()
            })
            .collect();
        // Σ NLL per restart over the epoch.
        let mut total = vec![0.0; r_n];
        let mut trials = vec![0usize; r_n];
        if let Engine::Gpu { dev, opt, .. } = &mut engine {
            dev.clear_losses()?;
            opt.set_hyper(0, adam_hyper(lr))?;
        }
        let stopped = || Error::Stopped {
            at: format!("epoch {} of {}", epoch + 1, cfg.epochs),
        };
        for b in 0..n_job.div_ceil(cfg.batch) {
            // Ctrl-C between batches (the GPU's windows check it too).
            if crate::interrupt::requested() {
                return Err(stopped());
            }
            let range = b * cfg.batch..((b + 1) * cfg.batch).min(n_job);
            let per_restart = range.len();
            // Per restart its batch's trials: the mean's weight is 1 / count.
            let counts: Vec<usize> = orders
                .iter()
                .map(|o| {
                    o[range.clone()]
                        .iter()
                        .map(|&(_, i)| train.animals[i].trials.len())
                        .sum()
                })
                .collect();
            for (t, c) in trials.iter_mut().zip(&counts) {
                *t += c;
            }
            // (restart, place, animal, weight).
            let slots: Vec<(usize, usize, usize, f32)> = orders
                .iter()
                .zip(&counts)
                .enumerate()
                .flat_map(|(r, (o, &c))| {
                    o[range.clone()]
                        .iter()
                        .map(move |&(j, i)| (r, j, i, 1.0 / c as f32))
                })
                .collect();
            match &mut engine {
                Engine::Cpu { adam, grad } => {
                    let params = &arena;
                    let parts: Vec<(Vec<f32>, f32, [f32; K])> = slots
                        .par_iter()
                        .map(|&(r, j, i, weight)| {
                            let mut g = vec![0.0f32; np];
                            let mut win = Window::new(&net, cfg.trunc);
                            let at = w0_at(r, j);
                            let (loss, gw) = model::animal(
                                &net,
                                &params[r * np..(r + 1) * np],
                                &train.animals[i].trials,
                                [params[at], params[at + 1]],
                                cfg.trunc,
                                weight,
                                Some(&mut g),
                                &mut win,
                            );
                            (g, loss, gw)
                        })
                        .collect();
                    grad.fill(0.0);
                    for (&(r, j, _, _), (g, loss, gw)) in slots.iter().zip(&parts) {
                        for (a, b) in grad[r * np..(r + 1) * np].iter_mut().zip(g) {
                            *a += b;
                        }
                        grad[w0_at(r, j)..w0_at(r, j) + K].copy_from_slice(gw);
                        total[r] += *loss as f64 * counts[r] as f64;
                    }
                    if grad[..trained].iter().any(|g| !g.is_finite()) {
                        return Err(non_finite(epoch + 1));
                    }
                    adam.step(lr, &mut arena[..trained], &grad[..trained]);
                }
                Engine::Gpu { gpu, dev, opt } => {
                    let slots: Vec<super::gpu::Slot> = slots
                        .iter()
                        .map(|&(restart, place, animal, weight)| super::gpu::Slot {
                            restart,
                            animal,
                            place,
                            weight,
                        })
                        .collect();
                    dev.run_batch(&slots, per_restart).map_err(|e| match e {
                        Error::Interrupted { .. } => stopped(),
                        e => e,
                    })?;
                    opt.step(gpu)?;
                }
            }
        }
        if let Engine::Gpu { gpu, dev, opt } = &engine {
            // The epoch's one read-back: its losses (and whether a step was skipped).
            for (t, l) in total.iter_mut().zip(dev.losses()?) {
                *t = l as f64;
            }
            if opt.skipped(gpu)? > 0 || total.iter().any(|t| !t.is_finite()) {
                return Err(non_finite(epoch + 1));
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        for (r, e) in epochs.iter_mut().enumerate() {
            e.push(Epoch {
                epoch: epoch + 1,
                train_ll: -total[r] / trials[r] as f64,
                lr,
                seconds,
            });
        }
        let best = (0..r_n)
            .max_by(|&a, &b| total[b].total_cmp(&total[a]))
            .expect("a restart");
        progress(&epochs[best][epoch]);
    }
    if let Engine::Gpu { gpu, dev, .. } = &engine {
        arena = gpu.download(&dev.params)?;
    }
    Ok((0..r_n)
        .map(|r| Fitted {
            net,
            phi: arena[r * np..(r + 1) * np]
                .iter()
                .map(|&x| x as f64)
                .collect(),
            w0: (0..n_job)
                .map(|j| [arena[w0_at(r, j)] as f64, arena[w0_at(r, j) + 1] as f64])
                .collect(),
            epochs: std::mem::take(&mut epochs[r]),
        })
        .collect())
}

/// The untrained w_0 of each animal: its logistic fit (`Init::PerAnimal`), zeros or
/// the given one. Held-out animals' start here ([`heldout_w0_under`] refines them).
pub fn heldout_w0(init: Init, data: &Dataset) -> Vec<[f64; K]> {
    data.animals.iter().map(|a| initial_w0(init, a)).collect()
}

/// The first trials of an animal its held-out w_0 is fitted to.
pub const W0_TRIALS: usize = 100;

/// The w_0 that minimises `nll` (a model's summed NLL of an animal's first trials as a
/// function of w_0) from `start`: Newton's method on central differences (the function
/// is smooth in two variables, whatever the model), each step halved until it lowers
/// the NLL.
pub fn refine_w0(nll: impl Fn([f64; K]) -> f64, start: [f64; K]) -> [f64; K] {
    let h = 1e-4;
    let mut w = start;
    let mut f = nll(w);
    for _ in 0..30 {
        let at = |d0: f64, d1: f64| nll([w[0] + d0, w[1] + d1]);
        let (p0, m0, p1, m1) = (at(h, 0.0), at(-h, 0.0), at(0.0, h), at(0.0, -h));
        let g = [(p0 - m0) / (2.0 * h), (p1 - m1) / (2.0 * h)];
        let h00 = (p0 - 2.0 * f + m0) / (h * h);
        let h11 = (p1 - 2.0 * f + m1) / (h * h);
        let h01 = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4.0 * h * h);
        let det = h00 * h11 - h01 * h01;
        let mut step = if h00 > 0.0 && det > 0.0 {
            [
                -(h11 * g[0] - h01 * g[1]) / det,
                -(h00 * g[1] - h01 * g[0]) / det,
            ]
        } else {
            // Not convex here: a short step down the gradient.
            let n = (g[0] * g[0] + g[1] * g[1]).sqrt().max(1e-12);
            [-0.5 * g[0] / n, -0.5 * g[1] / n]
        };
        let mut moved = false;
        for _ in 0..20 {
            let next = [w[0] + step[0], w[1] + step[1]];
            let fn_ = nll(next);
            if fn_ < f {
                (w, f, moved) = (next, fn_, true);
                break;
            }
            step = [0.5 * step[0], 0.5 * step[1]];
        }
        if !moved || step[0].abs() + step[1].abs() < 1e-6 {
            break;
        }
    }
    w
}

/// w_0 for held-out animals under a fitted network: with `Init::PerAnimal`, each
/// animal's logistic fit refined to the w_0 under which the network best predicts its
/// first [`W0_TRIALS`] choices (as training fitted the training animals' w_0 under
/// it); other inits as they are.
pub fn heldout_w0_under(net: &Net, phi: &[f64], init: Init, data: &Dataset) -> Vec<[f64; K]> {
    let start = heldout_w0(init, data);
    if init != Init::PerAnimal {
        return start;
    }
    data.animals
        .par_iter()
        .zip(start)
        .map(|(a, w)| {
            let first = &a.trials[..a.trials.len().min(W0_TRIALS)];
            let win = std::cell::RefCell::new(Window::new(net, first.len()));
            let nll = |w0: [f64; K]| {
                let mut win = win.borrow_mut();
                let n = first.len();
                model::window(net, phi, first, 0, n, w0, 1.0, None, &mut win, None).0
            };
            refine_w0(nll, w)
        })
        .collect()
}

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
