// kalman: the moment filter made explicit. The true gradient random-walks with variance
// q and is seen with noise variance r_hat, itself tracked by an EMA of the excess
// innovation. Step: theta -= lr m / (sqrt(m^2 + P + r_hat) + eps).
// State: s0 = m, s1 = P, s2 = r_hat.
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    let prior = x.s1 + c.q;
    let e = g - x.s0;
    let r = c.beta2 * x.s2 + c.one_minus_beta2 * max(e * e - prior, c.r_min);
    let gain = prior / (prior + r);
    let m = x.s0 + gain * e;
    // (1 - K) P- written as K r: no cancellation when K is near 1.
    let p = gain * r;
    return State(x.theta - c.lr * m / (sqrt(m * m + p + r) + c.eps), m, p, r);
}
