//! The `rulelab` command line: thin subcommands over the library.

use clap::{Parser, Subcommand};
use rulelab::check;
use rulelab::gpu::{self, Backend, DeviceChoice};
use rulelab::optim::{self, Member};
use rulelab::{Error, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rulelab",
    version,
    about = "Learning-rule science on the GPU, checked against CPU references"
)]
struct Cli {
    /// Where work runs: auto (a hardware GPU if present, else the CPU), gpu (any
    /// adapter, software ones included) or cpu.
    #[arg(long, global = true, env = "RULELAB_DEVICE", default_value = "auto")]
    device: DeviceChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter found and the one rulelab would choose.
    Devices,
    /// Run every kernel against its CPU reference on fresh random inputs.
    Check {
        /// Only this family (rng, optim, landscape).
        #[arg(long)]
        family: Option<String>,
        /// Replay the inputs of an earlier run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run a sweep: a grid of learners from a TOML config.
    Sweep {
        /// The sweep config (see examples/sweeps/).
        config: PathBuf,
        /// Output directory: results.csv, manifest.json, summary.svg, trajectories.csv.
        #[arg(long)]
        out: PathBuf,
        /// Run the K-th of N equal parts of the grid (0-based). Inside a Slurm array job
        /// the default comes from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT.
        #[arg(long)]
        shard: Option<String>,
        /// Continue a sweep in --out from its last finished chunk.
        #[arg(long)]
        resume: bool,
    },
    /// Join shard outputs of one sweep into one results.csv and manifest.
    Merge {
        /// The shard directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure kernels against the device's copy bandwidth.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
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
        #[arg(long, value_delimiter = ',', default_values = ["gpu", "cpu"])]
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
        /// Only these members.
        #[arg(long, value_delimiter = ',')]
        members: Vec<Member>,
    },
}

fn main() -> ExitCode {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default at start-up, before any
    // thread exists. Rust ignores SIGPIPE, which turns a closed pipe into a panic.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa's Vulkan drivers print a warning per adapter probe without it. Set before
        // any thread starts; the value is only a scratch directory.
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rulelab: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Devices => devices(),
        Command::Check { family, seed } => {
            let backend = Backend::open(cli.device)?;
            check_all(
                &backend,
                family.as_deref(),
                seed.unwrap_or_else(check::seed),
            )
        }
        Command::Sweep {
            config,
            out,
            shard,
            resume,
        } => {
            let text = std::fs::read_to_string(&config).map_err(|e| Error::Io {
                path: config.display().to_string(),
                source: e,
            })?;
            let cfg = rulelab::sweep::SweepConfig::from_toml(&text)?;
            let shard = match shard {
                Some(s) => rulelab::sweep::Shard::parse(&s)?,
                None => rulelab::sweep::Shard::from_slurm().unwrap_or(rulelab::sweep::Shard::WHOLE),
            };
            let backend = Backend::open(cli.device)?;
            eprintln!(
                "sweep: {} learners ({} on {}, D = {}, {} steps), shard {}/{}, on {} — {}",
                cfg.grid_size(),
                cfg.rules
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                cfg.problem.landscape.name(),
                cfg.problem.dim,
                cfg.problem.steps,
                shard.index,
                shard.count,
                backend.kind(),
                backend.describe()
            );
            let m = rulelab::sweep::run(
                &cfg,
                &text,
                &out,
                &backend,
                &rulelab::sweep::RunOptions {
                    shard,
                    resume,
                    progress: true,
                },
            )?;
            println!(
                "wrote {} ({} learners, {:.2} s compute, {:.3e} learner-steps/s)",
                out.join("results.csv").display(),
                m.end - m.first,
                m.compute_seconds,
                m.learner_steps_per_s
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge { dirs, out } => {
            let m = rulelab::sweep::merge::merge(&dirs, &out)?;
            println!(
                "merged {} shards: {} learners into {}",
                dirs.len(),
                m.grid_size,
                out.join("results.csv").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            what:
                BenchWhat::Sweep {
                    json,
                    learners,
                    devices,
                },
        } => {
            let mut rows = Vec::new();
            println!(
                "{:<14} {:<5} {:>8} {:>9} {:>14} {:>14} {:>12}  adapter",
                "workload",
                "dev",
                "learners",
                "seconds",
                "learner-st/s",
                "coord-st/s",
                "median loss"
            );
            for choice in devices {
                let backend = match Backend::open(choice) {
                    Ok(b) => b,
                    Err(e) => {
                        println!("skipping --device {choice:?}: {e}");
                        continue;
                    }
                };
                for (name, text) in [
                    ("s1_adam_quadratic", rulelab::sweep::bench::S1),
                    ("rosenbrock64_momentum", rulelab::sweep::bench::ROSENBROCK64),
                ] {
                    let r = rulelab::sweep::bench::run(name, text, &backend, learners)?;
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
        Command::Bench {
            what:
                BenchWhat::Optim {
                    json,
                    log2_sizes,
                    reps,
                    members,
                },
        } => {
            let backend = Backend::open(cli.device)?;
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
    }
}

fn devices() -> Result<ExitCode> {
    let adapters = gpu::adapters();
    if adapters.is_empty() {
        println!("{}", Error::NoAdapter(String::new()));
        println!("--device auto will run on the CPU");
        return Ok(ExitCode::SUCCESS);
    }
    for a in &adapters {
        let info = a.get_info();
        let l = a.limits();
        println!(
            "{} | {:?} | {:?} | driver {} {}",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        );
        println!(
            "    max buffer {} MiB, storage binding {} MiB, workgroups/dim {}, invocations/workgroup {}",
            l.max_buffer_size >> 20,
            l.max_storage_buffer_binding_size >> 20,
            l.max_compute_workgroups_per_dimension,
            l.max_compute_invocations_per_workgroup
        );
        let f = a.features();
        let has = |x| if f.contains(x) { "yes" } else { "no" };
        println!(
            "    timestamps {} (inside encoders {}), f64 {}, f16 {}, subgroups {}",
            has(wgpu::Features::TIMESTAMP_QUERY),
            has(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS),
            has(wgpu::Features::SHADER_F64),
            has(wgpu::Features::SHADER_F16),
            has(wgpu::Features::SUBGROUP)
        );
    }
    let chosen = gpu::choose_adapter(adapters)?;
    let info = chosen.get_info();
    println!(
        "chosen for --device gpu: {} ({:?})",
        info.name, info.backend
    );
    println!(
        "--device auto runs on: {}",
        if gpu::is_hardware(&info) {
            "this adapter"
        } else {
            "the CPU (the adapter is software)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn check_all(backend: &Backend, family: Option<&str>, seed: u64) -> Result<ExitCode> {
    let cases: Vec<check::Case> = check::cases()
        .into_iter()
        .filter(|c| family.is_none_or(|f| f == c.family))
        .collect();
    if cases.is_empty() {
        return Err(Error::invalid(
            "--family",
            format!(
                "{:?} names no family (rng, optim, landscape)",
                family.unwrap_or("")
            ),
        ));
    }
    println!(
        "device: {} — {}; seed {seed} (replay with --seed {seed})",
        backend.kind(),
        backend.describe()
    );
    println!(
        "{:<8} {:<28} {:>8} {:>11} {:>21} pass",
        "family", "kernel", "size", "worst rel", "tolerance (atol,rtol)"
    );
    let mut failed = 0;
    for case in cases {
        let rows = (case.run)(backend, seed)?;
        for r in rows {
            println!(
                "{:<8} {:<28} {:>8} {:>11.3e} {:>10.1e},{:<10.1e} {}",
                r.family,
                r.kernel,
                r.size,
                r.report.worst_rel_err,
                r.report.tolerance.atol,
                r.report.tolerance.rtol,
                if r.report.pass { "pass" } else { "FAIL" }
            );
            if !r.report.pass {
                failed += 1;
                println!("    {}", r.report);
            }
        }
    }
    if failed > 0 {
        println!("{failed} failed (seed {seed})");
        return Ok(ExitCode::from(1));
    }
    println!("all passed");
    Ok(ExitCode::SUCCESS)
}
