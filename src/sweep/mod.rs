//! The study runner: grids of learners from a TOML config, run in chunks that fit the
//! device, written durably so that a killed run resumes, shardable across machines and
//! mergeable afterwards. It knows no science: a family plugs in by implementing
//! [`Study`] (the landscape sweeps are `landscape::LandscapeStudy`).

pub mod config;
pub mod grid;
pub mod launch;
pub mod merge;
pub mod prune;
pub mod redraw;
pub mod run;
pub mod shard;
pub mod store;
pub mod study;
pub mod summary;

pub use grid::{Axis, Grid, Values};
pub use launch::{Launch, Launched, Runner};
pub use run::{run, Progress, RunOptions, RunReport};
pub use shard::Shard;
pub use store::Manifest;
pub use study::StudyConfig;
pub use study::{Compute, ParamSet, Parse, Present, Study};
