// adagrad (Duchi et al. 2011): s += g^2; theta -= lr g / (sqrt(s) + eps). State: s0 = s.
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    let s = x.s0 + g * g;
    return State(x.theta - c.lr * g / (sqrt(s) + c.eps), s, x.s1, x.s2);
}
