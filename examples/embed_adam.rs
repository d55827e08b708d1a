//! Embedding rulelab in a program that owns its own wgpu device and buffers.
//!
//! The program fits a linear regression y = X w on the GPU: its own small kernel
//! computes the gradient of the mean squared error into its own buffer, and rulelab's
//! fused Adam steps the weight buffer in place. Nothing is read back except the loss
//! this program prints.
//!
//!     cargo run --release --example embed_adam

use rulelab::gpu::Gpu;
use rulelab::optim::gpu::GpuOptimizer;
use rulelab::optim::{Config, Hyper, Member};
use wgpu::util::DeviceExt;

const SAMPLES: u32 = 4096;
const FEATURES: u32 = 64;

// The program's own kernel: one thread per feature j computes
// grad_j = (2/N) sum_i (x_i . w - y_i) x_ij, and thread 0 also writes the loss.
const GRADIENT_WGSL: &str = r#"
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

const N: u32 = 4096u;
const D: u32 = 64u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    var g = 0.0;
    var l = 0.0;
    for (var i = 0u; i < N; i++) {
        var pred = 0.0;
        for (var k = 0u; k < D; k++) {
            pred += x[i * D + k] * w[k];
        }
        let r = pred - y[i];
        g += r * x[i * D + j];
        l += r * r;
    }
    grad[j] = 2.0 * g / f32(N);
    if (j == 0u) {
        loss[0] = l / f32(N);
    }
}
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The program's own device: any adapter, default limits.
    let instance = rulelab::gpu::instance();
    let adapter = rulelab::gpu::choose_adapter(pollster::block_on(
        instance.enumerate_adapters(wgpu::Backends::all()),
    ))?;
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default()))?;
    println!("adapter: {}", adapter.get_info().name);

    // 2. Its data and buffers: a noisy linear teacher.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let truth: Vec<f32> = (0..FEATURES).map(|_| 2.0 * uniform()).collect();
    let x: Vec<f32> = (0..SAMPLES * FEATURES).map(|_| uniform()).collect();
    let y: Vec<f32> = (0..SAMPLES as usize)
        .map(|i| {
            (0..FEATURES as usize)
                .map(|k| x[i * FEATURES as usize + k] * truth[k])
                .sum::<f32>()
                + 0.01 * uniform()
        })
        .collect();
    let storage =
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
    let init = |label, data: &[f32]| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: storage,
        })
    };
    let xb = init("x", &x);
    let yb = init("y", &y);
    let wb = init("w", &vec![0.0f32; FEATURES as usize]);
    let gb = init("grad", &vec![0.0f32; FEATURES as usize]);
    let lb = init("loss", &[0.0f32]);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("gradient"),
        source: wgpu::ShaderSource::Wgsl(GRADIENT_WGSL.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("gradient"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[&xb, &yb, &wb, &gb, &lb]
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect::<Vec<_>>(),
    });

    // 3. rulelab on the same device, stepping the program's weight buffer in place.
    let gpu = Gpu::from_device(device.clone(), queue.clone());
    let adam = Hyper {
        lr: 0.05,
        ..Hyper::default()
    };
    let mut opt = GpuOptimizer::new(
        &gpu,
        Config::single(Member::Adam, adam, FEATURES as usize),
        &wb,
        &gb,
        FEATURES as usize,
    )?;

    for step in 0..=300 {
        let mut enc = device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(FEATURES / 64, 1, 1);
        }
        queue.submit([enc.finish()]);
        opt.step(&gpu)?; // reads the gradient the program just wrote; no readback
        if step % 50 == 0 {
            let loss: Vec<f32> = gpu.download_raw(&lb, 1)?;
            println!("step {step:>4}  loss {:.6}", loss[0]);
        }
    }
    let w: Vec<f32> = gpu.download_raw(&wb, FEATURES as usize)?;
    let err = w
        .iter()
        .zip(&truth)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("largest weight error {err:.4}");
    Ok(())
}
