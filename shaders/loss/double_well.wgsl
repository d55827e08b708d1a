// double_well: a (x² − b)² + c y² + d x on consecutive coordinate pairs (x = θ_2p,
// y = θ_2p+1); the partner coordinate comes through point_coord.
// needs: loss/point.wgsl, loss/exact_grad.wgsl
fn loss_grad(pt: Point, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var out = LossGrad(0.0, vec4<f32>(0.0));
    let p = pt.p;
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(pt.lane, k);
            let x = point_coord(pt, j & ~1u);
            let y = point_coord(pt, j | 1u);
            if ((j & 1u) == 0u) {
                let w = x * x - p.b;
                out.loss = out.loss + p.a * w * w + p.c * y * y + p.d * x;
                out.g[k] = 4.0 * p.a * x * w + p.d;
            } else {
                out.g[k] = 2.0 * p.c * y;
            }
        }
    }
    return out;
}

fn loss_offset() -> f32 {
    return 0.0;
}
