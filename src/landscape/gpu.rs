//! The landscape sweep kernels on a wgpu device.

use super::data::Shared;
use super::{Outcome, Params, Problem};
use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// Runs a chunk of learners on the GPU.
pub fn run_chunk(
    _gpu: &Gpu,
    _problem: &Problem,
    _shared: &Shared<f64>,
    _params: &[Params],
) -> Result<Vec<Outcome>> {
    Err(Error::invalid(
        "--device",
        "the GPU sweep kernels are not written yet",
    ))
}
