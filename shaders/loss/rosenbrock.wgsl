// rosenbrock: Σ_{i<D−1} 100 (θ_{i+1} − θ_i²)² + (1 − θ_i)²; neighbours through
// point_coord. The lane owning coordinate i adds term i.
// needs: loss/point.wgsl, loss/exact_grad.wgsl
fn loss_grad(pt: Point, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var out = LossGrad(0.0, vec4<f32>(0.0));
    let dim = land().dim;
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(pt.lane, k);
            let x = th[k];
            var g = 0.0;
            if (j + 1u < dim) {
                let w = point_coord(pt, j + 1u) - x * x;
                let u = 1.0 - x;
                out.loss = out.loss + 100.0 * w * w + u * u;
                g = g - 400.0 * x * w - 2.0 * u;
            }
            if (j > 0u) {
                let xp = point_coord(pt, j - 1u);
                g = g + 200.0 * (x - xp * xp);
            }
            out.g[k] = g;
        }
    }
    return out;
}

fn loss_offset() -> f32 {
    return 0.0;
}
