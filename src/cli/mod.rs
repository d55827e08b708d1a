//! One module per subcommand; each parses nothing the library could and prints what
//! the library returns.

pub mod bench;
pub mod check;
pub mod control;
pub mod devices;
pub mod hippo;
pub mod infer;
pub mod sweep;

use rulelab::gpu::DeviceChoice;

/// `--device` and `RULELAB_DEVICE`.
pub fn device(s: &str) -> Result<DeviceChoice, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not one of auto, gpu, cpu"))
}
