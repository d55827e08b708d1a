//! Landscape sweeps (`../shared/specs/landscape.md` §4, §5, §7): many independent
//! learners, each a learning rule on a loss landscape with noisy gradients, run for
//! many steps in one dispatch.
//!
//! A [`Problem`] is what every learner of a sweep shares (landscape kind, dimension,
//! rule kind, noise kind, run length, shared data such as a dense Hessian); [`Params`]
//! holds one learner's numbers (every one of them can be a grid axis). `cpu` simulates a
//! learner generically over the float type (the f64 reference and the f32 CPU device);
//! `gpu` runs a chunk of learners in one kernel; `cases` registers both with
//! `rulelab check`.

pub mod bench;
pub mod cases;
pub mod commands;
pub mod config;
pub mod continual;
pub mod cpu;
pub mod gpu;
pub mod horizon;
pub mod learner;
pub mod problem;
pub mod study;
pub mod switching;

pub use config::{LandscapeStudy, SweepConfig};
pub use problem::{
    purpose, split_loss, Continual, ContinualOutcome, DriftKind, Landscape, LandscapeKind,
    LandscapeRule, LearnerOutcome, Noise, Params, Problem, ResetKind, RuleKind, Shape, Spectrum,
    Switching, TeacherShape, BAYES_FLOOR, BAYES_MEMORY,
};
