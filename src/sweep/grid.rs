//! Grid axes and the grid: learner k is the k-th point of the product of the axes (the
//! last axis fastest), computed from k. Nothing is materialised, so a seed range of
//! ten billion costs what a range of ten does.

use crate::error::{Error, Result};
use serde::Serialize;

/// The values of one axis, kept as their rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Values {
    List(Vec<f64>),
    /// n values from a to b, evenly spaced.
    Linspace {
        a: f64,
        b: f64,
        n: u64,
    },
    /// n values from a to b, geometrically spaced (a, b > 0 are values, not exponents).
    Logspace {
        a: f64,
        b: f64,
        n: u64,
    },
    /// The integers start, start + 1, ..., end − 1.
    Range {
        start: u64,
        end: u64,
    },
}

/// Computed points are rounded to 15 significant digits, so 10^-1.5 * 10^... prints
/// as 0.03 and not 0.030000000000000002 in result files.
pub fn round15(v: f64) -> f64 {
    format!("{v:.14e}").parse().unwrap_or(v)
}

impl Values {
    pub fn len(&self) -> u64 {
        match self {
            Values::List(v) => v.len() as u64,
            Values::Linspace { n, .. } | Values::Logspace { n, .. } => *n,
            Values::Range { start, end } => end - start,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` (< len).
    pub fn get(&self, i: u64) -> f64 {
        let frac = |n: u64| i as f64 / (n - 1) as f64;
        match *self {
            Values::List(ref v) => v[i as usize],
            Values::Linspace { a, n: 1, .. } => round15(a),
            Values::Linspace { a, b, n } => round15(a + (b - a) * frac(n)),
            Values::Logspace { a, n: 1, .. } => round15(a),
            Values::Logspace { a, b, n } => round15(a * (b / a).powf(frac(n))),
            Values::Range { start, .. } => (start + i) as f64,
        }
    }

    /// Values enough to check that every value is allowed: all of a list, the ends of
    /// a computed axis (every check is a range, so the ends bound the rest).
    pub fn probes(&self) -> Vec<f64> {
        match self {
            Values::List(v) => v.clone(),
            _ => {
                let mut ends = vec![self.get(0), self.get(self.len() - 1)];
                ends.dedup();
                ends
            }
        }
    }

    /// Every value (for small axes: plots, labels).
    pub fn all(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axis {
    pub name: String,
    pub values: Values,
    /// The values are indices into a list of names (rule kinds).
    pub categorical: bool,
}

/// The axes of a sweep, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

/// The most learners one sweep may hold.
pub const MAX_GRID: u64 = 1 << 40;

impl Grid {
    /// Learners in the grid (1 with no axes), refused past [`MAX_GRID`].
    pub fn size(&self) -> Result<u64> {
        let mut n: u64 = 1;
        for a in &self.axes {
            n = n
                .checked_mul(a.values.len())
                .filter(|&n| n <= MAX_GRID)
                .ok_or_else(|| {
                    Error::invalid(
                        "grid",
                        format!(
                            "has more than 2^40 points ({}); split the sweep",
                            self.axes
                                .iter()
                                .map(|a| format!("{} {}", a.name, a.values.len()))
                                .collect::<Vec<_>>()
                                .join(" x ")
                        ),
                    )
                })?;
        }
        Ok(n)
    }

    /// The axis values of learner `k`, in axis order (the last axis fastest).
    pub fn point(&self, k: u64) -> Vec<f64> {
        let mut rest = k;
        let mut out = vec![0.0; self.axes.len()];
        for (i, axis) in self.axes.iter().enumerate().rev() {
            let n = axis.values.len();
            out[i] = axis.values.get(rest % n);
            rest /= n;
        }
        out
    }

    pub fn names(&self) -> Vec<String> {
        self.axes.iter().map(|a| a.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_axes_match_their_definition() {
        let lin = Values::Linspace {
            a: 0.0,
            b: 1.0,
            n: 5,
        };
        assert_eq!(lin.all(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let log = Values::Logspace {
            a: 1e-3,
            b: 1e-1,
            n: 3,
        };
        assert_eq!(log.all(), vec![1e-3, 1e-2, 1e-1]);
        let huge = Values::Range {
            start: 0,
            end: 10_000_000_000,
        };
        assert_eq!(huge.len(), 10_000_000_000);
        assert_eq!(huge.get(9_999_999_999), 9_999_999_999.0);
        assert_eq!(huge.probes(), vec![0.0, 9_999_999_999.0]);
    }

    #[test]
    fn size_refuses_overflow() {
        let axis = |n| Axis {
            name: "x".into(),
            values: Values::Range { start: 0, end: n },
            categorical: false,
        };
        let g = Grid {
            axes: vec![axis(1 << 30), axis(1 << 30), axis(1 << 30)],
        };
        assert!(g.size().is_err());
        let g = Grid {
            axes: vec![axis(3), axis(4)],
        };
        assert_eq!(g.size().unwrap(), 12);
        assert_eq!(g.point(5), vec![1.0, 1.0]);
    }
}
