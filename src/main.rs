//! The `rulelab` command line: its own few commands and, from the registry, every
//! family's (src/cli/).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default at start-up, before any
    // thread exists. Rust ignores SIGPIPE, which turns a closed pipe into a panic.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa's Vulkan drivers print a warning per adapter probe without it. Set before
        // any thread starts; the value is only a scratch directory.
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let matches = cli::app().get_matches();
    let result = cli::dispatch(&matches);
    match result {
        Ok(code) => code,
        Err(
            e @ (rulelab::Error::Interrupted { .. }
            | rulelab::Error::Stopped { .. }
            | rulelab::Error::Paused { .. }),
        ) => {
            eprintln!("rulelab: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("rulelab: {e}");
            ExitCode::from(2)
        }
    }
}
