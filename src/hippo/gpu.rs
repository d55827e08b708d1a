//! Many hippocampal models stepping side by side on a wgpu device
//! (shaders/hippo/step.wgsl): one workgroup per model, all models of one shape (sizes,
//! inputs, activations), each with its own constants (η, σ, λ, τ) and seed. A model's
//! weights, traces, noise and rates stay on the device between calls; the host streams
//! each step's sensory features, velocity cells and θ, and reads back each step's
//! Σ|a_B − a_A| per layer and, when asked, the HPC and MEC rates.

use super::model::{Learning, State};
use super::spec::{Act, Source, Spec};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, GpuBuffer, Kernel};
use std::sync::Arc;

crate::gpu_struct! {
    /// The step kernel's uniform.
    pub struct HippoShape {
        pub n_models: u32,
        pub arena_stride: u32,
        pub stream_stride: u32,
        pub x_len: u32,
        pub n_z: u32,
        pub n_h: u32,
        pub n_m: u32,
        pub n_c: u32,
        pub step0: u32,
        pub begin: u32,
        pub end: u32,
        pub learning: u32,
        pub record_every: u32,
        pub rates_at: u32,
        pub _pad0: u32,
        pub _pad1: u32,
    }
}

crate::gpu_struct! {
    /// One compartment's shape: input blocks in the rates vector and arena offsets.
    pub struct CompShape {
        pub n: u32,
        pub n_in: u32,
        pub identity: u32,
        pub act: u32,
        pub n_blocks: u32,
        pub o0: u32,
        pub l0: u32,
        pub o1: u32,
        pub l1: u32,
        pub o2: u32,
        pub l2: u32,
        pub o3: u32,
        pub l3: u32,
        pub w_at: u32,
        pub pi_at: u32,
        pub xi_at: u32,
        pub a_at: u32,
        pub stream: u32,
        pub _pad0: u32,
        pub _pad1: u32,
    }
}

crate::gpu_struct! {
    /// One compartment's constants in one model.
    pub struct CompConsts {
        pub noise_decay: f32,
        pub kick: f32,
        pub rate: f32,
        pub eta: f32,
        pub l1: f32,
        pub l2: f32,
        pub _pad0: f32,
        pub _pad1: f32,
    }
}

pub fn step_kernel() -> Kernel {
    Kernel::new("hippo_steps", "steps", &["hippo/step.wgsl"])
}

pub fn kernels() -> Vec<Kernel> {
    vec![step_kernel()]
}

pub fn layouts() -> Vec<crate::gpu::Layout> {
    use crate::gpu::GpuStruct;
    vec![
        HippoShape::layout(),
        CompShape::layout(),
        CompConsts::layout(),
    ]
}

/// The kernel's workgroup size and workgroup arrays (shaders/hippo/step.wgsl).
const WG: usize = 128;
const MAX_X: usize = 2048;
const MAX_N: usize = 1024;

/// Floats one step streams per model: z, v_R, v_L, θ_HPC, θ_MEC.
pub fn stream_stride(spec: &Spec) -> usize {
    spec.n_z + 4
}

/// The four compartments of a spec, in the state's order.
fn compartments(spec: &Spec) -> [&super::spec::Compartment; 4] {
    [
        &spec.hpc.basal,
        &spec.hpc.apical,
        &spec.mec.basal,
        &spec.mec.apical,
    ]
}

/// The compartments' shapes and the arena's stride for one spec.
fn layout(spec: &Spec) -> Result<([CompShape; 4], usize, usize)> {
    let (n_z, n_h, n_m, n_c) = (spec.n_z, spec.hpc.n, spec.mec.n, spec.n_c());
    let x_len = n_z + n_h + n_m + n_c + 1;
    if n_h.max(n_m) > MAX_N || x_len > MAX_X {
        return Err(Error::invalid(
            "hippo",
            format!(
                "the GPU kernel holds at most {MAX_N} neurons a layer and {} rates in all \
                 (this model has {n_h} HPC, {n_m} MEC and {} rates)",
                MAX_X - 1,
                x_len - 1
            ),
        ));
    }
    let at = |s: Source| match s {
        Source::Z => 0,
        Source::P => n_z,
        Source::G => n_z + n_h,
        Source::C => n_z + n_h + n_m,
    };
    let size = |s: Source| match s {
        Source::Z => n_z,
        Source::P => n_h,
        Source::G => n_m,
        Source::C => n_c,
    };
    let mut used = 0usize;
    let ns = [n_h, n_h, n_m, n_m];
    let mut shapes = [<CompShape as bytemuck::Zeroable>::zeroed(); 4];
    for (k, c) in compartments(spec).into_iter().enumerate() {
        let mut blocks: Vec<(usize, usize)> =
            c.inputs.iter().map(|&(s, _)| (at(s), size(s))).collect();
        if c.bias {
            blocks.push((x_len - 1, 1));
        }
        if blocks.len() > 4 {
            return Err(Error::invalid(
                "hippo",
                "the GPU kernel reads at most 4 input blocks a compartment (bias included)",
            ));
        }
        blocks.resize(4, (0, 0));
        let (n, n_in) = (ns[k], spec.n_in(c));
        let weights = if c.identity { 0 } else { n * n_in };
        let s = &mut shapes[k];
        *s = CompShape {
            n: n as u32,
            n_in: n_in as u32,
            identity: u32::from(c.identity),
            act: match c.act {
                Act::Linear => 0,
                Act::Retanh => 1,
            },
            n_blocks: (c.inputs.len() + usize::from(c.bias)) as u32,
            o0: blocks[0].0 as u32,
            l0: blocks[0].1 as u32,
            o1: blocks[1].0 as u32,
            l1: blocks[1].1 as u32,
            o2: blocks[2].0 as u32,
            l2: blocks[2].1 as u32,
            o3: blocks[3].0 as u32,
            l3: blocks[3].1 as u32,
            w_at: used as u32,
            pi_at: (used + weights) as u32,
            xi_at: (used + 2 * weights) as u32,
            a_at: (used + 2 * weights + n) as u32,
            stream: k as u32,
            _pad0: 0,
            _pad1: 0,
        };
        used += 2 * weights + 2 * n;
    }
    let rates_at = used;
    Ok((shapes, rates_at, rates_at + n_h + n_m + n_c))
}

/// Floats of one model's arena (0 for a shape the kernel cannot hold).
pub fn arena_floats(spec: &Spec) -> usize {
    layout(spec).map_or(0, |l| l.2)
}

/// One model's compartment constants, rounded from f64 as the CPU rounds them.
fn consts(spec: &Spec) -> [CompConsts; 4] {
    compartments(spec).map(|c| CompConsts {
        noise_decay: (spec.dt / spec.tau_noise) as f32,
        kick: (c.sigma * (2.0 * spec.dt / spec.tau_noise).sqrt()) as f32,
        rate: (spec.dt / spec.tau_pi) as f32,
        eta: if c.identity { 0.0 } else { c.eta as f32 },
        l1: c.lambda1 as f32,
        l2: c.lambda2 as f32,
        _pad0: 0.0,
        _pad1: 0.0,
    })
}

/// Two specs run in one dispatch when everything but their constants agrees.
pub fn same_shape(a: &Spec, b: &Spec) -> bool {
    let shape = |s: &Spec| {
        let c = compartments(s).map(|c| (c.inputs.clone(), c.bias, c.identity, c.act));
        (s.n_z, s.hpc.n, s.mec.n, s.conjunctive, c)
    };
    shape(a) == shape(b)
}

/// Loop iterations a thread runs per step (the loop budget of software adapters),
/// counted generously.
fn loops_per_step(spec: &Spec, shapes: &[CompShape; 4]) -> u64 {
    let per = |n: usize| n.div_ceil(WG) as u64;
    let comp = |s: &CompShape| 2 * (s.n_blocks as u64 + s.n_in as u64) + 12;
    let layer = |n: usize, a: &CompShape, b: &CompShape| per(n) * (comp(a) + comp(b));
    let (n_h, n_m) = (spec.hpc.n, spec.mec.n);
    let rates = n_h + n_m + spec.n_c();
    per(spec.n_z)
        + layer(n_h, &shapes[0], &shapes[1])
        + layer(n_m, &shapes[2], &shapes[3])
        + per(n_h)
        + per(n_h + n_m)
        + per(n_m)
        + WG.min(n_h.max(n_m)) as u64
        + 2 * per(rates)
        + 16
}

/// What a call of [`ModelsOnDevice::run`] reads back.
pub struct Stepped {
    /// Per step, per model: Σ|a_B − a_A| of HPC and of MEC.
    pub gaps: Vec<[f32; 2]>,
    /// Per record, per model: the HPC then the MEC rates after the step (record r after
    /// row r · record_every).
    pub records: Vec<f32>,
}

/// Models of one shape resident on a device.
pub struct ModelsOnDevice<'g> {
    gpu: &'g Gpu,
    spec: Spec,
    n_models: usize,
    shapes: [CompShape; 4],
    rates_at: usize,
    stride: usize,
    arena: GpuBuffer<f32>,
    comps: GpuBuffer<CompShape>,
    consts: GpuBuffer<CompConsts>,
    keys: GpuBuffer<[u32; 2]>,
    uniform: wgpu::Buffer,
    pipe: Arc<wgpu::ComputePipeline>,
}

impl<'g> ModelsOnDevice<'g> {
    /// Uploads the models: `specs[i]` (all of one shape) with state `states[i]`.
    pub fn new(gpu: &'g Gpu, specs: &[Spec], states: &[State<f32>]) -> Result<Self> {
        let Some(spec) = specs.first() else {
            return Err(Error::invalid("hippo", "no models to run"));
        };
        if specs.len() != states.len() {
            return Err(Error::invalid(
                "hippo",
                format!("{} specs for {} states", specs.len(), states.len()),
            ));
        }
        if let Some(i) = specs.iter().position(|s| !same_shape(s, spec)) {
            return Err(Error::invalid(
                "hippo",
                format!("model {i}'s shape differs from model 0's: they cannot share a dispatch"),
            ));
        }
        let (shapes, rates_at, stride) = layout(spec)?;
        let arena_bytes = (stride * specs.len() * 4) as u64;
        if arena_bytes > gpu.max_binding_bytes() {
            return Err(Error::invalid(
                "hippo",
                format!(
                    "{} models need {arena_bytes} bytes, more than one binding holds ({}): \
                     run fewer at a time",
                    specs.len(),
                    gpu.max_binding_bytes()
                ),
            ));
        }
        let mut arena = vec![0f32; stride * specs.len()];
        for (m, st) in states.iter().enumerate() {
            write_model(
                &shapes,
                rates_at,
                st,
                &mut arena[m * stride..(m + 1) * stride],
            );
        }
        let consts: Vec<CompConsts> = specs.iter().flat_map(consts).collect();
        let keys: Vec<[u32; 2]> = states.iter().map(|s| s.key()).collect();
        Ok(ModelsOnDevice {
            gpu,
            spec: spec.clone(),
            n_models: specs.len(),
            shapes,
            rates_at,
            stride,
            arena: gpu.upload("hippo arena", &arena)?,
            comps: gpu.upload("hippo compartments", &shapes)?,
            consts: gpu.upload("hippo constants", &consts)?,
            keys: gpu.upload("hippo keys", &keys)?,
            uniform: gpu.uniform("hippo shape", &<HippoShape as bytemuck::Zeroable>::zeroed())?,
            pipe: gpu.pipeline(&step_kernel())?,
        })
    }

    pub fn n_models(&self) -> usize {
        self.n_models
    }

    /// Steps the most one call may stream (its inputs must fit one binding).
    pub fn max_rows(&self) -> usize {
        let per_row = (self.n_models * stream_stride(&self.spec) * 4) as u64;
        ((self.gpu.max_binding_bytes() / per_row.max(1)) as usize).max(1)
    }

    /// Runs `inputs.len() / (models · stride)` steps from the models' step `step0`:
    /// `inputs` holds per step, per model, z then v_R, v_L, θ_HPC, θ_MEC. With
    /// `record_every` > 0 p and g after rows 0, record_every, ... come back.
    pub fn run(
        &self,
        inputs: &[f32],
        step0: u64,
        learning: Learning,
        record_every: usize,
    ) -> Result<Stepped> {
        let gpu = self.gpu;
        let per_row = self.n_models * stream_stride(&self.spec);
        if inputs.is_empty() || !inputs.len().is_multiple_of(per_row) {
            return Err(Error::invalid(
                "hippo",
                format!(
                    "{} input floats are not whole steps of {per_row}",
                    inputs.len()
                ),
            ));
        }
        let rows = inputs.len() / per_row;
        if rows > self.max_rows() {
            return Err(Error::invalid(
                "hippo",
                format!("{rows} steps at once; at most {} fit", self.max_rows()),
            ));
        }
        let n_records = if record_every == 0 {
            0
        } else {
            rows.div_ceil(record_every)
        };
        let input_buf = gpu.upload("hippo inputs", inputs)?;
        let gaps = gpu.poisoned("hippo gaps", rows * self.n_models * 2, f32::NAN)?;
        let records = gpu.poisoned(
            "hippo records",
            (n_records * self.n_models * (self.spec.hpc.n + self.spec.mec.n)).max(1),
            f32::NAN,
        )?;
        let bind = gpu.bind_group(
            &self.pipe,
            &[
                (0, self.uniform.as_entire_binding()),
                (1, self.comps.buffer.as_entire_binding()),
                (2, self.consts.buffer.as_entire_binding()),
                (3, self.keys.buffer.as_entire_binding()),
                (4, self.arena.buffer.as_entire_binding()),
                (5, input_buf.buffer.as_entire_binding()),
                (6, gaps.buffer.as_entire_binding()),
                (7, records.buffer.as_entire_binding()),
            ],
        )?;
        let spec = &self.spec;
        let mut shape = HippoShape {
            n_models: self.n_models as u32,
            arena_stride: self.stride as u32,
            stream_stride: stream_stride(spec) as u32,
            x_len: (spec.n_z + spec.hpc.n + spec.mec.n + spec.n_c() + 1) as u32,
            n_z: spec.n_z as u32,
            n_h: spec.hpc.n as u32,
            n_m: spec.mec.n as u32,
            n_c: spec.n_c() as u32,
            step0: step0 as u32,
            begin: 0,
            end: 0,
            learning: u32::from(learning == Learning::On),
            record_every: record_every as u32,
            rates_at: self.rates_at as u32,
            _pad0: 0,
            _pad1: 0,
        };
        let (x, y) = gpu.grid(self.n_models as u32)?;
        gpu.run_in_windows(
            rows as u64,
            loops_per_step(spec, &self.shapes),
            None,
            "one step of the hippocampal model",
            &[],
            |b, e| {
                (shape.begin, shape.end) = (b as u32, e as u32);
                let mut enc = gpu.encoder("hippo steps");
                gpu.scoped(|| {
                    // Each dispatch its own uniform: a queue write lands before the next
                    // submit.
                    gpu.queue
                        .write_buffer(&self.uniform, 0, bytemuck::bytes_of(&shape));
                    {
                        let mut pass = enc.begin_compute_pass(&Default::default());
                        pass.set_pipeline(&self.pipe);
                        pass.set_bind_group(0, &bind, &[]);
                        pass.dispatch_workgroups(x, y, 1);
                    }
                    gpu.queue.submit([enc.finish()]);
                })?;
                gpu.wait_idle()
            },
        )?;
        let g = gpu.download(&gaps)?;
        let records = if n_records == 0 {
            vec![]
        } else {
            gpu.download(&records)?
        };
        Ok(Stepped {
            gaps: g.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
            records,
        })
    }

    /// Copies the models' state back into `states` (which must be those uploaded, in
    /// order): weights, traces, noise, activations and rates; `step` and the velocity
    /// cells are the caller's to set.
    pub fn read_states(&self, states: &mut [State<f32>]) -> Result<()> {
        if states.len() != self.n_models {
            return Err(Error::invalid(
                "hippo",
                format!("{} states for {} models", states.len(), self.n_models),
            ));
        }
        let arena = self.gpu.download(&self.arena)?;
        for (m, st) in states.iter_mut().enumerate() {
            read_model(
                &self.shapes,
                self.rates_at,
                &arena[m * self.stride..(m + 1) * self.stride],
                st,
            );
        }
        Ok(())
    }
}

/// A state into its arena slice (weights and traces input-major).
fn write_model(shapes: &[CompShape; 4], rates_at: usize, st: &State<f32>, out: &mut [f32]) {
    for (s, d) in shapes.iter().zip(&st.dendrites) {
        let (n, n_in) = (s.n as usize, s.n_in as usize);
        if s.identity == 0 {
            for j in 0..n {
                for k in 0..n_in {
                    out[s.w_at as usize + k * n + j] = d.w[j * n_in + k];
                    out[s.pi_at as usize + k * n + j] = d.pi[j * n_in + k];
                }
            }
        }
        out[s.xi_at as usize..][..n].copy_from_slice(&d.xi);
        out[s.a_at as usize..][..n].copy_from_slice(&d.a);
    }
    let rates = st.p.iter().chain(&st.g).chain(&st.c);
    for (o, &r) in out[rates_at..].iter_mut().zip(rates) {
        *o = r;
    }
}

/// The inverse of [`write_model`].
fn read_model(shapes: &[CompShape; 4], rates_at: usize, arena: &[f32], st: &mut State<f32>) {
    for (s, d) in shapes.iter().zip(st.dendrites.iter_mut()) {
        let (n, n_in) = (s.n as usize, s.n_in as usize);
        if s.identity == 0 {
            for j in 0..n {
                for k in 0..n_in {
                    d.w[j * n_in + k] = arena[s.w_at as usize + k * n + j];
                    d.pi[j * n_in + k] = arena[s.pi_at as usize + k * n + j];
                }
            }
        }
        d.xi.copy_from_slice(&arena[s.xi_at as usize..][..n]);
        d.a.copy_from_slice(&arena[s.a_at as usize..][..n]);
    }
    let (n_h, n_m) = (st.p.len(), st.g.len());
    let r = &arena[rates_at..];
    st.p.copy_from_slice(&r[..n_h]);
    st.g.copy_from_slice(&r[n_h..n_h + n_m]);
    let n_c = st.c.len();
    st.c.copy_from_slice(&r[n_h + n_m..n_h + n_m + n_c]);
}
