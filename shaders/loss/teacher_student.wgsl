// teacher_student: ½ mean_n (f(x_n) − y_n)², f(x) = Σ_h w2_h tanh(W1_h · x / sqrt(d_in)) /
// sqrt(H), parameters W1 (H x d_in, row-major) then w2 (H). A point's lanes work
// through the samples together: for each sample, lane l computes the activations of
// hidden units l, l + lanes, ... into workgroup memory; after a barrier every lane forms
// the output and residual from them and accumulates the gradient of its own
// coordinates. Lane 0 alone adds the loss. Every function here holds barriers, so it is
// called in uniform control flow.
// needs: loss/point.wgsl

// Hidden activations, per point slot: at most 1024 / (d_in + 1) per workgroup in
// all (a point of D = H (d_in + 1) parameters has at least D / 4 lanes).
var<workgroup> sh_act: array<f32, 512>;

// Adds weight * ∇ of ½ (f(x_n) − y_n)² for this lane's coordinates; returns the loss.
fn ts_sample(pt: Point, valid: vec4<bool>, n: u32, weight: f32, g: ptr<function, vec4<f32>>) -> f32 {
    let l = land();
    let hidden = l.hidden;
    let d_in = l.d_in;
    let w1_len = hidden * d_in;
    let act_base = pt.slot * hidden;
    let inv_sqrt_d = 1.0 / sqrt(f32(d_in));
    for (var h = pt.lane; h < hidden; h += l.lanes) {
        var z = 0.0;
        for (var i = 0u; i < d_in; i++) {
            z = z + point_coord(pt, h * d_in + i) * land_data(l.off_x + n * d_in + i);
        }
        sh_act[act_base + h] = tanh(z * inv_sqrt_d);
    }
    workgroupBarrier();
    let sh = 1.0 / sqrt(f32(hidden));
    var out = 0.0;
    for (var h = 0u; h < hidden; h++) {
        out = out + point_coord(pt, w1_len + h) * sh_act[act_base + h];
    }
    let r = out * sh - land_data(l.off_y + n);
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(pt.lane, k);
            if (j < w1_len) {
                let h = j / d_in;
                let act = sh_act[act_base + h];
                let back = weight * r * point_coord(pt, w1_len + h) * sh * (1.0 - act * act) * inv_sqrt_d;
                (*g)[k] = (*g)[k] + back * land_data(l.off_x + n * d_in + j % d_in);
            } else {
                (*g)[k] = (*g)[k] + weight * r * sh_act[act_base + j - w1_len] * sh;
            }
        }
    }
    // The next sample overwrites the activations.
    workgroupBarrier();
    return 0.5 * r * r;
}

fn loss_grad(pt: Point, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var g = vec4<f32>(0.0);
    var loss = 0.0;
    let samples = land().samples;
    let inv = 1.0 / f32(samples);
    for (var n = 0u; n < samples; n++) {
        loss = loss + ts_sample(pt, valid, n, inv, &g);
    }
    return LossGrad(select(0.0, loss * inv, pt.lane == 0u), g);
}

fn loss_offset() -> f32 {
    return 0.0;
}

// Minibatch gradient: sample k of step t is philox([k / 4, t, 0, MINIBATCH])[k % 4] mod N.
fn stochastic_grad(pt: Point, valid: vec4<bool>, g: vec4<f32>) -> vec4<f32> {
    let l = land();
    if (l.minibatch == 0u) {
        return g;
    }
    var mg = vec4<f32>(0.0);
    let w = 1.0 / f32(l.minibatch);
    for (var k = 0u; k < l.minibatch; k++) {
        let words = philox4x32_10(vec4<u32>(k / 4u, pt.t, 0u, PURPOSE_MINIBATCH), pt.key);
        let n = words[k % 4u] % l.samples;
        ts_sample(pt, valid, n, w, &mg);
    }
    return mg;
}
