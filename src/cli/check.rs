//! `rulelab check`: every registered case on every backend asked for, one row per
//! output compared, and a summary of what ran where and what was skipped and why.

use rulelab::check::{self, Case};
use rulelab::gpu::{Backend, DeviceChoice, Gpu};
use rulelab::{registry, Error, Result};
use std::process::ExitCode;
use std::sync::Arc;

/// The backends a check runs on: by default the CPU device and any GPU adapter
/// (software ones too: a check is about correctness, not speed).
fn backends(choice: DeviceChoice) -> Result<(Vec<Backend>, Vec<String>)> {
    Ok(match choice {
        DeviceChoice::Cpu => (vec![Backend::Cpu], vec![]),
        DeviceChoice::Gpu => (vec![Backend::Gpu(Arc::new(Gpu::new()?))], vec![]),
        DeviceChoice::Auto => match Gpu::new() {
            Ok(g) => (vec![Backend::Cpu, Backend::Gpu(Arc::new(g))], vec![]),
            Err(e @ Error::NoAdapter(_)) => (vec![Backend::Cpu], vec![format!("gpu: {e}")]),
            Err(e) => return Err(e),
        },
    })
}

pub fn run(choice: DeviceChoice, families: &[String], seed: Option<u64>) -> Result<ExitCode> {
    let all = registry::families();
    for f in families {
        if !all.iter().any(|x| x.name == f) {
            return Err(Error::invalid(
                "--family",
                format!("{f:?} names no family ({})", registry::names().join(", ")),
            ));
        }
    }
    let cases: Vec<Case> = all
        .iter()
        .filter(|f| families.is_empty() || families.iter().any(|n| n == f.name))
        .flat_map(|f| (f.cases)())
        .collect();
    if cases.is_empty() {
        return Err(Error::invalid("--family", "selects no check"));
    }
    let seed = seed.unwrap_or_else(check::seed);
    let (backends, mut skipped) = backends(choice)?;
    for b in &backends {
        println!("device: {} — {}", b.kind(), b.describe());
    }
    println!("seed {seed} (replay with --seed {seed})");
    println!(
        "{:<4} {:<10} {:<44} {:>8} {:>11} {:>21} pass",
        "dev", "family", "kernel", "size", "worst rel", "tolerance (atol,rtol)"
    );
    let (mut failed, mut compared) = (0usize, 0usize);
    let mut ran = Vec::new();
    for b in &backends {
        let mut cases_run = 0;
        for case in &cases {
            match case.run(b, seed) {
                Ok(rows) => {
                    cases_run += 1;
                    for r in rows {
                        compared += 1;
                        println!(
                            "{:<4} {:<10} {:<44} {:>8} {:>11.3e} {:>10.1e},{:<10.1e} {}",
                            b.kind(),
                            r.family,
                            r.kernel,
                            r.size,
                            r.report.worst_rel_err,
                            r.report.tolerance.atol,
                            r.report.tolerance.rtol,
                            if r.report.pass { "pass" } else { "FAIL" }
                        );
                        if !r.report.pass {
                            failed += 1;
                            println!("    {}", r.report);
                        }
                    }
                }
                Err(e @ Error::LoopBudget { .. }) => {
                    skipped.push(format!("{}: {}/{}: {e}", b.kind(), case.family, case.name))
                }
                Err(e) => {
                    failed += 1;
                    println!(
                        "{:<4} {:<10} {:<44} FAIL: {e}",
                        b.kind(),
                        case.family,
                        case.name
                    );
                }
            }
        }
        ran.push(format!("{cases_run} cases on {}", b.describe()));
    }
    println!("ran {}; {compared} outputs compared", ran.join(", "));
    for s in &skipped {
        println!("skipped {s}");
    }
    if compared == 0 {
        return Err(Error::invalid("check", "compared nothing"));
    }
    if failed > 0 {
        println!("{failed} failed (seed {seed})");
        return Ok(ExitCode::from(1));
    }
    println!("all passed");
    Ok(ExitCode::SUCCESS)
}
