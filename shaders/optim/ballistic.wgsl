// ballistic (RMSprop without momentum, eps inside the root):
// s = beta2 s + (1 - beta2) g^2; theta -= lr g / sqrt(s + eps)
@group(0) @binding(6) var<storage, read_write> s: array<f32>;

fn update(i: u32, g: f32, c: Consts) {
    let si = c.beta2 * s[i] + c.one_minus_beta2 * g * g;
    s[i] = si;
    theta[i] = theta[i] - c.lr * g / sqrt(si + c.eps);
}
