//! The families rulelab knows, each with its kernels, its check cases and the structs it
//! shares with WGSL. The check harness, the shader and layout tests and the command
//! line read this list; a new family adds one entry here and names itself nowhere
//! else.

use crate::check::Case;
use crate::gpu::{GpuStruct, Kernel, Layout};
use crate::{control, hippo, infer, landscape, loss, optim, rng};

/// One family's entry.
pub struct Family {
    /// As `rulelab check --family` spells it.
    pub name: &'static str,
    pub about: &'static str,
    pub kernels: fn() -> Vec<Kernel>,
    pub cases: fn() -> Vec<Case>,
    pub layouts: fn() -> Vec<Layout>,
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
        },
        Family {
            name: "optim",
            about: "the moment-filter optimisers over a parameter arena",
            kernels: optim::gpu::kernels,
            cases: optim::cases::cases,
            layouts: optim::gpu::layouts,
        },
        Family {
            name: "loss",
            about: "loss landscapes: each landscape's loss and gradient at random points",
            kernels: loss::gpu::kernels,
            cases: loss::cases::cases,
            layouts: loss::gpu::layouts,
        },
        Family {
            name: "landscape",
            about: "learners on loss landscapes: losses, gradients and every rule",
            kernels: landscape::gpu::kernels,
            cases: landscape::cases::cases,
            layouts: landscape::gpu::layouts,
        },
        Family {
            name: "control",
            about: "paths on loss landscapes: the action and its gradient",
            kernels: control::gpu::kernels,
            cases: control::cases::cases,
            layouts: control::gpu::layouts,
        },
        Family {
            name: "infer",
            about: "learning-rule inference: the dnn model's loss and truncated BPTT gradients",
            kernels: infer::gpu::kernels,
            cases: infer::cases::cases,
            layouts: infer::gpu::layouts,
        },
        Family {
            name: "hippo",
            about: "the theta-gated hippocampal model: many models' time steps",
            kernels: hippo::gpu::kernels,
            cases: hippo::cases::cases,
            layouts: hippo::gpu::layouts,
        },
    ]
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

/// Every kernel in the crate (shader validation, layout tests, pipeline warm-up).
pub fn kernels() -> Vec<Kernel> {
    families().iter().flat_map(|f| (f.kernels)()).collect()
}

/// Every struct the crate shares between Rust and WGSL.
pub fn layouts() -> Vec<Layout> {
    families().iter().flat_map(|f| (f.layouts)()).collect()
}
