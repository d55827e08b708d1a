//! The thin host layer over wgpu: adapter and device, typed buffers, the pipeline cache,
//! split dispatch, readback with a timeout, and timing.
//!
//! Everything a family needs from the GPU goes through [`Gpu`]. It can pick and open an
//! adapter itself ([`Gpu::new`]) or wrap a device the caller already owns
//! ([`Gpu::from_device`]), which is how rulelab embeds in other programs.

mod buffer;
mod choice;
mod device;
mod dispatch;
pub mod layout;
mod pipeline;
mod steps;
mod timing;
pub mod wgsl;

pub use buffer::{DataArena, GpuBuffer};
pub use choice::{Backend, DeviceChoice};
pub use device::{
    adapters, check_env, choose_adapter, devices, instance, is_hardware, AdapterSummary,
    DeviceReport, Gpu, SplitLimits,
};
pub use dispatch::{grid_for, Window};
pub use layout::binding_structs;
pub use layout::{GpuStruct, Layout};
pub use timing::{Clock, Timed};
pub use wgsl::{Kernel, Piece};
