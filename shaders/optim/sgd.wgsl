// sgd: theta -= lr * g
// needs: optim/consts.wgsl
fn step(x: State, g: f32, c: Consts) -> State {
    return State(x.theta - c.lr * g, x.s0, x.s1, x.s2);
}
