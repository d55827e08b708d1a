//! rulelab: the computations of learning-rule science as WGSL compute shaders through
//! wgpu, each checked against a CPU reference.
//!
//! - [`gpu`]: the host layer (adapter and device, buffers, pipelines, split dispatch,
//!   timing) and the choice of where work runs ([`gpu::DeviceChoice`]).
//! - [`check`]: the harness comparing kernels with their f64 references.
//! - [`rng`]: Philox4x32-10, identical in WGSL and Rust.
//! - [`optim`]: the moment-filter optimisers, embeddable on a caller's own buffers.
//! - [`landscape`]: learners on loss landscapes; [`sweep`] runs grids of them.
//! - [`registry`]: the families, their kernels, check cases and shared structs.

pub mod check;
pub mod error;
pub mod files;
pub mod gpu;
pub mod landscape;
pub mod optim;
pub mod real;
pub mod registry;
pub mod rng;
pub mod simd;
pub mod sweep;

pub use error::{Error, Result};
pub use registry::{kernels, layouts};
