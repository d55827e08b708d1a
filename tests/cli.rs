//! The command line end to end.

use std::process::Command;

fn rulelab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_on_cpu_device_passes() {
    let out = rulelab(&["check", "--device", "cpu"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("adam x20 theta") && text.contains("all passed"),
        "{text}"
    );
}

#[test]
fn check_on_gpu_passes_when_an_adapter_exists() {
    let out = rulelab(&["check", "--device", "gpu", "--family", "optim"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("no GPU adapter found") && std::env::var("CI").as_deref() != Ok("true") {
        return;
    }
    assert!(out.status.success(), "{text}{err}");
    assert!(
        text.contains("device: gpu") && text.contains("kalman x20 r_hat"),
        "{text}"
    );
}

#[test]
fn unknown_family_is_one_clear_line_and_nonzero_exit() {
    let out = rulelab(&["check", "--device", "cpu", "--family", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("rulelab: invalid --family"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn bench_writes_the_json_rows() {
    let dir = std::env::temp_dir().join(format!("rulelab-bench-{}", std::process::id()));
    let json = dir.join("optim.json");
    let out = rulelab(&[
        "bench",
        "optim",
        "--device",
        "cpu",
        "--log2-sizes",
        "12",
        "--reps",
        "2",
        "--members",
        "adam,kalman",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        for key in [
            "kernel",
            "n",
            "seconds",
            "bytes_per_s",
            "copy_bytes_per_s",
            "copy_shader_bytes_per_s",
            "ratio",
            "device",
            "adapter",
        ] {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        assert_eq!(r["device"], "cpu");
        assert_eq!(r["n"], 4096);
        assert!(r["seconds"].as_f64().unwrap() > 0.0);
    }
    std::fs::remove_dir_all(dir).ok();
}
