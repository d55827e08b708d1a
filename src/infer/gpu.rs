//! The dnn model's truncated BPTT on a wgpu device (shaders/infer/dnn.wgsl): a batch of
//! animals side by side, one workgroup each, every window's trials inside dispatches
//! (cut to the loop budget on software adapters), gradients per animal summed after.

use super::data::Animal;
use super::model::{Net, INPUTS, K};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Kernel};

crate::gpu_struct! {
    /// The dnn kernels' uniform.
    pub struct DnnShape {
        pub hidden: u32,
        pub layers: u32,
        pub n_phi: u32,
        pub n_animals: u32,
        pub t0: u32,
        pub t1: u32,
        pub begin: u32,
        pub end: u32,
        pub tape_stride: u32,
        pub weight: f32,
        pub _pad0: u32,
        pub _pad1: u32,
    }
}

crate::gpu_struct! {
    /// One trial: s, d, y, r, z.
    pub struct TrialRow {
        pub s: f32,
        pub d: f32,
        pub y: f32,
        pub r: f32,
        pub z: f32,
        pub _pad0: f32,
        pub _pad1: f32,
        pub _pad2: f32,
    }
}

crate::gpu_struct! {
    /// An animal's trials and carried values.
    pub struct AnimalState {
        pub first: u32,
        pub n_trials: u32,
        pub restart: u32,
        pub _pad1: u32,
        pub w0: f32,
        pub w1: f32,
        pub g0: f32,
        pub g1: f32,
        pub loss: f32,
        pub _pad2: f32,
        pub _pad3: f32,
        pub _pad4: f32,
    }
}

pub fn forward_kernel() -> Kernel {
    Kernel::new("dnn_forward", "forward", &["infer/dnn.wgsl"])
}

pub fn backward_kernel() -> Kernel {
    Kernel::new("dnn_backward", "backward", &["infer/dnn.wgsl"])
}

pub fn kernels() -> Vec<Kernel> {
    vec![forward_kernel(), backward_kernel()]
}

pub fn layouts() -> Vec<crate::gpu::Layout> {
    use crate::gpu::GpuStruct;
    vec![
        DnnShape::layout(),
        TrialRow::layout(),
        AnimalState::layout(),
    ]
}

/// Loop back-edges one trial costs a thread (forward and backward together, counted
/// generously): per layer its inputs for ∂W and its outputs for ∂x, and the offsets.
fn loops_per_trial(net: &Net) -> u64 {
    let h = net.hidden.max(INPUTS) as u64;
    let strides = (net.hidden as u64).div_ceil(64);
    (net.layers as u64 + 1) * (2 * h * strides + net.layers as u64 + 8) + 16
}

/// A batch's loss and gradient: Σ weight · NLL over the animals' trials, Σ over animals
/// of weight · ∂NLL/∂φ, and per animal weight · ∂NLL/∂w_0 (per restart).
pub struct BatchGrad {
    pub loss: f64,
    pub grad: Vec<f32>,
    pub grad_w0: Vec<[f32; K]>,
}

/// Runs a batch of animals through every window of `trunc` trials on the device, for
/// every restart at once: `phi` holds each restart's φ in turn, `w0` each restart's
/// w_0 of each animal (restart-major). Returns one result per restart.
#[allow(clippy::too_many_arguments)]
pub fn batch_grads(
    gpu: &Gpu,
    net: &Net,
    phi: &[f32],
    animals: &[&Animal],
    w0: &[[f32; K]],
    trunc: usize,
    weight: f32,
) -> Result<Vec<BatchGrad>> {
    let restarts = phi.len() / net.len();
    let slots: Vec<(usize, &Animal, [f32; K])> = (0..restarts)
        .flat_map(|r| {
            animals
                .iter()
                .enumerate()
                .map(move |(i, a)| (r, *a, w0[r * animals.len() + i]))
        })
        .collect();
    let all = batch_slots(gpu, net, phi, &slots, trunc, weight)?;
    let n = animals.len();
    Ok((0..restarts)
        .map(|r| {
            let mut grad = vec![0.0f32; net.len()];
            let mut loss = 0.0;
            let mut grad_w0 = Vec::with_capacity(n);
            for (g, l, gw) in &all[r * n..(r + 1) * n] {
                for (s, x) in grad.iter_mut().zip(g) {
                    *s += x;
                }
                loss += l;
                grad_w0.push(*gw);
            }
            BatchGrad {
                loss,
                grad,
                grad_w0,
            }
        })
        .collect())
}

/// Runs a batch for one φ (see [`batch_grads`]).
pub fn batch_grad(
    gpu: &Gpu,
    net: &Net,
    phi: &[f32],
    animals: &[&Animal],
    w0: &[[f32; K]],
    trunc: usize,
    weight: f32,
) -> Result<BatchGrad> {
    Ok(batch_grads(gpu, net, phi, animals, w0, trunc, weight)?.remove(0))
}

/// Per slot (restart, animal, w_0): weight · its gradient row, loss and ∂/∂w_0.
type SlotGrad = (Vec<f32>, f64, [f32; K]);

fn batch_slots(
    gpu: &Gpu,
    net: &Net,
    phi: &[f32],
    slots: &[(usize, &Animal, [f32; K])],
    trunc: usize,
    weight: f32,
) -> Result<Vec<SlotGrad>> {
    if net.hidden > 1024 {
        return Err(Error::invalid(
            "--hidden",
            "the GPU kernel holds at most 1024 units a layer",
        ));
    }
    let n = slots.len();
    let n_phi = net.len();
    let mut rows = Vec::new();
    let mut states = Vec::with_capacity(n);
    for &(r, a, w) in slots {
        states.push(AnimalState {
            first: rows.len() as u32,
            n_trials: a.trials.len() as u32,
            restart: r as u32,
            _pad1: 0,
            w0: w[0],
            w1: w[1],
            g0: 0.0,
            g1: 0.0,
            loss: 0.0,
            _pad2: 0.0,
            _pad3: 0.0,
            _pad4: 0.0,
        });
        rows.extend(a.trials.iter().map(|t| TrialRow {
            s: t.stimulus as f32,
            d: if t.session_start { 1.0 } else { 0.0 },
            y: t.choice as f32,
            r: t.reward as f32,
            z: t.correct as f32,
            _pad0: 0.0,
            _pad1: 0.0,
            _pad2: 0.0,
        }));
    }
    let longest = slots.iter().map(|s| s.1.trials.len()).max().unwrap_or(0);
    // Windows longer than the longest animal are the same as one of its length.
    let trunc = trunc.min(longest).max(1);
    let tape_stride = INPUTS + net.acts() + 2 * K;
    let fwd = gpu.pipeline(&forward_kernel())?;
    let bwd = gpu.pipeline(&backward_kernel())?;
    let phi_buf = gpu.upload("dnn phi", phi)?;
    let trial_buf = gpu.upload("dnn trials", &rows)?;
    let state_buf = gpu.upload("dnn state", &states)?;
    let tape = gpu.poisoned("dnn tape", (n * trunc * tape_stride).max(1), f32::NAN)?;
    let grads = gpu.zeros::<f32>("dnn grads", n * (n_phi + K))?;
    let mut shape = DnnShape {
        hidden: net.hidden as u32,
        layers: net.layers as u32,
        n_phi: n_phi as u32,
        n_animals: n as u32,
        t0: 0,
        t1: 0,
        begin: 0,
        end: 0,
        tape_stride: tape_stride as u32,
        weight,
        _pad0: 0,
        _pad1: 0,
    };
    let uniform = gpu.scoped(|| {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dnn shape"),
            size: std::mem::size_of::<DnnShape>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })?;
    let entries = [
        (0, uniform.as_entire_binding()),
        (1, phi_buf.buffer.as_entire_binding()),
        (2, trial_buf.buffer.as_entire_binding()),
        (3, state_buf.buffer.as_entire_binding()),
        (4, tape.buffer.as_entire_binding()),
        (5, grads.buffer.as_entire_binding()),
    ];
    // The forward pass reads no gradients (its layout has no binding 5).
    let bind_f = gpu.bind_group(&fwd, &entries[..5])?;
    let bind_b = gpu.bind_group(&bwd, &entries)?;
    let per_trial = loops_per_trial(net);
    let mut t0 = 0;
    while t0 < longest {
        let t1 = (t0 + trunc).min(longest);
        (shape.t0, shape.t1) = (t0 as u32, (t0 + trunc) as u32);
        let mut ranges = Vec::new();
        gpu.run_in_windows(
            (t1 - t0) as u64,
            per_trial,
            None,
            "one trial of the dnn model",
            &[],
            |b, e| {
                (shape.begin, shape.end) = ((t0 as u64 + b) as u32, (t0 as u64 + e) as u32);
                if e as usize == t1 - t0 {
                    // The window's last range ends at its nominal end, whatever the lengths.
                    shape.end = shape.t1;
                }
                ranges.push((shape.begin, shape.end));
                gpu.queue
                    .write_buffer(&uniform, 0, bytemuck::bytes_of(&shape));
                gpu.dispatch_and_wait("dnn forward", &fwd, &bind_f, n as u32)
            },
        )?;
        for &(b, e) in ranges.iter().rev() {
            (shape.begin, shape.end) = (b, e);
            gpu.queue
                .write_buffer(&uniform, 0, bytemuck::bytes_of(&shape));
            gpu.dispatch_and_wait("dnn backward", &bwd, &bind_b, n as u32)?;
        }
        t0 = t1;
    }
    let states = gpu.download(&state_buf)?;
    let g = gpu.download(&grads)?;
    Ok((0..n)
        .map(|a| {
            let row = &g[a * (n_phi + K)..(a + 1) * (n_phi + K)];
            (
                row[..n_phi].to_vec(),
                states[a].loss as f64 * weight as f64,
                [row[n_phi], row[n_phi + 1]],
            )
        })
        .collect())
}
