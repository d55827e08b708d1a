//! A hippocampal study's config: the numbers of one model ([`HippoParams`], each a
//! possible grid axis), what every model shares ([`HippoStudy`]: the experiment, the
//! model's shape, the run) and how the `[experiment]`, `[model]`, `[run]` and `[output]`
//! sections become them.

use super::experiments::{latents, path_integration};
use super::protocol::{DecoderKind, Experiment, Protocol};
use super::run::{Model, World};
use super::spec::{Act, Spec, Theta};
use crate::error::Result;
use crate::keys::{err, finite, section, string};
use crate::sweep::config::unknown_key;
use crate::sweep::ParamSet;
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

    pub(super) fn protocol(&self, p: &HippoParams) -> Protocol {
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

    pub(super) fn model(&self, p: &HippoParams) -> Result<Model> {
        let spec = self.spec(p);
        let seed = p.seed as u64;
        let world = match self.experiment {
            Experiment::Latents => World::latents(N_LATENTS, spec.n_z, spec.dt, seed)?,
            _ => World::ring(spec.n_z, p.place_width, seed),
        };
        Ok(Model::new(spec, seed, world, p.theta_freq))
    }

    pub(super) fn ring(&self) -> bool {
        self.experiment != Experiment::Latents
    }
}

pub(super) fn positive(key: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v.is_finite()) {
        return Err(err(key, format!("{v} must be > 0")));
    }
    Ok(())
}

/// Parses and validates the family's sections (see [`Study::parse`](crate::sweep::Study::parse)).
pub fn parse(root: &Table, _grid: &Table) -> Result<(HippoStudy, HippoParams)> {
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
            if !study.ring() && (k == "place_width" || k == "test_runs") {
                return Err(err(
                    &key,
                    "has no effect on experiment A (latents): it has no place cells and no \
                     path-integration test",
                ));
            }
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
    if study.ring() && study.lesion < 1.0 {
        // pi_error_1s_cm is the error 1 s into the lesion: a shorter lesion has none.
        return Err(err(
            "experiment.lesion",
            format!(
                "{} s is shorter than the 1 s at which pi_error_1s_cm is measured; give at \
                 least 1",
                study.lesion
            ),
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

/// A few small models that run in a moment on the CPU device (a quarter of a simulated
/// minute of the latents experiment, two seeds): the registry's sample.
pub fn sample(_dir: &std::path::Path) -> Result<String> {
    Ok(
        "[experiment]\nkind = \"latents\"\n[model]\nminutes = 0.25\nn_hpc = 10\n\
        n_mec = 5\n[grid]\nseed = [1, 2]\n[output]\nsummary = false\n[run]\nchunk = 1\n"
            .into(),
    )
}
