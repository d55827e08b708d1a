//! Where work runs, as the command line and the environment choose it: a GPU adapter
//! or the CPU device.

use super::device::{adapters, check_env, choose_adapter, is_hardware, Gpu, SplitLimits};
use crate::error::{Error, Result};
use std::sync::Arc;

/// Where work runs: the WGSL kernels on an adapter, or the CPU implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A hardware adapter when one exists, the CPU otherwise (a software Vulkan adapter
    /// is slower than native code).
    Auto,
    /// The WGSL kernels on the chosen adapter, software adapters included.
    Gpu,
    /// The CPU implementation: native f32 over all cores.
    Cpu,
}

impl DeviceChoice {
    pub const ALL: [DeviceChoice; 3] = [DeviceChoice::Auto, DeviceChoice::Gpu, DeviceChoice::Cpu];

    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Gpu => "gpu",
            DeviceChoice::Cpu => "cpu",
        }
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<DeviceChoice> {
        Self::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| Error::invalid("device", format!("{s:?} is not one of auto, gpu, cpu")))
    }
}

impl DeviceChoice {
    /// The choice given, else `RULELAB_DEVICE`, else auto; a bad variable is an error
    /// naming it.
    pub fn resolve(given: Option<DeviceChoice>) -> Result<DeviceChoice> {
        match (given, std::env::var("RULELAB_DEVICE")) {
            (Some(d), _) => Ok(d),
            (None, Ok(v)) => v.parse().map_err(|_| {
                Error::invalid(
                    "RULELAB_DEVICE",
                    format!("{v:?} is not one of auto, gpu, cpu"),
                )
            }),
            (None, Err(_)) => Ok(DeviceChoice::Auto),
        }
    }
}

/// The resolved choice: an open GPU, or the CPU.
pub enum Backend {
    Gpu(Arc<Gpu>),
    Cpu,
}

impl Backend {
    pub fn open(choice: DeviceChoice) -> Result<Backend> {
        check_env()?;
        match choice {
            DeviceChoice::Cpu => Ok(Backend::Cpu),
            DeviceChoice::Gpu => Ok(Backend::Gpu(Arc::new(Gpu::new()?))),
            DeviceChoice::Auto => match choose_adapter(adapters()) {
                Ok(a) if is_hardware(&a.get_info()) => Ok(Backend::Gpu(Arc::new(Gpu::open(
                    &a,
                    SplitLimits::default(),
                )?))),
                Ok(_) | Err(Error::NoAdapter(_)) => Ok(Backend::Cpu),
                Err(e) => Err(e),
            },
        }
    }

    /// "gpu" or "cpu", as result files record it.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Gpu(_) => "gpu",
            Backend::Cpu => "cpu",
        }
    }

    /// The adapter's name, or the CPU's description.
    pub fn describe(&self) -> String {
        match self {
            Backend::Gpu(g) => format!("{} ({})", g.adapter.name, g.adapter.backend),
            Backend::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
        }
    }
}
