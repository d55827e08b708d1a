// nesterov (the PyTorch form): v = μ_m v + g; θ −= lr (g + μ_m v). μ_m from beta1; s0 = v.
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    let v = c.beta1 * x.s0 + g;
    return State(x.theta - c.lr * (g + c.beta1 * v), v, x.s1, x.s2);
}
