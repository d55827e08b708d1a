// adabayes_fp, the fixed point of adabayes: v_hat = bias-corrected beta2-EMA of g^2 + eps,
// 1/s2_post = 1/(2 sigma^2) + sqrt(1/(4 sigma^4) + v_hat/eta^2); theta -= s2_post m_hat.
// State: s0 = m, s1 = v.
// needs: optim/consts.wgsl
fn step(x: State, g_mean: f32, c: Consts) -> State {
    let g = g_mean * c.batch;
    let m = c.beta1 * x.s0 + c.one_minus_beta1 * g;
    let v = c.beta2 * x.s1 + c.one_minus_beta2 * g * g;
    let vhat = v * c.bc2 + c.eps;
    let post = 1.0 / (c.inv_2sigma2 + sqrt(c.inv_4sigma4 + vhat * c.inv_eta2));
    return State(x.theta - post * (m * c.bc1), m, v, x.s2);
}
