//! rulelab: the computations of learning-rule science as WGSL compute shaders through
//! wgpu, each checked against a CPU reference.
//!
//! - [`gpu`]: the host layer (adapter and device, buffers, pipelines, split dispatch,
//!   timing) and the choice of where work runs ([`gpu::DeviceChoice`]).
//! - [`check`]: the harness comparing kernels with their f64 references.
//! - [`rng`]: Philox4x32-10, identical in WGSL and Rust.
//! - [`optim`]: the moment-filter optimisers, embeddable on a caller's own buffers.

pub mod check;
pub mod error;
pub mod files;
pub mod gpu;
pub mod landscape;
pub mod optim;
pub mod real;
pub mod rng;
pub mod simd;
pub mod sweep;

pub use error::{Error, Result};

/// Every struct the crate shares between Rust and WGSL (the layout contract).
pub fn layouts() -> Vec<gpu::Layout> {
    use gpu::GpuStruct;
    let mut all = vec![rng::RngParams::layout()];
    all.extend(optim::gpu::layouts());
    all.extend(landscape::gpu::layouts());
    all
}

/// Every kernel in the crate, for shader validation and pipeline warm-up.
pub fn kernels() -> Vec<gpu::Kernel> {
    let mut all = vec![rng::check_kernel(), optim::bench::copy_kernel()];
    all.extend(optim::gpu::kernels());
    all.extend(landscape::gpu::kernels());
    all
}
