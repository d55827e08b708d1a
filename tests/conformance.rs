//! One suite, written once and run for every entry of the registry: a new family that
//! registers itself is held to all of it without a line of test of its own.
//!
//! - its kernels compose and validate, and every struct they bind has a Rust twin with
//!   the same fields (names, offsets, types) and size;
//! - its check cases run on the CPU device and on the adapter (where there is one) and
//!   pass against the f64 reference;
//! - its study, when it has one, runs its sample config on the CPU device; a run stopped
//!   after its first chunk, its results file then torn by a half-written row, resumes to
//!   the uninterrupted run's bytes; and two shards merge into the same bytes.

mod common;

use rulelab::gpu::{Backend, DeviceChoice};
use rulelab::registry::{self, Family, StudyEntry};
use rulelab::sweep::Progress;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The study test stops a run the way Ctrl-C does, through the process's one flag:
/// the tests of this binary take turns so no other work sees it.
static SERIAL: Mutex<()> = Mutex::new(());

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-conf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_family_s_kernels_validate_and_bind_only_structs_with_twins() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let registered = rulelab::layouts();
    let families = registry::families();
    assert!(families.len() >= 7, "the registry lists the families");
    for f in &families {
        let kernels = (f.kernels)();
        assert!(!kernels.is_empty(), "{} has no kernel", f.name);
        for k in kernels {
            let (_, module) = k
                .validate()
                .unwrap_or_else(|e| panic!("{}: kernel {}: {e}", f.name, k.name));
            rulelab::gpu::layout::check_twins(&module, &registered)
                .unwrap_or_else(|m| panic!("{}: kernel {}: {m}", f.name, k.name));
        }
    }
}

#[test]
fn every_family_s_cases_pass_on_the_cpu_device_and_the_adapter() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut backends = vec![Backend::Cpu];
    if let Some(g) = common::gpu() {
        backends.push(common::backend(&g));
    }
    let seed = common::seed("conformance cases");
    for f in registry::families() {
        // The landscape's rules have long cases of their own binary (tests/landscape.rs);
        // here one case per family keeps the suite quick.
        let cases = (f.cases)();
        assert!(!cases.is_empty(), "{} has no check case", f.name);
        let case = &cases[seed as usize % cases.len()];
        for b in &backends {
            let rows = case
                .run(b, seed)
                .unwrap_or_else(|e| panic!("{}/{} on {}: {e}", f.name, case.name, b.kind()));
            assert!(
                !rows.is_empty(),
                "{}/{} compared nothing",
                f.name,
                case.name
            );
            for r in rows {
                assert!(
                    r.report.pass,
                    "{}/{} on {} (seed {seed}): {}",
                    f.name,
                    r.kernel,
                    b.kind(),
                    r.report
                );
            }
        }
    }
}

fn outputs(entry: &StudyEntry, dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_default();
    (read(entry.runner.results), read(entry.runner.series))
}

fn run_into(entry: &StudyEntry, text: &str, shard: Option<&str>, out: &Path, resume: bool) {
    let launch = (entry.runner.launch)(text.into(), shard, DeviceChoice::Cpu).unwrap();
    launch.run(out, resume, true, Progress::Quiet).unwrap();
}

/// The study of `f` runs whole, resumes after a stop and a torn write, and merges from
/// two shards, each to the same bytes.
fn conforms(f: &Family, entry: &StudyEntry) {
    let root = tmp(f.name);
    let text = (entry.sample)(&root).unwrap();
    let whole = root.join("whole");
    run_into(entry, &text, None, &whole, false);
    let want = outputs(entry, &whole);
    assert!(
        !want.0.is_empty(),
        "{}: the sample wrote no results",
        f.name
    );

    // Stopped after its first chunk (as Ctrl-C stops it), then a row half written past
    // the last finished chunk (as a kill mid-write leaves it).
    let stopped = root.join("stopped");
    let launch = (entry.runner.launch)(text.clone(), None, DeviceChoice::Cpu).unwrap();
    let progress = Progress::Call(Box::new(|d, total| {
        if d > 0 && d < total {
            rulelab::interrupt::request();
        }
    }));
    let first = launch.run(&stopped, false, true, progress);
    rulelab::interrupt::clear();
    match first {
        Err(rulelab::Error::Interrupted { done, total }) => {
            assert!(
                done > 0 && done < total,
                "{}: stopped at {done} of {total}",
                f.name
            )
        }
        other => panic!(
            "{}: the sample must take more than one chunk to stop between them: {:?}",
            f.name,
            other.map(|r| r.ran_chunks)
        ),
    }
    let results = stopped.join(entry.runner.results);
    let mut torn = std::fs::read(&results).unwrap();
    torn.extend_from_slice(b"999,0.5,half a ro");
    std::fs::write(&results, torn).unwrap();
    run_into(entry, &text, None, &stopped, true);
    assert_eq!(
        outputs(entry, &stopped),
        want,
        "{}: the resumed run differs from the uninterrupted one",
        f.name
    );

    // Two shards merged.
    let parts: Vec<PathBuf> = ["0/2", "1/2"]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let d = root.join(format!("shard{i}"));
            run_into(entry, &text, Some(s), &d, false);
            d
        })
        .collect();
    let merged = root.join("merged");
    rulelab::sweep::merge::merge(&parts, &merged).unwrap();
    assert_eq!(
        outputs(entry, &merged),
        want,
        "{}: the merged shards differ from the whole run",
        f.name
    );
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn every_study_runs_resumes_and_merges_to_the_same_bytes() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let studies: Vec<(Family, StudyEntry)> = registry::families()
        .into_iter()
        .filter_map(|f| f.study.map(|s| (f, s)))
        .collect();
    assert!(studies.len() >= 4, "the registry lists the studies");
    for (f, entry) in &studies {
        assert_eq!(
            entry.runner.family, f.name,
            "the study is filed under its family"
        );
        conforms(f, entry);
    }
}

/// A value for `name` other than `v`, of the same kind (whole numbers stay whole).
fn other_value(v: f64) -> f64 {
    if v.is_nan() {
        6.0 // a model's default size left open: give one
    } else if v == 0.0 {
        1.0
    } else if v.fract() == 0.0 {
        v + 1.0
    } else {
        v * 0.7
    }
}

/// The columns of a results file that are not a learner's numbers (what it found).
fn found(results: &[u8], numbers: &[&str]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(results);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !numbers.contains(&header[i]) && header[i] != "learner")
        .collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            keep.iter()
                .map(|&i| cells.get(i).unwrap_or(&"").to_string())
                .collect()
        })
        .collect()
}

/// No knob without an effect: each of a study's numbers set alone (as a one-value grid
/// axis over its sample) either changes what the learners found or is refused.
#[test]
fn every_number_of_a_study_changes_its_results_or_is_refused() {
    let mut silent = vec![];
    let mut tried = 0;
    for f in registry::families() {
        let Some(entry) = f.study else { continue };
        let root = tmp(&format!("knobs-{}", f.name));
        let text = (entry.sample)(&root).unwrap();
        let base = root.join("base");
        run_into(&entry, &text, None, &base, false);
        let numbers = (entry.runner.numbers)();
        let names: Vec<&str> = numbers.iter().map(|(n, _)| *n).collect();
        let base_results = outputs(&entry, &base).0;
        let want = found(&base_results, &names);
        // The sample's own value of a number where its results show it.
        let text_results = String::from_utf8_lossy(&base_results).into_owned();
        let header: Vec<&str> = text_results
            .lines()
            .next()
            .unwrap_or("")
            .split(',')
            .collect();
        let first: Vec<&str> = text_results
            .lines()
            .nth(1)
            .unwrap_or("")
            .split(',')
            .collect();
        let sample_value = |name: &str, default: f64| {
            header
                .iter()
                .position(|h| *h == name)
                .and_then(|i| first.get(i)?.parse::<f64>().ok())
                .unwrap_or(default)
        };
        let table: toml::Table = text.parse().unwrap();
        for (name, default) in &numbers {
            let grid = table.get("grid").and_then(|g| g.as_table());
            if grid.is_some_and(|g| g.contains_key(*name)) {
                continue; // the sample varies it already
            }
            // Two values in turn (the first may be the sample's own, set elsewhere).
            let first = other_value(sample_value(name, *default));
            let mut verdict = None;
            for (i, v) in [first, other_value(first)].into_iter().enumerate() {
                let mut t = table.clone();
                let g = t
                    .entry("grid")
                    .or_insert_with(|| toml::Value::Table(Default::default()));
                g.as_table_mut().unwrap().insert(
                    name.to_string(),
                    toml::Value::Array(vec![toml::Value::Float(v)]),
                );
                let out = root.join(format!("k-{name}-{i}"));
                tried += 1;
                let text = toml::to_string(&t).unwrap();
                let launch = (entry.runner.launch)(text, None, DeviceChoice::Cpu);
                verdict = match launch.and_then(|l| l.run(&out, false, true, Progress::Quiet)) {
                    Err(rulelab::Error::Invalid { .. }) => None, // refused: fine
                    Err(e) => Some(format!("{}: {name} = {v}: failed: {e}", f.name)),
                    Ok(_) if found(&outputs(&entry, &out).0, &names) == want => {
                        Some(format!("{}: {name} = {v} changed nothing", f.name))
                    }
                    Ok(_) => None,
                };
                if verdict.is_none() {
                    break;
                }
            }
            silent.extend(verdict);
        }
        std::fs::remove_dir_all(&root).ok();
    }
    assert!(tried > 20, "tried {tried} numbers");
    assert!(silent.is_empty(), "\n{}", silent.join("\n"));
}
