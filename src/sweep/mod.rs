//! Sweeps: grids of learners from a TOML config, run in chunks that fit the device,
//! written durably so that a killed run resumes, shardable across machines and
//! mergeable afterwards.

pub mod bench;
pub mod config;
pub mod merge;
pub mod plot;
pub mod run;

pub use config::{Axis, SweepConfig};
pub use run::{run, Manifest, RunOptions, Shard};
