//! `rulelab sweep` and `rulelab merge`.

use rulelab::gpu::{Backend, DeviceChoice};
use rulelab::sweep::{self, RunOptions, Shard, Study, StudyConfig};
use rulelab::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The arguments of every command that runs a study.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The config (TOML).
    pub config: PathBuf,
    /// Output directory (new, or one to --resume).
    #[arg(long)]
    pub out: PathBuf,
    /// Run the K-th of N equal parts of the grid (0-based). Inside a Slurm array job
    /// the default comes from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT.
    #[arg(long)]
    pub shard: Option<String>,
    /// Continue a run in --out from its last finished chunk (its files are checked
    /// against the manifest first and cut back to what verifies).
    #[arg(long)]
    pub resume: bool,
    /// Run past 2^24 learners or about 4 GB of output without asking.
    #[arg(long)]
    pub yes: bool,
}

/// Runs (or resumes) a study of family S from its config file: `rulelab sweep` and
/// `rulelab control path`.
pub fn run<S: Study>(device: DeviceChoice, args: &RunArgs) -> Result<ExitCode> {
    let RunArgs {
        config,
        out,
        shard,
        resume,
        yes,
    } = args;
    let (config, out, resume, yes) = (config.as_path(), out.as_path(), *resume, *yes);
    let shard = shard.as_deref();
    let text = std::fs::read_to_string(config).map_err(|e| Error::Io {
        path: config.display().to_string(),
        source: e,
    })?;
    let cfg = StudyConfig::<S>::from_toml(&text)?;
    // An explicit --shard wins; inside a Slurm array job the task picks its part.
    let shard = match shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::from_slurm()?.unwrap_or(Shard::WHOLE),
    };
    let backend = Backend::open(device)?;
    // From here Ctrl-C asks the run to stop at a chunk boundary (a second one kills).
    rulelab::interrupt::install();
    eprintln!(
        "{}: {} {} ({}), shard {}/{}, on {} — {}",
        S::FAMILY,
        cfg.grid_size(),
        S::LEARNERS,
        cfg.study.describe(),
        shard.index,
        shard.count,
        backend.kind(),
        backend.describe()
    );
    let report = sweep::run(
        &cfg,
        &text,
        out,
        &backend,
        &RunOptions {
            shard,
            resume,
            progress: true,
            yes,
        },
    )?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    let m = &report.manifest;
    if report.ran_chunks > 0 {
        println!(
            "wrote {} ({} {}, {:.2} s compute, {:.3e} {}/s)",
            out.join(&m.results_file).display(),
            m.end - m.first,
            S::LEARNERS,
            m.compute_seconds,
            m.learner_steps_per_s,
            S::WORK
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<ExitCode> {
    let m = sweep::merge::merge(dirs, out)?;
    println!(
        "merged {} shards: {} learners into {}{}",
        dirs.len(),
        m.grid_size,
        out.join(&m.results_file).display(),
        if m.device == "mixed" {
            " (from more than one device: see sources in manifest.json)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}
