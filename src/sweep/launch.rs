//! A study launched from its config's text: parsed, its shard chosen, its backend open,
//! ready to run into a directory; and the same behind function pointers
//! ([`Runner`]), which is how the registry hands a family's study to the command line
//! and the Python package.

use super::run::{run, Progress, RunOptions, RunReport};
use super::shard::Shard;
use super::study::{Study, StudyConfig};
use crate::error::Result;
use crate::gpu::{Backend, DeviceChoice};
use std::path::Path;

/// A study ready to run from its config's text: parsed and validated, its shard
/// chosen, its backend open. Every command that runs a study goes through it, and so
/// does the Python package.
pub struct Launch<S: Study> {
    pub cfg: StudyConfig<S>,
    pub text: String,
    pub shard: Shard,
    pub backend: Backend,
}

impl<S: Study> Launch<S> {
    /// `shard` is "K/N"; without one, a Slurm array task runs its part and anything
    /// else the whole grid.
    pub fn new(text: String, shard: Option<&str>, device: DeviceChoice) -> Result<Self> {
        let cfg = StudyConfig::<S>::from_toml(&text)?;
        // An explicit shard wins; inside a Slurm array job the task picks its part.
        let shard = match shard {
            Some(s) => Shard::parse(s)?,
            None => Shard::from_slurm()?.unwrap_or(Shard::WHOLE),
        };
        let backend = Backend::open(device)?;
        Ok(Launch {
            cfg,
            text,
            shard,
            backend,
        })
    }

    /// [`Launch::new`] from a config file.
    pub fn from_file(config: &Path, shard: Option<&str>, device: DeviceChoice) -> Result<Self> {
        let text = std::fs::read_to_string(config).map_err(crate::files::io_error(config))?;
        Self::new(text, shard, device)
    }

    /// What runs where, in one line: "landscape: 96 learners (...), shard 0/1, on cpu — …".
    pub fn describe(&self) -> String {
        format!(
            "{}: {} {} ({}), shard {}/{}, on {} — {}",
            S::FAMILY,
            self.cfg.grid_size(),
            S::LEARNERS,
            self.cfg.study.describe(),
            self.shard.index,
            self.shard.count,
            self.backend.kind(),
            self.backend.describe()
        )
    }

    /// Runs (or with `resume` continues) the study into `out`.
    pub fn run(
        &self,
        out: &Path,
        resume: bool,
        yes: bool,
        progress: Progress,
    ) -> Result<RunReport> {
        let opts = RunOptions {
            shard: self.shard,
            resume,
            progress,
            yes,
        };
        run(&self.cfg, &self.text, out, &self.backend, &opts)
    }
}

/// A launched study of any family, as the registry hands it out: what the command line
/// and the Python package run without naming the family's types.
pub trait Launched: Send {
    /// What runs where, in one line ([`Launch::describe`]).
    fn describe(&self) -> String;
    /// Runs (or with `resume` continues) the study into `out`.
    fn run(&self, out: &Path, resume: bool, yes: bool, progress: Progress) -> Result<RunReport>;
}

impl<S: Study> Launched for Launch<S> {
    fn describe(&self) -> String {
        Launch::describe(self)
    }

    fn run(&self, out: &Path, resume: bool, yes: bool, progress: Progress) -> Result<RunReport> {
        Launch::run(self, out, resume, yes, progress)
    }
}

/// Parses and validates a config's text, chooses the shard ("K/N", else a Slurm array
/// task's, else the whole grid) and opens the backend.
pub type LaunchFn = fn(String, Option<&str>, DeviceChoice) -> Result<Box<dyn Launched>>;

/// A family's study behind function pointers: its names, and how to launch it from a
/// config's text.
#[derive(Clone, Copy)]
pub struct Runner {
    /// As manifests record it ([`Study::FAMILY`]).
    pub family: &'static str,
    /// What a learner is called, and what the throughput figure counts.
    pub learners: &'static str,
    pub work: &'static str,
    /// The results and series files a run writes.
    pub results: &'static str,
    pub series: &'static str,
    /// Parses and validates a config's text, chooses the shard and opens the backend.
    pub launch: LaunchFn,
    /// Every number a learner has (each a possible grid axis) with its default.
    pub numbers: fn() -> Vec<(&'static str, f64)>,
    /// Draws a finished run's pictures from its config's text and its files, with the
    /// config's picture settings passed through `adjust`.
    pub draw: DrawFn,
}

/// [`Runner::draw`].
pub type DrawFn = fn(
    &str,
    &std::path::Path,
    &dyn Fn(crate::plot::Figure) -> Result<crate::plot::Figure>,
) -> Result<Vec<std::path::PathBuf>>;

impl Runner {
    /// The runner of family S.
    pub fn of<S: Study + 'static>() -> Runner {
        Runner {
            family: S::FAMILY,
            learners: S::LEARNERS,
            work: S::WORK,
            results: S::RESULTS,
            series: S::SERIES,
            launch: |text, shard, device| {
                Ok(Box::new(Launch::<S>::new(text, shard, device)?) as Box<dyn Launched>)
            },
            numbers: || {
                use super::study::ParamSet;
                let d = S::Params::default();
                let names = <S::Params as ParamSet>::NAMES;
                names
                    .iter()
                    .map(|&n| (n, d.get(n).expect("named")))
                    .collect()
            },
            draw: |text, dir, adjust| {
                let cfg = StudyConfig::<S>::from_toml(text)?;
                let fig = adjust(cfg.figure.clone())?;
                S::summary(&cfg, dir, &fig)
            },
        }
    }

    /// [`Runner::launch`] from a config file.
    pub fn launch_file(
        &self,
        config: &Path,
        shard: Option<&str>,
        device: DeviceChoice,
    ) -> Result<Box<dyn Launched>> {
        let text = std::fs::read_to_string(config).map_err(crate::files::io_error(config))?;
        (self.launch)(text, shard, device)
    }
}
