//! The inference family's commands beyond its fit sweep: `rulelab infer simulate`,
//! `fit`, `cv` and `inspect`.

use super::options::FitOptions;
use super::{cv_run::CvPlan, data, plan::FitPlan, simulate, Simulation, TrueRule};
use crate::command::{Arg, Args, Command, Context, Reply};
use crate::error::{Error, Result};
use crate::gpu::Backend;
use std::fmt::Write;
use std::path::PathBuf;

/// The heading of the network fits' settings (shared by `fit` and `cv`, and offered
/// together by the Python package).
pub const FIT_HEADING: &str = "Network fit";

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            path: &["infer", "simulate"],
            about: "Simulate animals learning by a known rule under the GLM policy.\n\n\
                    The default simulation: 17 stimuli, w_0 = (−2, b), α = (2^−6, 0). \
                    Writes FILE.csv in the project's format, FILE.truth.csv (true weights \
                    and p per trial) and FILE.sim.json.",
            args: || {
                vec![
                    Arg::value(
                        "rule",
                        "reinforce, reinforce_base, reward_max, predict_max or \
                         reinforce_history.",
                    )
                    .required(),
                    Arg::value("animals", "How many animals.").required(),
                    Arg::value("trials", "Trials per animal.").default(2000),
                    Arg::value("seed", "The simulation's seed.").default(0),
                    Arg::list("alpha", "Learning rates on (stimulus, bias)."),
                    Arg::value("beta", "reinforce_base's baseline β."),
                    Arg::value(
                        "weight-noise",
                        "σ of a random walk w_t += N(0, σ²) per trial and weight \
                         (PsyTrack-style).",
                    )
                    .default(0.0),
                    Arg::value(
                        "kappa",
                        "reinforce_history's κ: the rate is scaled by 1 + κ · (fraction of \
                         the previous four trials rewarded); default 1.",
                    ),
                    Arg::value("out", "The data file to write (FILE.csv).").required(),
                    Arg::flag(
                        "force",
                        "Replace FILE.csv and its sidecars when they exist (refused otherwise).",
                    ),
                ]
            },
            uses_device: false,
            run: run_simulate,
        },
        Command {
            path: &["infer", "fit"],
            about: "Fit a learning rule to animals' choices by truncated BPTT.\n\n\
                    The dnn model (a GLM policy whose weights learn by an MLP rule) or the \
                    rnn (the MLP reads a GRU's state: a history-dependent rule). Writes \
                    metrics.json, epochs.csv, rule_grid.csv, weights.csv, restarts.csv, \
                    fit.png/svg, manifest.json (and for the rnn rule_history.csv/png).",
            args: || {
                let mut args = vec![
                    Arg::input(
                        "train",
                        "Training animals (the project's CSV, or IBL with --ibl).",
                    ),
                    Arg::value("test", "Held-out animals."),
                    Arg::flag("ibl", "Read IBL trials tables."),
                    Arg::value("model", "dnn or rnn.").default("dnn"),
                ];
                args.extend(fit_args());
                args.extend([
                    Arg::value(
                        "bootstrap",
                        "Refit on this many resamplings of the animals (with replacement, \
                         one restart each) for a band on the rule: rule_grid.csv's \
                         dw_stim_boot_lower/_upper.",
                    )
                    .default(0),
                    Arg::value("out", "The report's directory.").required(),
                    Arg::flag("json", "Print metrics.json instead of the summary."),
                ]);
                args.extend(crate::command::figure_args());
                args
            },
            uses_device: true,
            run: run_fit,
        },
        Command {
            path: &["infer", "cv"],
            about: "Cross-validate models by held-out animal.\n\n\
                    K folds, each model fitted on the other folds and scored on the held-out \
                    one. Writes cv.csv (model, fold, held-out LL per trial), comparison.csv \
                    (each pair's mean paired difference and its SE), cv.svg/png and \
                    manifest.json; a simulated data set adds the truth's own LL. The \
                    network fits' --seed also deals the folds.",
            args: || {
                let mut args = vec![
                    Arg::input(
                        "data",
                        "The animals (the project's CSV, or IBL with --ibl).",
                    ),
                    Arg::flag("ibl", "Read IBL trials tables."),
                    Arg::value(
                        "models",
                        "Comma-separated: dnn, rnn, reinforce_base, psytrack.",
                    )
                    .default("dnn,rnn,reinforce_base"),
                    Arg::value("folds", "How many folds (held-out groups of animals).").default(5),
                ];
                args.extend(fit_args());
                args.push(Arg::value("out", "The report's directory.").required());
                args.extend(crate::command::figure_args());
                args
            },
            uses_device: true,
            run: run_cv,
        },
        Command {
            path: &["infer", "inspect"],
            about: "Read a trial table and summarise it.\n\n\
                    Animals, trials, sessions and dropped trials, of the project's CSV or \
                    with --ibl an IBL trials table exported to CSV.",
            args: || {
                vec![
                    Arg::input("file", "The trial table."),
                    Arg::flag("ibl", "Read an IBL trials table."),
                ]
            },
            uses_device: false,
            run: run_inspect,
        },
    ]
}

/// The network fits' settings with [`FitOptions::default`]'s values.
fn fit_args() -> Vec<Arg> {
    let d = FitOptions::default();
    let opt = |v: Option<usize>| serde_json::to_value(v).expect("serialises");
    [
        Arg::value(
            "hidden",
            "Units per hidden layer of the rule's MLP (default 64 for the dnn, 32 for the rnn).",
        )
        .default(opt(d.hidden)),
        Arg::value(
            "layers",
            "Hidden layers of the rule's MLP (default 3 for the dnn, 2 for the rnn).",
        )
        .default(opt(d.layers)),
        Arg::value("gru", "GRU units of the rnn model (default 32).").default(opt(d.gru)),
        Arg::flag(
            "skip",
            "The rnn's MLP also reads the trial's inputs (w, s, 1, d, y, r, z) beside the \
             GRU's state, so the rnn holds the dnn's rules.",
        )
        .default(d.skip),
        Arg::value("epochs", "Passes over the training animals.").default(d.epochs),
        Arg::value("batch", "Animals per optimiser step.").default(d.batch),
        Arg::value(
            "trunc",
            "Trials per truncation window (w is detached between windows).",
        )
        .default(d.trunc),
        Arg::value("lr", "Adam's learning rate.").default(d.lr),
        Arg::value("decay", "The learning rate's factor every 5 epochs.").default(d.decay),
        Arg::value(
            "init",
            "w_0: per-animal (a logistic fit to the first 100 trials, then trained), zeros, \
             or W_STIM,W_BIAS given for every animal (zeros and a given w_0 are not trained).",
        )
        .default(d.init),
        Arg::value("seed", "The initialisation's and the batches' seed.").default(d.seed),
        Arg::value(
            "restarts",
            "Fit from this many initialisations side by side; report the best (by training \
             likelihood) and all of them in restarts.csv.",
        )
        .default(d.restarts),
    ]
    .into_iter()
    .map(|a| a.heading(FIT_HEADING))
    .collect()
}

fn fit_options(args: &Args) -> Result<FitOptions> {
    Ok(FitOptions {
        hidden: args.get("hidden")?,
        layers: args.get("layers")?,
        gru: args.get("gru")?,
        skip: args.flag("skip"),
        epochs: args.need("epochs")?,
        batch: args.need("batch")?,
        trunc: args.need("trunc")?,
        lr: args.need("lr")?,
        decay: args.need("decay")?,
        init: args.need("init")?,
        seed: args.need("seed")?,
        restarts: args.need("restarts")?,
    })
}

fn run_simulate(args: &Args, _: &Context) -> Result<Reply> {
    let name: String = args.need("rule")?;
    let rule = TrueRule::from_name(&name).ok_or_else(|| {
        Error::invalid(
            "--rule",
            format!("{name:?} is not one of {}", TrueRule::names().join(", ")),
        )
    })?;
    let alpha: Vec<f64> = args.list("alpha")?;
    let sim = Simulation::with(
        rule,
        args.need("animals")?,
        args.need("trials")?,
        args.need("seed")?,
        (!alpha.is_empty()).then_some(alpha.as_slice()),
        args.get("beta")?,
        args.need("weight-noise")?,
        args.get("kappa")?,
    )?;
    let out: PathBuf = args.need("out")?;
    let (truth, record) = simulate::sidecars(&out);
    if !args.flag("force") {
        if let Some(there) = [&out, &truth, &record].into_iter().find(|p| p.exists()) {
            return Err(Error::invalid(
                "--out",
                format!(
                    "{} exists: choose another file, or --force to replace it and its sidecars",
                    there.display()
                ),
            ));
        }
    }
    let data = simulate::write(&sim, &out)?;
    let text = format!(
        "wrote {} ({} animals, {} trials), {} and {}",
        out.display(),
        data.animals.len(),
        data.trials(),
        truth.display(),
        record.display()
    );
    let value = serde_json::json!({
        "data": out, "truth": truth, "record": record,
        "animals": data.animals.len(), "trials": data.trials(),
    });
    Ok(Reply::new(value, text))
}

fn run_fit(args: &Args, ctx: &Context) -> Result<Reply> {
    let fit = fit_options(args)?;
    let model: String = args.need("model")?;
    let train: PathBuf = args.need("train")?;
    let test = args.path("test")?;
    let mut plan = FitPlan::new(&model, &fit, &train, test.as_deref(), args.flag("ibl"))?;
    plan.figure = args.figure()?;
    let out: PathBuf = args.need("out")?;
    let bootstrap: usize = args.need("bootstrap")?;
    plan.check(bootstrap, &out)?;
    let epochs = plan.cfg.epochs as u64;
    let backend = Backend::open(ctx.device)?;
    (ctx.say)(&format!(
        "fitting on {} — {}",
        backend.kind(),
        backend.describe()
    ));
    let trials = plan.train.data.trials() as f64;
    let m = plan.run(bootstrap, &out, &backend, |e| {
        (ctx.progress)(
            e.epoch as u64,
            epochs,
            &format!(
                "epoch {}/{epochs}: train LL {:.5} nats/trial, lr {:.2e}, {:.0} trials/s",
                e.epoch,
                e.train_ll,
                e.lr,
                trials * e.epoch as f64 / e.seconds
            ),
        )
    })?;
    let text = if args.flag("json") {
        serde_json::to_string_pretty(&m).expect("serialises")
    } else {
        fit_summary(&m, &out)
    };
    let mut reply = Reply::new(&m, text);
    reply.notes = m.notes.clone();
    Ok(reply)
}

/// What a fit found, in a few lines, and where it wrote it.
fn fit_summary(m: &super::report::Metrics, out: &std::path::Path) -> String {
    let with_truth = |ll: f64, truth: Option<f64>| match truth {
        Some(t) => format!("{ll:.5} (the truth's {t:.5})"),
        None => format!("{ll:.5}"),
    };
    let mut text = format!(
        "training LL {} nats/trial",
        with_truth(m.train_ll, m.truth_train_ll)
    );
    if let Some(t) = m.test_ll {
        let _ = write!(text, "; held-out {}", with_truth(t, m.truth_test_ll));
    }
    let _ = write!(
        text,
        "\nreinforce_base baseline: training LL {:.5}{}",
        m.baseline_train_ll,
        m.baseline_test_ll
            .map(|t| format!(", held-out {t:.5}"))
            .unwrap_or_default()
    );
    if let (Some(e), Some(r)) = (m.dw_rmse, m.dw_true_rms) {
        let _ = write!(
            text,
            "\nrule recovery: Δw_stim RMSE {e:.4} against the true rule's RMS {r:.4}"
        );
    }
    // The report's own list of its files, those this fit wrote.
    let files: Vec<&str> = super::report::FIT_FILES
        .iter()
        .chain(&["manifest.json"])
        .copied()
        .filter(|f| out.join(f).exists())
        .collect();
    let _ = write!(text, "\nwrote {}: {}", out.display(), files.join(", "));
    text
}

fn run_cv(args: &Args, ctx: &Context) -> Result<Reply> {
    let fit = fit_options(args)?;
    let models: String = args.need("models")?;
    let folds: usize = args.need("folds")?;
    let data: PathBuf = args.need("data")?;
    let out: PathBuf = args.need("out")?;
    let mut plan = CvPlan::new(&models, &fit, folds, &data, args.flag("ibl"), &out)?;
    plan.figure = args.figure()?;
    let backend = Backend::open(ctx.device)?;
    (ctx.say)(&format!(
        "cross-validating on {} — {}",
        backend.kind(),
        backend.describe()
    ));
    // Progress in folds: each model's folds, reported as each group starts.
    let total = (models.split(',').count() * folds) as u64;
    let mut started = 0;
    let start = std::time::Instant::now();
    let (pairs, notes) = plan.run(&backend, |model, group| {
        let names: Vec<String> = group.iter().map(|f| (f + 1).to_string()).collect();
        (ctx.progress)(
            started,
            total,
            &format!(
                "{model}: fold{} {} of {folds}{}",
                if group.len() > 1 { "s" } else { "" },
                names.join(", "),
                if group.len() > 1 { " side by side" } else { "" },
            ),
        );
        started += group.len() as u64;
    })?;
    (ctx.progress)(total, total, "all folds fitted");
    let mut text = String::from(
        "| model A | model B | held-out LL difference (A − B) | SE | folds A better |\n",
    );
    text.push_str("|---|---|---|---|---|\n");
    for p in &pairs {
        let _ = writeln!(
            text,
            "| {} | {} | {:+.5} | {:.5} | {}/{} |",
            p.model_a, p.model_b, p.mean_diff, p.se, p.a_better, p.folds
        );
    }
    let pictures: Vec<&str> = ["cv.svg", "cv.png", "cv.pdf"]
        .into_iter()
        .filter(|f| out.join(f).exists())
        .collect();
    (ctx.say)(&format!(
        "wrote {}: cv.csv, comparison.csv, {} ({:.1} s)",
        out.display(),
        pictures.join(", "),
        start.elapsed().as_secs_f64()
    ));
    let mut reply = Reply::new(&pairs, text);
    reply.notes = notes;
    Ok(reply)
}

fn run_inspect(args: &Args, _: &Context) -> Result<Reply> {
    let file: PathBuf = args.need("file")?;
    let d = if args.flag("ibl") {
        data::read_ibl(&file)?
    } else {
        data::read_csv(&file)?
    };
    let sessions: usize = d
        .animals
        .iter()
        .map(|a| a.trials.iter().filter(|t| t.session_start).count())
        .sum();
    let mut text = format!(
        "{}: {} animals, {} trials with a response in {sessions} sessions, {} without \
         (dropped)\n",
        file.display(),
        d.animals.len(),
        d.trials(),
        d.dropped
    );
    for a in d.animals.iter().take(10) {
        let rewarded = a.trials.iter().filter(|t| t.reward == 1).count();
        let _ = writeln!(
            text,
            "  {}: {} trials, {:.1}% rewarded",
            a.id,
            a.trials.len(),
            100.0 * rewarded as f64 / a.trials.len() as f64
        );
    }
    if d.animals.len() > 10 {
        let _ = writeln!(text, "  ... and {} more", d.animals.len() - 10);
    }
    let value = serde_json::json!({
        "animals": d.animals.len(), "trials": d.trials(), "sessions": sessions,
        "dropped": d.dropped,
    });
    Ok(Reply::new(value, text))
}
