// quadratic_dense and linear_regression: ½ (θ − μ)ᵀ A (θ − μ) + l_min, with A and μ built
// on the host (a rotated spectrum, or a regression's XᵀX / N and its solution). Each
// thread forms its rows of A (θ − μ) from the learner's θ in workgroup memory.
fn loss_grad(ctx: Ctx, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var out = LossGrad(0.0, vec4<f32>(0.0));
    let d = shape.dim;
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(ctx.b, k);
            var s = 0.0;
            for (var i = 0u; i < d; i++) {
                s = s + data[shape.off_dense_a + j * d + i] * (sh_theta[ctx.base + i] - data[shape.off_dense_mu + i]);
            }
            out.g[k] = s;
            out.loss = out.loss + 0.5 * (th[k] - data[shape.off_dense_mu + j]) * s;
        }
    }
    return out;
}

fn loss_offset() -> f32 {
    return shape.l_min;
}
