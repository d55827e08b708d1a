//! Ctrl-C and SIGTERM as a request, not a kill: the first signal sets a flag that long
//! work checks at safe points (between chunks, between windows of steps) to stop with
//! everything it wrote intact; a second signal ends the process at once.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Asks long work to stop at its next safe point (what the signal handler does; tests
/// and embedding programs may call it too).
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Clears a request (for programs that go on after one).
pub fn clear() {
    REQUESTED.store(false, Ordering::Relaxed);
}

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    REQUESTED.store(true, Ordering::Relaxed);
    // SAFETY: restoring the default disposition is async-signal-safe; the next signal
    // of this kind ends the process as usual.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// Installs the handler for SIGINT and SIGTERM (the command line does this first).
pub fn install() {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic and resets its own disposition, both
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}
