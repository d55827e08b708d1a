// adabayes (Aitchison 2020), g = B * mean gradient:
//   prior  s2_prior = e^{-eta^2/sigma^2} s2_post + sigma^2 (1 - e^{-eta^2/sigma^2})
//   post   1/s2_post = 1/s2_prior + g^2, written s2_prior / (1 + s2_prior g^2)
//   m = beta1-EMA of g (bias-corrected); theta -= s2_post m_hat; theta *= 1 - lambda
// State: s0 = m, s1 = s2_post.
// needs: optim/consts.wgsl
fn step(x: State, g_mean: f32, c: Consts) -> State {
    let g = g_mean * c.batch;
    let prior = c.prior_keep * x.s1 + c.prior_add;
    let post = prior / (1.0 + prior * g * g);
    let m = c.beta1 * x.s0 + c.one_minus_beta1 * g;
    return State((x.theta - post * (m * c.bc1)) * c.decay, m, post, x.s2);
}
