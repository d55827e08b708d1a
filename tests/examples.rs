//! Every example config, run on the CPU device, gives pinned results: a change that
//! moves one byte of an example's result or series file fails here. The CPU
//! device's answers do not depend on the machine's vector width (IEEE operations round
//! the same at any width and nothing is fused), so the fast examples also run capped
//! at AVX2 and at the x86-64 baseline and must give the same bytes.
//!
//! When a change is meant to alter results, say so in its commit and update the pins
//! (the failure prints the new hashes).

use std::path::{Path, PathBuf};
use std::process::Command;

/// (example under examples/, FNV-1a 64 of its results file (results.csv, paths.csv),
/// of its series file (trajectories.csv, points.csv) or 0 when it writes none, also run
/// at narrower vector widths).
const PINS: &[(&str, u64, u64, bool)] = &[
    (
        "control/double_well",
        0x3f7c956c56f740ad,
        0xd5cbc8c222790b4a,
        false,
    ),
    (
        "control/double_well_starts",
        0xf702e8007d8a9139,
        0x95f30348c8cbca1f,
        false,
    ),
    ("sweeps/continual", 0x316e9dd18b90efbb, 0, true),
    (
        "sweeps/horizon",
        0x4e3890a947f41d35,
        0xe9a60b663e16423d,
        true,
    ),
    (
        "sweeps/quickstart",
        0xcf1a6d37095d2454,
        0xb576431383718781,
        true,
    ),
    (
        "sweeps/rosenbrock_momentum",
        0x8f8b0ac5257a2e86,
        0x8e15b9ac85da7302,
        true,
    ),
    ("sweeps/s1_adam_quadratic", 0x9f4b593a4b680ba0, 0, false),
    (
        "sweeps/teacher_student",
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
        .join("examples")
        .join(format!("{name}.toml"));
    let out: PathBuf = std::env::temp_dir().join(format!(
        "rulelab-pin-{}-{}-{}",
        std::process::id(),
        name.replace('/', "-"),
        simd.unwrap_or("native")
    ));
    let _ = std::fs::remove_dir_all(&out);
    let (command, files): (&[&str], _) = if name.starts_with("control/") {
        (&["control", "path"], ["paths.csv", "points.csv"])
    } else {
        (&["sweep"], ["results.csv", "trajectories.csv"])
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rulelab"));
    cmd.args(command)
        .args([config.to_str().unwrap(), "--device", "cpu", "--out"])
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
    let hashes = (hash_of(&out.join(files[0])), hash_of(&out.join(files[1])));
    std::fs::remove_dir_all(&out).ok();
    hashes
}

#[test]
fn every_example_gives_its_pinned_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples: Vec<String> = ["control", "sweeps"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .map(move |p| format!("{dir}/{}", p.file_stem().unwrap().to_string_lossy()))
        })
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
