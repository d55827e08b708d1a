//! `rulelab infer`: simulate ground-truth learners, read trial tables.

use clap::Subcommand;
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
        /// reinforce, reinforce_base, reward_max or predict_max.
        #[arg(long, value_parser = true_rule)]
        rule: TrueRule,
        #[arg(long)]
        animals: usize,
        #[arg(long, default_value_t = 2000)]
        trials: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Learning rates on (stimulus, bias).
        #[arg(
            long,
            value_delimiter = ',',
            num_args = 2,
            allow_negative_numbers = true
        )]
        alpha: Option<Vec<f64>>,
        /// reinforce_base's baseline β.
        #[arg(long, allow_negative_numbers = true)]
        beta: Option<f64>,
        /// σ of a random walk w_t += N(0, σ²) per trial and weight (PsyTrack-style).
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        weight_noise: f64,
        #[arg(long)]
        out: PathBuf,
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

pub fn run(what: InferWhat) -> Result<ExitCode> {
    match what {
        InferWhat::Simulate {
            rule,
            animals,
            trials,
            seed,
            alpha,
            beta,
            weight_noise,
            out,
        } => {
            let mut sim = Simulation::new(rule, animals, trials, seed);
            if let Some(a) = alpha {
                sim.alpha = [a[0], a[1]];
            }
            if let Some(b) = beta {
                sim.beta = b;
            }
            sim.weight_noise = weight_noise;
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
