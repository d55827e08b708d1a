//! Paths on a wgpu device: one dispatch evaluates S and ∂S/∂θ for every path of a batch
//! (shaders/control/path.wgsl, composed with the landscape's own WGSL).

use super::action::{PathConsts, PathShape};
use crate::error::{Error, Result};
use crate::gpu::{DataArena, Gpu, GpuBuffer, Kernel};
use crate::loss::data::Shared;
use crate::loss::gpu::{land_data, wgsl_file, Land, LandParams};
use crate::loss::DriftKind;
use crate::loss::{Landscape, LandscapeKind, Shape};
use std::sync::Arc;

crate::gpu_struct! {
    /// The path kernel's uniform.
    pub struct PathKernelShape {
        pub land: Land,
        pub n_paths: u32,
        pub n: u32,
        pub free_end: u32,
        pub drift: u32,
        pub drift_rate: f32,
        pub dt: f32,
        pub points_per_wg: u32,
        pub blocks: u32,
        pub off_g: u32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }
}

crate::gpu_struct! {
    /// One path's landscape numbers and control constants.
    pub struct PathPoint {
        pub land: LandParams,
        pub gamma: f32,
        pub eta: f32,
        pub k: f32,
        pub _pad: f32,
    }
}

/// Every struct the control kernels share with their WGSL.
pub fn layouts() -> Vec<crate::gpu::Layout> {
    use crate::gpu::GpuStruct;
    vec![PathKernelShape::layout(), PathPoint::layout()]
}

/// The path kernel for a landscape.
pub fn path_kernel(kind: LandscapeKind) -> Kernel {
    let file = wgsl_file(kind);
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".wgsl");
    Kernel::new(format!("path_{stem}"), "main", &["control/path.wgsl", file])
}

/// Every kernel of the family.
pub fn kernels() -> Vec<Kernel> {
    let mut v: Vec<Kernel> = Vec::new();
    for &k in LandscapeKind::ALL {
        let kernel = path_kernel(k);
        if !v.iter().any(|x| x.name == kernel.name) {
            v.push(kernel);
        }
    }
    v
}

/// A batch of paths bound to the device: evaluate S and its gradient as often as an
/// optimiser needs, uploading only the points.
pub struct GpuPaths {
    gpu: Arc<Gpu>,
    pipeline: Arc<wgpu::ComputePipeline>,
    bind: wgpu::BindGroup,
    theta: GpuBuffer<f32>,
    grad: GpuBuffer<f32>,
    partial: GpuBuffer<f32>,
    n_paths: usize,
    blocks: usize,
    workgroups: u32,
    // Kept alive with the bind group.
    _buffers: Vec<wgpu::Buffer>,
}

impl GpuPaths {
    pub fn new(
        gpu: &Arc<Gpu>,
        landscape: &Landscape,
        shared: &Shared<f64>,
        params: &[Shape],
        consts: &[PathConsts],
        shape: &PathShape,
    ) -> Result<GpuPaths> {
        let n_paths = params.len();
        if n_paths == 0 || consts.len() != n_paths {
            return Err(Error::invalid(
                "paths",
                "need one set of constants per path",
            ));
        }
        let d = landscape.dim;
        let mut arena = DataArena::new();
        let (land, points) = land_data(landscape, shared, params, &mut arena)?;
        let off_g = arena.push(shape.g.iter().map(|&v| v as f32));
        let ppw = 256 / land.lanes as usize;
        let blocks = (shape.n + 1).div_ceil(ppw);
        let uniform = PathKernelShape {
            land,
            n_paths: n_paths as u32,
            n: shape.n as u32,
            free_end: shape.free_end as u32,
            drift: match shape.drift.kind {
                DriftKind::None => 0,
                DriftKind::Decay => 1,
                DriftKind::Rotation => 2,
            },
            drift_rate: shape.drift.rate as f32,
            dt: (shape.t_end / shape.n as f64) as f32,
            points_per_wg: ppw as u32,
            blocks: blocks as u32,
            off_g,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        };
        let rows: Vec<PathPoint> = points
            .into_iter()
            .zip(consts)
            .map(|(land, c)| PathPoint {
                land,
                gamma: c.gamma as f32,
                eta: c.eta as f32,
                k: c.k as f32,
                _pad: 0.0,
            })
            .collect();
        let len = n_paths * (shape.n + 1) * d;
        let pipeline = gpu.pipeline(&path_kernel(landscape.kind))?;
        let uniform = gpu.uniform("path shape", &uniform)?;
        let paths = gpu.upload("path constants", &rows)?;
        let data = arena.upload(gpu, "path data")?;
        let theta = gpu.zeros::<f32>("path points", len)?;
        let grad = gpu.zeros::<f32>("path gradient", len)?;
        let partial = gpu.zeros::<f32>("path partial actions", n_paths * blocks)?;
        let bind = gpu.bind_group(
            &pipeline,
            &[
                (0, uniform.as_entire_binding()),
                (1, paths.buffer.as_entire_binding()),
                (2, data.buffer.as_entire_binding()),
                (3, theta.buffer.as_entire_binding()),
                (4, grad.buffer.as_entire_binding()),
                (5, partial.buffer.as_entire_binding()),
            ],
        )?;
        Ok(GpuPaths {
            gpu: gpu.clone(),
            pipeline,
            bind,
            theta,
            grad,
            partial,
            n_paths,
            blocks,
            workgroups: (n_paths * blocks) as u32,
            _buffers: vec![uniform, paths.buffer, data.buffer],
        })
    }

    /// S of every path (summed over its blocks in f64) and the gradient (f32, fixed
    /// points 0), at the points `theta` (paths × (N + 1) × dim).
    pub fn eval(&mut self, theta: &[f32]) -> Result<(Vec<f64>, Vec<f32>)> {
        if theta.len() != self.theta.len() {
            return Err(Error::invalid(
                "theta",
                format!(
                    "holds {} values, the paths {}",
                    theta.len(),
                    self.theta.len()
                ),
            ));
        }
        let gpu = &self.gpu;
        gpu.write(&self.theta, theta)?;
        gpu.fill(&self.grad, f32::NAN)?;
        gpu.fill(&self.partial, f32::NAN)?;
        gpu.dispatch_and_wait("paths", &self.pipeline, &self.bind, self.workgroups)?;
        let partial = gpu.download(&self.partial)?;
        let s = (0..self.n_paths)
            .map(|p| {
                partial[p * self.blocks..(p + 1) * self.blocks]
                    .iter()
                    .map(|&x| x as f64)
                    .sum()
            })
            .collect();
        Ok((s, gpu.download(&self.grad)?))
    }
}
