//! The crate's one error type. Every failure a caller can cause or meet (bad input,
//! no adapter, a wgpu validation or out-of-memory error, a GPU that stops answering)
//! arrives here as a typed value, never as a panic.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no GPU adapter found{0}; install a Vulkan driver (Debian/Ubuntu: apt-get install \
         mesa-vulkan-drivers) or run on the CPU with --device cpu"
    )]
    NoAdapter(String),
    #[error("WGPU_ADAPTER_NAME={wanted:?} matches no adapter; found: {found}")]
    AdapterNotFound { wanted: String, found: String },
    #[error("requesting a device from the adapter failed: {0}")]
    RequestDevice(#[from] wgpu::RequestDeviceError),
    #[error("{at}: {message} (kernel {kernel})")]
    Shader {
        /// `shaders/<family>/<file>.wgsl:LINE:COL`, where the error is.
        at: String,
        message: String,
        kernel: String,
    },
    #[error("GPU validation error: {0}")]
    Validation(String),
    #[error("GPU out of memory: {0}")]
    OutOfMemory(String),
    #[error("GPU internal error: {0}")]
    Internal(String),
    #[error("the GPU did not finish within {0:?}")]
    Timeout(Duration),
    #[error("waiting for the GPU failed: {0}")]
    Poll(String),
    #[error("reading a buffer back failed: {0}")]
    Map(String),
    #[error("{what} needs {bytes} bytes but the device allows at most {limit}")]
    TooLarge {
        what: String,
        bytes: u64,
        limit: u64,
    },
    #[error(
        "{what} needs ~{per_step} loop iterations per invocation, past the software \
         adapter's limit of {budget}; run it with --device cpu"
    )]
    LoopBudget {
        what: String,
        per_step: u64,
        budget: u64,
    },
    #[error("interrupted after {done} of {total} chunks; continue with --resume")]
    Interrupted { done: u64, total: u64 },
    /// Work that continues where it stopped when run again (a cross-validation's fold
    /// groups) stopped at a signal.
    #[error("interrupted after {done} of {total} {what}; run the same command again to continue")]
    Paused {
        done: u64,
        total: u64,
        what: &'static str,
    },
    /// One model of a batch failed; the study names it by its settings.
    #[error("model {model} of its batch: {message}")]
    InModel { model: usize, message: String },
    /// Work that does not resume (a fit) stopped at a signal.
    #[error("stopped at a signal in {at}: no result was written; run the same command again to start over")]
    Stopped { at: String },
    #[error(
        "no space left on device writing {path} (after {done} of {total} chunks); free \
         space, then run the same command with --resume to continue"
    )]
    DiskFull { path: String, done: u64, total: u64 },
    #[error("drawing the summary failed: {0}")]
    Plot(String),
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("io error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Shorthand for the input-validation error that names the offending field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<wgpu::Error> for Error {
    fn from(e: wgpu::Error) -> Self {
        match e {
            wgpu::Error::OutOfMemory { .. } => Error::OutOfMemory(e.to_string()),
            wgpu::Error::Validation { description, .. } => Error::Validation(description),
            wgpu::Error::Internal { description, .. } => Error::Internal(description),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
