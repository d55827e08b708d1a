//! `rulelab hippo run`: the hippocampal experiments as a study of the runner.

use clap::Subcommand;
use rulelab::gpu::DeviceChoice;
use rulelab::Result;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum HippoWhat {
    /// Run an experiment (latents, pathint or transfer) for every model of a TOML
    /// config's grid (see examples/hippo/). Output: results.csv (a row per model),
    /// losses.csv (the monitor each simulated second, the test curves), manifest.json,
    /// summary.svg and .png.
    Run {
        #[command(flatten)]
        run: super::sweep::RunArgs,
    },
}

pub fn run(device: DeviceChoice, what: HippoWhat) -> Result<ExitCode> {
    match what {
        HippoWhat::Run { run } => super::sweep::run("hippo", device, &run),
    }
}
