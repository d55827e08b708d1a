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

#[test]
fn sweep_shards_and_merge_from_the_command_line() {
    let root = std::env::temp_dir().join(format!("rulelab-cli-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sweeps/quickstart.toml"
    );
    let dir = |name: &str| root.join(name).to_str().unwrap().to_string();
    for (out, shard) in [("whole", None), ("a", Some("0/2")), ("b", Some("1/2"))] {
        let mut args = vec![
            "sweep",
            cfg,
            "--out",
            &*Box::leak(dir(out).into_boxed_str()),
            "--device",
            "cpu",
        ];
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let o = rulelab(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let merged = dir("merged");
    let o = rulelab(&["merge", &dir("b"), &dir("a"), "--out", &merged]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read =
        |d: &str| std::fs::read_to_string(std::path::Path::new(d).join("results.csv")).unwrap();
    assert_eq!(read(&merged), read(&dir("whole")));
    // The rule axis writes kinds by name, in grid order.
    let text = read(&dir("whole"));
    assert!(text.starts_with("learner,rule,lr,beta1,seed,"));
    assert!(
        text.lines().nth(1).unwrap().starts_with("0,adam,")
            && text.lines().last().unwrap().contains(",momentum,")
    );
    // A bad config is one clear line and a non-zero exit.
    let bad = root.join("bad.toml");
    std::fs::write(&bad, "[landscape]\nkind = \"quadratic\"\ndim = 8\n[rule]\nkind = \"adam\"\nbeta2 = 2\n[run]\nsteps = 5\n").unwrap();
    let o = rulelab(&[
        "sweep",
        bad.to_str().unwrap(),
        "--out",
        &dir("bad"),
        "--device",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("rulelab: invalid rule.beta2"),
        "{err}"
    );
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn no_adapter_names_the_fix_and_auto_falls_back_to_the_cpu() {
    // WGPU_BACKEND=metal finds nothing on Linux and Windows: the "no adapter" path.
    if !cfg!(target_os = "linux") {
        return;
    }
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rulelab"))
            .args(args)
            .env("WGPU_BACKEND", "metal")
            .output()
            .unwrap()
    };
    let o = run(&["check", "--device", "gpu", "--family", "rng"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no GPU adapter found")
            && err.contains("mesa-vulkan-drivers")
            && err.contains("--device cpu"),
        "{err}"
    );
    let o = run(&["check", "--family", "optim"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("device: cpu"));
    // A WGPU_ADAPTER_NAME that matches nothing is an error naming what was found.
    let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(["check", "--device", "gpu", "--family", "rng"])
        .env("WGPU_ADAPTER_NAME", "no-such-adapter-anywhere")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("matches no adapter"));
}

#[test]
fn inside_a_slurm_array_job_the_shard_comes_from_the_environment() {
    let root = std::env::temp_dir().join(format!("rulelab-cli-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sweeps/quickstart.toml"
    );
    let out = root.join("task");
    let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args([
            "sweep",
            cfg,
            "--out",
            out.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .env("SLURM_ARRAY_TASK_ID", "4")
        .env("SLURM_ARRAY_TASK_MIN", "3")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["shard"]["index"], 1);
    assert_eq!(m["shard"]["count"], 2);
    assert_eq!(m["first"], 128);
    assert_eq!(m["end"], 256);
    std::fs::remove_dir_all(root).ok();
}

/// `rulelab check` says what ran where: by default the CPU device and any adapter
/// (software included), each with a subject; without an adapter the GPU is reported
/// skipped, with the reason.
#[test]
fn check_reports_what_ran_where_and_what_was_skipped() {
    let out = rulelab(&["check", "--family", "rng", "--device", "cpu"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("cpu  rng        philox normals") && text.contains("1 cases on cpu"),
        "{text}"
    );
    let out = rulelab(&["check", "--family", "rng"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let has_adapter = !rulelab::gpu::adapters().is_empty();
    assert_eq!(text.contains("gpu  rng"), has_adapter, "{text}");
    if !has_adapter {
        assert!(text.contains("skipped gpu: no GPU adapter"), "{text}");
    }
    if cfg!(target_os = "linux") {
        let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
            .args(["check", "--family", "rng"])
            .env("WGPU_BACKEND", "metal")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{text}");
        assert!(
            text.contains("skipped gpu: no GPU adapter") && !text.contains("gpu  rng"),
            "{text}"
        );
    }
    // An empty selection is an error, not a pass.
    let o = rulelab(&["check", "--family", ""]);
    assert_eq!(o.status.code(), Some(2));
}

/// Bad values in the environment are errors naming the variable.
#[test]
fn bad_environment_variables_are_named() {
    for (var, value) in [("RULELAB_DEVICE", "bogus"), ("WGPU_BACKEND", "bogus")] {
        let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
            .args(["check", "--family", "rng"])
            .env(var, value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{var}: {err}");
        assert!(err.contains(var) && err.contains("bogus"), "{err}");
    }
}

/// Inside a Slurm array an ID that does not fit is refused; --shard wins over it.
#[test]
fn slurm_errors_name_the_variables_and_shard_wins() {
    let root = std::env::temp_dir().join(format!("rulelab-cli-slurm2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sweeps/quickstart.toml"
    );
    let run = |out: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rulelab"))
            .args(["sweep", cfg, "--device", "cpu", "--out"])
            .arg(root.join(out))
            .args(extra)
            .env("SLURM_ARRAY_TASK_ID", "2")
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .output()
            .unwrap()
    };
    let o = run("bad", &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("SLURM_ARRAY_TASK_ID=2") && err.contains("--shard"),
        "{err}"
    );
    let o = run("explicit", &["--shard", "1/2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(root).ok();
}

/// `--device` is offered exactly where it changes something: every study command,
/// `check`, and the family commands that declare a device; the rest refuse it.
#[test]
fn device_is_offered_only_where_it_acts() {
    let help = |path: &[&str]| {
        let mut args = path.to_vec();
        args.push("--help");
        String::from_utf8_lossy(&rulelab(&args).stdout).into_owned()
    };
    let mut checked = 0;
    for f in rulelab::registry::families() {
        if let Some(s) = f.study {
            let path: Vec<&str> = s.command.split(' ').collect();
            assert!(help(&path).contains("--device <"), "{}", s.command);
            checked += 1;
        }
        for c in (f.commands)() {
            assert_eq!(
                help(c.path).contains("--device <"),
                c.uses_device,
                "{}",
                c.path.join(" ")
            );
            checked += 1;
        }
    }
    assert!(help(&["check"]).contains("--device <"));
    for own in [&["merge"][..], &["plot"], &["devices"]] {
        assert!(!help(own).contains("--device <"), "{own:?}");
    }
    let o = rulelab(&["merge", "a", "--out", "b", "--device", "cpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--device"));
    // Before the command it is read for the commands that run on a device, and refused
    // for the others.
    let o = rulelab(&["--device", "cpu", "merge", "a", "--out", "b"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("changes nothing for `rulelab merge`"));
    assert!(checked >= 10, "{checked}");
}
