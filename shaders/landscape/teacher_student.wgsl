// teacher_student: ½ mean_n (f(x_n) − y_n)², f(x) = Σ_h w2_h tanh(W1_h · x / sqrt(d_in)) /
// sqrt(H), parameters W1 (H x d_in, row-major) then w2 (H). A learner's lanes work
// through the samples together: for each sample, lane l computes the activations of
// hidden units l, l + lanes, ... into workgroup memory; after a barrier every lane forms
// the output and residual from them and accumulates the gradient of its own
// coordinates. Lane 0 alone adds the loss. Every function here holds barriers, so it is
// called in uniform control flow.

// Hidden activations, per learner slot: at most 1024 / (d_in + 1) per workgroup in
// all (a learner of D = H (d_in + 1) parameters has at least D / 4 lanes).
var<workgroup> sh_act: array<f32, 512>;

fn ts_act_base(ctx: Ctx) -> u32 {
    return (ctx.base / (4u * shape.lanes)) * shape.hidden;
}

// Adds weight * ∇ of ½ (f(x_n) − y_n)² for this thread's coordinates; returns the loss.
fn ts_sample(ctx: Ctx, valid: vec4<bool>, n: u32, weight: f32, g: ptr<function, vec4<f32>>) -> f32 {
    let hidden = shape.hidden;
    let d_in = shape.d_in;
    let w1_len = hidden * d_in;
    let act_base = ts_act_base(ctx);
    let inv_sqrt_d = 1.0 / sqrt(f32(d_in));
    for (var h = ctx.b; h < hidden; h += shape.lanes) {
        var z = 0.0;
        for (var i = 0u; i < d_in; i++) {
            z = z + sh_theta[ctx.base + h * d_in + i] * data[shape.off_x + n * d_in + i];
        }
        sh_act[act_base + h] = tanh(z * inv_sqrt_d);
    }
    workgroupBarrier();
    let sh = 1.0 / sqrt(f32(hidden));
    var out = 0.0;
    for (var h = 0u; h < hidden; h++) {
        out = out + sh_theta[ctx.base + w1_len + h] * sh_act[act_base + h];
    }
    let r = out * sh - data[shape.off_y + n];
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(ctx.b, k);
            if (j < w1_len) {
                let h = j / d_in;
                let act = sh_act[act_base + h];
                let back = weight * r * sh_theta[ctx.base + w1_len + h] * sh * (1.0 - act * act) * inv_sqrt_d;
                (*g)[k] = (*g)[k] + back * data[shape.off_x + n * d_in + j % d_in];
            } else {
                (*g)[k] = (*g)[k] + weight * r * sh_act[act_base + j - w1_len] * sh;
            }
        }
    }
    // The next sample overwrites the activations.
    workgroupBarrier();
    return 0.5 * r * r;
}

fn loss_grad(ctx: Ctx, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var g = vec4<f32>(0.0);
    var loss = 0.0;
    let inv = 1.0 / f32(shape.samples);
    for (var n = 0u; n < shape.samples; n++) {
        loss = loss + ts_sample(ctx, valid, n, inv, &g);
    }
    return LossGrad(select(0.0, loss * inv, ctx.b == 0u), g);
}

fn loss_offset() -> f32 {
    return 0.0;
}

// Minibatch gradient: sample k of step t is philox([k / 4, t, 0, MINIBATCH])[k % 4] mod N.
fn stochastic_grad(ctx: Ctx, valid: vec4<bool>, g: vec4<f32>) -> vec4<f32> {
    if (shape.minibatch == 0u) {
        return g;
    }
    var mg = vec4<f32>(0.0);
    let w = 1.0 / f32(shape.minibatch);
    for (var k = 0u; k < shape.minibatch; k++) {
        let words = philox4x32_10(vec4<u32>(k / 4u, ctx.t, 0u, PURPOSE_MINIBATCH), ctx.key);
        let n = words[k % 4u] % shape.samples;
        ts_sample(ctx, valid, n, w, &mg);
    }
    return mg;
}
