//! Output directories that never lose, duplicate or invent a row: damaged files are
//! repaired to the uninterrupted run's bytes or refused with a way out, one writer holds
//! a directory at a time, an interrupted run resumes, and a finished run touches nothing.

mod common;

use rand::{Rng, SeedableRng};
use rulelab::gpu::Backend;
use rulelab::landscape::SweepConfig;
use rulelab::sweep::{self, merge, RunOptions, Shard};
use rulelab::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CFG: &str = r#"
[landscape]
kind = "quadratic"
dim = 11
noise = "isotropic"
noise_sigma = 0.05
theta0_noise = 0.3
[rule]
kind = "adam"
[grid]
lr = { logspace = [1e-3, 1e-1, 4] }
seed = { range = [0, 9] }
[run]
steps = 40
record_every = 8
chunk = 5
[output]
trajectories = true
summary = false
"#;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-dur-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn opts(shard: Shard, resume: bool) -> RunOptions {
    RunOptions {
        shard,
        resume,
        progress: sweep::Progress::Quiet,
        yes: false,
    }
}

fn run(dir: &Path, shard: Shard, resume: bool) -> rulelab::Result<sweep::RunReport> {
    let cfg = SweepConfig::from_toml(CFG).unwrap();
    sweep::run(&cfg, CFG, dir, &Backend::Cpu, &opts(shard, resume))
}

fn files(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(dir.join("results.csv")).unwrap(),
        std::fs::read(dir.join("trajectories.csv")).unwrap(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

/// One kind of damage, applied to a finished run's directory.
fn damage(dir: &Path, kind: usize, rng: &mut rand::rngs::StdRng) -> &'static str {
    let results = dir.join("results.csv");
    let traj = dir.join("trajectories.csv");
    let cut = |p: &Path, rng: &mut rand::rngs::StdRng| {
        let len = std::fs::metadata(p).unwrap().len();
        let at = rng.random_range(0..len);
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(at)
            .unwrap();
    };
    let append = |p: &Path, rng: &mut rand::rngs::StdRng| {
        use std::io::Write;
        let junk: &[u8] = [
            &b"999,0.5,7,1,2,3,,false\n"[..],
            &b"12,half a ro"[..],
            &[0u8; 40][..],
        ][rng.random_range(0..3)];
        std::fs::OpenOptions::new()
            .append(true)
            .open(p)
            .unwrap()
            .write_all(junk)
            .unwrap();
    };
    let edit_manifest = |f: &dyn Fn(&mut serde_json::Value)| {
        let p = dir.join("manifest.json");
        let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        f(&mut m);
        std::fs::write(&p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    };
    match kind {
        0 => {
            cut(&results, rng);
            "results.csv cut short"
        }
        1 => {
            cut(&traj, rng);
            "trajectories.csv cut short"
        }
        2 => {
            append(&results, rng);
            "results.csv extended"
        }
        3 => {
            cut(&results, rng);
            append(&results, rng);
            "results.csv cut and extended"
        }
        4 => {
            let mut b = std::fs::read(&results).unwrap();
            let at = rng.random_range(0..b.len());
            b[at] ^= 0x01;
            std::fs::write(&results, b).unwrap();
            "a byte of results.csv changed"
        }
        5 => {
            let d = rng.random_range(1..3i64) * if rng.random() { 1 } else { -1 };
            edit_manifest(&|m| {
                let c = m["chunks_done"].as_i64().unwrap();
                m["chunks_done"] = (c + d).max(0).into();
            });
            "manifest chunks_done edited"
        }
        6 => {
            let d = rng.random_range(1..200i64);
            edit_manifest(&|m| {
                let c = m["results_bytes"].as_i64().unwrap();
                m["results_bytes"] = (c - d).into();
            });
            "manifest results_bytes edited"
        }
        7 => {
            let i = rng.random_range(0..8usize);
            edit_manifest(&|m| {
                let marks = m["marks"].as_array_mut().unwrap();
                let k = i % marks.len();
                let f = marks[k]["results"]["fnv"].as_u64().unwrap();
                marks[k]["results"]["fnv"] = (f ^ 1).into();
            });
            "a chunk's hash in the manifest edited"
        }
        _ => {
            edit_manifest(&|m| {
                m["marks"].as_array_mut().unwrap().pop();
            });
            "a chunk record removed from the manifest"
        }
    }
}

/// Every damage either resumes to the uninterrupted run's exact bytes or is refused
/// with a message that says how to recover; never a padded file, a panic, or a run
/// that ends with rows missing or doubled.
#[test]
fn damaged_directories_are_repaired_or_refused_never_trusted() {
    let reference = tmp("reference");
    run(&reference, Shard::WHOLE, false).unwrap();
    let want = files(&reference);
    let seed = rulelab::check::seed();
    eprintln!("damage seed {seed} (replay with RULELAB_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let work = tmp("work");
    for trial in 0..72 {
        let kind = trial % 9;
        copy_dir(&reference, &work);
        let what = damage(&work, kind, &mut rng);
        // Without --resume, a damaged finished run is refused, not trusted.
        if let Ok(r) = run(&work, Shard::WHOLE, false) {
            assert!(
                r.ran_chunks == 0 && files(&work) == want,
                "trial {trial} ({what}): a plain rerun accepted damaged files"
            );
        }
        let outcome = run(&work, Shard::WHOLE, true);
        eprintln!(
            "trial {trial} ({what}): {}",
            match &outcome {
                Ok(r) => format!("repaired ({} chunks ran; {:?})", r.ran_chunks, r.notes),
                Err(e) => format!("refused: {e}"),
            }
        );
        match outcome {
            Ok(r) => {
                assert!(
                    kind <= 3,
                    "trial {trial} ({what}): repaired what should be refused"
                );
                assert!(
                    !r.notes.is_empty(),
                    "trial {trial} ({what}): a silent repair"
                );
                assert!(r.manifest.complete);
                assert!(
                    files(&work) == want,
                    "trial {trial} ({what}): the repaired files differ from the clean run"
                );
            }
            Err(Error::Invalid { field, message }) => {
                // A cut file extended past its recorded length looks edited: refusing it
                // is as safe as repairing it.
                assert!(
                    kind >= 3,
                    "trial {trial} ({what}): refused a repairable directory: {field}: {message}"
                );
                assert!(
                    message.contains("restore")
                        || message.contains("--resume")
                        || message.contains("new directory"),
                    "trial {trial} ({what}): the refusal says no way out: {message}"
                );
            }
            Err(e) => panic!("trial {trial} ({what}): {e}"),
        }
    }
    std::fs::remove_dir_all(&work).ok();
    std::fs::remove_dir_all(&reference).ok();
}

/// Merge checks every shard against its manifest: a damaged shard is refused until
/// it is resumed, after which the merge equals the unsharded run byte for byte.
#[test]
fn merge_refuses_damaged_shards_and_equals_the_whole_run_after_repair() {
    let whole = tmp("m-whole");
    run(&whole, Shard::WHOLE, false).unwrap();
    let parts: Vec<PathBuf> = (0..2).map(|k| tmp(&format!("m-part{k}"))).collect();
    for (k, p) in parts.iter().enumerate() {
        run(
            p,
            Shard {
                index: k as u64,
                count: 2,
            },
            false,
        )
        .unwrap();
    }
    let results = parts[1].join("results.csv");
    let len = std::fs::metadata(&results).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&results)
        .unwrap()
        .set_len(len - 17)
        .unwrap();
    let out = tmp("m-out");
    match merge::merge(&parts, &out) {
        Err(Error::Invalid { message, .. }) => assert!(message.contains("--resume"), "{message}"),
        other => panic!("a truncated shard was merged: {other:?}"),
    }
    // An appended row is refused too.
    let extra = tmp("m-extra");
    copy_dir(&parts[0], &extra);
    std::fs::write(
        extra.join("results.csv"),
        [
            std::fs::read(parts[0].join("results.csv")).unwrap(),
            b"3,0.01,2,1,1,1,,false\n".to_vec(),
        ]
        .concat(),
    )
    .unwrap();
    assert!(merge::merge(&[extra.clone(), parts[1].clone()], &tmp("m-out2")).is_err());
    run(&parts[1], Shard { index: 1, count: 2 }, true).unwrap();
    let m = merge::merge(&parts, &out).unwrap();
    assert_eq!(files(&out), files(&whole));
    assert_eq!(m.sources.len(), 2);
    // The merged directory verifies as a whole run: running it again changes nothing.
    let r = run(&out, Shard::WHOLE, false).unwrap();
    assert_eq!(r.ran_chunks, 0);
    for d in parts.iter().chain([&whole, &out, &extra]) {
        std::fs::remove_dir_all(d).ok();
    }
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let md = std::fs::metadata(&p).unwrap();
            (
                p.clone(),
                std::fs::read(&p).unwrap(),
                md.modified().unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Running a finished sweep again, with or without --resume, changes no file.
#[test]
fn a_finished_sweep_run_again_changes_no_file() {
    let dir = tmp("noop");
    run(&dir, Shard::WHOLE, false).unwrap();
    let before = snapshot(&dir);
    std::thread::sleep(Duration::from_millis(20));
    for resume in [false, true] {
        let r = run(&dir, Shard::WHOLE, resume).unwrap();
        assert_eq!(r.ran_chunks, 0);
        assert!(r.notes[0].contains("already complete"), "{:?}", r.notes);
        assert_eq!(snapshot(&dir), before, "resume = {resume}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A sweep of 18 chunks that runs for a second or so; `slower` times as many steps
/// (recorded as often in all) for a test that needs the run alive for longer.
fn long_sweep(root: &Path, slower: usize) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(root).unwrap();
    let cfg = root.join("long.toml");
    std::fs::write(
        &cfg,
        CFG.replace("steps = 40", &format!("steps = {}", 20000 * slower))
            .replace(
                "record_every = 8",
                &format!("record_every = {}", 8 * slower),
            )
            .replace("dim = 11", "dim = 64")
            .replace("chunk = 5", "chunk = 2"),
    )
    .unwrap();
    (cfg, root.join("out"))
}

fn spawn(cfg: &Path, out: &Path, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(["sweep", cfg.to_str().unwrap(), "--device", "cpu", "--out"])
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_chunks(out: &Path, n: u64) {
    let start = Instant::now();
    loop {
        if sweep::run::read_manifest(out).is_ok_and(|m| m.chunks_done >= n) {
            return;
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "the sweep made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A second writer is refused with the first one's process named; so is a merge of a
/// directory still being written.
#[test]
fn one_writer_per_directory() {
    let root = tmp("lock");
    // Alive through two refused starts, each of which waits half a second.
    let (cfg, out) = long_sweep(&root, 50);
    let mut first = spawn(&cfg, &out, &[]);
    wait_for_chunks(&out, 1);
    for args in [vec!["--resume"], vec![]] {
        let o = spawn(&cfg, &out, &args).wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("being written by another rulelab")
                && err.contains(&format!("pid {}", first.id())),
            "{err}"
        );
    }
    let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(["merge", out.to_str().unwrap(), "--out"])
        .arg(root.join("merged"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    first.kill().unwrap();
    first.wait().unwrap();
    std::fs::remove_dir_all(&root).ok();
}

/// SIGINT stops the run at a chunk boundary with a message and exit code 130; the
/// resumed run equals an uninterrupted one.
#[cfg(unix)]
#[test]
fn an_interrupted_sweep_says_how_to_continue_and_resumes() {
    let root = tmp("sigint");
    let (cfg, out) = long_sweep(&root, 1);
    let child = spawn(&cfg, &out, &[]);
    wait_for_chunks(&out, 2);
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted after") && err.contains("continue with --resume"),
        "{err}"
    );
    let m = sweep::run::read_manifest(&out).unwrap();
    assert!(!m.complete && m.chunks_done >= 2);
    let o = spawn(&cfg, &out, &["--resume"]).wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let clean = root.join("clean");
    let o = spawn(&cfg, &clean, &[]).wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(files(&out), files(&clean));
    std::fs::remove_dir_all(&root).ok();
}

/// Shards run on different devices merge into a manifest that says so, naming each.
#[test]
fn shards_from_two_devices_merge_into_a_manifest_that_says_so() {
    let Some(gpu) = common::gpu() else { return };
    let cfg = SweepConfig::from_toml(CFG).unwrap();
    let parts = [tmp("mix-cpu"), tmp("mix-gpu")];
    for (k, (dir, backend)) in parts
        .iter()
        .zip([Backend::Cpu, common::backend(&gpu)])
        .enumerate()
    {
        sweep::run(
            &cfg,
            CFG,
            dir,
            &backend,
            &opts(
                Shard {
                    index: k as u64,
                    count: 2,
                },
                false,
            ),
        )
        .unwrap();
    }
    let out = tmp("mix-out");
    let m = merge::merge(&parts, &out).unwrap();
    assert_eq!(m.device, "mixed");
    assert!(
        m.sources[0].contains("on cpu") && m.sources[1].contains("on gpu"),
        "{:?}",
        m.sources
    );
    for d in parts.iter().chain([&out]) {
        std::fs::remove_dir_all(d).ok();
    }
}
