// quadratic: ½ Σ h_j (θ_j − μ)², h from the point's curvature row (the spectrum).
// needs: loss/point.wgsl, loss/exact_grad.wgsl
fn loss_grad(pt: Point, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var out = LossGrad(0.0, vec4<f32>(0.0));
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let h = curvature(pt, coord(pt.lane, k));
            let r = th[k] - pt.p.mu;
            out.g[k] = h * r;
            out.loss = out.loss + 0.5 * h * r * r;
        }
    }
    return out;
}

fn loss_offset() -> f32 {
    return 0.0;
}
