//! The adapter and the device: finding adapters, choosing the best, opening it with
//! its own limits (or wrapping a caller's device), and the queue's submit and wait.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a person needs to know about the adapter a result came from.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
}

impl AdapterSummary {
    pub fn from_info(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        }
    }
}

/// Limits that decide how work is split. They default to the device's own; tests lower
/// them to exercise the splitting paths at sizes a software adapter runs quickly.
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitLimits {
    /// Workgroups per dispatch dimension (WebGPU guarantees 65,535).
    pub max_workgroups_per_dimension: Option<u32>,
    /// Bytes one storage binding may cover.
    pub max_binding_bytes: Option<u64>,
}

/// A wgpu device and queue with rulelab's pipeline cache and limits.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub(super) limits: wgpu::Limits,
    pub(super) split: SplitLimits,
    /// Timestamp queries inside compute passes (`TIMESTAMP_QUERY`) and between commands
    /// (`TIMESTAMP_QUERY_INSIDE_ENCODERS`).
    pub(super) timestamps: (bool, bool),
    pub(super) pipelines: Mutex<HashMap<String, Arc<wgpu::ComputePipeline>>>,
    /// How long a readback waits for the GPU before giving up with [`Error::Timeout`].
    pub timeout: Duration,
}

/// Vulkan, Metal and DX12 (the GL backend is not compiled in: it prints noise and
/// cannot run these kernels well). `WGPU_BACKEND` narrows the set.
pub fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    wgpu::Instance::new(desc.with_env())
}

/// Refuses a `WGPU_BACKEND` that names no backend (wgpu itself would ignore it and
/// look everywhere).
pub fn check_env() -> Result<()> {
    const NAMES: [&str; 11] = [
        "vulkan", "vk", "metal", "mtl", "dx12", "d3d12", "gl", "gles", "opengl", "webgpu", "noop",
    ];
    if let Ok(v) = std::env::var("WGPU_BACKEND") {
        for item in v.split(',') {
            let name = item.trim().to_lowercase();
            if !NAMES.contains(&name.as_str()) {
                return Err(Error::invalid(
                    "WGPU_BACKEND",
                    format!(
                        "{item:?} is not a backend; use a comma-separated list of vulkan, \
                         metal, dx12 (or unset it)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Every adapter the instance sees.
pub fn adapters() -> Vec<wgpu::Adapter> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()))
}

/// One adapter, as `rulelab devices` (and the Python package) describe it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceReport {
    #[serde(flatten)]
    pub adapter: AdapterSummary,
    pub max_buffer_mib: u64,
    pub max_binding_mib: u64,
    pub workgroups_per_dimension: u32,
    pub invocations_per_workgroup: u32,
    pub timestamps: bool,
    pub timestamps_inside_encoders: bool,
    pub f64: bool,
    pub f16: bool,
    pub subgroups: bool,
    pub hardware: bool,
    /// `--device gpu` runs on this adapter.
    pub chosen_for_gpu: bool,
    /// `--device auto` runs on this adapter (else on the CPU).
    pub chosen_for_auto: bool,
}

/// Every adapter found, with its limits and features and what each `--device` choice
/// would run on (`WGPU_ADAPTER_NAME` naming none is an error).
pub fn devices() -> Result<Vec<DeviceReport>> {
    let all = adapters();
    if all.is_empty() {
        return Ok(vec![]);
    }
    let chosen = choose_adapter(all.clone())?.get_info();
    Ok(all
        .iter()
        .map(|a| {
            let (info, l, f) = (a.get_info(), a.limits(), a.features());
            let is_chosen = info.name == chosen.name && info.backend == chosen.backend;
            DeviceReport {
                adapter: AdapterSummary::from_info(&info),
                max_buffer_mib: l.max_buffer_size >> 20,
                max_binding_mib: l.max_storage_buffer_binding_size >> 20,
                workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
                invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
                timestamps: f.contains(wgpu::Features::TIMESTAMP_QUERY),
                timestamps_inside_encoders: f
                    .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS),
                f64: f.contains(wgpu::Features::SHADER_F64),
                f16: f.contains(wgpu::Features::SHADER_F16),
                subgroups: f.contains(wgpu::Features::SUBGROUP),
                hardware: is_hardware(&info),
                chosen_for_gpu: is_chosen,
                chosen_for_auto: is_chosen && is_hardware(&info),
            }
        })
        .collect())
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// True for adapters that are real hardware (not a software rasteriser such as lavapipe).
pub fn is_hardware(info: &wgpu::AdapterInfo) -> bool {
    info.device_type != wgpu::DeviceType::Cpu
}

/// The adapter rulelab would use: the one `WGPU_ADAPTER_NAME` names (a case-insensitive
/// substring), else the best by type (discrete > integrated > virtual > other > software).
pub fn choose_adapter(adapters: Vec<wgpu::Adapter>) -> Result<wgpu::Adapter> {
    if adapters.is_empty() {
        return Err(Error::NoAdapter(String::new()));
    }
    if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
        let found: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        return adapters
            .into_iter()
            .find(|a| {
                a.get_info()
                    .name
                    .to_lowercase()
                    .contains(&wanted.to_lowercase())
            })
            .ok_or(Error::AdapterNotFound {
                wanted,
                found: found.join(", "),
            });
    }
    Ok(adapters
        .into_iter()
        .min_by_key(|a| type_rank(a.get_info().device_type))
        .expect("non-empty"))
}

impl Gpu {
    /// Opens the chosen adapter with its own limits and the features rulelab can use.
    pub fn new() -> Result<Gpu> {
        Self::with_split_limits(SplitLimits::default())
    }

    pub fn with_split_limits(split: SplitLimits) -> Result<Gpu> {
        check_env()?;
        let adapter = choose_adapter(adapters())?;
        Self::open(&adapter, split)
    }

    /// Opens a specific adapter.
    pub fn open(adapter: &wgpu::Adapter, split: SplitLimits) -> Result<Gpu> {
        let wanted = wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        let desc = wgpu::DeviceDescriptor {
            label: Some("rulelab"),
            required_features: adapter.features() & wanted,
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))?;
        let mut gpu = Self::from_device(device, queue);
        gpu.adapter = AdapterSummary::from_info(&adapter.get_info());
        gpu.split = split;
        Ok(gpu)
    }

    /// Wraps a device and queue the caller already owns. rulelab uses the features and
    /// limits the device was created with; nothing else about it changes.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Gpu {
        // Errors outside an error scope would otherwise panic inside wgpu; every call
        // rulelab makes runs in a scope, so this only reports a caller's own mistakes.
        device.on_uncaptured_error(Arc::new(|e| {
            eprintln!("rulelab: uncaptured wgpu error: {e}")
        }));
        let features = device.features();
        let adapter = AdapterSummary {
            name: "caller-provided device".into(),
            backend: String::new(),
            device_type: String::new(),
            driver: String::new(),
        };
        Gpu {
            limits: device.limits(),
            timestamps: (
                features.contains(wgpu::Features::TIMESTAMP_QUERY),
                features.contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS),
            ),
            device,
            queue,
            adapter,
            split: SplitLimits::default(),
            pipelines: Mutex::new(HashMap::new()),
            timeout: Duration::from_secs(120),
        }
    }

    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Loop iterations one invocation may run on this adapter, where it has a limit.
    /// Mesa's llvmpipe (lavapipe) counts every loop back-edge of an invocation against
    /// one counter of 65,535 and silently leaves all loops when it runs out, so long
    /// kernels are cut into dispatches below that on software adapters.
    pub fn loop_budget(&self) -> Option<u64> {
        (self.adapter.device_type == format!("{:?}", wgpu::DeviceType::Cpu)).then_some(60_000)
    }

    /// Workgroups per dispatch dimension, after any test override.
    pub fn max_workgroups_per_dimension(&self) -> u32 {
        let own = self.limits.max_compute_workgroups_per_dimension;
        self.split
            .max_workgroups_per_dimension
            .map_or(own, |m| m.min(own))
    }

    /// Bytes one storage binding may cover, after any test override.
    pub fn max_binding_bytes(&self) -> u64 {
        let own = self.limits.max_storage_buffer_binding_size;
        self.split.max_binding_bytes.map_or(own, |m| m.min(own))
    }

    /// Runs `f` inside validation and out-of-memory error scopes and turns a captured
    /// wgpu error into [`Error`].
    pub fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let val = pollster::block_on(val.pop());
        let oom = pollster::block_on(oom.pop());
        match (val, oom) {
            (Some(e), _) | (None, Some(e)) => Err(e.into()),
            (None, None) => Ok(out),
        }
    }

    /// Submits `encoder`'s commands and waits for them, up to [`Gpu::timeout`].
    pub fn submit_and_wait(&self, encoder: wgpu::CommandEncoder) -> Result<()> {
        let index = self.scoped(|| self.queue.submit([encoder.finish()]))?;
        self.wait(index)
    }

    pub fn wait(&self, index: wgpu::SubmissionIndex) -> Result<()> {
        match self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(self.timeout),
        }) {
            Ok(_) => Ok(()),
            Err(wgpu::PollError::Timeout) => Err(Error::Timeout(self.timeout)),
            Err(e) => Err(Error::Poll(e.to_string())),
        }
    }

    pub fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }
}
