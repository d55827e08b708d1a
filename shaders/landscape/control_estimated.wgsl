// control_estimated: the optimal feedback θ −= lr (r/ĥ) g with a running secant
// estimate of the curvature. States: s0 = the last gradient, s1 = the last step,
// s2 = ĥ (from 1). Rust: LearnerRun::control_estimated in src/landscape/learner.rs.
// needs: optim/consts.wgsl
// needs: landscape/control_gain.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    var h_hat = x.s2;
    if (x.s1 != 0.0) {
        // A non-finite secant (an overflowed difference) leaves the estimate as it is.
        let secant = (g - x.s0) / x.s1;
        if ((bitcast<u32>(secant) & 0x7f800000u) != 0x7f800000u) {
            h_hat = c.beta2 * h_hat + c.one_minus_beta2 * min(max(secant, c.eps), 1.0 / c.eps);
        }
    }
    let s = -(c.lr * control_gain(h_hat, c.ctl_gamma, c.ctl_eta_k) * g);
    return State(x.theta + s, g, s, h_hat);
}
