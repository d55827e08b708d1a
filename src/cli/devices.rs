//! `rulelab devices`: every adapter, its limits and features, and what each --device
//! choice would run on.

use rulelab::{gpu, Error, Result};
use std::process::ExitCode;

pub fn run() -> Result<ExitCode> {
    let adapters = gpu::adapters();
    if adapters.is_empty() {
        println!("{}", Error::NoAdapter(String::new()));
        println!("--device auto will run on the CPU");
        return Ok(ExitCode::SUCCESS);
    }
    for a in &adapters {
        let info = a.get_info();
        let l = a.limits();
        println!(
            "{} | {:?} | {:?} | driver {} {}",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        );
        println!(
            "    max buffer {} MiB, storage binding {} MiB, workgroups/dim {}, invocations/workgroup {}",
            l.max_buffer_size >> 20,
            l.max_storage_buffer_binding_size >> 20,
            l.max_compute_workgroups_per_dimension,
            l.max_compute_invocations_per_workgroup
        );
        let f = a.features();
        let has = |x| if f.contains(x) { "yes" } else { "no" };
        println!(
            "    timestamps {} (inside encoders {}), f64 {}, f16 {}, subgroups {}",
            has(wgpu::Features::TIMESTAMP_QUERY),
            has(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS),
            has(wgpu::Features::SHADER_F64),
            has(wgpu::Features::SHADER_F16),
            has(wgpu::Features::SUBGROUP)
        );
    }
    let chosen = gpu::choose_adapter(adapters)?;
    let info = chosen.get_info();
    println!(
        "chosen for --device gpu: {} ({:?})",
        info.name, info.backend
    );
    println!(
        "--device auto runs on: {}",
        if gpu::is_hardware(&info) {
            "this adapter"
        } else {
            "the CPU (the adapter is software)"
        }
    );
    Ok(ExitCode::SUCCESS)
}
