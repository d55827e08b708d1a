//! Measuring the family against the same device's copy bandwidth, measured in the same
//! run. `rulelab bench optim` and `benches/optim.rs` both time through these functions.

use super::cpu::CpuOptimizer;
use super::gpu::{copy_kernel, GpuOptimizer};
use super::{Config, Member};
use crate::error::Result;
use crate::gpu::{Backend, Clock, Gpu};
use rayon::prelude::*;
use std::time::Instant;

/// One row of `rulelab bench optim --json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchRow {
    pub kernel: String,
    pub n: u64,
    /// Median time of one step.
    pub seconds: f64,
    /// Spec §4 bytes per parameter x n / seconds.
    pub bytes_per_s: f64,
    /// Device-to-device copy of n f32 (read + write bytes / time): copy_buffer_to_buffer
    /// on a GPU, a parallel copy on the CPU.
    pub copy_bytes_per_s: f64,
    /// The same copy done by a plain copy shader (GPU); equals copy_bytes_per_s on CPU.
    pub copy_shader_bytes_per_s: f64,
    /// bytes_per_s / copy_bytes_per_s.
    pub ratio: f64,
    pub device: String,
    pub adapter: String,
    pub clock: Clock,
}

/// Inputs for benches: finite, of unit scale, never denormal.
fn bench_values(n: usize, phase: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 * 0.618 + phase).fract() - 0.5) * 2.0 + 0.01)
        .collect()
}

/// The copy ceilings on a GPU: two buffers of n f32, copied by copy_buffer_to_buffer
/// and by a plain copy shader (split into binding windows like every kernel).
pub struct GpuCopy {
    src: crate::gpu::GpuBuffer<f32>,
    dst: crate::gpu::GpuBuffer<f32>,
    pipeline: std::sync::Arc<wgpu::ComputePipeline>,
    binds: Vec<(wgpu::BindGroup, u32)>,
}

impl GpuCopy {
    pub fn new(gpu: &Gpu, n: usize) -> Result<Self> {
        let src = gpu.zeros::<f32>("copy src", n)?;
        let dst = gpu.zeros::<f32>("copy dst", n)?;
        gpu.fill(&src, 1.5)?;
        let pipeline = gpu.pipeline(&copy_kernel())?;
        let binds = gpu
            .windows(n as u64, 4)
            .iter()
            .map(|w| {
                let groups = (w.elems.end - w.elems.start).div_ceil(1024) as u32;
                gpu.bind_group(
                    &pipeline,
                    &[(0, w.bind(&src.buffer, 4)), (1, w.bind(&dst.buffer, 4))],
                )
                .map(|b| (b, groups))
            })
            .collect::<Result<_>>()?;
        Ok(GpuCopy {
            src,
            dst,
            pipeline,
            binds,
        })
    }

    /// Seconds for copy_buffer_to_buffer of the whole buffer.
    pub fn copy(&self, gpu: &Gpu) -> Result<f64> {
        let bytes = self.src.bytes();
        Ok(gpu
            .time_commands(|enc| {
                enc.copy_buffer_to_buffer(&self.src.buffer, 0, &self.dst.buffer, 0, bytes)
            })?
            .seconds)
    }

    /// Seconds for the copy shader over the whole buffer.
    pub fn shader(&self, gpu: &Gpu) -> Result<f64> {
        let grids = self
            .binds
            .iter()
            .map(|(_, g)| gpu.grid(*g))
            .collect::<Result<Vec<_>>>()?;
        Ok(gpu
            .time_pass(|pass| {
                pass.set_pipeline(&self.pipeline);
                for ((b, _), (x, y)) in self.binds.iter().zip(&grids) {
                    pass.set_bind_group(0, b, &[]);
                    pass.dispatch_workgroups(*x, *y, 1);
                }
            })?
            .seconds)
    }
}

/// A GPU optimiser over one group of n parameters with bench inputs, ready to time.
pub fn gpu_rig(
    gpu: &Gpu,
    member: Member,
    n: usize,
) -> Result<(GpuOptimizer, [crate::gpu::GpuBuffer<f32>; 2])> {
    let theta = gpu.upload("theta", &bench_values(n, 0.1))?;
    let grads = gpu.upload("grads", &bench_values(n, 0.7))?;
    let opt = GpuOptimizer::new(
        gpu,
        Config::single(member, member.default_hyper(), n),
        &theta.buffer,
        &grads.buffer,
        n,
    )?;
    Ok((opt, [theta, grads]))
}

/// A parallel copy of n f32 on the CPU, with the same chunking as the CPU optimiser.
fn cpu_copy(dst: &mut [f32], src: &[f32]) -> f64 {
    let t0 = Instant::now();
    dst.par_chunks_mut(1 << 15)
        .zip(src.par_chunks(1 << 15))
        .for_each(|(d, s)| d.copy_from_slice(s));
    t0.elapsed().as_secs_f64()
}

/// Times per repetition: (copy, copy shader, step). The copies and the step alternate
/// within each repetition so that a machine whose speed drifts (a shared VM, a GPU
/// changing clocks) affects the kernel and its ceiling alike.
fn interleaved(
    backend: &Backend,
    member: Member,
    n: usize,
    reps: usize,
) -> Result<(Vec<[f64; 3]>, Clock)> {
    let mut out = Vec::new();
    match backend {
        Backend::Gpu(gpu) => {
            let copy = GpuCopy::new(gpu, n)?;
            let (mut opt, _bufs) = gpu_rig(gpu, member, n)?;
            let mut clock = gpu.pass_clock();
            for rep in 0..reps + 1 {
                let (c, s) = (copy.copy(gpu)?, copy.shader(gpu)?);
                let t = opt.step_timed(gpu)?;
                clock = t.clock;
                if rep > 0 {
                    out.push([c, s, t.seconds]); // rep 0 warms caches and page tables
                }
            }
            Ok((out, clock))
        }
        Backend::Cpu => {
            let src = bench_values(n, 0.3);
            let mut dst = vec![0.0f32; n];
            let mut theta = bench_values(n, 0.1);
            let grads = bench_values(n, 0.7);
            let mut opt =
                CpuOptimizer::<f32>::new(Config::single(member, member.default_hyper(), n), n)?;
            for rep in 0..reps + 1 {
                let c = cpu_copy(&mut dst, &src);
                let t0 = Instant::now();
                opt.step(&mut theta, &grads)?;
                let t = t0.elapsed().as_secs_f64();
                if rep > 0 {
                    out.push([c, c, t]);
                }
            }
            std::hint::black_box((&dst, &theta));
            Ok((out, Clock::HostClock))
        }
    }
}

/// The bench table for `members` at each size, on the backend.
pub fn run(
    backend: &Backend,
    members: &[Member],
    sizes: &[usize],
    reps: usize,
    mut progress: impl FnMut(&BenchRow),
) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for &n in sizes {
        for &m in members {
            let (times, clock) = interleaved(backend, m, n, reps.max(1))?;
            let col = |k: usize| crate::stats::median(times.iter().map(|t| t[k]).collect());
            let copy_bytes = 8.0 * n as f64;
            let seconds = col(2);
            let bytes_per_s = (m.bytes_per_param() * n as u64) as f64 / seconds;
            let copy = copy_bytes / col(0);
            let row = BenchRow {
                kernel: m.name().into(),
                n: n as u64,
                seconds,
                bytes_per_s,
                copy_bytes_per_s: copy,
                copy_shader_bytes_per_s: copy_bytes / col(1),
                ratio: bytes_per_s / copy,
                device: backend.kind().into(),
                adapter: backend.describe(),
                clock,
            };
            progress(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}
