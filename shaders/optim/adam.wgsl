// adam, bias-corrected as PyTorch and optax define it; adamw is the same kernel with
// decoupled decay theta *= 1 - lr * lambda applied first (decay = 1 for adam).
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> v: array<f32>;

fn update(i: u32, g: f32, c: Consts) {
    let mi = c.beta1 * m[i] + c.one_minus_beta1 * g;
    let vi = c.beta2 * v[i] + c.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    let step = c.lr * (mi * c.bc1) / (sqrt(vi * c.bc2) + c.eps);
    theta[i] = theta[i] * c.decay - step;
}
