//! Measuring the family against the same device's copy bandwidth, measured in the same
//! run. `rulelab bench optim` and `benches/optim.rs` both time through these functions.

use super::cpu::CpuOptimizer;
use super::gpu::GpuOptimizer;
use super::{Config, Hyper, Member};
use crate::error::Result;
use crate::gpu::{Backend, Clock, Gpu, Kernel};
use rayon::prelude::*;
use std::time::Instant;

pub const COPY_KERNEL: Kernel = Kernel {
    name: "copy_f32",
    sources: &[include_str!("../../shaders/common/copy.wgsl")],
    entry: "main",
};

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

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }
}

/// Inputs for benches: finite, of unit scale, never denormal.
fn bench_values(n: usize, phase: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 * 0.618 + phase).fract() - 0.5) * 2.0 + 0.01)
        .collect()
}

/// Median copy bandwidths (bytes read + written per second) of n f32 on the GPU:
/// copy_buffer_to_buffer and the copy shader.
pub fn gpu_copy_bandwidth(gpu: &Gpu, n: usize, reps: usize) -> Result<(f64, f64, Clock)> {
    let src = gpu.zeros::<f32>("copy src", n)?;
    let dst = gpu.zeros::<f32>("copy dst", n)?;
    gpu.fill(&src, 1.5)?;
    let bytes = 8.0 * n as f64;
    let mut t_copy = Vec::new();
    let mut clock = gpu.pass_clock();
    for _ in 0..reps + 1 {
        let t = gpu.time_commands(|enc| {
            enc.copy_buffer_to_buffer(&src.buffer, 0, &dst.buffer, 0, src.bytes())
        })?;
        clock = t.clock;
        t_copy.push(t.seconds);
    }
    let pipeline = gpu.pipeline(&COPY_KERNEL)?;
    let binds: Vec<(wgpu::BindGroup, u32)> = gpu
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
    let mut t_shader = Vec::new();
    for _ in 0..reps + 1 {
        let mut err = Ok(());
        let t = gpu.time_pass(|pass| {
            pass.set_pipeline(&pipeline);
            for (b, groups) in &binds {
                match gpu.grid(*groups) {
                    Ok((x, y)) => {
                        pass.set_bind_group(0, b, &[]);
                        pass.dispatch_workgroups(x, y, 1);
                    }
                    Err(e) => err = Err(e),
                }
            }
        })?;
        err?;
        t_shader.push(t.seconds);
    }
    // The first run of each warms caches and page tables; it is dropped.
    Ok((
        bytes / median(t_copy[1..].to_vec()),
        bytes / median(t_shader[1..].to_vec()),
        clock,
    ))
}

/// Median seconds of one step of `member` over one group of n parameters on the GPU.
pub fn gpu_step_seconds(gpu: &Gpu, member: Member, n: usize, reps: usize) -> Result<(f64, Clock)> {
    let theta = gpu.upload("theta", &bench_values(n, 0.1))?;
    let grads = gpu.upload("grads", &bench_values(n, 0.7))?;
    let mut opt = GpuOptimizer::new(
        gpu,
        Config::single(member, Hyper::default(), n),
        &theta.buffer,
        &grads.buffer,
        n,
    )?;
    opt.step_timed(gpu)?; // warm-up: first-use costs stay out of the median
    let mut times = Vec::new();
    let mut clock = gpu.pass_clock();
    for _ in 0..reps {
        let t = opt.step_timed(gpu)?;
        clock = t.clock;
        times.push(t.seconds);
    }
    Ok((median(times), clock))
}

/// Median seconds of a parallel copy of n f32 on the CPU, with the same chunking as the
/// CPU optimiser.
pub fn cpu_copy_seconds(n: usize, reps: usize) -> f64 {
    let src = bench_values(n, 0.3);
    let mut dst = vec![0.0f32; n];
    let mut times = Vec::new();
    for _ in 0..reps + 1 {
        let t0 = Instant::now();
        dst.par_chunks_mut(1 << 15)
            .zip(src.par_chunks(1 << 15))
            .for_each(|(d, s)| d.copy_from_slice(s));
        times.push(t0.elapsed().as_secs_f64());
    }
    std::hint::black_box(&dst);
    median(times[1..].to_vec())
}

/// Median seconds of one step of `member` on the CPU device.
pub fn cpu_step_seconds(member: Member, n: usize, reps: usize) -> Result<f64> {
    let mut theta = bench_values(n, 0.1);
    let grads = bench_values(n, 0.7);
    let mut opt = CpuOptimizer::<f32>::new(Config::single(member, Hyper::default(), n), n)?;
    opt.step(&mut theta, &grads)?;
    let mut times = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        opt.step(&mut theta, &grads)?;
        times.push(t0.elapsed().as_secs_f64());
    }
    std::hint::black_box(&theta);
    Ok(median(times))
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
        let (copy, shader, clock) = match backend {
            Backend::Gpu(gpu) => gpu_copy_bandwidth(gpu, n, reps)?,
            Backend::Cpu => {
                let b = 8.0 * n as f64 / cpu_copy_seconds(n, reps);
                (b, b, Clock::HostClock)
            }
        };
        let _ = clock;
        for &m in members {
            let (seconds, clock) = match backend {
                Backend::Gpu(gpu) => gpu_step_seconds(gpu, m, n, reps)?,
                Backend::Cpu => (cpu_step_seconds(m, n, reps)?, Clock::HostClock),
            };
            let bytes_per_s = (m.bytes_per_param() * n as u64) as f64 / seconds;
            let row = BenchRow {
                kernel: m.name().into(),
                n: n as u64,
                seconds,
                bytes_per_s,
                copy_bytes_per_s: copy,
                copy_shader_bytes_per_s: shader,
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
