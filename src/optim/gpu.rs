//! The optimiser on a wgpu device: one fused in-place kernel per member over the whole
//! arena, with an optional reduction pass for clipping and the non-finite guard.
//!
//! The optimiser attaches to the parameter and gradient buffers once (its own, or a
//! caller's: any buffer with STORAGE usage), builds its tile tables and bind groups
//! then, and afterwards a step is: write this step's constants, record one compute pass,
//! submit. Nothing is read back unless asked.

use super::{Config, Consts, Hyper, Member};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, GpuBuffer, Kernel, Timed};
use std::sync::Arc;

/// A plain copy shader with the optimiser driver's access pattern: the ceiling.
pub fn copy_kernel() -> Kernel {
    Kernel::new("copy_f32", "main", &["common/copy.wgsl"])
}

/// Parameters one workgroup updates: 256 threads x 4.
pub const TILE: u64 = 1024;

/// The states glue for members with k state buffers.
const STATES: [&str; 4] = [
    "optim/states0.wgsl",
    "optim/states1.wgsl",
    "optim/states2.wgsl",
    "optim/states3.wgsl",
];

/// The update kernel of each member: the arena driver, the glue for its number of
/// state buffers, and its step function (`fn step`, which the landscape sweeps call
/// too). Members that share a file (adam, adamw) share the kernel.
pub fn update_kernel_for(member: Member) -> Kernel {
    let spec = member.spec();
    let name = spec
        .wgsl
        .trim_start_matches("optim/")
        .trim_end_matches(".wgsl");
    Kernel::new(
        format!("optim_{name}"),
        "main",
        &["optim/arena.wgsl", STATES[spec.states.len()], spec.wgsl],
    )
}

/// The clipping / non-finite pass: per-tile sums and flags.
pub fn prepass_kernel() -> Kernel {
    Kernel::new("optim_prepass", "prepass", &["optim/reduce.wgsl"])
}

/// The clipping / non-finite pass: the global norm and the skip count.
pub fn finalize_kernel() -> Kernel {
    Kernel::new("optim_finalize", "finalize", &["optim/reduce.wgsl"])
}

/// Every kernel of the family (for shader validation and pipeline warm-up).
pub fn kernels() -> Vec<Kernel> {
    let mut k: Vec<Kernel> = Vec::new();
    for &m in Member::ALL {
        let kernel = update_kernel_for(m);
        if !k.iter().any(|x| x.name == kernel.name) {
            k.push(kernel);
        }
    }
    k.push(prepass_kernel());
    k.push(finalize_kernel());
    k.push(copy_kernel());
    k
}

crate::gpu_struct! {
    /// A piece of one group that one workgroup updates.
    struct Tile {
        start: u32,
        len: u32,
        group: u32,
        hyper: u32,
        global: u32,
    }
}

crate::gpu_struct! {
    /// Global-norm clipping: the scale `finalize` writes and the update reads.
    struct ClipControl {
        scale: f32,
        max_norm: f32,
        clip: u32,
        _pad: u32,
    }
}

/// Every struct this family shares with its WGSL.
pub fn layouts() -> Vec<crate::gpu::Layout> {
    use crate::gpu::GpuStruct;
    vec![
        Consts::<f32>::layout(),
        Tile::layout(),
        ClipControl::layout(),
    ]
}

/// The work of one binding window: its tile count and bind groups.
struct WindowWork {
    tiles: u32,
    update: wgpu::BindGroup,
    prepass: Option<wgpu::BindGroup>,
}

/// An optimiser bound to a parameter buffer and a gradient buffer on one device.
pub struct GpuOptimizer {
    config: Config,
    arena_len: usize,
    t: u64,
    consts: GpuBuffer<Consts<f32>>,
    skip: GpuBuffer<u32>,
    skipped_total: GpuBuffer<u32>,
    states: Vec<GpuBuffer<f32>>,
    update: Arc<wgpu::ComputePipeline>,
    reduce: Option<(
        Arc<wgpu::ComputePipeline>,
        Arc<wgpu::ComputePipeline>,
        wgpu::BindGroup,
    )>,
    windows: Vec<WindowWork>,
    // Keeps the tile tables and the control word alive with the bind groups.
    _buffers: Vec<wgpu::Buffer>,
}

impl GpuOptimizer {
    /// Attaches an optimiser to `params` and `grads`, each holding at least `arena_len`
    /// f32 values and created with STORAGE usage. State buffers are allocated and
    /// initialised on the device.
    pub fn new(
        gpu: &Gpu,
        config: Config,
        params: &wgpu::Buffer,
        grads: &wgpu::Buffer,
        arena_len: usize,
    ) -> Result<Self> {
        config.validate(arena_len)?;
        let need = arena_len as u64 * 4;
        for (field, b) in [("params", params), ("grads", grads)] {
            if b.size() < need {
                return Err(Error::invalid(
                    field,
                    format!(
                        "buffer holds {} bytes; the arena of {arena_len} needs {need}",
                        b.size()
                    ),
                ));
            }
            if !b.usage().contains(wgpu::BufferUsages::STORAGE) {
                return Err(Error::invalid(field, "buffer lacks STORAGE usage"));
            }
        }
        let member = config.member;
        let states: Vec<GpuBuffer<f32>> = config
            .initial_states::<f32>(arena_len)
            .iter()
            .zip(member.states())
            .map(|(init, name)| gpu.upload(name, init))
            .collect::<Result<_>>()?;
        let consts = gpu.zeros::<Consts<f32>>("optim consts", config.hypers.len())?;
        let skip = gpu.zeros::<u32>("optim skip flags", config.groups.len())?;
        let skipped_total = gpu.zeros::<u32>("optim skipped total", 1)?;
        let control = gpu.upload(
            "optim control",
            &[ClipControl {
                scale: 1.0,
                max_norm: config.clip_norm.unwrap_or(0.0) as f32,
                clip: config.clip_norm.is_some() as u32,
                _pad: 0,
            }],
        )?;

        // Tiles: each group cut at window boundaries and then into TILE-sized pieces.
        let windows = gpu.windows(arena_len as u64, 4);
        let mut tile_groups: Vec<u32> = Vec::new();
        let mut per_window: Vec<Vec<Tile>> = Vec::new();
        for w in &windows {
            let mut tiles = Vec::new();
            for (gi, g) in config.groups.iter().enumerate() {
                let lo = (g.offset as u64).max(w.elems.start);
                let hi = ((g.offset + g.len) as u64).min(w.elems.end);
                let mut s = lo;
                while s < hi {
                    let len = TILE.min(hi - s);
                    tiles.push(Tile {
                        start: (s - w.elems.start) as u32,
                        len: len as u32,
                        group: gi as u32,
                        hyper: g.hyper as u32,
                        global: tile_groups.len() as u32,
                    });
                    tile_groups.push(gi as u32);
                    s += len;
                }
            }
            per_window.push(tiles);
        }

        let update = gpu.pipeline(&update_kernel_for(member))?;
        let reducing = config.clip_norm.is_some() || config.skip_nonfinite;
        let (prepass, finalize) = if reducing {
            (
                Some(gpu.pipeline(&prepass_kernel())?),
                Some(gpu.pipeline(&finalize_kernel())?),
            )
        } else {
            (None, None)
        };
        let partials = gpu.zeros::<f32>("optim partial sums", tile_groups.len())?;
        let tile_group_buf = gpu.upload("optim tile groups", &tile_groups)?;

        let mut keep = vec![control.buffer.clone()];
        let mut works = Vec::new();
        for (w, tiles) in windows.iter().zip(&per_window) {
            if tiles.is_empty() {
                continue;
            }
            let tile_buf = gpu.upload("optim tiles", tiles)?;
            let mut entries = vec![
                (0, w.bind(params, 4)),
                (1, w.bind(grads, 4)),
                (2, consts.buffer.as_entire_binding()),
                (3, tile_buf.buffer.as_entire_binding()),
                (4, control.buffer.as_entire_binding()),
                (5, skip.buffer.as_entire_binding()),
            ];
            for (k, s) in states.iter().enumerate() {
                entries.push((6 + k as u32, w.bind(&s.buffer, 4)));
            }
            let update_bind = gpu.bind_group(&update, &entries)?;
            let prepass_bind = match &prepass {
                Some(p) => Some(gpu.bind_group(
                    p,
                    &[
                        (1, w.bind(grads, 4)),
                        (3, tile_buf.buffer.as_entire_binding()),
                        (5, skip.buffer.as_entire_binding()),
                        (9, partials.buffer.as_entire_binding()),
                    ],
                )?),
                None => None,
            };
            works.push(WindowWork {
                tiles: tiles.len() as u32,
                update: update_bind,
                prepass: prepass_bind,
            });
            keep.push(tile_buf.buffer);
        }
        let reduce = match (prepass, finalize) {
            (Some(p), Some(f)) => {
                let bind = gpu.bind_group(
                    &f,
                    &[
                        (4, control.buffer.as_entire_binding()),
                        (5, skip.buffer.as_entire_binding()),
                        (9, partials.buffer.as_entire_binding()),
                        (10, tile_group_buf.buffer.as_entire_binding()),
                        (11, skipped_total.buffer.as_entire_binding()),
                    ],
                )?;
                keep.push(partials.buffer);
                keep.push(tile_group_buf.buffer);
                Some((p, f, bind))
            }
            _ => None,
        };
        Ok(GpuOptimizer {
            config,
            arena_len,
            t: 0,
            consts,
            skip,
            skipped_total,
            states,
            update,
            reduce,
            windows: works,
            _buffers: keep,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Replaces the hyper-parameters of entry `i`; no pipeline is rebuilt.
    pub fn set_hyper(&mut self, i: usize, h: Hyper) -> Result<()> {
        self.config = self.config.with_hyper(i, h, self.arena_len)?;
        Ok(())
    }

    /// Advances the step count and writes this step's constants (bias corrections in
    /// f64 on the host) and cleared skip flags to the queue. The writes land before the
    /// next submission, so record at most one step per submission.
    pub fn prepare(&mut self, gpu: &Gpu) -> Result<()> {
        self.t += 1;
        let words: Vec<Consts<f32>> = self
            .config
            .hypers
            .iter()
            .map(|h| self.config.member.consts(h, self.t).cast::<f32>())
            .collect();
        gpu.write(&self.consts, &words)?;
        if self.reduce.is_some() {
            gpu.write(&self.skip, &vec![0u32; self.config.groups.len()])?;
        }
        Ok(())
    }

    /// Records the step prepared by [`GpuOptimizer::prepare`] into a compute pass.
    pub fn record(&self, gpu: &Gpu, pass: &mut wgpu::ComputePass<'_>) -> Result<()> {
        if let Some((prepass, finalize, bind)) = &self.reduce {
            pass.set_pipeline(prepass);
            for w in &self.windows {
                let (x, y) = gpu.grid(w.tiles)?;
                pass.set_bind_group(0, w.prepass.as_ref().expect("reducing"), &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
            pass.set_pipeline(finalize);
            pass.set_bind_group(0, bind, &[]);
            pass.dispatch_workgroups(1, 1, 1);
        }
        pass.set_pipeline(&self.update);
        for w in &self.windows {
            let (x, y) = gpu.grid(w.tiles)?;
            pass.set_bind_group(0, &w.update, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        Ok(())
    }

    /// One step, submitted; returns without waiting for the GPU.
    pub fn step(&mut self, gpu: &Gpu) -> Result<()> {
        self.prepare(gpu)?;
        let mut enc = gpu.encoder("optim step");
        gpu.scoped(|| {
            let mut pass = enc.begin_compute_pass(&Default::default());
            self.record(gpu, &mut pass)
        })??;
        gpu.scoped(|| gpu.queue.submit([enc.finish()]))?;
        Ok(())
    }

    /// One step, waited for and timed (GPU timestamps where the device has them).
    pub fn step_timed(&mut self, gpu: &Gpu) -> Result<Timed> {
        self.prepare(gpu)?;
        let mut inner = Ok(());
        let timed = gpu.scoped(|| gpu.time_pass(|pass| inner = self.record(gpu, pass)))??;
        inner?;
        Ok(timed)
    }

    /// Reads state buffer `k` (in [`Member::states`] order) back to the host.
    pub fn state(&self, gpu: &Gpu, k: usize) -> Result<Vec<f32>> {
        let buf = self.states.get(k).ok_or_else(|| {
            Error::invalid(
                "state",
                format!("{} has no state {k}", self.config.member.name()),
            )
        })?;
        gpu.download(buf)
    }

    /// The state buffers, for callers that read them on the device.
    pub fn state_buffers(&self) -> &[GpuBuffer<f32>] {
        &self.states
    }

    /// Group-steps skipped so far because their gradient held NaN or an infinity.
    pub fn skipped(&self, gpu: &Gpu) -> Result<u32> {
        Ok(gpu.download(&self.skipped_total)?[0])
    }
}
