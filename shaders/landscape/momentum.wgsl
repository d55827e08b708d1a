// momentum (heavy ball): v = μ_m v + g; θ −= lr v. μ_m is read from beta1; s0 = v.
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    let v = c.beta1 * x.s0 + g;
    return State(x.theta - c.lr * v, v, x.s1, x.s2);
}
