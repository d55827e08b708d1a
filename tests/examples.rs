//! Every example config, run on the CPU device, gives pinned results: a change that
//! moves one byte of an example's results.csv or trajectories.csv fails here. The CPU
//! device's answers do not depend on the machine's vector width (IEEE operations round
//! the same at any width and nothing is fused), so the fast examples also run capped
//! at AVX2 and at the x86-64 baseline and must give the same bytes.
//!
//! When a change is meant to alter results, say so in its commit and update the pins
//! (the failure prints the new hashes).

use std::path::{Path, PathBuf};
use std::process::Command;

/// (example, FNV-1a 64 of results.csv, of trajectories.csv or 0 when it writes none,
/// also run at narrower vector widths).
const PINS: &[(&str, u64, u64, bool)] = &[
    ("quickstart", 0xcf1a6d37095d2454, 0xb576431383718781, true),
    (
        "rosenbrock_momentum",
        0x8f8b0ac5257a2e86,
        0x8e15b9ac85da7302,
        true,
    ),
    ("s1_adam_quadratic", 0x9f4b593a4b680ba0, 0, false),
    (
        "teacher_student",
        0xed70eb84720574b7,
        0x7a6dfd9112b232c3,
        false,
    ),
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hash_of(path: &Path) -> u64 {
    std::fs::read(path).map_or(0, |b| fnv1a(&b))
}

fn run_example(name: &str, simd: Option<&str>) -> (u64, u64) {
    let config = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/sweeps")
        .join(format!("{name}.toml"));
    let out: PathBuf = std::env::temp_dir().join(format!(
        "rulelab-pin-{}-{name}-{}",
        std::process::id(),
        simd.unwrap_or("native")
    ));
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rulelab"));
    cmd.args([
        "sweep",
        config.to_str().unwrap(),
        "--device",
        "cpu",
        "--out",
    ])
    .arg(&out);
    if let Some(s) = simd {
        cmd.env("RULELAB_SIMD", s);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let hashes = (
        hash_of(&out.join("results.csv")),
        hash_of(&out.join("trajectories.csv")),
    );
    std::fs::remove_dir_all(&out).ok();
    hashes
}

#[test]
fn every_example_gives_its_pinned_results() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sweeps");
    let mut examples: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    examples.sort();
    let pinned: Vec<&str> = PINS.iter().map(|p| p.0).collect();
    assert_eq!(examples, pinned, "every example config needs a pin here");
    let mut wrong = Vec::new();
    for &(name, results, trajectories, narrow) in PINS {
        let got = run_example(name, None);
        if got != (results, trajectories) {
            wrong.push(format!(
                "(\"{name}\", {:#018x}, {:#018x}, {narrow}),",
                got.0, got.1
            ));
        }
        if narrow {
            for simd in ["avx2", "baseline"] {
                assert_eq!(
                    run_example(name, Some(simd)),
                    got,
                    "{name}: RULELAB_SIMD={simd} changed the results"
                );
            }
        }
    }
    assert!(wrong.is_empty(), "results changed:\n{}", wrong.join("\n"));
}
