//! rulelab: the computations of learning-rule science as WGSL compute shaders through
//! wgpu, each checked against a CPU reference.
//!
//! - [`gpu`]: the host layer (adapter and device, buffers, pipelines, split dispatch,
//!   timing) and the choice of where work runs ([`gpu::DeviceChoice`]).
//! - [`check`]: the harness comparing kernels with their f64 references.
//! - [`rng`]: Philox4x32-10, identical in WGSL and Rust.
//! - [`optim`]: the moment-filter optimisers, embeddable on a caller's own buffers.
//! - [`landscape`]: learners on loss landscapes; [`sweep`] runs grids of them.
//! - [`control`]: the control problem behind the rules, its closed forms.
//! - [`registry`]: the families, their kernels, check cases and shared structs.

pub mod check;
pub mod command;
pub mod control;
pub mod error;
pub mod files;
pub mod gpu;
pub mod hippo;
pub mod infer;
pub mod interrupt;
pub mod keys;
pub mod landscape;
pub mod lbfgs;
pub mod loss;
pub mod optim;
pub mod outdir;
pub mod plot;
pub mod real;
pub mod registry;
pub mod rng;
pub mod simd;
pub mod stats;
pub mod sweep;

pub use error::{Error, Result};

/// An enum of kinds with one name each, as configs, results and the command line spell
/// them: `ALL` (every variant, in order), `name` and `from_name`, generated from one
/// list so a new variant cannot be missing from any of them.
#[macro_export]
macro_rules! named_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$doc:meta])* $variant:ident = $label:literal,)*
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $($(#[$doc])* $variant,)*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name configs, results and the command line use.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }

            /// The variant named `name`, if any.
            pub fn from_name(name: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }

            /// Every name, in declaration order.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.name()).collect()
            }
        }
    };
}
pub use registry::{kernels, layouts};
