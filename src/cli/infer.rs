//! `rulelab infer`: simulate ground-truth learners, read trial tables.

use clap::Subcommand;
use rulelab::infer::options::FitOptions;

/// The network fits' flags of `infer fit` and `infer cv`; their defaults are the
/// library's ([`FitOptions::default`]).
#[derive(clap::Args)]
pub struct FitArgs {
    /// Units per hidden layer of the rule's MLP (default 64 for the dnn, 32 for the rnn).
    #[arg(long)]
    hidden: Option<usize>,
    /// Hidden layers of the rule's MLP (default 3 for the dnn, 2 for the rnn).
    #[arg(long)]
    layers: Option<usize>,
    /// GRU units of the rnn model (default 32).
    #[arg(long)]
    gru: Option<usize>,
    /// The rnn's MLP also reads the trial's inputs (w, s, 1, d, y, r, z) beside the
    /// GRU's state, so the rnn holds the dnn's rules.
    #[arg(long)]
    skip: bool,
    #[arg(long, default_value_t = FitOptions::default().epochs)]
    epochs: usize,
    /// Animals per optimiser step.
    #[arg(long, default_value_t = FitOptions::default().batch)]
    batch: usize,
    /// Trials per truncation window (w is detached between windows).
    #[arg(long, default_value_t = FitOptions::default().trunc)]
    trunc: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = FitOptions::default().lr)]
    lr: f64,
    /// The learning rate's factor every 5 epochs.
    #[arg(long, default_value_t = FitOptions::default().decay)]
    decay: f64,
    /// w_0: per-animal (a logistic fit to the first 100 trials, then trained), zeros,
    /// or W_STIM,W_BIAS given for every animal (zeros and a given w_0 are not trained).
    #[arg(long, default_value_t = FitOptions::default().init, allow_hyphen_values = true)]
    init: String,
    #[arg(long, default_value_t = FitOptions::default().seed)]
    seed: u64,
    /// Fit from this many initialisations side by side; report the best (by
    /// training likelihood) and all of them in restarts.csv.
    #[arg(long, default_value_t = FitOptions::default().restarts)]
    restarts: usize,
}

impl From<FitArgs> for FitOptions {
    fn from(a: FitArgs) -> FitOptions {
        FitOptions {
            hidden: a.hidden,
            layers: a.layers,
            gru: a.gru,
            skip: a.skip,
            epochs: a.epochs,
            batch: a.batch,
            trunc: a.trunc,
            lr: a.lr,
            decay: a.decay,
            init: a.init,
            seed: a.seed,
            restarts: a.restarts,
        }
    }
}
use rulelab::infer::{data, simulate, Simulation, TrueRule};
use rulelab::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum InferWhat {
    /// Simulate animals learning by a known rule under the GLM policy (the spec's default
    /// simulation: 17 stimuli, w_0 = (−2, b), α = (2^−6, 0)). Writes FILE.csv in the
    /// project's format, FILE.truth.csv (true weights and p per trial) and FILE.sim.json.
    Simulate {
        /// reinforce, reinforce_base, reward_max, predict_max or reinforce_history.
        #[arg(long, value_parser = true_rule)]
        rule: TrueRule,
        #[arg(long)]
        animals: usize,
        #[arg(long, default_value_t = 2000)]
        trials: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Learning rates on (stimulus, bias).
        #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
        alpha: Option<Vec<f64>>,
        /// reinforce_base's baseline β.
        #[arg(long, allow_negative_numbers = true)]
        beta: Option<f64>,
        /// σ of a random walk w_t += N(0, σ²) per trial and weight (PsyTrack-style).
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        weight_noise: f64,
        /// reinforce_history's κ: the rate is scaled by 1 + κ · (fraction of the previous
        /// four trials rewarded); default 1.
        #[arg(long, allow_negative_numbers = true)]
        kappa: Option<f64>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Fit the dnn model (a GLM policy whose weights learn by an MLP rule) or the rnn
    /// (the MLP reads a GRU's state: a history-dependent rule) by truncated BPTT.
    /// Writes metrics.json, epochs.csv, rule_grid.csv, weights.csv, manifest.json (and
    /// for the rnn rule_history.csv).
    Fit {
        /// Training animals (the project's CSV, or IBL with --ibl).
        train: PathBuf,
        /// Held-out animals.
        #[arg(long)]
        test: Option<PathBuf>,
        /// Read IBL trials tables.
        #[arg(long)]
        ibl: bool,
        /// dnn or rnn.
        #[arg(long, default_value = "dnn")]
        model: String,
        #[command(flatten)]
        fit: FitArgs,
        /// Refit on this many resamplings of the animals (with replacement, one restart
        /// each) for a band on the rule: rule_grid.csv's dw_stim_boot_lower/_upper.
        #[arg(long, default_value_t = 0)]
        bootstrap: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Cross-validate models by held-out animal: K folds, each model fitted on the other
    /// folds and scored on the held-out one. Writes cv.csv (model, fold, held-out LL per
    /// trial), comparison.csv (each pair's mean paired difference and its SE), cv.svg/png
    /// and manifest.json; a simulated data set adds the truth's own LL.
    Cv {
        /// The animals (the project's CSV, or IBL with --ibl).
        data: PathBuf,
        #[arg(long)]
        ibl: bool,
        /// Comma-separated: dnn, rnn, reinforce_base, psytrack.
        #[arg(long, default_value = "dnn,rnn,reinforce_base")]
        models: String,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// The network fits' settings (--seed also deals the folds).
        #[command(flatten)]
        fit: FitArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Sweep fits over a TOML config's grid (hidden, layers, gru, skip, lr, trunc, batch,
    /// epochs, decay, seed, model): one row per fit in results.csv with its training
    /// and held-out LL (and the rule's recovery on simulated data), each fit's curve in
    /// epochs.csv; sharded, checkpointed after every chunk (one setting's seeds, fitted
    /// side by side) and resumable like any sweep (see examples/infer/).
    Sweep {
        #[command(flatten)]
        run: super::sweep::RunArgs,
    },
    /// Read a trial table and summarise it (animals, trials, sessions, dropped trials):
    /// the project's CSV, or with --ibl an IBL trials table exported to CSV.
    Inspect {
        file: PathBuf,
        #[arg(long)]
        ibl: bool,
    },
}

fn true_rule(s: &str) -> std::result::Result<TrueRule, String> {
    TrueRule::from_name(s)
        .ok_or_else(|| format!("{s:?} is not one of {}", TrueRule::names().join(", ")))
}

pub fn run(device: rulelab::gpu::DeviceChoice, what: InferWhat) -> Result<ExitCode> {
    match what {
        InferWhat::Sweep { run } => super::sweep::run("infer", device, &run),
        InferWhat::Fit {
            train,
            test,
            ibl,
            model,
            fit,
            bootstrap,
            out,
        } => {
            let fit = FitOptions::from(fit);
            let plan =
                rulelab::infer::plan::FitPlan::new(&model, &fit, &train, test.as_deref(), ibl)?;
            let epochs = plan.cfg.epochs;
            let backend = rulelab::gpu::Backend::open(device)?;
            eprintln!("fitting on {} — {}", backend.kind(), backend.describe());
            // A bar on a terminal (epoch, LL, trials/s); a line per epoch elsewhere.
            use std::io::IsTerminal;
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(epochs as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} epoch {pos}/{len}  {msg}  eta {eta}",
                    )
                    .expect("template")
                    .progress_chars("=> "),
                );
                bar
            });
            let trials = plan.train.data.trials() as f64;
            // Ctrl-C stops the fit between batches instead of killing it mid-write.
            rulelab::interrupt::install();
            let m = plan.run(bootstrap, &out, &backend, |e| {
                let line = format!(
                    "train LL {:.5} nats/trial, lr {:.2e}, {:.0} trials/s",
                    e.train_ll,
                    e.lr,
                    trials * e.epoch as f64 / e.seconds
                );
                match &bar {
                    Some(b) => {
                        b.set_position(e.epoch as u64);
                        b.set_message(line);
                    }
                    None => eprintln!("epoch {}/{epochs}: {line}", e.epoch),
                }
            })?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            println!("{}", serde_json::to_string_pretty(&m).expect("serialises"));
            for n in &m.notes {
                eprintln!("note: {n}");
            }
            Ok(ExitCode::SUCCESS)
        }
        InferWhat::Cv {
            data,
            ibl,
            models,
            folds,
            fit,
            out,
        } => {
            let fit = FitOptions::from(fit);
            let plan = rulelab::infer::cv::CvPlan::new(&models, &fit, folds, &data, ibl, &out)?;
            let backend = rulelab::gpu::Backend::open(device)?;
            eprintln!(
                "cross-validating on {} — {}",
                backend.kind(),
                backend.describe()
            );
            rulelab::interrupt::install();
            let start = std::time::Instant::now();
            let pairs = plan.run(&backend, |model, group| {
                let names: Vec<String> = group.iter().map(|f| (f + 1).to_string()).collect();
                eprintln!(
                    "{model}: fold{} {} of {folds}{} ({:.0} s)",
                    if group.len() > 1 { "s" } else { "" },
                    names.join(", "),
                    if group.len() > 1 { " side by side" } else { "" },
                    start.elapsed().as_secs_f64()
                );
            })?;
            println!(
                "| model A | model B | held-out LL difference (A − B) | SE | folds A better |"
            );
            println!("|---|---|---|---|---|");
            for p in &pairs {
                println!(
                    "| {} | {} | {:+.5} | {:.5} | {}/{} |",
                    p.model_a, p.model_b, p.mean_diff, p.se, p.a_better, p.folds
                );
            }
            eprintln!(
                "wrote {}/cv.csv, comparison.csv, cv.svg/png ({:.1} s)",
                out.display(),
                start.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        InferWhat::Simulate {
            rule,
            animals,
            trials,
            seed,
            alpha,
            beta,
            weight_noise,
            kappa,
            out,
        } => {
            let sim = Simulation::with(
                rule,
                animals,
                trials,
                seed,
                alpha.as_deref(),
                beta,
                weight_noise,
                kappa,
            )?;
            let data = simulate::write(&sim, &out)?;
            let (truth, record) = simulate::sidecars(&out);
            println!(
                "wrote {} ({} animals, {} trials), {} and {}",
                out.display(),
                data.animals.len(),
                data.trials(),
                truth.display(),
                record.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        InferWhat::Inspect { file, ibl } => {
            let d = if ibl {
                data::read_ibl(&file)?
            } else {
                data::read_csv(&file)?
            };
            let sessions: usize = d
                .animals
                .iter()
                .map(|a| a.trials.iter().filter(|t| t.session_start).count())
                .sum();
            println!(
                "{}: {} animals, {} trials with a response in {sessions} sessions, {} without \
                 (dropped)",
                file.display(),
                d.animals.len(),
                d.trials(),
                d.dropped
            );
            for a in d.animals.iter().take(10) {
                let rewarded = a.trials.iter().filter(|t| t.reward == 1).count();
                println!(
                    "  {}: {} trials, {:.1}% rewarded",
                    a.id,
                    a.trials.len(),
                    100.0 * rewarded as f64 / a.trials.len() as f64
                );
            }
            if d.animals.len() > 10 {
                println!("  ... and {} more", d.animals.len() - 10);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
