//! Fitting the dnn model (spec §2, §4): Adam from the optimiser family on φ (the MLP and
//! c) and on each animal's w_0, minibatches of animals, truncated BPTT, step decay; then
//! the held-out log-likelihood, and against a simulation's truth the rule's recovery.
//!
//! One file (over 600 lines) because it is one engine: the jobs fitted side by side
//! share its batches, windows and optimiser steps; the options, w_0, the rule grid and
//! the report live in files of their own.

use super::data::{Animal, Dataset};
use super::model::{self, Window};
use super::net::{Net, K};
use super::options::{FitConfig, Init};
use super::w0::{heldout_w0_under, initial_w0};
use crate::error::{Error, Result};
use crate::optim::{update_group, Hyper, Member};
use crate::real::Real;
use crate::rng::{key_from_seed, philox4x32_10, uniform_open};
use rayon::prelude::*;
use serde::Serialize;

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
            // A window longer than the animal's trials is the animal's trials: sized so,
            // a huge --trunc allocates nothing more.
            let trunc = trunc.min(a.trials.len()).max(1);
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
    let n_job = check_jobs(jobs, train)?;
    let net = cfg.net();
    let r_n = jobs.len();
    let mut layout = Arena {
        np: net.len(),
        n_job,
        w0_base: r_n * net.len(),
        trained: 0,
    };
    let mut arena = initial_arena(cfg, &net, jobs, train);
    // Zeros and given w_0 are not trained: only the φs are.
    layout.trained = match cfg.init {
        Init::Zeros | Init::Given(_) => layout.w0_base,
        Init::PerAnimal => arena.len(),
    };
    let mut engine = Engine::open(cfg, backend, net, train, &arena, r_n, layout)?;
    let keys: Vec<[u32; 2]> = jobs
        .iter()
        .map(|j| key_from_seed(j.seed ^ 0x5eed))
        .collect();
    let mut epochs: Vec<Vec<Epoch>> = vec![Vec::with_capacity(cfg.epochs); r_n];
    let start = std::time::Instant::now();
    for epoch in 0..cfg.epochs {
        let lr = cfg.lr * cfg.decay.powi((epoch / cfg.decay_every) as i32);
        let orders = epoch_orders(jobs, &keys, n_job, epoch);
        // Σ NLL and trials per restart over the epoch.
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
            let (counts, slots) = batch_slots(&orders, range.clone(), train);
            for (t, c) in trials.iter_mut().zip(&counts) {
                *t += c;
            }
            match &mut engine {
                Engine::Cpu { adam, grad } => {
                    let losses = cpu_gradient(cfg, &net, train, &arena, &layout, &slots, grad);
                    if crate::interrupt::requested() {
                        return Err(stopped());
                    }
                    for (r, loss) in losses {
                        total[r] += loss * counts[r] as f64;
                    }
                    if grad[..layout.trained].iter().any(|g| !g.is_finite()) {
                        return Err(non_finite(epoch + 1));
                    }
                    adam.step(lr, &mut arena[..layout.trained], &grad[..layout.trained]);
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
                    dev.run_batch(&slots, range.len()).map_err(|e| match e {
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
            phi: arena[r * layout.np..(r + 1) * layout.np]
                .iter()
                .map(|&x| x as f64)
                .collect(),
            w0: (0..n_job)
                .map(|j| {
                    let at = layout.w0_at(r, j);
                    [arena[at] as f64, arena[at + 1] as f64]
                })
                .collect(),
            epochs: std::mem::take(&mut epochs[r]),
        })
        .collect())
}

/// Where each job's parameters sit in the one arena Adam steps: every restart's φ (np
/// each), then every restart's w_0 per place; the first `trained` are stepped.
#[derive(Clone, Copy)]
struct Arena {
    np: usize,
    n_job: usize,
    w0_base: usize,
    trained: usize,
}

impl Arena {
    /// Restart r's w_0 of its j-th place.
    fn w0_at(&self, r: usize, j: usize) -> usize {
        self.w0_base + (r * self.n_job + j) * K
    }
}

/// The animals per job, the same for every job and each one in the data set.
fn check_jobs(jobs: &[FitJob], train: &Dataset) -> Result<usize> {
    let Some(first) = jobs.first() else {
        return Err(Error::invalid("seeds", "a fit needs at least one seed"));
    };
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
    Ok(n_job)
}

/// The arena's start: restart r's φ drawn with its seed, then each job's w_0, one per
/// place in its list of animals (every restart from the same w_0).
fn initial_arena(cfg: &FitConfig, net: &Net, jobs: &[FitJob], train: &Dataset) -> Vec<f32> {
    let mut arena: Vec<f32> = jobs
        .iter()
        .flat_map(|j| initial_phi(net, j.seed))
        .map(|x| x as f32)
        .collect();
    for job in jobs {
        arena.extend(
            job.animals
                .iter()
                .flat_map(|&i| initial_w0(cfg.init, &train.animals[i]))
                .map(|x| x as f32),
        );
    }
    arena
}

impl<'g> Engine<'g> {
    /// The CPU device's Adam and gradient, or the arena, the models' kernels and Adam
    /// on the device.
    fn open(
        cfg: &FitConfig,
        backend: &'g crate::gpu::Backend,
        net: Net,
        train: &Dataset,
        arena: &[f32],
        r_n: usize,
        layout: Arena,
    ) -> Result<Self> {
        Ok(match backend {
            crate::gpu::Backend::Cpu => Engine::Cpu {
                adam: Adam::new(layout.trained),
                grad: vec![0.0; arena.len()],
            },
            crate::gpu::Backend::Gpu(gpu) => {
                let animals: Vec<&Animal> = train.animals.iter().collect();
                let max_slots = r_n * cfg.batch.min(layout.n_job);
                let dev = super::gpu::DnnOnDevice::new(
                    gpu,
                    net,
                    &animals,
                    arena,
                    r_n,
                    layout.n_job,
                    max_slots,
                    cfg.trunc,
                )?;
                let mut config =
                    crate::optim::Config::single(Member::Adam, adam_hyper(cfg.lr), layout.trained);
                // A non-finite gradient skips the step and is counted; the epoch then fails.
                config.skip_nonfinite = true;
                let opt = crate::optim::gpu::GpuOptimizer::new(
                    gpu,
                    config,
                    &dev.params.buffer,
                    &dev.grads.buffer,
                    layout.trained,
                )?;
                Engine::Gpu {
                    gpu,
                    dev: Box::new(dev),
                    opt: Box::new(opt),
                }
            }
        })
    }
}

/// Each job's seeded shuffle of its places for `epoch` (sorted by a Philox key per
/// epoch and place, as in a data set of just its animals): (place, animal).
fn epoch_orders(
    jobs: &[FitJob],
    keys: &[[u32; 2]],
    n_job: usize,
    epoch: usize,
) -> Vec<Vec<(usize, usize)>> {
    jobs.iter()
        .zip(keys)
        .map(|(job, &key)| {
            let mut order: Vec<usize> = (0..n_job).collect();
            order.sort_by_key(|&j| philox4x32_10([j as u32, epoch as u32, 0, 22], key)[0]);
            order.iter().map(|&j| (j, job.animals[j])).collect()
        })
        .collect()
}

/// A batch (places `range` of every job's order): each restart's count of trials (the
/// mean's weight is 1 / count) and the slots (restart, place, animal, weight).
#[allow(clippy::type_complexity)]
fn batch_slots(
    orders: &[Vec<(usize, usize)>],
    range: std::ops::Range<usize>,
    train: &Dataset,
) -> (Vec<usize>, Vec<(usize, usize, usize, f32)>) {
    let counts: Vec<usize> = orders
        .iter()
        .map(|o| {
            o[range.clone()]
                .iter()
                .map(|&(_, i)| train.animals[i].trials.len())
                .sum()
        })
        .collect();
    let slots = orders
        .iter()
        .zip(&counts)
        .enumerate()
        .flat_map(|(r, (o, &c))| {
            o[range.clone()]
                .iter()
                .map(move |&(j, i)| (r, j, i, 1.0 / c as f32))
        })
        .collect();
    (counts, slots)
}

/// The batch's gradient on the CPU device into `grad` (the slots' animals in parallel,
/// summed in slot order); returns each slot's restart and weighted mean NLL.
fn cpu_gradient(
    cfg: &FitConfig,
    net: &Net,
    train: &Dataset,
    arena: &[f32],
    layout: &Arena,
    slots: &[(usize, usize, usize, f32)],
    grad: &mut [f32],
) -> Vec<(usize, f64)> {
    let np = layout.np;
    let parts: Vec<(Vec<f32>, f32, [f32; K])> = slots
        .par_iter()
        .map(|&(r, j, i, weight)| {
            if crate::interrupt::requested() {
                // Stopping: the batch is dropped (fit_jobs returns before its step), so
                // a large batch of side-by-side fits stops within an animal's trials.
                return (vec![], 0.0, [0.0; K]);
            }
            let mut g = vec![0.0f32; np];
            let trials = &train.animals[i].trials;
            let trunc = cfg.trunc.min(trials.len()).max(1);
            let mut win = Window::new(net, trunc);
            let at = layout.w0_at(r, j);
            let (loss, gw) = model::animal(
                net,
                &arena[r * np..(r + 1) * np],
                trials,
                [arena[at], arena[at + 1]],
                trunc,
                weight,
                Some(&mut g),
                &mut win,
            );
            (g, loss, gw)
        })
        .collect();
    grad.fill(0.0);
    let mut losses = Vec::with_capacity(slots.len());
    for (&(r, j, _, _), (g, loss, gw)) in slots.iter().zip(&parts) {
        for (a, b) in grad[r * np..(r + 1) * np].iter_mut().zip(g) {
            *a += b;
        }
        let at = layout.w0_at(r, j);
        grad[at..at + K].copy_from_slice(gw);
        losses.push((r, *loss as f64));
    }
    losses
}

fn non_finite(epoch: usize) -> Error {
    Error::invalid(
        "fit",
        format!("the gradient became non-finite in epoch {epoch}: lower --lr"),
    )
}
