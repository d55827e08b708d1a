//! The theta-gated hippocampal model (spec `hippocampus.md`): the two-compartment
//! network, its local rule and the training monitor ([`model`]) and its GPU kernel
//! ([`gpu`], checked by [`cases`]); the worlds the models live in ([`ring`],
//! [`latents`], [`run::World`]); many models stepped side by side on either device
//! ([`run`]); the position decoder ([`decode`]); the published experiments' networks
//! ([`experiments`]) and protocols ([`protocol`]); `rulelab hippo run` as a study of the
//! runner ([`study`]) and its picture ([`plot`]).

pub mod cases;
pub mod config;
pub mod decode;
pub mod dendrite;
pub mod experiments;
pub mod gpu;
pub mod latents;
pub mod model;
pub mod monitor;
pub mod plot;
pub mod protocol;
pub mod ring;
pub mod run;
pub mod spec;
pub mod study;

pub use config::{HippoParams, HippoStudy};
