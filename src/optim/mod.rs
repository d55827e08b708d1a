//! The moment-filter optimiser family (`../shared/specs/optim.md`): sgd, ballistic, adam,
//! adamw, adabayes, adabayes_fp and kalman, as fused in-place kernels over a flat
//! parameter arena described by a group table.
//!
//! Per member there is one WGSL function (`shaders/optim/<member>.wgsl`) and, in
//! [`member`], its variant, its row of the table and its arm of [`update_group`]
//! (generic over the float type: the f64 reference and the f32 CPU device); the
//! constants below are what both read. `gpu::GpuOptimizer` schedules the kernels;
//! `cases` registers them with `rulelab check`; `bench` measures them.
//!
//! Bias corrections and every other step- or hyper-parameter-derived constant are
//! computed on the host in f64 ([`Member::consts`]) and rounded once to f32, so the kernels
//! never form `1 - beta` from a rounded beta.

pub mod bench;
pub mod cases;
pub mod commands;
pub mod config;
pub mod consts;
pub mod cpu;
pub mod each;
pub mod gpu;
pub mod hyper;
pub mod member;

pub use config::{Config, Group};
pub use consts::{kalman_steady_gain, Consts, Decay};
pub use hyper::Hyper;
pub use member::{update_group, Domain, Hp, Init, Member, Scale, Spec, StateSpec};
