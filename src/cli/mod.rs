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

/// `--device`, else `RULELAB_DEVICE`, else auto; a bad variable is an error naming it.
pub fn resolve_device(flag: Option<DeviceChoice>) -> rulelab::Result<DeviceChoice> {
    match (flag, std::env::var("RULELAB_DEVICE")) {
        (Some(d), _) => Ok(d),
        (None, Ok(v)) => v.parse().map_err(|_| {
            rulelab::Error::invalid(
                "RULELAB_DEVICE",
                format!("{v:?} is not one of auto, gpu, cpu"),
            )
        }),
        (None, Err(_)) => Ok(DeviceChoice::Auto),
    }
}
