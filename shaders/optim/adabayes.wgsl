// adabayes (Aitchison 2020), g = B * mean gradient:
//   prior  s2_prior = e^{-eta^2/sigma^2} s2_post + sigma^2 (1 - e^{-eta^2/sigma^2})
//   post   1/s2_post = 1/s2_prior + g^2, written s2_prior / (1 + s2_prior g^2)
//   m = beta1-EMA of g (bias-corrected); theta -= s2_post m_hat; theta *= 1 - lambda
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> s2_post: array<f32>;

fn update(i: u32, g_mean: f32, c: Consts) {
    let g = g_mean * c.batch;
    let prior = c.prior_keep * s2_post[i] + c.prior_add;
    let post = prior / (1.0 + prior * g * g);
    s2_post[i] = post;
    let mi = c.beta1 * m[i] + c.one_minus_beta1 * g;
    m[i] = mi;
    theta[i] = (theta[i] - post * (mi * c.bc1)) * c.decay;
}
