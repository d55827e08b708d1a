//! The hippocampal family as a study of the runner (`rulelab hippo run CONFIG.toml`):
//! every model number may be a grid axis, models of one shape and protocol run side by
//! side (one dispatch on a GPU, one core each on the CPU), and the runner shards,
//! checkpoints and resumes as for any sweep. results.csv holds a row per model,
//! losses.csv the monitor per simulated second and the test curves.

use super::experiments::{latents, path_integration};
use super::model::{Act, Spec, Theta};
use super::protocol::{DecoderKind, Experiment, Outcome, Protocol};
use super::run::{Model, Models, World};
use crate::error::Result;
use crate::gpu::Backend;
use crate::keys::{err, finite, section, string, whole};
use crate::sweep::config::unknown_key;
use crate::sweep::prune::PrunePlan;
use crate::sweep::{Grid, ParamSet, Study};
use serde::Serialize;
use toml::Table;

crate::params! {
    /// One model's numbers; every one may be a grid axis.
    pub struct HippoParams {
        seed = 1.0,
        /// Seconds per step; η is given per 25 ms step and scales by dt / 0.025.
        dt = 0.025,
        /// Training, simulated minutes (and C's retraining).
        minutes = 30.0,
        theta_freq = 5.0,
        /// η of every plastic compartment (per step).
        eta = 0.01,
        /// The OU noise's σ of every compartment but MEC apical.
        sigma = 0.01,
        sigma_mec_apical = 0.01,
        /// λ2 of the MEC apical (recurrent) weights.
        lambda2 = 0.0,
        tau_pi = 0.1,
        /// HPC neurons (and sensory features: HPC's basal pathway is the identity).
        n_hpc = 100.0,
        n_mec = 100.0,
        /// Place-field width (m), experiments B and C.
        place_width = 0.06,
        /// Path-integration test runs, experiments B and C.
        test_runs = 10.0,
    }
}

/// A hippocampal study: the experiment and its protocol's fixed settings.
#[derive(Clone, Debug, Serialize)]
pub struct HippoStudy {
    pub experiment: Experiment,
    pub theta: Theta,
    /// The MEC dendrites' activation, where the config sets it.
    pub mec_activation: Option<Act>,
    pub spin_up: f64,
    pub lesion: f64,
    pub decoder: DecoderKind,
    pub ridge: f64,
    /// Simulated seconds one model runs at the config's own numbers (training and
    /// tests), for the throughput figure.
    #[serde(skip)]
    pub seconds_per_model: f64,
    #[serde(skip)]
    pub dt: f64,
}

/// How experiment A's latents are many (spec §3).
const N_LATENTS: usize = 5;

impl HippoStudy {
    /// The network of one model.
    pub fn spec(&self, p: &HippoParams) -> Spec {
        let mut s = match self.experiment {
            Experiment::Latents => latents(),
            Experiment::Pathint | Experiment::Transfer => path_integration(),
        };
        let (n_h, n_m) = (p.n_hpc as usize, p.n_mec as usize);
        s.n_z = n_h;
        s.hpc.n = n_h;
        s.mec.n = n_m;
        s.dt = p.dt;
        for c in [&mut s.hpc.apical, &mut s.mec.basal, &mut s.mec.apical] {
            c.eta = p.eta * p.dt / 0.025;
        }
        if let Some(act) = self.mec_activation {
            s.mec.basal.act = act;
            s.mec.apical.act = act;
        }
        for c in [
            &mut s.hpc.basal,
            &mut s.hpc.apical,
            &mut s.mec.basal,
            &mut s.mec.apical,
        ] {
            c.sigma = p.sigma;
        }
        s.mec.apical.sigma = p.sigma_mec_apical;
        s.mec.apical.lambda2 = p.lambda2;
        s.tau_pi = p.tau_pi;
        s
    }

    fn protocol(&self, p: &HippoParams) -> Protocol {
        Protocol {
            experiment: self.experiment,
            minutes: p.minutes,
            theta: self.theta,
            test_runs: p.test_runs as usize,
            spin_up: self.spin_up,
            lesion: self.lesion,
            decoder: self.decoder,
            ridge: self.ridge,
        }
    }

    fn model(&self, p: &HippoParams) -> Result<Model> {
        let spec = self.spec(p);
        let seed = p.seed as u64;
        let world = match self.experiment {
            Experiment::Latents => World::latents(N_LATENTS, spec.n_z, spec.dt, seed)?,
            _ => World::ring(spec.n_z, p.place_width, seed),
        };
        Ok(Model::new(spec, seed, world, p.theta_freq))
    }

    fn ring(&self) -> bool {
        self.experiment != Experiment::Latents
    }
}

fn positive(key: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v.is_finite()) {
        return Err(err(key, format!("{v} must be > 0")));
    }
    Ok(())
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

impl Study for HippoStudy {
    type Params = HippoParams;
    type Outcome = Outcome;
    type Prepared = ();

    const FAMILY: &'static str = "hippo";
    const SERIES: &'static str = "losses.csv";
    const WORK: &'static str = "model-steps";
    const LEARNERS: &'static str = "models";
    const SECTIONS: &'static [&'static str] = &["experiment", "model", "run", "output"];

    fn parse(root: &Table, _grid: &Table) -> Result<(Self, HippoParams)> {
        let exp = section(root, "experiment", true)?.expect("required");
        const EXP_KEYS: &[&str] = &[
            "kind",
            "theta",
            "mec_activation",
            "spin_up",
            "lesion",
            "decoder",
            "ridge",
        ];
        let kind = exp
            .get("kind")
            .ok_or_else(|| {
                err(
                    "experiment.kind",
                    format!("is required: one of {}", Experiment::NAMES.join(", ")),
                )
            })
            .and_then(|v| string("experiment.kind", v, &Experiment::NAMES))?;
        let experiment = Experiment::from_name(kind).expect("a listed name");
        let mut study = HippoStudy {
            experiment,
            theta: Theta::Square,
            mec_activation: None,
            spin_up: 10.0,
            lesion: 20.0,
            decoder: DecoderKind::Ridge,
            ridge: 1e-3,
            seconds_per_model: 0.0,
            dt: 0.025,
        };
        for (k, v) in exp {
            let key = format!("experiment.{k}");
            match k.as_str() {
                "kind" => {}
                "theta" => {
                    study.theta = match string(&key, v, &["square", "smooth"])? {
                        "square" => Theta::Square,
                        _ => Theta::Smooth,
                    }
                }
                "mec_activation" => {
                    study.mec_activation = Some(match string(&key, v, &["linear", "retanh"])? {
                        "linear" => Act::Linear,
                        _ => Act::Retanh,
                    })
                }
                "decoder" => {
                    if !study.ring() {
                        return Err(err(&key, "has no effect on experiment A (latents)"));
                    }
                    study.decoder = match string(&key, v, &["ridge", "gp"])? {
                        "ridge" => DecoderKind::Ridge,
                        _ => DecoderKind::Gp,
                    }
                }
                "spin_up" | "lesion" | "ridge" => {
                    if !study.ring() {
                        return Err(err(&key, "has no effect on experiment A (latents)"));
                    }
                    let x = finite(&key, v)?;
                    positive(&key, x)?;
                    match k.as_str() {
                        "spin_up" => study.spin_up = x,
                        "lesion" => study.lesion = x,
                        _ => study.ridge = x,
                    }
                }
                _ => return Err(unknown_key("experiment", k, EXP_KEYS)),
            }
        }
        // The experiment's own numbers (spec §3, §4), then the config's.
        let mut base = HippoParams::default();
        if experiment == Experiment::Latents {
            let s = latents();
            base.eta = s.mec.basal.eta;
            base.sigma_mec_apical = s.mec.apical.sigma;
            base.lambda2 = s.mec.apical.lambda2;
            base.n_hpc = s.hpc.n as f64;
            base.n_mec = s.mec.n as f64;
        }
        if let Some(model) = section(root, "model", false)? {
            for (k, v) in model {
                let key = format!("model.{k}");
                if !base.set(k, finite(&key, v)?) {
                    return Err(unknown_key("model", k, HippoParams::NAMES));
                }
            }
        }
        if study.decoder == DecoderKind::Gp && exp.contains_key("ridge") {
            return Err(err(
                "experiment.ridge",
                "has no effect with decoder = \"gp\" (the GP has no ridge penalty)",
            ));
        }
        let train = 60.0 * base.minutes;
        let b_tests = base.test_runs * (study.spin_up + study.lesion);
        study.seconds_per_model = match experiment {
            Experiment::Latents => 120.0 + train + 2.0 * (6.0 + 60.0),
            Experiment::Pathint => train + b_tests,
            Experiment::Transfer => 2.0 * train + b_tests + 600.0 + 3.0 * 50.0 * 2.0,
        };
        study.dt = base.dt;
        for name in ["run", "output"] {
            if let Some((k, _)) = section(root, name, false)?.and_then(|t| t.iter().next()) {
                return Err(unknown_key(name, k, &[]));
            }
        }
        Ok((study, base))
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

    fn describe(&self) -> String {
        match self.experiment {
            Experiment::Latents => "hippocampal model, experiment A (latents)".into(),
            Experiment::Pathint => "hippocampal model, experiment B (path integration)".into(),
            Experiment::Transfer => "hippocampal model, experiment C (transfer)".into(),
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
        for (stage, t, l) in &o.losses {
            let _ = writeln!(out, "{learner},{stage},{t},{},{},", l[0], l[1]);
        }
        let dt = o.dt;
        for (i, e) in o.pi_curve.iter().enumerate() {
            if (i + 1) % 4 == 0 {
                let t = (i + 1) as f64 * dt;
                let _ = writeln!(out, "{learner},lesion,{t},,,{}", 100.0 * e);
            }
        }
        for (k, a) in o.autocorr.iter().enumerate() {
            let _ = writeln!(out, "{learner},autocorr,{},,,{a}", k as f64 * dt);
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

    fn summary(cfg: &crate::sweep::StudyConfig<Self>, dir: &std::path::Path) -> Result<()> {
        super::plot::write(dir, cfg)
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
            for (&i, o) in idx.iter().zip(proto.run(&mut models)?) {
                out[i] = Some(o);
            }
        }
        Ok(out
            .into_iter()
            .map(|o| o.expect("every model ran"))
            .collect())
    }
}
