//! The `rulelab` command line: thin subcommands over the library (src/cli/ has one
//! module per subcommand).

mod cli;

use clap::{Parser, Subcommand};
use rulelab::gpu::DeviceChoice;
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
    /// adapter, software ones included) or cpu [default: RULELAB_DEVICE, else auto].
    #[arg(long, global = true, value_parser = cli::device)]
    device: Option<DeviceChoice>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter found and the one rulelab would choose.
    Devices,
    /// Run every kernel (and the CPU device) against its f64 reference on fresh random
    /// inputs: by default on the CPU device and on any GPU adapter, software ones
    /// included.
    Check {
        /// Only these families (comma-separated; an unknown name lists the families).
        #[arg(long, value_delimiter = ',')]
        family: Vec<String>,
        /// Replay the inputs of an earlier run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run a sweep: a grid of learners from a TOML config.
    Sweep {
        /// The sweep config (see examples/sweeps/). Output: results.csv, manifest.json,
        /// summary.svg and .png, trajectories.csv.
        #[command(flatten)]
        run: cli::sweep::RunArgs,
    },
    /// Join shard outputs of one sweep into one results.csv and manifest.
    Merge {
        /// The shard directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure kernels against the device's copy bandwidth, and the sweep workloads.
    Bench {
        #[command(subcommand)]
        what: cli::bench::BenchWhat,
    },
    /// The control problem behind the rules: closed forms on quadratics.
    Control {
        #[command(subcommand)]
        what: cli::control::ControlWhat,
    },
    /// Learning-rule inference: simulate learners, read trial tables.
    Infer {
        #[command(subcommand)]
        what: cli::infer::InferWhat,
    },
    /// The theta-gated hippocampal model: its experiments over grids of models.
    Hippo {
        #[command(subcommand)]
        what: cli::hippo::HippoWhat,
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
    let result = DeviceChoice::resolve(cli.device).and_then(|device| {
        rulelab::gpu::check_env()?;
        match cli.command {
            Command::Devices => cli::devices::run(),
            Command::Check { family, seed } => cli::check::run(device, &family, seed),
            Command::Sweep { run } => cli::sweep::run("landscape", device, &run),
            Command::Merge { dirs, out } => cli::sweep::merge(&dirs, &out),
            Command::Bench { what } => cli::bench::run(device, what),
            Command::Control { what } => cli::control::run(device, what),
            Command::Infer { what } => cli::infer::run(device, what),
            Command::Hippo { what } => cli::hippo::run(device, what),
        }
    });
    match result {
        Ok(code) => code,
        Err(e @ (rulelab::Error::Interrupted { .. } | rulelab::Error::Stopped { .. })) => {
            eprintln!("rulelab: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("rulelab: {e}");
            ExitCode::from(2)
        }
    }
}
