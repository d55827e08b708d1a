//! The default drift f(θ) a point moves by that no rule pays for: none, a decay −jθ,
//! or a rotation qAθ on coordinate pairs (A = [[0, −1], [1, 0]]). Learners add it every
//! step; optimal paths pay for velocity relative to it.

use crate::real::Real;
use serde::{Deserialize, Serialize};

crate::named_enum! {
    /// The default drift f(θ) the learner cannot cancel for free.
    pub enum DriftKind {
        None = "none",
        /// f = −jθ.
        Decay = "decay",
        /// f = qAθ on coordinate pairs (2p, 2p+1).
        Rotation = "rotation",
    }
}

/// The drift with its coefficient.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub kind: DriftKind,
    /// j for decay, q for rotation.
    pub rate: f64,
}

impl Drift {
    pub const NONE: Drift = Drift {
        kind: DriftKind::None,
        rate: 0.0,
    };

    /// f_i(θ) for coordinate i.
    #[inline]
    pub fn at<F: Real>(&self, theta: &[F], i: usize) -> F {
        let c = F::c(self.rate);
        match self.kind {
            DriftKind::None => F::zero(),
            DriftKind::Decay => -c * theta[i],
            DriftKind::Rotation if i.is_multiple_of(2) => {
                theta.get(i + 1).map_or(F::zero(), |&y| -c * y)
            }
            DriftKind::Rotation => c * theta[i - 1],
        }
    }

    /// (J_fᵀ u)_i for a vector u (the drift is linear: J_f is constant).
    #[inline]
    pub fn jt<F: Real>(&self, u: &[F], i: usize) -> F {
        let c = F::c(self.rate);
        match self.kind {
            DriftKind::None => F::zero(),
            DriftKind::Decay => -c * u[i],
            // J_f = q [[0, −1], [1, 0]] per pair; its transpose q [[0, 1], [−1, 0]].
            DriftKind::Rotation if i.is_multiple_of(2) => {
                u.get(i + 1).map_or(F::zero(), |&y| c * y)
            }
            DriftKind::Rotation => -c * u[i - 1],
        }
    }
}
