//! The published experiments' protocols (spec §3–§5, §7) over many models at once:
//! training with the monitor logged each second, the decoder fitted on the last
//! minutes, the path-integration test, the inference and generative tests of
//! experiment A, and experiment C's transfer. Every model of a batch runs the same
//! protocol in lockstep (same minutes, same test lengths); each keeps its own numbers.

use super::decode::{Decoder, Gp, RidgeStats};
use super::experiments::ring_profiles;
use super::model::Learning;
use super::ring::{ring_distance, PlaceCells};
use super::run::{Models, Phase, World};
use super::spec::Theta;
use crate::error::Result;
use crate::rng::{key_from_seed, philox4x32_10};
use serde::{Deserialize, Serialize};

/// Which experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Experiment {
    /// A: temporally structured latents.
    Latents,
    /// B: path integration on a ring.
    Pathint,
    /// C: B, then transfer to shuffled place cells.
    Transfer,
}

impl Experiment {
    pub const NAMES: [&'static str; 3] = ["latents", "pathint", "transfer"];

    pub fn from_name(s: &str) -> Option<Experiment> {
        match s {
            "latents" => Some(Experiment::Latents),
            "pathint" => Some(Experiment::Pathint),
            "transfer" => Some(Experiment::Transfer),
            _ => None,
        }
    }
}

/// The protocol's lengths, shared by every model of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    pub experiment: Experiment,
    /// Training (and C's retraining), simulated minutes.
    pub minutes: f64,
    /// The gate during training.
    pub theta: Theta,
    /// Path-integration test runs (B, C).
    pub test_runs: usize,
    /// Spin-up and lesion of B's test (s).
    pub spin_up: f64,
    pub lesion: f64,
    /// The decoder, and its ridge penalty where it is ridge regression.
    pub decoder: DecoderKind,
    pub ridge: f64,
}

/// Which decoder reads position from HPC rates (see [`super::decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecoderKind {
    /// Ridge regression on the rates (the default: milliseconds).
    Ridge,
    /// The published code's Gaussian process (seconds to minutes per fit).
    Gp,
}

/// A decoder's samples: the ridge statistics, and the samples themselves for a GP.
pub struct DecoderData {
    stats: RidgeStats,
    samples: Option<(Vec<Vec<f32>>, Vec<f64>)>,
}

/// Decoder samples: every 4th step (10 a second), as the published code.
const SAMPLE_EVERY: u64 = 4;
/// The decoder learns from the last 10 minutes of a stretch.
const DECODER_SECONDS: f64 = 600.0;
/// Experiment C's test: 50 repeats of 1 s spin-up and 1 s lesion.
const REPEATS_AT_1S: usize = 50;

/// What one model's run reports (the fields its experiment fills).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Seconds per step.
    pub dt: f64,
    /// The monitor at the end of training (HPC, MEC).
    pub final_loss: [f64; 2],
    /// (stage, second, HPC, MEC): the monitor each simulated second of training.
    pub losses: Vec<(&'static str, f64, [f64; 2])>,
    /// A: mean |a_B − a_A| per layer over a minute with θ ≡ 0, learning off.
    pub inference_loss: [f64; 2],
    /// A: the generated MEC activity's autocorrelation at lags 0, dt, ... 4 s, and
    /// its RMS difference from the latents' (the RBF kernel).
    pub autocorr: Vec<f64>,
    pub autocorr_error: f64,
    /// B: the decoding error (m) each step after the lesion, mean over runs.
    pub pi_curve: Vec<f64>,
    pub pi_error_1s: f64,
    pub pi_error_mean: f64,
    /// B: the ring-attractor profiles (recurrent, conjunctive +, −) by offset.
    pub profiles: [Vec<f64>; 3],
    /// C: error (m) at 1 s, mean and SEM over 50 repeats: before the shuffle, right
    /// after it (decoder refit) and after retraining.
    pub transfer: [(f64, f64); 3],
}

/// Per model: the error (m) each step of the lesion summed over repeats, and each
/// repeat's last error.
type Lesions = (Vec<Vec<f64>>, Vec<Vec<f64>>);

impl Protocol {
    fn steps(&self, models: &Models, seconds: f64) -> u64 {
        (seconds / models.models[0].spec.dt).round() as u64
    }

    /// Runs the experiment on every model; one outcome per model, in order.
    pub fn run(&self, models: &mut Models) -> Result<Vec<Outcome>> {
        let mut out: Vec<Outcome> = models
            .models
            .iter()
            .map(|m| Outcome {
                dt: m.spec.dt,
                ..Outcome::default()
            })
            .collect();
        match self.experiment {
            Experiment::Latents => self.latents(models, &mut out)?,
            Experiment::Pathint => {
                self.pathint(models, &mut out)?;
            }
            Experiment::Transfer => {
                let decoders = self.pathint(models, &mut out)?;
                self.transfer(models, decoders, &mut out)?;
            }
        }
        Ok(out)
    }

    /// `seconds` of one gate in phases of at most a minute; decoder samples over the
    /// last `record` seconds. Returns each model's decoder statistics.
    fn stretch(
        &self,
        models: &mut Models,
        seconds: f64,
        theta: Theta,
        learning: Learning,
        log: bool,
        record: f64,
    ) -> Result<Vec<DecoderData>> {
        let n_h = models.models[0].spec.hpc.n;
        let mut stats: Vec<DecoderData> = (0..models.models.len())
            .map(|_| DecoderData {
                stats: RidgeStats::new(n_h),
                samples: (self.decoder == DecoderKind::Gp).then(Default::default),
            })
            .collect();
        let total = self.steps(models, seconds);
        let record_from = total.saturating_sub(self.steps(models, record));
        // Phases of a minute, cut where recording starts; both multiples of 4 steps.
        let minute = self.steps(models, 60.0).max(SAMPLE_EVERY) / SAMPLE_EVERY * SAMPLE_EVERY;
        let record_from = record_from / SAMPLE_EVERY * SAMPLE_EVERY;
        let mut done = 0;
        while done < total {
            let end = if done < record_from {
                (done + minute).min(record_from)
            } else {
                (done + minute).min(total)
            };
            let recording = done >= record_from && record > 0.0;
            let samples = models.run(&Phase {
                steps: end - done,
                theta,
                learning,
                record_every: if recording { SAMPLE_EVERY } else { 0 },
                log,
            })?;
            for (st, ss) in stats.iter_mut().zip(&samples) {
                for s in ss {
                    st.stats.add(&s.p, s.position);
                    if let Some((rates, positions)) = &mut st.samples {
                        rates.push(s.p.clone());
                        positions.push(s.position);
                    }
                }
            }
            done = end;
        }
        Ok(stats)
    }

    fn decoders(&self, data: &[DecoderData]) -> Result<Vec<Decoder>> {
        use rayon::prelude::*;
        data.par_iter()
            .enumerate()
            .map(|(m, d)| {
                match &d.samples {
                    Some((rates, positions)) => Gp::fit(rates, positions).map(Decoder::Gp),
                    None => d.stats.fit(self.ridge).map(Decoder::Ridge),
                }
                .map_err(|e| crate::Error::InModel {
                    model: m,
                    message: format!("{e} (its rates diverged or froze)"),
                })
            })
            .collect()
    }

    /// Training with the monitor logged; the decoders from its last 10 minutes.
    fn train(
        &self,
        models: &mut Models,
        stage: &'static str,
        out: &mut [Outcome],
    ) -> Result<Vec<DecoderData>> {
        let from: Vec<usize> = models.models.iter().map(|m| m.losses.len()).collect();
        let stats = self.stretch(
            models,
            60.0 * self.minutes,
            self.theta,
            Learning::On,
            true,
            DECODER_SECONDS,
        )?;
        for ((o, m), &f) in out.iter_mut().zip(&models.models).zip(&from) {
            o.losses
                .extend(m.losses[f..].iter().map(|&(t, l)| (stage, t, l)));
            o.final_loss = m.monitor.loss.unwrap_or([f64::NAN; 2]);
        }
        Ok(stats)
    }

    /// Repeats of spin-up (normal theta) then lesion (θ ≡ 1 in both layers), learning
    /// off, every step decoded.
    fn lesions(
        &self,
        models: &mut Models,
        decoders: &[Decoder],
        repeats: usize,
        spin_up: f64,
        lesion: f64,
    ) -> Result<Lesions> {
        let n = models.models.len();
        let steps = self.steps(models, lesion);
        let mut sums = vec![vec![0.0; steps as usize]; n];
        let mut last = vec![vec![]; n];
        for _ in 0..repeats {
            models.run(&Phase {
                steps: self.steps(models, spin_up),
                theta: Theta::Square,
                learning: Learning::Off,
                record_every: 0,
                log: false,
            })?;
            let samples = models.run(&Phase::test(steps, Theta::Apical, 1))?;
            for (m, ss) in samples.iter().enumerate() {
                for (t, s) in ss.iter().enumerate() {
                    let e = ring_distance(decoders[m].position(&s.p), s.position);
                    sums[m][t] += e;
                    if t + 1 == ss.len() {
                        last[m].push(e);
                    }
                }
            }
        }
        Ok((sums, last))
    }

    /// Experiment B: training, the decoder, the path-integration test, the profiles.
    fn pathint(&self, models: &mut Models, out: &mut [Outcome]) -> Result<Vec<Decoder>> {
        let stats = self.train(models, "train", out)?;
        let decoders = self.decoders(&stats)?;
        let (sums, _) =
            self.lesions(models, &decoders, self.test_runs, self.spin_up, self.lesion)?;
        let per_second = self.steps(models, 1.0) as usize;
        for (o, s) in out.iter_mut().zip(sums) {
            o.pi_curve = s.iter().map(|e| e / self.test_runs as f64).collect();
            o.pi_error_1s = o.pi_curve[(per_second - 1).min(o.pi_curve.len() - 1)];
            o.pi_error_mean = o.pi_curve.iter().sum::<f64>() / o.pi_curve.len() as f64;
        }
        models.sync()?;
        for (o, m) in out.iter_mut().zip(&models.models) {
            if let World::Ring { places, .. } = &m.world {
                o.profiles = ring_profiles(&m.spec, &m.state, places);
            }
        }
        Ok(decoders)
    }

    /// Experiment C's test: the error at 1 s, mean and SEM over 50 repeats.
    fn at_1s(&self, models: &mut Models, decoders: &[Decoder]) -> Result<Vec<(f64, f64)>> {
        let (_, last) = self.lesions(models, decoders, REPEATS_AT_1S, 1.0, 1.0)?;
        Ok(last
            .iter()
            .map(|e| {
                let n = e.len() as f64;
                let mean = e.iter().sum::<f64>() / n;
                let var = e.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
                (mean, (var / n).sqrt())
            })
            .collect())
    }

    /// Experiment C (§5, §7) after B: the error at 1 s before the shuffle; new place
    /// cells (resampled, shuffled), the MEC apical weights frozen, the agent's mean
    /// velocity +0.2 m/s, rates reset; 10 minutes of θ ≡ 0 without learning to refit the
    /// decoder and test; then retraining and the last test.
    fn transfer(
        &self,
        models: &mut Models,
        decoders: Vec<Decoder>,
        out: &mut [Outcome],
    ) -> Result<()> {
        let before = self.at_1s(models, &decoders)?;
        models.sync()?;
        for m in &mut models.models {
            m.spec.mec.apical.eta = 0.0;
            m.state.p.fill(0.0);
            m.state.g.fill(0.0);
            m.state.c.fill(0.0);
            if let World::Ring {
                agent,
                places,
                seed,
            } = &mut m.world
            {
                *places = shuffled_places(places.centres.len(), places.width, *seed);
                agent.mean = 0.2;
            }
        }
        models.upload()?;
        let stats = self.stretch(
            models,
            DECODER_SECONDS,
            Theta::Basal,
            Learning::Off,
            false,
            DECODER_SECONDS,
        )?;
        let shuffled = self.at_1s(models, &self.decoders(&stats)?)?;
        let stats = self.train(models, "retrain", out)?;
        let retrained = self.at_1s(models, &self.decoders(&stats)?)?;
        for (i, o) in out.iter_mut().enumerate() {
            o.transfer = [before[i], shuffled[i], retrained[i]];
        }
        Ok(())
    }

    /// Experiment A (§3, §7): a minute of θ ≡ 0 and one of θ ≡ 1 without learning,
    /// training, then 6 s of normal theta before each test: a minute of inference
    /// (θ ≡ 0) for its loss, a minute of generation (θ ≡ 1) for the MEC activity's
    /// autocorrelation over its last 50 s.
    fn latents(&self, models: &mut Models, out: &mut [Outcome]) -> Result<()> {
        for theta in [Theta::Basal, Theta::Apical] {
            self.stretch(models, 60.0, theta, Learning::Off, false, 0.0)?;
        }
        self.train(models, "train", out)?;
        let settle = |models: &mut Models, p: &Protocol| {
            p.stretch(models, 6.0, Theta::Square, Learning::Off, false, 0.0)
        };
        settle(models, self)?;
        let steps = self.steps(models, 60.0);
        for m in &mut models.models {
            m.phase_gaps = ([0.0; 2], 0);
        }
        models.run(&Phase::test(steps, Theta::Basal, 0))?;
        for (o, m) in out.iter_mut().zip(&models.models) {
            let (sum, n) = m.phase_gaps;
            o.inference_loss = sum.map(|s| s / n as f64);
        }
        settle(models, self)?;
        let samples = models.run(&Phase::test(steps, Theta::Apical, 1))?;
        let dt = models.models[0].spec.dt;
        let keep = self.steps(models, 50.0) as usize;
        let lags = self.steps(models, 4.0) as usize;
        for (o, ss) in out.iter_mut().zip(&samples) {
            let tail = &ss[ss.len() - keep..];
            let units = tail[0].g.len();
            let mut ac = vec![0.0; lags + 1];
            for u in 0..units {
                let x: Vec<f64> = tail.iter().map(|s| s.g[u] as f64).collect();
                for (k, a) in autocorrelation(&x, lags).into_iter().enumerate() {
                    ac[k] += a / units as f64;
                }
            }
            let sq: f64 = ac
                .iter()
                .enumerate()
                .map(|(k, a)| {
                    let tau = k as f64 * dt;
                    (a - (-0.5 * tau * tau).exp()).powi(2)
                })
                .sum();
            o.autocorr_error = (sq / ac.len() as f64).sqrt();
            o.autocorr = ac;
        }
        Ok(())
    }
}

/// A series' autocorrelation at lags 0..=max (mean removed, normalised by the lag-0
/// sum: the usual biased estimator).
pub fn autocorrelation(x: &[f64], max: usize) -> Vec<f64> {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0: f64 = d.iter().map(|v| v * v).sum();
    (0..=max.min(n.saturating_sub(1)))
        .map(|k| {
            let ck: f64 = d[..n - k].iter().zip(&d[k..]).map(|(a, b)| a * b).sum();
            if c0 > 0.0 {
                ck / c0
            } else {
                f64::NAN
            }
        })
        .collect()
}

const SHUFFLE: u32 = 0x5249_0003;

/// Experiment C's new environment: centres resampled on the jittered grid (a second
/// draw) and shuffled among the cells (Fisher–Yates from the counter RNG).
pub fn shuffled_places(n: usize, width: f64, seed: u64) -> PlaceCells {
    let other = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut places = PlaceCells::new(n, width, other);
    let key = key_from_seed(seed);
    for i in (1..n).rev() {
        let w = philox4x32_10([i as u32, 0, 0, SHUFFLE], key)[0];
        let j = ((w as u64 * (i as u64 + 1)) >> 32) as usize;
        places.centres.swap(i, j);
    }
    places
}
