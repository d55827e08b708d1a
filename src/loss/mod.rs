//! Loss landscapes: the floor the learners (the landscape family) and the optimal paths
//! (the control family) both stand on. A [`Landscape`] is a loss's shape (its kind,
//! dimension, spectrum and seeded data); a [`Shape`] holds one point's landscape numbers
//! (the optimum μ, the spectrum's ends, the double well's coefficients), each of which a
//! study may sweep. `eval` computes the loss, its gradient and the curvature generically
//! over the float type (f64 reference, f32 CPU device); `data` builds the seeded data a
//! landscape shares; `gpu` lays it out for the WGSL landscape files (shaders/loss/,
//! composed into any driver: the learners' sweep, the point evaluator, the path
//! kernel); `drift` is the default motion f(θ) both families add; `config` reads a
//! `[landscape]` section's loss keys.

pub mod cases;
pub mod config;
pub mod data;
pub mod drift;
pub mod eval;
pub mod gpu;

pub use drift::{Drift, DriftKind};

use crate::error::{Error, Result};
use crate::sweep::ParamSet;
use serde::{Deserialize, Serialize};

crate::named_enum! {
    /// A loss landscape.
    pub enum LandscapeKind {
        /// ½ Σ h_i (θ_i − μ)², h from a spectrum.
        Quadratic = "quadratic",
        /// ½ (θ−μ)ᵀ U diag(h) Uᵀ (θ−μ), U random orthogonal (seeded by data_seed).
        QuadraticDense = "quadratic_dense",
        /// a(x² − b)² + c y² + d x on consecutive coordinate pairs.
        DoubleWell = "double_well",
        /// Σ 100 (θ_{i+1} − θ_i²)² + (1 − θ_i)².
        Rosenbrock = "rosenbrock",
        /// ½ mean (Xθ − y)² on a seeded data set, held as its quadratic form.
        LinearRegression = "linear_regression",
        /// ½ mean (student(x) − teacher(x))², 2-layer tanh MLPs.
        TeacherStudent = "teacher_student",
    }
}

impl LandscapeKind {
    /// Landscapes whose loss and gradient a dense quadratic form (A, μ, L_min) holds.
    pub fn is_dense(self) -> bool {
        matches!(
            self,
            LandscapeKind::QuadraticDense | LandscapeKind::LinearRegression
        )
    }
}

crate::named_enum! {
    /// The curvatures h of a quadratic.
    pub enum Spectrum {
        /// h_i given in `h`.
        List = "list",
        /// h_min .. h_max evenly spaced.
        Linspace = "linspace",
        /// h_min .. h_max geometrically spaced.
        Logspace = "logspace",
        /// h_i = i^-alpha, i = 1..D.
        PowerLaw = "power_law",
    }
}

/// Teacher-student sizes (project design): D = hidden * d_in + hidden parameters, W1
/// row-major then w2; f(x) = Σ_h w2_h tanh(W1_h · x / sqrt(d_in)) / sqrt(hidden).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeacherShape {
    pub d_in: usize,
    pub hidden: usize,
    pub samples: usize,
    /// Gradient from this many samples drawn with replacement per step (0: full batch).
    pub minibatch: usize,
}

/// A loss's shape: what every point evaluated on it shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Landscape {
    /// Serialised as `landscape`, the config's spelling.
    #[serde(rename = "landscape")]
    pub kind: LandscapeKind,
    pub dim: usize,
    pub spectrum: Spectrum,
    /// The spectrum for `Spectrum::List`.
    pub h: Vec<f64>,
    /// Seeds the landscape's fixed data (dense basis, regression data, teacher).
    pub data_seed: u64,
    pub teacher: Option<TeacherShape>,
    /// linear_regression: number of samples and label noise.
    pub samples: usize,
    pub label_noise: f64,
}

/// One point's landscape numbers; a study's per-learner numbers carry these names.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// The optimum μ of quadratic landscapes (every coordinate).
    pub mu: f64,
    /// Spectrum end points and power-law exponent.
    pub h_min: f64,
    pub h_max: f64,
    pub alpha: f64,
    /// Double-well coefficients.
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
}

impl Shape {
    /// The defaults every study starts from.
    pub const DEFAULT: Shape = Shape {
        mu: 0.0,
        h_min: 1e-3,
        h_max: 1.0,
        alpha: 1.0,
        a: 1.0,
        b: 1.0,
        c: 1.0,
        d: -0.5,
    };

    /// Every number's name, as configs and grid axes spell it.
    pub const NAMES: &'static [&'static str] =
        &["mu", "h_min", "h_max", "alpha", "a", "b", "c", "d"];

    /// The number `name`, if it is one of [`Shape::NAMES`].
    pub fn get(&self, name: &str) -> Option<f64> {
        let mut copy = *self;
        copy.field_mut(name).map(|x| *x)
    }

    /// Sets the number `name`; false when there is no such number.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        self.field_mut(name).map(|x| *x = value).is_some()
    }

    fn field_mut(&mut self, name: &str) -> Option<&mut f64> {
        Some(match name {
            "mu" => &mut self.mu,
            "h_min" => &mut self.h_min,
            "h_max" => &mut self.h_max,
            "alpha" => &mut self.alpha,
            "a" => &mut self.a,
            "b" => &mut self.b,
            "c" => &mut self.c,
            "d" => &mut self.d,
            _ => return None,
        })
    }

    /// The landscape numbers among a study's per-learner numbers, which carry them
    /// under these names.
    pub fn of(p: &impl ParamSet) -> Shape {
        let mut shape = Shape::DEFAULT;
        for name in Shape::NAMES {
            shape.set(
                name,
                p.get(name)
                    .expect("a study's numbers carry the landscape's"),
            );
        }
        shape
    }

    /// Sets these numbers among a study's per-learner numbers.
    pub fn write_into(&self, p: &mut impl ParamSet) {
        for name in Shape::NAMES {
            p.set(name, self.get(name).expect("a landscape number"));
        }
    }
}

impl Default for Shape {
    fn default() -> Self {
        Shape::DEFAULT
    }
}

impl Landscape {
    /// A landscape of `kind` with nothing else set yet (a config fills it in).
    pub fn new(kind: LandscapeKind) -> Landscape {
        Landscape {
            kind,
            dim: 0,
            spectrum: Spectrum::Logspace,
            h: vec![],
            data_seed: 0,
            teacher: None,
            samples: 0,
            label_noise: 0.1,
        }
    }

    /// Numbers that must be the same for every point because they shape shared data
    /// (for dense landscapes the spectrum builds the one Hessian).
    pub fn shared_numbers(&self) -> &'static [&'static str] {
        if self.kind == LandscapeKind::QuadraticDense {
            &["h_min", "h_max", "alpha", "mu"]
        } else {
            &[]
        }
    }

    /// Whether the Hessian's diagonal at the optimum is known (quadratic landscapes).
    pub fn is_quadratic(&self) -> bool {
        matches!(
            self.kind,
            LandscapeKind::Quadratic
                | LandscapeKind::QuadraticDense
                | LandscapeKind::LinearRegression
        )
    }

    /// Checks the landscape's shape; the error names the config key.
    pub fn validate(&self) -> Result<()> {
        let bad = |k: &str, m: String| Err(Error::invalid(k, m));
        if self.dim == 0 || self.dim > 1024 {
            return bad("landscape.dim", format!("{} must be in 1..=1024", self.dim));
        }
        if self.kind == LandscapeKind::DoubleWell && !self.dim.is_multiple_of(2) {
            return bad(
                "landscape.dim",
                format!(
                    "{} must be even for double_well (coordinate pairs)",
                    self.dim
                ),
            );
        }
        if self.kind == LandscapeKind::Rosenbrock && self.dim < 2 {
            return bad(
                "landscape.dim",
                format!("{} must be at least 2 for rosenbrock", self.dim),
            );
        }
        if self.spectrum == Spectrum::List
            && self.h.len() != self.dim
            && matches!(
                self.kind,
                LandscapeKind::Quadratic | LandscapeKind::QuadraticDense
            )
        {
            return bad(
                "landscape.h",
                format!("has {} values; dim is {}", self.h.len(), self.dim),
            );
        }
        if self.h.iter().any(|&h| !(h > 0.0 && h.is_finite())) {
            return bad("landscape.h", "every value must be finite and > 0".into());
        }
        if self.kind == LandscapeKind::LinearRegression && self.samples < self.dim {
            return bad(
                "landscape.samples",
                format!(
                    "{} must be at least dim ({}) so the regression has one optimum",
                    self.samples, self.dim
                ),
            );
        }
        if self.kind == LandscapeKind::TeacherStudent {
            let Some(t) = self.teacher else {
                return bad(
                    "landscape",
                    "teacher_student needs d_in, hidden and samples".into(),
                );
            };
            if t.d_in == 0 || t.hidden == 0 || t.samples == 0 {
                return bad(
                    "landscape.d_in",
                    "d_in, hidden and samples must be at least 1".into(),
                );
            }
            if t.hidden * t.d_in + t.hidden != self.dim {
                return bad(
                    "landscape.dim",
                    format!(
                        "must be hidden * d_in + hidden = {}",
                        t.hidden * t.d_in + t.hidden
                    ),
                );
            }
        }
        Ok(())
    }

    /// Checks one point's numbers for this landscape.
    pub fn validate_shape(&self, s: &Shape) -> Result<()> {
        let bad = |k: &str, m: String| Err(Error::invalid(k, m));
        if !s.mu.is_finite() {
            return bad("landscape.mu", format!("{} must be finite", s.mu));
        }
        if self.kind == LandscapeKind::Quadratic || self.kind == LandscapeKind::QuadraticDense {
            match self.spectrum {
                Spectrum::Linspace | Spectrum::Logspace => {
                    // With one coordinate the curvature is h_min and h_max is unused.
                    let top_ok = self.dim == 1 || (s.h_max >= s.h_min && s.h_max.is_finite());
                    if !(s.h_min > 0.0 && s.h_min.is_finite() && top_ok) {
                        return bad(
                            "landscape.h_min",
                            format!("need 0 < h_min <= h_max, got {} and {}", s.h_min, s.h_max),
                        );
                    }
                }
                Spectrum::PowerLaw => {
                    if !s.alpha.is_finite() {
                        return bad("landscape.alpha", format!("{} must be finite", s.alpha));
                    }
                }
                Spectrum::List => {}
            }
        }
        if self.kind == LandscapeKind::DoubleWell {
            for (k, v) in [
                ("landscape.a", s.a),
                ("landscape.b", s.b),
                ("landscape.c", s.c),
                ("landscape.d", s.d),
            ] {
                if !v.is_finite() {
                    return bad(k, format!("{v} must be finite"));
                }
            }
        }
        Ok(())
    }

    /// Why the landscape does not read the number `name`, if it does not (None for
    /// names that are not landscape numbers).
    pub fn ignores(&self, name: &str) -> Option<String> {
        let kind = self.kind;
        let quadratic = matches!(
            kind,
            LandscapeKind::Quadratic | LandscapeKind::QuadraticDense
        );
        let spectrum = self.spectrum;
        match name {
            "mu" => (!quadratic).then(|| format!("{} has no optimum parameter mu", kind.name())),
            "h_max" if quadratic && self.dim == 1 => {
                Some("with dim = 1 the curvature is h_min".into())
            }
            "h_min" | "h_max" => (!quadratic
                || !matches!(spectrum, Spectrum::Linspace | Spectrum::Logspace))
            .then(|| {
                format!(
                    "{} with a {} spectrum does not read {name}",
                    kind.name(),
                    spectrum.name()
                )
            }),
            "alpha" => (!quadratic || spectrum != Spectrum::PowerLaw).then(|| {
                format!(
                    "{} with a {} spectrum does not read alpha",
                    kind.name(),
                    spectrum.name()
                )
            }),
            "a" | "b" | "c" | "d" => (kind != LandscapeKind::DoubleWell)
                .then(|| format!("{} does not read {name}", kind.name())),
            _ => None,
        }
    }

    /// The spectrum h_0..h_{D-1} for a point's numbers.
    pub fn spectrum_values(&self, s: &Shape) -> Vec<f64> {
        let d = self.dim;
        let frac = |i: usize| {
            if d > 1 {
                i as f64 / (d - 1) as f64
            } else {
                0.0
            }
        };
        (0..d)
            .map(|i| match self.spectrum {
                Spectrum::List => self.h[i],
                Spectrum::Linspace => s.h_min + (s.h_max - s.h_min) * frac(i),
                Spectrum::Logspace => s.h_min * (s.h_max / s.h_min).powf(frac(i)),
                Spectrum::PowerLaw => ((i + 1) as f64).powf(-s.alpha),
            })
            .collect()
    }
}

/// Counter purposes of the random draws keyed by a point's seed (counter word 3): one
/// list, so the loss's draws (data, minibatches) and a learner's never collide.
pub mod purpose {
    pub const INIT: u32 = 1;
    pub const NOISE: u32 = 2;
    pub const MINIBATCH: u32 = 3;
    pub const DATA: u32 = 4;
    /// Continual learning: whether step t switches, and block shifts δ.
    pub const SWITCH: u32 = 5;
    pub const SHIFT: u32 = 6;
}
