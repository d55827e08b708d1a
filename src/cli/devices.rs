//! `rulelab devices`: every adapter, its limits and features, and what each --device
//! choice would run on.

use rulelab::{gpu, Error, Result};
use std::process::ExitCode;

pub fn run() -> Result<ExitCode> {
    let devices = gpu::devices()?;
    if devices.is_empty() {
        println!("{}", Error::NoAdapter(String::new()));
        println!("--device auto will run on the CPU");
        return Ok(ExitCode::SUCCESS);
    }
    let yes = |b: bool| if b { "yes" } else { "no" };
    for d in &devices {
        let a = &d.adapter;
        println!(
            "{} | {} | {} | driver {}",
            a.name, a.backend, a.device_type, a.driver
        );
        println!(
            "    max buffer {} MiB, storage binding {} MiB, workgroups/dim {}, invocations/workgroup {}",
            d.max_buffer_mib, d.max_binding_mib, d.workgroups_per_dimension, d.invocations_per_workgroup
        );
        println!(
            "    timestamps {} (inside encoders {}), f64 {}, f16 {}, subgroups {}",
            yes(d.timestamps),
            yes(d.timestamps_inside_encoders),
            yes(d.f64),
            yes(d.f16),
            yes(d.subgroups)
        );
    }
    let chosen = devices
        .iter()
        .find(|d| d.chosen_for_gpu)
        .expect("one is chosen");
    println!(
        "chosen for --device gpu: {} ({})",
        chosen.adapter.name, chosen.adapter.backend
    );
    println!(
        "--device auto runs on: {}",
        if chosen.chosen_for_auto {
            "this adapter"
        } else {
            "the CPU (the adapter is software)"
        }
    );
    Ok(ExitCode::SUCCESS)
}
