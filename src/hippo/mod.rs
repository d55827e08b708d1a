//! The theta-gated hippocampal model (spec `hippocampus.md`): the two-compartment
//! network, its local rule and the training monitor ([`model`]), the ring the agent runs
//! on ([`ring`]), experiment A's latents ([`latents`]), the position decoder
//! ([`decode`]) and the published experiments' networks and the path-integration test
//! ([`experiments`]).
//!
//! In progress (issue "Theta-gated hippocampal model"): what is here runs on the CPU and
//! is tested; the GPU kernels, the runner (`rulelab hippo run`, grid axes, shards),
//! experiment A's run and experiment C, and the reports are to come.

pub mod cases;
pub mod decode;
pub mod experiments;
pub mod gpu;
pub mod latents;
pub mod model;
pub mod plot;
pub mod protocol;
pub mod ring;
pub mod run;
pub mod study;

pub use study::{HippoParams, HippoStudy};
