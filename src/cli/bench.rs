//! `rulelab bench optim` and `rulelab bench sweep`.

use clap::Subcommand;
use rulelab::gpu::{Backend, DeviceChoice};
use rulelab::optim::{self, Member};
use rulelab::Result;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum BenchWhat {
    /// The sweep workloads S1 (Adam on a diagonal quadratic, 16,384 learners) and
    /// momentum on Rosenbrock D = 64, on the GPU and on the CPU in the same run.
    Sweep {
        #[arg(long)]
        json: Option<PathBuf>,
        /// Run only the first N learners of each workload (for slow adapters).
        #[arg(long)]
        learners: Option<u64>,
        /// Devices to run on, in order (default: gpu,cpu; gpu is skipped with a note
        /// when there is no adapter).
        #[arg(long, value_delimiter = ',', default_values = ["gpu", "cpu"], value_parser = super::device)]
        devices: Vec<DeviceChoice>,
    },
    /// The optimiser family at 2^20, 2^24 and 2^26 parameters.
    Optim {
        /// Write the rows as a JSON list here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Sizes as powers of two.
        #[arg(long, value_delimiter = ',', default_values_t = vec![20u32, 24, 26])]
        log2_sizes: Vec<u32>,
        /// Timed repetitions per kernel (the median is reported).
        #[arg(long, default_value_t = 7)]
        reps: usize,
        /// Only these members (default: every member).
        #[arg(long, value_delimiter = ',', value_parser = member)]
        members: Vec<Member>,
    },
}

fn member(s: &str) -> std::result::Result<Member, String> {
    Member::from_name(s)
        .ok_or_else(|| format!("{s:?} is not one of {}", Member::names().join(", ")))
}

pub fn run(device: DeviceChoice, what: BenchWhat) -> Result<ExitCode> {
    match what {
        BenchWhat::Sweep {
            json,
            learners,
            devices,
        } => sweep(json, learners, devices),
        BenchWhat::Optim {
            json,
            log2_sizes,
            reps,
            members,
        } => optim(device, json, log2_sizes, reps, members),
    }
}

fn sweep(
    json: Option<PathBuf>,
    learners: Option<u64>,
    devices: Vec<DeviceChoice>,
) -> Result<ExitCode> {
    let mut rows = Vec::new();
    println!(
        "{:<14} {:<5} {:>8} {:>9} {:>14} {:>14} {:>12}  adapter",
        "workload", "dev", "learners", "seconds", "learner-st/s", "coord-st/s", "median loss"
    );
    for choice in devices {
        let backend = match Backend::open(choice) {
            Ok(b) => b,
            Err(e) => {
                println!("skipping --device {}: {e}", choice.name());
                continue;
            }
        };
        for (name, text) in [
            ("s1_adam_quadratic", rulelab::landscape::bench::S1),
            (
                "rosenbrock64_momentum",
                rulelab::landscape::bench::ROSENBROCK64,
            ),
        ] {
            let r = rulelab::landscape::bench::run(name, text, &backend, learners)?;
            println!(
                "{:<14} {:<5} {:>8} {:>9.3} {:>14.3e} {:>14.3e} {:>12.4e}  {} {}",
                &name[..name.len().min(14)],
                r.device,
                r.n,
                r.seconds,
                r.learner_steps_per_s,
                r.coordinate_steps_per_s,
                r.median_final_loss,
                r.adapter,
                r.simd
            );
            println!(
                "    best setting {} (mean final loss {:.4e})",
                r.best_setting, r.best_mean_final_loss
            );
            rows.push(r);
        }
    }
    if let Some(path) = json {
        rulelab::files::write_json(&path, &rows)?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn optim(
    device: DeviceChoice,
    json: Option<PathBuf>,
    log2_sizes: Vec<u32>,
    reps: usize,
    members: Vec<Member>,
) -> Result<ExitCode> {
    let backend = Backend::open(device)?;
    let members = if members.is_empty() {
        Member::ALL.to_vec()
    } else {
        members
    };
    let sizes: Vec<usize> = log2_sizes.iter().map(|&k| 1usize << k).collect();
    println!("device: {} — {}", backend.kind(), backend.describe());
    println!(
        "{:<12} {:>10} {:>11} {:>10} {:>10} {:>10} {:>6}",
        "kernel", "n", "seconds", "GB/s", "copy GB/s", "shader", "ratio"
    );
    let rows = optim::bench::run(&backend, &members, &sizes, reps, |r| {
        println!(
            "{:<12} {:>10} {:>11.3e} {:>10.2} {:>10.2} {:>10.2} {:>6.3}",
            r.kernel,
            r.n,
            r.seconds,
            r.bytes_per_s / 1e9,
            r.copy_bytes_per_s / 1e9,
            r.copy_shader_bytes_per_s / 1e9,
            r.ratio
        );
        let _ = std::io::stdout().flush();
    })?;
    if let Some(path) = json {
        rulelab::files::write_json(&path, &rows)?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
