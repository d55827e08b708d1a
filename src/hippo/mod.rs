//! The theta-gated hippocampal model (spec `hippocampus.md`): the two-compartment
//! network and its local rule ([`model`]), the ring the agent runs on ([`ring`]) and
//! the published experiments' networks ([`experiments`]).
//!
//! In progress (issue "Theta-gated hippocampal model"): the CPU model, the ring and the
//! experiment networks are here and tested; the GPU kernels, the latents of experiment
//! A, the runner, the decoder and the reports are to come.

pub mod decode;
pub mod experiments;
pub mod latents;
pub mod model;
pub mod ring;
