//! Landscape checks for `rulelab check` (filled in with the GPU kernels).
use crate::check::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
