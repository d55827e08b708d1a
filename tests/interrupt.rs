//! `interrupt::catching` in a process of its own (a SIGINT here would reach every test
//! of the binary): Ctrl-C during the call is a request, not a kill, the handler that
//! was there before comes back afterwards, and an ignored SIGINT stays ignored.

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
    extern "C" fn before_handler(_: libc::c_int) {}
    // SAFETY: a handler that does nothing (the program's own, before the call).
    unsafe {
        libc::signal(
            libc::SIGINT,
            before_handler as *const () as libc::sighandler_t,
        )
    };
    let before = disposition();
    let (seen, asked) = interrupt::catching(|| {
        assert_ne!(disposition(), before, "catching installs its own handler");
        // SAFETY: raising a signal whose handler only stores to an atomic; a second
        // Ctrl-C is a request too, never a kill.
        unsafe {
            libc::raise(libc::SIGINT);
            libc::raise(libc::SIGINT);
        }
        interrupt::requested()
    });
    assert!(seen && asked);
    assert_eq!(disposition(), before, "the old handler is back");
    assert!(!interrupt::requested(), "the request ends with the call");
    let (_, asked) = interrupt::catching(|| ());
    assert!(!asked, "a call without Ctrl-C sees no request");

    // A process that ignores SIGINT (a background job) keeps ignoring it.
    // SAFETY: ignoring SIGINT is always sound.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let ((), asked) = interrupt::catching(|| {
        assert_eq!(disposition(), libc::SIG_IGN);
        // SAFETY: the signal is ignored.
        unsafe { libc::raise(libc::SIGINT) };
    });
    assert!(!asked && disposition() == libc::SIG_IGN);
}
