//! `rulelab sweep` and `rulelab merge`.

use rulelab::gpu::{Backend, DeviceChoice};
use rulelab::landscape::SweepConfig;
use rulelab::sweep::{self, RunOptions, Shard, Study};
use rulelab::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(
    device: DeviceChoice,
    config: &Path,
    out: &Path,
    shard: Option<&str>,
    resume: bool,
    yes: bool,
) -> Result<ExitCode> {
    let text = std::fs::read_to_string(config).map_err(|e| Error::Io {
        path: config.display().to_string(),
        source: e,
    })?;
    let cfg = SweepConfig::from_toml(&text)?;
    // An explicit --shard wins; inside a Slurm array job the task picks its part.
    let shard = match shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::from_slurm()?.unwrap_or(Shard::WHOLE),
    };
    let backend = Backend::open(device)?;
    // From here Ctrl-C asks the run to stop at a chunk boundary (a second one kills).
    rulelab::interrupt::install();
    eprintln!(
        "sweep: {} learners ({}, D = {}, {} steps), shard {}/{}, on {} — {}",
        cfg.grid_size(),
        cfg.study.describe(),
        cfg.study.problem.dim,
        cfg.study.problem.steps,
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
            "wrote {} ({} learners, {:.2} s compute, {:.3e} learner-steps/s)",
            out.join("results.csv").display(),
            m.end - m.first,
            m.compute_seconds,
            m.learner_steps_per_s
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
        out.join("results.csv").display(),
        if m.device == "mixed" {
            " (from more than one device: see sources in manifest.json)"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}
