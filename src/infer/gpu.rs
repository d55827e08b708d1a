//! The dnn and rnn models' truncated BPTT on a wgpu device (shaders/infer/dnn.wgsl;
//! the rnn's GRU state and its gradient are carried per slot between dispatches). Everything
//! a fit touches stays on the device: every animal's trials, the parameter arena (each
//! restart's φ, then each restart's w_0 of each animal) and its gradient. A batch is a
//! set of slots (restart, animal), one workgroup each, every window's trials inside
//! dispatches (cut to the loop budget on software adapters); a reduce kernel sums the
//! slots' gradient rows into the arena's gradient, where the optimiser family's
//! `GpuOptimizer` steps it. Nothing is read back during an epoch.

use super::data::Animal;
use super::net::{Net, INPUTS, K};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, GpuBuffer, Kernel};
use std::sync::Arc;

crate::gpu_struct! {
    /// The dnn kernels' uniform.
    pub struct DnnShape {
        pub hidden: u32,
        pub layers: u32,
        pub n_phi: u32,
        /// Slots in the batch (restart-major, `per_restart` each).
        pub n_slots: u32,
        pub t0: u32,
        pub t1: u32,
        pub begin: u32,
        pub end: u32,
        pub tape_stride: u32,
        pub _pad3: u32,
        /// The slots this forward/backward dispatch runs: [slot_base, slot_base + group_len).
        pub slot_base: u32,
        pub group_len: u32,
        pub per_restart: u32,
        /// GRU units (0: the dnn).
        pub gru: u32,
        /// 1: the rnn's MLP also reads the trial's inputs.
        pub skip: u32,
        pub _pad2: u32,
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
    /// A slot's trials and carried values.
    pub struct AnimalState {
        pub first: u32,
        pub n_trials: u32,
        pub restart: u32,
        /// Where the slot's w_0 lives in the parameter arena (and its gradient in the
        /// arena's gradient).
        pub w0_at: u32,
        pub w0: f32,
        pub w1: f32,
        pub g0: f32,
        pub g1: f32,
        pub loss: f32,
        /// 1 / trials of the slot's restart's batch.
        pub weight: f32,
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

pub fn reduce_kernel() -> Kernel {
    Kernel::new("dnn_reduce", "reduce", &["infer/dnn.wgsl"])
}

pub fn kernels() -> Vec<Kernel> {
    vec![forward_kernel(), backward_kernel(), reduce_kernel()]
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
    let h = net.hidden.max(net.mlp_inputs()) as u64;
    let strides = (net.hidden.max(net.mlp_inputs()) as u64).div_ceil(64);
    let mlp = (net.layers as u64 + 1) * (2 * h * strides + net.layers as u64 + 8) + 16;
    // The GRU: a thread's units' gates over (8 + G) inputs and ∂/∂h over 3G rows, its
    // rows' gradients over (8 + G), and ∂/∂w over 3G rows.
    let g = net.gru as u64;
    let gru = if g == 0 {
        0
    } else {
        let units = g.div_ceil(64);
        let rows = (3 * g).div_ceil(64);
        units * (INPUTS as u64 + g + 3 * g + 4) + rows * (INPUTS as u64 + g + 2) + 3 * g + 8
    };
    mlp + gru
}

/// Floats one trial keeps on the tape: the rule's inputs, the rnn's h_t, gates and
/// h_{t+1} (6G) and with skip the inputs again, the MLP's activations, its outputs
/// and w_t.
fn tape_stride(net: &Net) -> usize {
    INPUTS + 6 * net.gru + if net.skip { INPUTS } else { 0 } + net.acts() + 2 * K
}

/// One workgroup of a batch: which restart's φ it runs on which animal, which of the
/// restart's w_0 it starts from (its place in the restart's set of animals, which may
/// hold an animal twice), and the weight of its NLL (1 / trials of its restart's batch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slot {
    pub restart: usize,
    pub animal: usize,
    pub place: usize,
    pub weight: f32,
}

/// The dnn model resident on a device for one set of animals and restarts.
pub struct DnnOnDevice<'g> {
    gpu: &'g Gpu,
    net: Net,
    restarts: usize,
    /// w_0 per restart in the arena.
    places: usize,
    /// Each animal's first row in `trials` and its trial count.
    animals: Vec<(u32, u32)>,
    trunc: usize,
    /// Slots one tape holds at a time (the tape's binding limit).
    group: usize,
    max_slots: usize,
    /// The parameter arena: `restarts` φ of `net.len()` floats, then per restart
    /// `places` w_0 of K floats.
    pub params: GpuBuffer<f32>,
    /// The arena's gradient, written by each batch's reduce.
    pub grads: GpuBuffer<f32>,
    rows: GpuBuffer<f32>,
    state: GpuBuffer<AnimalState>,
    /// The rnn's carried h and ∂/∂h per slot (unused by the dnn).
    _carry: GpuBuffer<f32>,
    /// Σ NLL per restart since the last [`DnnOnDevice::clear_losses`].
    losses: GpuBuffer<f32>,
    uniform: wgpu::Buffer,
    pipes: [Arc<wgpu::ComputePipeline>; 3],
    binds: [wgpu::BindGroup; 3],
}

impl<'g> DnnOnDevice<'g> {
    /// Uploads `animals`' trials and the arena `params` (see [`DnnOnDevice::params`]) of
    /// `places` w_0 per restart; batches will hold at most `max_slots` slots.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &'g Gpu,
        net: Net,
        animals: &[&Animal],
        params: &[f32],
        restarts: usize,
        places: usize,
        max_slots: usize,
        trunc: usize,
    ) -> Result<Self> {
        if net.hidden > 1024 {
            return Err(Error::invalid(
                "--hidden",
                "the GPU kernel holds at most 1024 units a layer",
            ));
        }
        if net.gru > 256 {
            return Err(Error::invalid(
                "--gru",
                "the GPU kernel holds at most 256 GRU units",
            ));
        }
        let n_phi = net.len();
        let arena = restarts * (n_phi + places * K);
        if params.len() != arena {
            return Err(Error::invalid(
                "params",
                format!("{} floats; the arena needs {arena}", params.len()),
            ));
        }
        let mut rows = Vec::new();
        let mut spans = Vec::with_capacity(animals.len());
        for a in animals {
            spans.push((rows.len() as u32, a.trials.len() as u32));
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
        let longest = animals.iter().map(|a| a.trials.len()).max().unwrap_or(0);
        // Windows longer than the longest animal are the same as one of its length.
        let trunc = trunc.min(longest).max(1);
        let tape_stride = tape_stride(&net);
        let per_slot = (trunc * tape_stride * 4) as u64;
        let group = ((gpu.max_binding_bytes() / per_slot) as usize).clamp(1, max_slots.max(1));
        let pipes = [
            gpu.pipeline(&forward_kernel())?,
            gpu.pipeline(&backward_kernel())?,
            gpu.pipeline(&reduce_kernel())?,
        ];
        let params_buf = gpu.upload("dnn params", params)?;
        let grads = gpu.poisoned("dnn arena grads", arena, f32::NAN)?;
        let trials = gpu.upload("dnn trials", &rows)?;
        let state = gpu.zeros::<AnimalState>("dnn state", max_slots)?;
        let tape = gpu.poisoned("dnn tape", group * trunc * tape_stride, f32::NAN)?;
        let slot_rows = gpu.zeros::<f32>("dnn slot grads", max_slots * (n_phi + K))?;
        let losses = gpu.zeros::<f32>("dnn losses", restarts)?;
        let carry = gpu.poisoned("rnn carry", (max_slots * 2 * net.gru).max(1), f32::NAN)?;
        let uniform = gpu.uniform("dnn shape", &<DnnShape as bytemuck::Zeroable>::zeroed())?;
        // Each kernel binds the buffers its entry point uses, by binding number.
        let buffers: [(u32, &wgpu::Buffer); 9] = [
            (0, &uniform),
            (1, &params_buf.buffer),
            (2, &trials.buffer),
            (3, &state.buffer),
            (4, &tape.buffer),
            (5, &slot_rows.buffer),
            (6, &grads.buffer),
            (7, &losses.buffer),
            (8, &carry.buffer),
        ];
        let bind = |k: usize, used: &[u32]| {
            let entries: Vec<_> = buffers
                .iter()
                .filter(|(b, _)| used.contains(b))
                .map(|&(b, buf)| (b, buf.as_entire_binding()))
                .collect();
            gpu.bind_group(&pipes[k], &entries)
        };
        let binds = [
            bind(0, &[0, 1, 2, 3, 4, 8])?,
            bind(1, &[0, 1, 2, 3, 4, 5, 8])?,
            bind(2, &[0, 3, 5, 6, 7])?,
        ];
        Ok(DnnOnDevice {
            gpu,
            net,
            restarts,
            places,
            animals: spans,
            trunc,
            group,
            max_slots,
            params: params_buf,
            grads,
            rows: slot_rows,
            state,
            _carry: carry,
            losses,
            uniform,
            pipes,
            binds,
        })
    }

    /// Where restart r's w_0 of place j lives in the arena.
    pub fn w0_at(&self, restart: usize, place: usize) -> usize {
        self.restarts * self.net.len() + (restart * self.places + place) * K
    }

    /// Runs a batch: `slots` restart-major, `per_restart` each, every slot's animal
    /// through every window of `trunc` trials from its w_0 in the arena; then the
    /// arena's gradient is Σ over slots of weight · ∂NLL/∂(φ, w_0) (zero for w_0 of
    /// animals outside it) and each restart's NLL is added to the losses. Submits
    /// without waiting.
    pub fn run_batch(&self, slots: &[Slot], per_restart: usize) -> Result<()> {
        let gpu = self.gpu;
        let n = slots.len();
        if n == 0 || n > self.max_slots || per_restart == 0 || !n.is_multiple_of(per_restart) {
            return Err(Error::invalid(
                "slots",
                format!(
                    "{n} slots in groups of {per_restart} (at most {})",
                    self.max_slots
                ),
            ));
        }
        let mut states = Vec::with_capacity(n);
        for s in slots {
            let &(first, n_trials) = self.animals.get(s.animal).ok_or_else(|| {
                Error::invalid("slots", format!("no animal {} on the device", s.animal))
            })?;
            if s.restart >= self.restarts || s.place >= self.places {
                return Err(Error::invalid(
                    "slots",
                    format!("no restart {} place {} on the device", s.restart, s.place),
                ));
            }
            states.push(AnimalState {
                first,
                n_trials,
                restart: s.restart as u32,
                w0_at: self.w0_at(s.restart, s.place) as u32,
                w0: 0.0,
                w1: 0.0,
                g0: 0.0,
                g1: 0.0,
                loss: 0.0,
                weight: s.weight,
                _pad3: 0.0,
                _pad4: 0.0,
            });
        }
        gpu.write(&self.state, &states)?;
        let longest = states
            .iter()
            .map(|s| s.n_trials as usize)
            .max()
            .unwrap_or(0);
        let tape_stride = tape_stride(&self.net);
        let mut shape = DnnShape {
            hidden: self.net.hidden as u32,
            layers: self.net.layers as u32,
            n_phi: self.net.len() as u32,
            n_slots: n as u32,
            t0: 0,
            t1: 0,
            begin: 0,
            end: 0,
            tape_stride: tape_stride as u32,
            _pad3: 0,
            slot_base: 0,
            group_len: 0,
            per_restart: per_restart as u32,
            gru: self.net.gru as u32,
            skip: u32::from(self.net.skip),
            _pad2: 0,
        };
        let mut first = true;
        // Each dispatch gets its own uniform: a queue write lands before the next submit.
        let mut submit = |shape: &DnnShape, k: usize, workgroups: u32| -> Result<()> {
            let mut enc = gpu.encoder("dnn");
            if std::mem::take(&mut first) {
                enc.clear_buffer(&self.rows.buffer, 0, None);
            }
            if k == 2 {
                enc.clear_buffer(&self.grads.buffer, 0, None);
            }
            let (x, y) = gpu.grid(workgroups)?;
            gpu.scoped(|| {
                gpu.queue
                    .write_buffer(&self.uniform, 0, bytemuck::bytes_of(shape));
                {
                    let mut pass = enc.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&self.pipes[k]);
                    pass.set_bind_group(0, &self.binds[k], &[]);
                    pass.dispatch_workgroups(x, y, 1);
                }
                gpu.queue.submit([enc.finish()]);
            })
        };
        for base in (0..n).step_by(self.group) {
            (shape.slot_base, shape.group_len) = (base as u32, self.group.min(n - base) as u32);
            let mut t0 = 0;
            while t0 < longest {
                let t1 = (t0 + self.trunc).min(longest);
                (shape.t0, shape.t1) = (t0 as u32, (t0 + self.trunc) as u32);
                let mut ranges = Vec::new();
                gpu.run_in_windows(
                    (t1 - t0) as u64,
                    loops_per_trial(&self.net),
                    Some(self.trunc as u64),
                    "one trial of the rule's model",
                    &[],
                    |b, e| {
                        let end = if e as usize == t1 - t0 {
                            // The window's last range ends at its nominal end, whatever
                            // the lengths (so the backward pass knows it is fresh).
                            t0 + self.trunc
                        } else {
                            t0 + e as usize
                        };
                        ranges.push(((t0 as u64 + b) as u32, end as u32));
                        Ok(())
                    },
                )?;
                for &(b, e) in &ranges {
                    (shape.begin, shape.end) = (b, e);
                    submit(&shape, 0, shape.group_len)?;
                }
                for &(b, e) in ranges.iter().rev() {
                    (shape.begin, shape.end) = (b, e);
                    submit(&shape, 1, shape.group_len)?;
                }
                t0 = t1;
            }
        }
        // φ sums per restart, w_0 per slot, the losses per restart: one item each, the
        // threads striding over them where the grid holds fewer.
        let items = (n / per_restart) * (self.net.len() + 1) + n;
        let max_dim = gpu.max_workgroups_per_dimension() as u64;
        let workgroups = (items.div_ceil(64) as u64).min(max_dim * max_dim);
        if gpu
            .loop_budget()
            .is_some_and(|b| (items as u64).div_ceil(workgroups * 64) * per_restart as u64 > b)
        {
            return Err(Error::invalid(
                "--batch",
                "the batch's gradient is too large to reduce within this adapter's loop budget",
            ));
        }
        submit(&shape, 2, workgroups as u32)
    }

    /// Zeroes the per-restart NLL sums.
    pub fn clear_losses(&self) -> Result<()> {
        self.gpu.write(&self.losses, &vec![0.0; self.restarts])
    }

    /// Σ NLL per restart since the last clear (waits for the device).
    pub fn losses(&self) -> Result<Vec<f32>> {
        self.gpu.download(&self.losses)
    }
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
/// w_0 of each animal (restart-major). Returns one result per restart, reduced on the
/// device (the checks' entry point to the kernels a fit runs).
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
    let n = animals.len();
    let mut arena = phi.to_vec();
    arena.extend(w0.iter().flatten());
    let dev = DnnOnDevice::new(gpu, *net, animals, &arena, restarts, n, restarts * n, trunc)?;
    let slots: Vec<Slot> = (0..restarts)
        .flat_map(|restart| {
            (0..n).map(move |animal| Slot {
                restart,
                animal,
                place: animal,
                weight,
            })
        })
        .collect();
    dev.run_batch(&slots, n)?;
    let grads = gpu.download(&dev.grads)?;
    let losses = dev.losses()?;
    let np = net.len();
    Ok((0..restarts)
        .map(|r| BatchGrad {
            loss: losses[r] as f64 * weight as f64,
            grad: grads[r * np..(r + 1) * np].to_vec(),
            grad_w0: (0..n)
                .map(|i| {
                    let at = dev.w0_at(r, i);
                    [grads[at], grads[at + 1]]
                })
                .collect(),
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
