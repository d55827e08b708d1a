// lion (Chen et al. 2023): u = sign(beta1 m + (1 - beta1) g); theta -= lr (u + lambda
// theta), written theta * (1 - lr lambda) - lr u; then m = beta2 m + (1 - beta2) g.
// sign(0) = 0, as torch.sign. State: s0 = m.
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    let u = sign(c.beta1 * x.s0 + c.one_minus_beta1 * g);
    let m = c.beta2 * x.s0 + c.one_minus_beta2 * g;
    return State(x.theta * c.decay - c.lr * u, m, x.s1, x.s2);
}
