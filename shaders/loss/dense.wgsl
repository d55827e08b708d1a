// quadratic_dense and linear_regression: ½ (θ − μ)ᵀ A (θ − μ) + l_min, with A and μ built
// on the host (a rotated spectrum, or a regression's XᵀX / N and its solution). Each
// lane forms its rows of A (θ − μ) from the point's coordinates.
// needs: loss/point.wgsl, loss/exact_grad.wgsl
fn loss_grad(pt: Point, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var out = LossGrad(0.0, vec4<f32>(0.0));
    let l = land();
    let d = l.dim;
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(pt.lane, k);
            var s = 0.0;
            for (var i = 0u; i < d; i++) {
                s = s + land_data(l.off_dense_a + j * d + i) * (point_coord(pt, i) - land_data(l.off_dense_mu + i));
            }
            out.g[k] = s;
            out.loss = out.loss + 0.5 * (th[k] - land_data(l.off_dense_mu + j)) * s;
        }
    }
    return out;
}

fn loss_offset() -> f32 {
    return land().l_min;
}
