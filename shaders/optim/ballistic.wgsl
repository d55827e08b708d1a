// ballistic (RMSprop without momentum, eps inside the root):
// s = beta2 s + (1 - beta2) g^2; theta -= lr g / sqrt(s + eps)
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    let s = c.beta2 * x.s0 + c.one_minus_beta2 * g * g;
    return State(x.theta - c.lr * g / sqrt(s + c.eps), s, x.s1, x.s2);
}
