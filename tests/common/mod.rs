//! Shared test setup: one adapter per test binary, chosen as the CLI would choose it.
//! Without an adapter GPU tests are skipped, each named in
//! target/tmp/skipped-without-an-adapter.txt for scripts/test.sh to count and list at
//! the end of the Rust suite; in CI (CI=true) a missing adapter fails the run instead:
//! CI installs software Vulkan precisely so that every kernel runs.
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

/// Names the calling test in the list of tests skipped for want of an adapter.
fn record_skip(gpu: Option<Arc<Gpu>>) -> Option<Arc<Gpu>> {
    if gpu.is_none() {
        use std::io::Write;
        // libtest names each test's thread after the test.
        let test = std::thread::current().name().unwrap_or("?").to_string();
        let bin = std::env::args().next().unwrap_or_default();
        let bin = std::path::Path::new(&bin)
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .split('-')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default();
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("skipped-without-an-adapter.txt");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{bin}::{test}");
        }
    }
    gpu
}

/// The shared device at the adapter's own limits (None, recorded, without one).
pub fn gpu() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    record_skip(GPU.get_or_init(|| open(SplitLimits::default())).clone())
}

/// A device whose split limits are lowered (7 workgroups per dimension, 64 KiB per
/// binding) so that small jobs take every splitting path.
pub fn tiny_limits_gpu() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    record_skip(
        GPU.get_or_init(|| {
            open(SplitLimits {
                max_workgroups_per_dimension: Some(7),
                max_binding_bytes: Some(64 << 10),
            })
        })
        .clone(),
    )
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
