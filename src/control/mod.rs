//! Normative control (`../shared/specs/landscape.md` §1–§4, §6): learning rules as the
//! solutions of a control problem on the loss landscape. [`closed`] holds the ground
//! truth on quadratics: optimal rates, Riccati coefficients, trajectories and costs,
//! drifts, and fixed-endpoint paths, in f64.

pub mod action;
pub mod cases;
pub mod closed;
pub mod commands;
pub mod config;
pub mod gpu;
pub mod paths;
pub mod plot;
pub mod study;

pub use crate::loss::{Drift, DriftKind};
pub use action::{PathConsts, PathShape};
pub use closed::{Control, RateRow};
pub use config::{PathConfig, PathParams, PathStudy};
