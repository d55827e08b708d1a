// sgd: theta -= lr * g
fn update(i: u32, g: f32, c: Consts) {
    theta[i] = theta[i] - c.lr * g;
}
