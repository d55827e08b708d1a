//! The one harness that compares a kernel's output with its CPU reference.
//!
//! A result passes when |out - ref| <= atol + rtol * |ref| for every element; NaN or an
//! infinity where the reference is finite always fails. The report names the worst
//! element (largest error relative to what the tolerance allows), so a failure says
//! where and by how much. Inputs are drawn fresh from a seed that is printed with any
//! failure and replays it (`RULELAB_SEED` in tests, `--seed` on the command line).

use crate::error::Result;
use crate::gpu::{Backend, DeviceChoice, Gpu};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt;
use std::sync::Arc;

/// Element-wise tolerance: atol + rtol * |reference|.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

impl Tolerance {
    pub const fn new(atol: f64, rtol: f64) -> Self {
        Tolerance { atol, rtol }
    }

    /// One f32 element-wise step: a few ulps of the result.
    pub const ELEMENTWISE: Tolerance = Tolerance::new(1e-7, 1e-5);

    /// The looser of two tolerances, field by field.
    pub fn max(self, other: Tolerance) -> Tolerance {
        Tolerance::new(self.atol.max(other.atol), self.rtol.max(other.rtol))
    }

    /// This tolerance with atol read as a fraction of the largest |reference|.
    pub fn relative_to_peak(self, reference: &[f64]) -> Tolerance {
        let peak = reference.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
        Tolerance::new(self.atol * peak, self.rtol)
    }

    /// A tree reduction of `n` f32 terms: the error bound grows with log2(n) * eps.
    pub fn reduction(n: usize) -> Tolerance {
        let levels = (n.max(2) as f64).log2().ceil();
        Tolerance::new(1e-7, 2.0 * levels * f32::EPSILON as f64 + 1e-6)
    }
}

/// The comparison of one output with its reference.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub n: usize,
    /// Index, value and reference of the worst element.
    pub worst_index: usize,
    pub worst_value: f64,
    pub worst_reference: f64,
    pub worst_abs_err: f64,
    /// |err| / max(|ref|, tiny): the figure `rulelab check` prints.
    pub worst_rel_err: f64,
    /// |err| / (atol + rtol |ref|): at most 1 to pass.
    pub worst_ratio: f64,
    pub non_finite: usize,
    pub tolerance: Tolerance,
    pub pass: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} over {} elements: worst [{}] = {:e} vs reference {:e} (abs {:.3e}, rel {:.3e}, \
             {:.2}x of atol {:e} + rtol {:e}); {} non-finite",
            if self.pass { "pass" } else { "FAIL" },
            self.n,
            self.worst_index,
            self.worst_value,
            self.worst_reference,
            self.worst_abs_err,
            self.worst_rel_err,
            self.worst_ratio,
            self.tolerance.atol,
            self.tolerance.rtol,
            self.non_finite
        )
    }
}

/// Compares `out` (any float the kernel produced) with an f64 reference.
pub fn compare<T: Copy + Into<f64>>(out: &[T], reference: &[f64], tol: Tolerance) -> Report {
    let mut r = Report {
        n: out.len(),
        worst_index: 0,
        worst_value: 0.0,
        worst_reference: 0.0,
        worst_abs_err: 0.0,
        worst_rel_err: 0.0,
        worst_ratio: 0.0,
        non_finite: 0,
        tolerance: tol,
        pass: out.len() == reference.len(),
    };
    for (i, (&o, &want)) in out.iter().zip(reference).enumerate() {
        let got: f64 = o.into();
        let err = (got - want).abs();
        let ratio = if got.is_finite() != want.is_finite() || got.is_nan() {
            r.non_finite += 1;
            f64::INFINITY
        } else if !want.is_finite() {
            if got == want {
                0.0
            } else {
                f64::INFINITY
            }
        } else if err == 0.0 {
            0.0
        } else {
            err / (tol.atol + tol.rtol * want.abs())
        };
        if ratio > r.worst_ratio || (i == 0 && r.worst_ratio == 0.0) {
            r.worst_index = i;
            r.worst_value = got;
            r.worst_reference = want;
            r.worst_abs_err = err;
            r.worst_rel_err = err / want.abs().max(1e-30);
            r.worst_ratio = ratio;
        }
    }
    r.pass &= r.worst_ratio <= 1.0;
    r
}

/// The seed for fresh random inputs: `RULELAB_SEED` when set (to replay a failure),
/// otherwise a new one.
pub fn seed() -> u64 {
    std::env::var("RULELAB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

/// A seeded generator for test inputs.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `n` values drawn uniformly from [lo, hi).
pub fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// `n` values from a standard normal times `scale` (Box-Muller on the test rng).
pub fn normal(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            let v: f64 = rng.random();
            (scale as f64 * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect()
}

/// Widens an f32 slice for the f64 reference.
pub fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// One line of `rulelab check`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    pub family: &'static str,
    pub kernel: String,
    pub size: usize,
    pub report: Report,
}

/// A check: fresh inputs from a seed, a kernel (or the CPU device) on a backend, the
/// comparison with the f64 reference, one row per output compared. Families build
/// their cases (closures may capture a member, a landscape, a size) and the registry
/// (`rulelab::registry`) lists them; this module knows no family.
pub struct Case {
    pub family: &'static str,
    pub name: String,
    run: Box<CaseFn>,
}

/// What a case runs: fresh inputs from the seed, on the backend, compared.
pub type CaseFn = dyn Fn(&Backend, u64) -> Result<Vec<Row>> + Send + Sync;

impl Case {
    pub fn new(
        family: &'static str,
        name: impl Into<String>,
        run: impl Fn(&Backend, u64) -> Result<Vec<Row>> + Send + Sync + 'static,
    ) -> Case {
        Case {
            family,
            name: name.into(),
            run: Box::new(run),
        }
    }

    /// Runs the case. A case that compares nothing has checked nothing: that is an
    /// error, not a pass.
    pub fn run(&self, backend: &Backend, seed: u64) -> Result<Vec<Row>> {
        let rows = (self.run)(backend, seed)?;
        if rows.is_empty() || rows.iter().any(|r| r.size == 0) {
            return Err(crate::Error::invalid(
                format!("check {}/{}", self.family, self.name),
                "compared no values: a check must have a subject",
            ));
        }
        Ok(rows)
    }
}

/// The backends a check runs on: by default (auto) the CPU device and any GPU adapter,
/// software ones too (a check is about correctness, not speed); with the reasons for
/// any left out.
pub fn backends(choice: DeviceChoice) -> Result<(Vec<Backend>, Vec<String>)> {
    Ok(match choice {
        DeviceChoice::Cpu => (vec![Backend::Cpu], vec![]),
        DeviceChoice::Gpu => (vec![Backend::Gpu(Arc::new(Gpu::new()?))], vec![]),
        DeviceChoice::Auto => match Gpu::new() {
            Ok(g) => (vec![Backend::Cpu, Backend::Gpu(Arc::new(g))], vec![]),
            Err(e @ crate::Error::NoAdapter(_)) => (vec![Backend::Cpu], vec![format!("gpu: {e}")]),
            Err(e) => return Err(e),
        },
    })
}

/// What a run of many cases did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Outputs compared, and how many of them (or whole cases) failed.
    pub compared: usize,
    pub failed: usize,
    /// "N cases on ADAPTER", per backend.
    pub ran: Vec<String>,
    /// What did not run and why.
    pub skipped: Vec<String>,
}

/// Runs every case on every backend with inputs from `seed`, calling `each` with every
/// case's result as it finishes. A case past the software adapter's loop budget is
/// skipped (and said so); any other error fails it. Comparing nothing at all is an
/// error, never a pass.
pub fn run_all(
    cases: &[Case],
    backends: &[Backend],
    seed: u64,
    mut each: impl FnMut(&Backend, &Case, &Result<Vec<Row>>),
) -> Result<Summary> {
    let mut sum = Summary::default();
    for b in backends {
        let mut cases_run = 0;
        for case in cases {
            let result = case.run(b, seed);
            each(b, case, &result);
            match result {
                Ok(rows) => {
                    cases_run += 1;
                    sum.compared += rows.len();
                    sum.failed += rows.iter().filter(|r| !r.report.pass).count();
                }
                Err(e @ crate::Error::LoopBudget { .. }) => {
                    sum.skipped
                        .push(format!("{}: {}/{}: {e}", b.kind(), case.family, case.name))
                }
                Err(_) => sum.failed += 1,
            }
        }
        sum.ran
            .push(format!("{cases_run} cases on {}", b.describe()));
    }
    if sum.compared == 0 {
        return Err(crate::Error::invalid("check", "compared nothing"));
    }
    Ok(sum)
}

/// For outputs that move by sign decisions (θ −= lr·sign(...)): an element whose
/// decision tied within round-off may go the other way and land one jump (2·lr) from
/// the reference, however exact the rest. Such elements, error in (allowed, jump +
/// allowed], are set to the reference so the comparison judges the rest; returns how
/// many there were, for a [`ties_row`].
pub fn absorb_ties(got: &mut [f64], want: &[f64], tol: Tolerance, jump: f64) -> usize {
    let mut ties = 0;
    for (g, &w) in got.iter_mut().zip(want) {
        let allowed = tol.atol + tol.rtol * w.abs();
        let err = (*g - w).abs();
        if err > allowed && err <= jump + allowed {
            *g = w;
            ties += 1;
        }
    }
    ties
}

/// The row that accounts for [`absorb_ties`]: it passes while the ties stay within
/// `budget` (ties are rare: about 5e-8 per element-step for Lion in f32), and names
/// their count.
pub fn ties_row(family: &'static str, label: &str, size: usize, ties: usize, budget: usize) -> Row {
    let excess = ties.saturating_sub(budget) as f64;
    Row {
        family,
        kernel: format!("{label} sign ties ({ties}, at most {budget})"),
        size,
        report: compare(&[excess], &[0.0], Tolerance::new(0.0, 0.0)),
    }
}

/// Normal samples go through the device's log, sqrt, sin and cos, whose accuracy WGSL
/// leaves to the platform: a few ulps relative, and near the zeros of sin and cos an
/// absolute error of about 1e-6 on unit-scale samples.
pub const NORMAL_TOLERANCE: Tolerance = Tolerance::new(1e-5, 1e-5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_finds_worst_and_fails_on_nan() {
        let r = compare(
            &[1.0f32, 2.0, 3.001],
            &[1.0, 2.0, 3.0],
            Tolerance::new(0.0, 1e-5),
        );
        assert!(!r.pass);
        assert_eq!(r.worst_index, 2);
        let r = compare(&[1.0f32, f32::NAN], &[1.0, 2.0], Tolerance::new(1.0, 1.0));
        assert!(!r.pass);
        assert_eq!(r.non_finite, 1);
        let r = compare(&[1.0f32, 2.0], &[1.0, 2.0], Tolerance::new(0.0, 0.0));
        assert!(r.pass);
        let r = compare(&[1.0f32], &[1.0, 2.0], Tolerance::new(1.0, 1.0));
        assert!(!r.pass, "length mismatch must fail");
    }
}
