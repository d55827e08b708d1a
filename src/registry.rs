//! The families rulelab knows, each with its kernels, its check cases and the structs it
//! shares with WGSL. The check harness, the shader and layout tests and the command
//! line read this list; a new family adds one entry here and names itself nowhere
//! else.

use crate::check::Case;
use crate::command::Command;
use crate::gpu::{GpuStruct, Kernel, Layout};
use crate::sweep::Runner;
use crate::{control, hippo, infer, landscape, loss, optim, rng};
use std::path::Path;

/// One family's entry.
pub struct Family {
    /// As `rulelab check --family` spells it.
    pub name: &'static str,
    pub about: &'static str,
    pub kernels: fn() -> Vec<Kernel>,
    pub cases: fn() -> Vec<Case>,
    pub layouts: fn() -> Vec<Layout>,
    /// The family's study, when it has one the runner can sweep.
    pub study: Option<StudyEntry>,
    /// Its other commands (the command line's and the Python package's).
    pub commands: fn() -> Vec<Command>,
}

/// A family's study as the command line, the Python package and the conformance tests
/// reach it.
#[derive(Clone, Copy)]
pub struct StudyEntry {
    pub runner: Runner,
    /// The command that runs it (`rulelab sweep`, `rulelab control path`, ...).
    pub command: &'static str,
    /// That command's help: a summary line, a blank line, what it writes.
    pub about: &'static str,
    /// A small config that runs in a moment on the CPU device; any data it reads is
    /// written into the directory given.
    pub sample: fn(&Path) -> crate::Result<String>,
}

/// Every family, in the order `rulelab check` runs them.
pub fn families() -> Vec<Family> {
    vec![
        Family {
            name: "rng",
            about: "Philox4x32-10 and its normals, WGSL against Rust",
            kernels: || vec![rng::check_kernel()],
            cases: rng::cases,
            layouts: || vec![rng::RngParams::layout()],
            study: None,
            commands: Vec::new,
        },
        Family {
            name: "optim",
            about: "the moment-filter optimisers over a parameter arena",
            kernels: optim::gpu::kernels,
            cases: optim::cases::cases,
            layouts: optim::gpu::layouts,
            study: None,
            commands: optim::commands::commands,
        },
        Family {
            name: "loss",
            about: "loss landscapes: each landscape's loss and gradient at random points",
            kernels: loss::gpu::kernels,
            cases: loss::cases::cases,
            layouts: loss::gpu::layouts,
            study: None,
            commands: Vec::new,
        },
        Family {
            name: "landscape",
            about: "learners on loss landscapes: losses, gradients and every rule",
            kernels: landscape::gpu::kernels,
            cases: landscape::cases::cases,
            layouts: landscape::gpu::layouts,
            study: Some(StudyEntry {
                runner: Runner::of::<landscape::LandscapeStudy>(),
                command: "sweep",
                about: "Run a sweep: a grid of learners from a TOML config.\n\n\
                        See examples/sweeps/. Output: results.csv, manifest.json, \
                        summary.svg and .png, trajectories.csv.",
                sample: landscape::config::sample,
            }),
            commands: landscape::commands::commands,
        },
        Family {
            name: "control",
            about: "paths on loss landscapes: the action and its gradient",
            kernels: control::gpu::kernels,
            cases: control::cases::cases,
            layouts: control::gpu::layouts,
            study: Some(StudyEntry {
                runner: Runner::of::<control::PathStudy>(),
                command: "control path",
                about: "Optimal paths by batched L-BFGS from a TOML config.\n\n\
                        See examples/control/. Output: paths.csv, points.csv, \
                        manifest.json, summary.svg and .png.",
                sample: control::config::sample,
            }),
            commands: control::commands::commands,
        },
        Family {
            name: "infer",
            about: "learning-rule inference: the dnn model's loss and truncated BPTT gradients",
            kernels: infer::gpu::kernels,
            cases: infer::cases::cases,
            layouts: infer::gpu::layouts,
            study: Some(StudyEntry {
                runner: Runner::of::<infer::FitStudy>(),
                command: "infer sweep",
                about: "Sweep rule fits over a TOML config's grid.\n\n\
                        Axes: hidden, layers, gru, skip, lr, trunc, batch, epochs, decay, \
                        seed, model. One row per fit in results.csv with its training and \
                        held-out LL (and the rule's recovery on simulated data), each \
                        fit's curve in epochs.csv; sharded, checkpointed after every chunk \
                        (one setting's seeds, fitted side by side) and resumable like any \
                        sweep (see examples/infer/).",
                sample: infer::config::sample,
            }),
            commands: infer::commands::commands,
        },
        Family {
            name: "hippo",
            about: "the theta-gated hippocampal model: many models' time steps",
            kernels: hippo::gpu::kernels,
            cases: hippo::cases::cases,
            layouts: hippo::gpu::layouts,
            study: Some(StudyEntry {
                runner: Runner::of::<hippo::HippoStudy>(),
                command: "hippo run",
                about: "Run a hippocampal experiment for every model of a TOML config's grid.\n\n\
                        The experiment is latents, pathint or transfer (see \
                        examples/hippo/). Output: results.csv (a row per model), \
                        losses.csv (the monitor each simulated second, the test curves), \
                        manifest.json, summary.svg and .png.",
                sample: hippo::config::sample,
            }),
            commands: Vec::new,
        },
    ]
}

/// The command line's groups of family commands (`rulelab control ...`) and their help.
pub const GROUPS: &[(&str, &str)] = &[
    (
        "bench",
        "Measure kernels against the device's copy bandwidth, and the sweep workloads.",
    ),
    (
        "control",
        "The control problem behind the rules: optimal paths, closed forms on quadratics.",
    ),
    (
        "infer",
        "Learning-rule inference: simulate learners, fit and cross-validate rules.",
    ),
    (
        "hippo",
        "The theta-gated hippocampal model: its experiments over grids of models.",
    ),
];

/// Every family's commands besides the studies, in family order.
pub fn commands() -> Vec<Command> {
    families().iter().flat_map(|f| (f.commands)()).collect()
}

/// The command named by `path` (`["infer", "fit"]`).
pub fn command(path: &[&str]) -> crate::Result<Command> {
    commands()
        .into_iter()
        .find(|c| c.path == path)
        .ok_or_else(|| {
            crate::Error::invalid(
                "command",
                format!("`rulelab {}` is no family's command", path.join(" ")),
            )
        })
}

/// Every family's name.
pub fn names() -> Vec<&'static str> {
    families().iter().map(|f| f.name).collect()
}

/// The check cases of the named families (every family's when none is named); an
/// unknown name, or a selection without a case, is an error.
pub fn cases(selected: &[String]) -> crate::Result<Vec<crate::check::Case>> {
    let all = families();
    for f in selected {
        if !all.iter().any(|x| x.name == f) {
            return Err(crate::Error::invalid(
                "--family",
                format!("{f:?} names no family ({})", names().join(", ")),
            ));
        }
    }
    let cases: Vec<_> = all
        .iter()
        .filter(|f| selected.is_empty() || selected.iter().any(|n| n == f.name))
        .flat_map(|f| (f.cases)())
        .collect();
    if cases.is_empty() {
        return Err(crate::Error::invalid("--family", "selects no check"));
    }
    Ok(cases)
}

/// The study of the family named `family` (as manifests and `rulelab check` spell it).
pub fn study(family: &str) -> crate::Result<StudyEntry> {
    families()
        .into_iter()
        .find(|f| f.name == family)
        .and_then(|f| f.study)
        .ok_or_else(|| {
            let studies: Vec<&str> = families()
                .iter()
                .filter(|f| f.study.is_some())
                .map(|f| f.name)
                .collect();
            crate::Error::invalid(
                "family",
                format!("{family:?} has no study: one of {}", studies.join(", ")),
            )
        })
}

/// Draws the pictures of the finished study run (or merge) in `dir` again from its
/// files, with its config's picture settings passed through `adjust`; returns the
/// files written. Shards and merges say so on their pictures.
pub fn redraw(
    dir: &Path,
    axes: Option<&[String]>,
    adjust: &dyn Fn(crate::plot::Figure) -> crate::Result<crate::plot::Figure>,
) -> crate::Result<Vec<std::path::PathBuf>> {
    let (m, _lock) = crate::sweep::redraw::finished(dir)?;
    let config = match axes {
        None => m.config.clone(),
        Some(axes) => crate::sweep::redraw::with_plot_axes(&m.config, axes)?,
    };
    let entry = families()
        .into_iter()
        .filter_map(|f| f.study)
        .find(|s| s.runner.family == m.family)
        .ok_or_else(|| {
            crate::Error::invalid(
                dir.display().to_string(),
                format!(
                    "holds a {} run, a family this rulelab does not know",
                    m.family
                ),
            )
        })?;
    let stamp = crate::sweep::run::stamp(&m);
    let adjust = |f: crate::plot::Figure| {
        adjust(f).map(|f| crate::plot::Figure {
            stamp: stamp.clone(),
            ..f
        })
    };
    (entry.runner.draw)(&config, dir, &adjust)
}

/// Every kernel in the crate (shader validation, layout tests, pipeline warm-up).
pub fn kernels() -> Vec<Kernel> {
    families().iter().flat_map(|f| (f.kernels)()).collect()
}

/// Every struct the crate shares between Rust and WGSL.
pub fn layouts() -> Vec<Layout> {
    families().iter().flat_map(|f| (f.layouts)()).collect()
}
