// adam, bias-corrected as PyTorch and optax define it; adamw is the same step with
// decoupled decay theta *= 1 - lr * lambda applied first (decay = 1 for adam).
// State: s0 = m, s1 = v.
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    let m = c.beta1 * x.s0 + c.one_minus_beta1 * g;
    let v = c.beta2 * x.s1 + c.one_minus_beta2 * g * g;
    let delta = c.lr * (m * c.bc1) / (sqrt(v * c.bc2) + c.eps);
    return State(x.theta * c.decay - delta, m, v, x.s2);
}
