//! Ground-truth learners (spec §3): simulated animals choosing under the GLM policy
//! p(y = 1) = σ(w·x), x = (s, 1), whose weights learn by a known rule. Every draw comes
//! from the counter RNG, a function of (seed, animal, trial, purpose), so a simulation
//! is reproducible from its seed and any animal can be redrawn alone.

use super::data::{write_csv, Animal, Dataset, Trial};
use crate::error::{Error, Result};
use crate::rng::{key_from_seed, normals4, philox4x32_10, uniform_open};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

crate::named_enum! {
    /// The ground-truth learning rules (x = (s, 1), p = σ(w·x)).
    pub enum TrueRule {
        /// Δw = α ⊙ r (y − p) x.
        Reinforce = "reinforce",
        /// Δw = α ⊙ (r − β) (y − p) x.
        ReinforceBase = "reinforce_base",
        /// Δw = α ⊙ σ'(w·x) x sgn(z − ½) / 0.5.
        RewardMax = "reward_max",
        /// Δw = α ⊙ (1 − p_correct) x sgn(z − ½).
        PredictMax = "predict_max",
        /// Δw = α ⊙ (1 + κ h) r (y − p) x, h the fraction of the previous four trials
        /// (fewer at a session's start, 0 at its first) that were rewarded.
        ReinforceHistory = "reinforce_history",
    }
}

/// The 17 stimuli of the default simulation: 0, ±0.25, ..., ±2.
pub fn stimuli() -> [f64; 17] {
    std::array::from_fn(|i| (i as f64 - 8.0) * 0.25)
}

/// Counter purposes (word 3) of the simulation's draws.
mod purpose {
    pub const BIAS: u32 = 11;
    pub const STIMULUS: u32 = 12;
    pub const CHOICE: u32 = 13;
    pub const WALK: u32 = 14;
}

fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// Per animal, per trial: the true weights before the choice and p(y = 1).
pub type TruePath = Vec<Vec<([f64; 2], f64)>>;

/// A simulation's settings; written beside the data as FILE.sim.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    pub rule: TrueRule,
    pub animals: usize,
    pub trials: usize,
    pub seed: u64,
    /// α on (stimulus, bias).
    pub alpha: [f64; 2],
    /// reinforce_base's baseline β.
    pub beta: f64,
    /// σ of a random walk w_t += N(0, σ² I) per trial (0: none).
    pub weight_noise: f64,
    /// reinforce_history's κ.
    #[serde(default = "default_kappa")]
    pub kappa: f64,
}

fn default_kappa() -> f64 {
    1.0
}

/// Trials of history a history-dependent rule reads.
pub const HISTORY: usize = 4;

/// The fraction of the `HISTORY` trials before trial t of `rewards` that were rewarded
/// (of those there are; 0 at the first).
pub fn recent_rewards(rewards: &[u8], t: usize) -> f64 {
    let from = t.saturating_sub(HISTORY);
    if t == 0 {
        return 0.0;
    }
    rewards[from..t].iter().map(|&r| r as f64).sum::<f64>() / (t - from) as f64
}

impl Simulation {
    /// The spec's default simulation for a rule and a size.
    pub fn new(rule: TrueRule, animals: usize, trials: usize, seed: u64) -> Self {
        Simulation {
            rule,
            animals,
            trials,
            seed,
            alpha: [2f64.powi(-6), 0.0],
            beta: 0.5,
            weight_noise: 0.0,
            kappa: 1.0,
        }
    }

    /// The default simulation with what a person changed: the learning rates on
    /// (stimulus, bias), reinforce_base's β, the weights' random walk and
    /// reinforce_history's κ (refused for other rules: it would change nothing).
    #[allow(clippy::too_many_arguments)]
    pub fn with(
        rule: TrueRule,
        animals: usize,
        trials: usize,
        seed: u64,
        alpha: Option<&[f64]>,
        beta: Option<f64>,
        weight_noise: f64,
        kappa: Option<f64>,
    ) -> Result<Self> {
        let mut sim = Simulation::new(rule, animals, trials, seed);
        if let Some(k) = kappa {
            if rule != TrueRule::ReinforceHistory {
                return Err(Error::invalid(
                    "--kappa",
                    format!("has no effect: {} reads no history", rule.name()),
                ));
            }
            sim.kappa = k;
        }
        if let Some(a) = alpha {
            let [stim, bias] = a[..] else {
                return Err(Error::invalid(
                    "--alpha",
                    format!("needs two rates, A_STIM,A_BIAS; got {}", a.len()),
                ));
            };
            sim.alpha = [stim, bias];
        }
        if let Some(b) = beta {
            // Refused when given at all, even at its default: a knob without an effect.
            if rule != TrueRule::ReinforceBase {
                return Err(Error::invalid(
                    "--beta",
                    format!("has no effect: {} has no baseline", rule.name()),
                ));
            }
            sim.beta = b;
        }
        sim.weight_noise = weight_noise;
        sim.validate()?;
        Ok(sim)
    }

    pub fn validate(&self) -> Result<()> {
        if self.animals == 0 || self.animals > 1_000_000 {
            return Err(Error::invalid(
                "--animals",
                format!("{} must be in 1..=1000000", self.animals),
            ));
        }
        if self.trials < 2 || self.trials > 10_000_000 {
            return Err(Error::invalid(
                "--trials",
                format!("{} must be in 2..=10000000", self.trials),
            ));
        }
        // Every trial is held in memory (about 100 bytes with its truth) and written
        // out (about 60): past 10^8 trials that is ~10 GB before the first byte lands.
        const MAX_TRIALS: usize = 100_000_000;
        if self.animals.saturating_mul(self.trials) > MAX_TRIALS {
            return Err(Error::invalid(
                "--trials",
                format!(
                    "{} animals × {} trials = {:.2e} trials, past the limit of {MAX_TRIALS:.0e} \
                     (about {:.0} GB in memory); simulate fewer, or in parts with other seeds",
                    self.animals,
                    self.trials,
                    (self.animals as f64) * (self.trials as f64),
                    (self.animals as f64) * (self.trials as f64) * 100.0 / 1e9
                ),
            ));
        }
        if self.alpha.iter().any(|a| !a.is_finite()) {
            return Err(Error::invalid("--alpha", "both rates must be finite"));
        }
        if !(self.weight_noise >= 0.0 && self.weight_noise.is_finite()) {
            return Err(Error::invalid(
                "--weight-noise",
                format!("{} must be finite and >= 0", self.weight_noise),
            ));
        }
        if !self.beta.is_finite() {
            return Err(Error::invalid("--beta", "must be finite"));
        }
        if !self.kappa.is_finite() || self.kappa < -1.0 {
            return Err(Error::invalid(
                "--kappa",
                format!(
                    "{} must be finite and >= -1 (1 + κ h stays >= 0)",
                    self.kappa
                ),
            ));
        }
        if self.kappa != 1.0 && self.rule != TrueRule::ReinforceHistory {
            return Err(Error::invalid(
                "--kappa",
                format!("has no effect: {} reads no history", self.rule.name()),
            ));
        }
        if self.beta != 0.5 && self.rule != TrueRule::ReinforceBase {
            return Err(Error::invalid(
                "--beta",
                format!("has no effect: {} has no baseline", self.rule.name()),
            ));
        }
        Ok(())
    }

    /// The rule's weight change after a trial with stimulus s, choice y and correct
    /// side z, from weights w; `recent` is the fraction of the previous trials rewarded
    /// ([`recent_rewards`]), read only by history-dependent rules.
    pub fn delta(&self, w: [f64; 2], s: f64, y: u8, z: u8, recent: f64) -> [f64; 2] {
        let x = [s, 1.0];
        let a = w[0] * s + w[1];
        let p = sigmoid(a);
        let (y, z) = (y as f64, z as f64);
        let r = if y == z { 1.0 } else { 0.0 };
        let sign = if z > 0.5 { 1.0 } else { -1.0 };
        let common = match self.rule {
            TrueRule::Reinforce => r * (y - p),
            TrueRule::ReinforceHistory => (1.0 + self.kappa * recent) * r * (y - p),
            TrueRule::ReinforceBase => (r - self.beta) * (y - p),
            TrueRule::RewardMax => p * (1.0 - p) * sign / 0.5,
            TrueRule::PredictMax => {
                let p_correct = if z > 0.5 { p } else { 1.0 - p };
                (1.0 - p_correct) * sign
            }
        };
        [self.alpha[0] * common * x[0], self.alpha[1] * common * x[1]]
    }

    /// Runs the simulation: the data, and per trial the true weights before the choice
    /// and p(y = 1).
    pub fn run(&self) -> (Dataset, TruePath) {
        let key = key_from_seed(self.seed);
        let stim = stimuli();
        let width = (self.animals.max(2) - 1).to_string().len();
        let mut animals = Vec::with_capacity(self.animals);
        let mut truth = Vec::with_capacity(self.animals);
        for i in 0..self.animals {
            let word =
                |t: usize, purpose: u32| philox4x32_10([i as u32, t as u32, 0, purpose], key);
            let u = |t: usize, purpose: u32| uniform_open::<f64>(word(t, purpose)[0]);
            let b = (u(0, purpose::BIAS) * 3.0).floor() - 1.0;
            let mut w = [-2.0, b];
            let mut trials = Vec::with_capacity(self.trials);
            let mut path = Vec::with_capacity(self.trials);
            let mut rewards = Vec::with_capacity(self.trials);
            for t in 0..self.trials {
                let s = stim[((u(t, purpose::STIMULUS) * 17.0) as usize).min(16)];
                let z = u8::from(s > 0.0);
                let p = sigmoid(w[0] * s + w[1]);
                let y = u8::from(u(t, purpose::CHOICE) < p);
                path.push((w, p));
                trials.push(Trial {
                    session: "s0".into(),
                    trial: t as i64,
                    stimulus: s,
                    choice: y,
                    correct: z,
                    reward: u8::from(y == z),
                    session_start: t == 0,
                });
                rewards.push(u8::from(y == z));
                let d = self.delta(w, s, y, z, recent_rewards(&rewards, t));
                w = [w[0] + d[0], w[1] + d[1]];
                if self.weight_noise > 0.0 {
                    let n: [f64; 4] = normals4(word(t, purpose::WALK));
                    w = [
                        w[0] + self.weight_noise * n[0],
                        w[1] + self.weight_noise * n[1],
                    ];
                }
            }
            animals.push(Animal {
                id: format!("a{i:0width$}"),
                trials,
            });
            truth.push(path);
        }
        (
            Dataset {
                animals,
                dropped: 0,
            },
            truth,
        )
    }
}

/// A simulation's rule as a function of (w, s, y, z) alone: a history-dependent rule
/// taken at a fixed fraction of recent rewards. Its Δw is linear in that fraction, so
/// at the data's mean ([`mean_recent`]) it is the rule averaged over the histories the
/// animals met (as far as history and the trial are independent): what a history-free
/// model can recover.
#[derive(Clone, Debug)]
pub struct RuleAt {
    pub sim: Simulation,
    pub recent: f64,
}

impl RuleAt {
    pub fn delta(&self, w: [f64; 2], s: f64, y: u8, z: u8) -> [f64; 2] {
        self.sim.delta(w, s, y, z, self.recent)
    }
}

/// The mean over every trial of the data of [`recent_rewards`], per animal.
pub fn mean_recent(data: &Dataset) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for a in &data.animals {
        let rewards: Vec<u8> = a.trials.iter().map(|t| t.reward).collect();
        for t in 0..rewards.len() {
            sum += recent_rewards(&rewards, t);
        }
        n += rewards.len();
    }
    sum / n.max(1) as f64
}

/// FILE.truth.csv and FILE.sim.json beside FILE.csv.
pub fn sidecars(file: &Path) -> (PathBuf, PathBuf) {
    let stem = file.with_extension("");
    let s = stem.display().to_string();
    (
        PathBuf::from(format!("{s}.truth.csv")),
        PathBuf::from(format!("{s}.sim.json")),
    )
}

/// What FILE.sim.json holds: the settings and the data file's hash, so a reader can
/// tell that the data is still what the simulation wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimRecord {
    pub simulation: Simulation,
    /// FNV-1a 64 of FILE.csv's bytes, as hex.
    pub data_fnv: String,
}

/// Simulates and writes FILE.csv (the project's format), FILE.truth.csv (animal, trial,
/// w_stim, w_bias, p_right) and FILE.sim.json.
pub fn write(sim: &Simulation, file: &Path) -> Result<Dataset> {
    sim.validate()?;
    if file.extension().is_none_or(|e| e != "csv") {
        return Err(Error::invalid(
            "--out",
            format!("{} must end in .csv", file.display()),
        ));
    }
    let (data, truth) = sim.run();
    write_csv(file, &data)?;
    let (truth_file, sim_file) = sidecars(file);
    let mut out = String::from("animal,trial,w_stim,w_bias,p_right\n");
    for (a, path) in data.animals.iter().zip(&truth) {
        for (t, (w, p)) in path.iter().enumerate() {
            use std::fmt::Write;
            let _ = writeln!(out, "{},{t},{},{},{p}", a.id, w[0], w[1]);
        }
    }
    crate::files::write_atomic(&truth_file, out.as_bytes())?;
    let bytes = std::fs::read(file).map_err(crate::files::io_error(file))?;
    let record = SimRecord {
        simulation: sim.clone(),
        data_fnv: format!("{:016x}", crate::files::Fnv::of(&bytes)),
    };
    crate::files::write_json(&sim_file, &record)?;
    Ok(data)
}

/// The simulation behind FILE.csv, when FILE.sim.json exists and FILE.csv still hashes
/// to what it recorded; a changed file is refused rather than compared with a truth it
/// no longer has.
pub fn read_record(file: &Path) -> Result<Option<SimRecord>> {
    let (_, sim_file) = sidecars(file);
    if !sim_file.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&sim_file).map_err(crate::files::io_error(&sim_file))?;
    let record: SimRecord = serde_json::from_str(&text)
        .map_err(|e| Error::invalid(sim_file.display().to_string(), e.to_string()))?;
    let bytes = std::fs::read(file).map_err(crate::files::io_error(file))?;
    let fnv = format!("{:016x}", crate::files::Fnv::of(&bytes));
    if fnv != record.data_fnv {
        return Err(Error::invalid(
            file.display().to_string(),
            format!(
                "changed since {} recorded it (hash {fnv}, recorded {}): remove the sidecar \
                 to fit it as real data",
                sim_file.display(),
                record.data_fnv
            ),
        ));
    }
    Ok(Some(record))
}
