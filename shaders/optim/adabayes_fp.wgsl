// adabayes_fp, the fixed point of adabayes: v_hat = bias-corrected beta2-EMA of g^2 + eps,
// 1/s2_post = 1/(2 sigma^2) + sqrt(1/(4 sigma^4) + v_hat/eta^2); theta -= s2_post m_hat.
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> v: array<f32>;

fn update(i: u32, g_mean: f32, c: Consts) {
    let g = g_mean * c.batch;
    let mi = c.beta1 * m[i] + c.one_minus_beta1 * g;
    let vi = c.beta2 * v[i] + c.one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    let vhat = vi * c.bc2 + c.eps;
    let post = 1.0 / (c.inv_2sigma2 + sqrt(c.inv_4sigma4 + vhat * c.inv_eta2));
    theta[i] = theta[i] - post * (mi * c.bc1);
}
