//! Criterion benches of the optimiser family. On a GPU each iteration is timed by GPU
//! timestamps (`iter_custom` returns the kernel time, not the submission overhead);
//! the CPU device is timed by the host clock. Throughput is the spec's bytes per step.
//!
//! `cargo bench --bench optim` (set RULELAB_DEVICE=gpu|cpu|auto; RULELAB_BENCH_LOG2=20
//! picks the size).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rulelab::gpu::{Backend, DeviceChoice};
use rulelab::optim::cpu::CpuOptimizer;
use rulelab::optim::{bench, Config, Member};
use std::time::{Duration, Instant};

fn device() -> DeviceChoice {
    std::env::var("RULELAB_DEVICE")
        .map_or(Ok(DeviceChoice::Auto), |s| s.parse())
        .expect("RULELAB_DEVICE is auto, gpu or cpu")
}

fn optimisers(c: &mut Criterion) {
    let backend = Backend::open(device()).expect("open the device");
    let log2: u32 = std::env::var("RULELAB_BENCH_LOG2")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let n = 1usize << log2;
    let mut group = c.benchmark_group(format!("optim/{}", backend.kind()));
    for &member in Member::ALL {
        group.throughput(Throughput::Bytes(member.bytes_per_param() * n as u64));
        group.bench_function(format!("{}/2^{log2}", member.name()), |b| match &backend {
            Backend::Gpu(gpu) => {
                let (mut opt, _buffers) = bench::gpu_rig(gpu, member, n).unwrap();
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| Duration::from_secs_f64(opt.step_timed(gpu).unwrap().seconds))
                        .sum()
                });
            }
            Backend::Cpu => {
                let mut theta = vec![0.5f32; n];
                let grads = vec![0.01f32; n];
                let mut opt =
                    CpuOptimizer::<f32>::new(Config::single(member, member.default_hyper(), n), n)
                        .unwrap();
                b.iter_custom(|iters| {
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        opt.step(&mut theta, &grads).unwrap();
                    }
                    t0.elapsed()
                });
            }
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(300));
    targets = optimisers
}
criterion_main!(benches);
