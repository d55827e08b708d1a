//! `interrupt::catching` in a process of its own (a SIGINT here would reach every test
//! of the binary): Ctrl-C during the call is a request, not a kill, and the handler
//! that was there before comes back afterwards.

#[cfg(unix)]
#[test]
fn ctrl_c_inside_catching_is_a_request_and_the_old_handler_returns() {
    use rulelab::interrupt;
    fn disposition() -> libc::sighandler_t {
        // SAFETY: queries the current action only.
        unsafe {
            let mut now: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGINT, std::ptr::null(), &mut now);
            now.sa_sigaction
        }
    }
    // SAFETY: ignoring SIGINT is always sound; a stray one cannot end the test.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let before = disposition();
    let (seen, asked) = interrupt::catching(|| {
        assert_ne!(disposition(), before, "catching installs its own handler");
        // SAFETY: raising a signal whose handler only stores to an atomic.
        unsafe { libc::raise(libc::SIGINT) };
        // A second Ctrl-C is a request too, never a kill.
        unsafe { libc::raise(libc::SIGINT) };
        interrupt::requested()
    });
    assert!(seen && asked);
    assert_eq!(disposition(), before, "the old handler is back");
    assert!(!interrupt::requested(), "the request ends with the call");
    let (_, asked) = interrupt::catching(|| ());
    assert!(!asked, "a call without Ctrl-C sees no request");
}
