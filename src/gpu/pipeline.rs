//! Compute pipelines, compiled once per device.

use super::{Gpu, Kernel};
use crate::error::Result;
use std::sync::Arc;

impl Gpu {
    /// The kernel's pipeline (with its constants), compiled on first use. The kernel is composed and
    /// validated first, so a mistake in any of its files is reported at its own file and
    /// line; the layout is derived from the shader, so a kernel binds exactly what it
    /// declares.
    pub fn pipeline(&self, kernel: &Kernel) -> Result<Arc<wgpu::ComputePipeline>> {
        let key = kernel.cache_key();
        if let Some(p) = self.pipelines.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        let (composed, _) = kernel.validate()?;
        let pipeline = self.scoped(|| {
            let module = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&kernel.name),
                    source: wgpu::ShaderSource::Wgsl(composed.text.into()),
                });
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&kernel.name),
                    layout: None,
                    module: &module,
                    entry_point: Some(kernel.entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &kernel.constants,
                        ..Default::default()
                    },
                    cache: None,
                })
        })?;
        let pipeline = Arc::new(pipeline);
        self.pipelines.lock().unwrap().insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// A bind group for group 0 of `pipeline` from (binding, resource) pairs.
    pub fn bind_group(
        &self,
        pipeline: &wgpu::ComputePipeline,
        entries: &[(u32, wgpu::BindingResource<'_>)],
    ) -> Result<wgpu::BindGroup> {
        let entries: Vec<wgpu::BindGroupEntry> = entries
            .iter()
            .map(|(binding, resource)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: resource.clone(),
            })
            .collect();
        self.scoped(|| {
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            })
        })
    }
}
