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

#[cfg(unix)]
extern "C" fn on_request(_sig: libc::c_int) {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// How many [`catching`] calls are running, and the SIGINT action they replaced.
#[cfg(unix)]
static CATCHING: std::sync::Mutex<(usize, Option<libc::sigaction>)> =
    std::sync::Mutex::new((0, None));

/// Runs `f` with Ctrl-C (SIGINT) as a request to stop at the next safe point, for
/// programs whose own handler cannot run while `f` holds the thread (Python's runs
/// only between bytecodes). Every Ctrl-C during `f` is a request, none kills; the
/// handler that was there before is put back, and the request cleared, when the last
/// such call ends; a process that ignores SIGINT keeps ignoring it. Returns f's result
/// and whether a stop was asked for.
pub fn catching<T>(f: impl FnOnce() -> T) -> (T, bool) {
    #[cfg(unix)]
    {
        let mut c = CATCHING.lock().unwrap_or_else(|e| e.into_inner());
        if c.0 == 0 {
            clear();
            // SAFETY: sigaction with a zeroed action whose handler only stores to an
            // atomic (async-signal-safe); the old action is kept to put back.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old);
                // A process that ignores SIGINT (started in the background) goes on
                // ignoring it.
                if old.sa_sigaction != libc::SIG_IGN {
                    let mut new: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = on_request as *const () as libc::sighandler_t;
                    libc::sigemptyset(&mut new.sa_mask);
                    libc::sigaction(libc::SIGINT, &new, std::ptr::null_mut());
                }
                c.1 = Some(old);
            }
        }
        c.0 += 1;
    }
    // Put the old handler back however `f` ends (a panic included).
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            #[cfg(unix)]
            {
                let mut c = CATCHING.lock().unwrap_or_else(|e| e.into_inner());
                c.0 -= 1;
                if c.0 == 0 {
                    // The request was this call's (and any beside it); the next starts clean.
                    clear();
                    if let Some(old) = c.1.take() {
                        // SAFETY: restores the action saved above.
                        unsafe {
                            libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut());
                        }
                    }
                }
            }
        }
    }
    let restore = Restore;
    let out = f();
    let asked = requested();
    drop(restore);
    (out, asked)
}
