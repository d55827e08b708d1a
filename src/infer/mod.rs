//! Learning-rule inference (`../shared/specs/rule-inference.md`): trial tables of
//! animals' choices, ground-truth learners to validate on, and (to come) the GLM policy
//! with a neural-network rule fitted by truncated backpropagation through time.

pub mod baseline;
pub mod cases;
pub mod commands;
pub mod config;
pub mod cv;
pub mod cv_run;
pub mod data;
pub mod fit;
pub mod gpu;
pub mod input;
pub mod mlp;
pub mod model;
pub mod net;
pub mod options;
pub mod plan;
pub mod plot;
pub mod psytrack;
pub mod report;
pub mod rnn;
pub mod rule;
pub mod simulate;
pub mod study;
pub mod w0;

pub use config::FitStudy;
pub use data::{read_csv, read_ibl, Animal, Dataset, Trial};
pub use simulate::{Simulation, TrueRule};
