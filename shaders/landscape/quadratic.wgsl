// quadratic: ½ Σ h_j (θ_j − μ)², h from the learner's curvature row (the spectrum).
fn loss_grad(ctx: Ctx, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var out = LossGrad(0.0, vec4<f32>(0.0));
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let h = curvature(ctx, coord(ctx.b, k));
            let r = th[k] - ctx.learner.mu;
            out.g[k] = h * r;
            out.loss = out.loss + 0.5 * h * r * r;
        }
    }
    return out;
}

fn loss_offset() -> f32 {
    return 0.0;
}
