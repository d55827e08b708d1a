//! The hippocampal family as a study of the runner (`rulelab hippo run CONFIG.toml`):
//! every model number may be a grid axis, models of one shape and protocol run side by
//! side (one dispatch on a GPU, one core each on the CPU), and the runner shards,
//! checkpoints and resumes as for any sweep. results.csv holds a row per model,
//! losses.csv the monitor per simulated second and the test curves.

use super::config::{positive, HippoParams, HippoStudy};
use super::protocol::{Experiment, Outcome, Protocol};
use super::run::Models;
use super::spec::Spec;
use crate::error::Result;
use crate::gpu::Backend;
use crate::keys::{err, whole};
use crate::sweep::prune::PrunePlan;
use crate::sweep::{Compute, Grid, Parse, Present};
use toml::Table;

impl Parse for HippoStudy {
    type Params = HippoParams;

    const FAMILY: &'static str = "hippo";

    const SECTIONS: &'static [&'static str] = &["experiment", "model", "run", "output"];

    fn parse(root: &Table, grid: &Table) -> Result<(Self, Self::Params)> {
        super::config::parse(root, grid)
    }

    fn validate(&self, p: &HippoParams) -> Result<()> {
        whole("seed", p.seed, 0.0, u32::MAX as f64)?;
        whole("n_hpc", p.n_hpc, 1.0, 1024.0)?;
        whole("n_mec", p.n_mec, 1.0, 1024.0)?;
        whole("test_runs", p.test_runs, 1.0, 1000.0)?;
        for (k, v) in [
            ("dt", p.dt),
            ("minutes", p.minutes),
            ("theta_freq", p.theta_freq),
            ("tau_pi", p.tau_pi),
            ("place_width", p.place_width),
        ] {
            positive(k, v)?;
        }
        // A simulated day per model is far past every experiment's need (30 minutes);
        // beyond it a typo (1e12) would run for ever.
        if p.minutes > MAX_MINUTES {
            return Err(err(
                "minutes",
                format!(
                    "{} must be at most {MAX_MINUTES} (a simulated day per model)",
                    p.minutes
                ),
            ));
        }
        let spec = self.spec(p);
        if p.theta_freq * spec.dt > 0.5 {
            return Err(err(
                "theta_freq",
                format!(
                    "{} Hz leaves less than a step per theta phase at dt = {} s",
                    p.theta_freq, spec.dt
                ),
            ));
        }
        if self.ring() && 600.0 * p.minutes.min(10.0) <= p.n_hpc + 1.0 {
            return Err(err(
                "minutes",
                format!(
                    "{} min of training give the decoder too few samples for {} HPC rates",
                    p.minutes, p.n_hpc
                ),
            ));
        }
        spec.validate()
    }

    fn ignores(&self, _p: &HippoParams, name: &str, _grid: &Grid) -> Option<String> {
        match name {
            "place_width" | "test_runs" if !self.ring() => Some(
                "experiment A (latents) has no place cells and no path-integration test".into(),
            ),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self.experiment {
            Experiment::Latents => "hippocampal model, experiment A (latents)".into(),
            Experiment::Pathint => "hippocampal model, experiment B (path integration)".into(),
            Experiment::Transfer => "hippocampal model, experiment C (transfer)".into(),
        }
    }
}

/// The longest training a model may be given, simulated minutes.
const MAX_MINUTES: f64 = 1440.0;

impl Compute for HippoStudy {
    type Outcome = Outcome;

    type Prepared = ();

    const WORK: &'static str = "model-steps";

    const LEARNERS: &'static str = "models";

    /// Steps of one model at the config's own numbers (axes over minutes, dt or the
    /// tests make this the base settings' figure).
    fn work_per_learner(&self) -> f64 {
        self.seconds_per_model / self.dt
    }

    fn prepare(&self, _base: &HippoParams) -> Result<()> {
        Ok(())
    }

    fn learner_bytes(&self) -> u64 {
        let p = HippoParams::default();
        super::gpu::arena_floats(&self.spec(&p)) as u64 * 4
    }

    fn chunk_size(&self, backend: &Backend) -> u64 {
        match backend {
            Backend::Cpu => rayon::current_num_threads().max(1) as u64 * 4,
            Backend::Gpu(_) => 512u64.min(self.max_chunk(backend)),
        }
    }

    fn run_chunk(
        &self,
        _prepared: &(),
        backend: &Backend,
        learners: &[HippoParams],
        _prune: Option<&PrunePlan>,
    ) -> Result<Vec<Outcome>> {
        // Batches of one shape and one protocol run side by side.
        let mut batches: Vec<(Spec, Protocol, Vec<usize>)> = vec![];
        for (i, p) in learners.iter().enumerate() {
            let (spec, proto) = (self.spec(p), self.protocol(p));
            match batches
                .iter_mut()
                .find(|(s, q, _)| super::gpu::same_shape(s, &spec) && *q == proto)
            {
                Some((_, _, idx)) => idx.push(i),
                None => batches.push((spec, proto, vec![i])),
            }
        }
        let mut out: Vec<Option<Outcome>> = (0..learners.len()).map(|_| None).collect();
        for (_, proto, idx) in batches {
            let models = idx
                .iter()
                .map(|&i| self.model(&learners[i]))
                .collect::<Result<Vec<_>>>()?;
            let mut models = Models::new(models, backend)?;
            let outcomes = proto.run(&mut models).map_err(|e| match e {
                crate::Error::InModel { model, message } => {
                    let p = &learners[idx[model]];
                    use crate::sweep::ParamSet;
                    let settings: Vec<String> = HippoParams::NAMES
                        .iter()
                        .map(|n| format!("{n} = {}", p.get(n).unwrap_or(f64::NAN)))
                        .collect();
                    crate::Error::invalid(
                        "model",
                        format!(
                            "{message}, the model with {}: drop that setting from the grid \
                             (or lower its eta)",
                            settings.join(", ")
                        ),
                    )
                }
                e => e,
            })?;
            for (&i, o) in idx.iter().zip(outcomes) {
                out[i] = Some(o);
            }
        }
        Ok(out
            .into_iter()
            .map(|o| o.expect("every model ran"))
            .collect())
    }
}

impl Present for HippoStudy {
    const SERIES: &'static str = "losses.csv";

    fn columns(&self) -> Vec<String> {
        let mut c = vec!["final_loss_hpc", "final_loss_mec"];
        match self.experiment {
            Experiment::Latents => {
                c.extend(["inference_loss_hpc", "inference_loss_mec", "autocorr_error"])
            }
            Experiment::Pathint | Experiment::Transfer => c.extend([
                "pi_error_1s_cm",
                "pi_error_mean_cm",
                "ring_local",
                "ring_distant",
                "conj_plus_peak",
                "conj_minus_peak",
            ]),
        }
        if self.experiment == Experiment::Transfer {
            c.extend([
                "pi_1s_before_cm",
                "pi_1s_before_sem_cm",
                "pi_1s_shuffled_cm",
                "pi_1s_shuffled_sem_cm",
                "pi_1s_retrained_cm",
                "pi_1s_retrained_sem_cm",
            ]);
        }
        c.into_iter().map(String::from).collect()
    }

    fn write_row(&self, o: &Outcome, out: &mut String) {
        use std::fmt::Write;
        let mut put = |v: f64| {
            let _ = write!(out, ",{v}");
        };
        put(o.final_loss[0]);
        put(o.final_loss[1]);
        match self.experiment {
            Experiment::Latents => {
                put(o.inference_loss[0]);
                put(o.inference_loss[1]);
                put(o.autocorr_error);
            }
            Experiment::Pathint | Experiment::Transfer => {
                let [rec, plus, minus] = &o.profiles;
                put(100.0 * o.pi_error_1s);
                put(100.0 * o.pi_error_mean);
                put(band(rec, 1, 3));
                put(band(rec, rec.len() / 4, rec.len() / 2));
                put(peak(plus));
                put(peak(minus));
            }
        }
        if self.experiment == Experiment::Transfer {
            for (m, s) in o.transfer {
                put(100.0 * m);
                put(100.0 * s);
            }
        }
    }

    fn headline(&self) -> &'static str {
        match self.experiment {
            Experiment::Latents => "final_loss_mec",
            Experiment::Pathint => "pi_error_mean_cm",
            Experiment::Transfer => "pi_1s_retrained_cm",
        }
    }

    fn series_columns(&self) -> Option<Vec<String>> {
        Some(
            ["stage", "t", "loss_hpc", "loss_mec", "value"]
                .map(String::from)
                .to_vec(),
        )
    }

    /// Rows: `train` / `retrain` (t in simulated seconds, the monitor), `lesion` (t in
    /// s after the lesion, every 4th step: the decoding error in cm, mean over runs),
    /// `autocorr` (t the lag in s: the generated MEC activity's autocorrelation),
    /// `profile_recurrent`, `profile_conj_plus`, `profile_conj_minus` (t the offset from
    /// the unit: the ring-attractor profiles' mean weights).
    fn write_series(&self, learner: u64, o: &Outcome, out: &mut String) {
        use std::fmt::Write;
        // Times are step counts × dt: written to the nanosecond, so 12 × 0.025 reads
        // 0.3 and not 0.30000000000000004.
        let time = |t: f64| (t * 1e9).round() / 1e9;
        for (stage, t, l) in &o.losses {
            let _ = writeln!(out, "{learner},{stage},{},{},{},", time(*t), l[0], l[1]);
        }
        let dt = o.dt;
        for (i, e) in o.pi_curve.iter().enumerate() {
            if (i + 1) % 4 == 0 {
                let t = time((i + 1) as f64 * dt);
                let _ = writeln!(out, "{learner},lesion,{t},,,{}", 100.0 * e);
            }
        }
        for (k, a) in o.autocorr.iter().enumerate() {
            let _ = writeln!(out, "{learner},autocorr,{},,,{a}", time(k as f64 * dt));
        }
        let names = [
            "profile_recurrent",
            "profile_conj_plus",
            "profile_conj_minus",
        ];
        for (name, p) in names.iter().zip(&o.profiles) {
            let c = p.len() as i64 / 2;
            for (i, w) in p.iter().enumerate() {
                let _ = writeln!(out, "{learner},{name},{},,,{w}", i as i64 - c);
            }
        }
    }

    fn summary(
        cfg: &crate::sweep::StudyConfig<Self>,
        dir: &std::path::Path,
        fig: &crate::plot::Figure,
    ) -> Result<Vec<std::path::PathBuf>> {
        super::plot::write(dir, cfg, fig)
    }

    fn bytes_per_learner(&self, grid: &Grid) -> u64 {
        let minutes = grid
            .axes
            .iter()
            .find(|a| a.name == "minutes")
            .map_or(30.0, |a| {
                (0..a.values.len()).fold(0.0f64, |m, i| m.max(a.values.get(i)))
            });
        let retrain = if self.experiment == Experiment::Transfer {
            2.0
        } else {
            1.0
        };
        300 + (retrain * minutes * 60.0 * 45.0) as u64 + 200 * 30 + 161 * 30 + 300 * 30
    }
}

/// The profile's mean over offsets whose distance from the unit is in [lo, hi].
fn band(profile: &[f64], lo: usize, hi: usize) -> f64 {
    let c = profile.len() / 2;
    let v: Vec<f64> = (0..profile.len())
        .filter(|&i| (lo..=hi).contains(&i.abs_diff(c)))
        .map(|i| profile[i])
        .collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The offset of the profile's largest value from the unit itself.
fn peak(profile: &[f64]) -> f64 {
    let i = (0..profile.len())
        .max_by(|&a, &b| profile[a].total_cmp(&profile[b]))
        .unwrap_or(0);
    i as f64 - (profile.len() / 2) as f64
}
