//! `rulelab check`: every registered case on every backend asked for, one row per
//! output compared, and a summary of what ran where and what was skipped and why.

use rulelab::check;
use rulelab::gpu::DeviceChoice;
use rulelab::{registry, Result};
use std::process::ExitCode;

pub fn run(choice: DeviceChoice, families: &[String], seed: Option<u64>) -> Result<ExitCode> {
    let cases = registry::cases(families)?;
    let seed = seed.unwrap_or_else(check::seed);
    let (backends, skipped) = check::backends(choice)?;
    for b in &backends {
        println!("device: {} — {}", b.kind(), b.describe());
    }
    println!("seed {seed} (replay with --seed {seed})");
    println!(
        "{:<4} {:<10} {:<44} {:>8} {:>11} {:>21} pass",
        "dev", "family", "kernel", "size", "worst rel", "tolerance (atol,rtol)"
    );
    let mut sum = check::run_all(&cases, &backends, seed, |b, case, result| match result {
        Ok(rows) => {
            for r in rows {
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
                    println!("    {}", r.report);
                }
            }
        }
        Err(rulelab::Error::LoopBudget { .. }) => {}
        Err(e) => println!(
            "{:<4} {:<10} {:<44} FAIL: {e}",
            b.kind(),
            case.family,
            case.name
        ),
    })?;
    sum.skipped.splice(0..0, skipped);
    println!(
        "ran {}; {} outputs compared",
        sum.ran.join(", "),
        sum.compared
    );
    for s in &sum.skipped {
        println!("skipped {s}");
    }
    if sum.failed > 0 {
        println!("{} failed (seed {seed})", sum.failed);
        return Ok(ExitCode::from(1));
    }
    println!("all passed");
    Ok(ExitCode::SUCCESS)
}
