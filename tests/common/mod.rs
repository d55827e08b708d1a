//! Shared test setup: one adapter per test binary, chosen as the CLI would choose it.
//! Without an adapter GPU tests are skipped with a message, except in CI (CI=true),
//! where a missing adapter fails the run: CI installs software Vulkan precisely so that
//! every kernel runs.
#![allow(dead_code)]

use rulelab::gpu::{Backend, Gpu, SplitLimits};
use std::sync::{Arc, OnceLock};

fn open(split: SplitLimits) -> Option<Arc<Gpu>> {
    match Gpu::with_split_limits(split) {
        Ok(g) => Some(Arc::new(g)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but no usable adapter: {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

/// The shared device at the adapter's own limits.
pub fn gpu() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    GPU.get_or_init(|| open(SplitLimits::default())).clone()
}

/// A device whose split limits are lowered (7 workgroups per dimension, 64 KiB per
/// binding) so that small jobs take every splitting path.
pub fn tiny_limits_gpu() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    GPU.get_or_init(|| {
        open(SplitLimits {
            max_workgroups_per_dimension: Some(7),
            max_binding_bytes: Some(64 << 10),
        })
    })
    .clone()
}

pub fn backend(gpu: &Arc<Gpu>) -> Backend {
    Backend::Gpu(gpu.clone())
}

/// The seed for this test's inputs, printed so a failure can be replayed with
/// RULELAB_SEED.
pub fn seed(test: &str) -> u64 {
    let s = rulelab::check::seed();
    eprintln!("{test}: seed {s} (replay with RULELAB_SEED={s})");
    s
}

/// A CSV's rows as maps from its header's names to the fields.
pub fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(String::from)
        .collect();
    lines
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}
