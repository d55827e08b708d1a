// teacher_student: ½ mean_n (f(x_n) − y_n)², f(x) = Σ_h w2_h tanh(W1_h · x / sqrt(d_in)) /
// sqrt(H), parameters W1 (H x d_in, row-major) then w2 (H). Every thread evaluates the
// forward pass of each sample from the learner's θ in workgroup memory and accumulates
// the gradient of its own coordinates; lane 0 alone adds the loss. (The forward pass is
// repeated on every lane: simple, and these networks are small.)

fn ts_pre(ctx: Ctx, h: u32, n: u32) -> f32 {
    var z = 0.0;
    for (var i = 0u; i < shape.d_in; i++) {
        z = z + sh_theta[ctx.base + h * shape.d_in + i] * data[shape.off_x + n * shape.d_in + i];
    }
    return z / sqrt(f32(shape.d_in));
}

// Adds weight * ∇ of ½ (f(x_n) − y_n)² for this thread's coordinates; returns the loss.
fn ts_sample(ctx: Ctx, valid: vec4<bool>, n: u32, weight: f32, g: ptr<function, vec4<f32>>) -> f32 {
    let hidden = shape.hidden;
    let sh = 1.0 / sqrt(f32(hidden));
    let w1_len = hidden * shape.d_in;
    var out = 0.0;
    for (var h = 0u; h < hidden; h++) {
        out = out + sh_theta[ctx.base + w1_len + h] * tanh(ts_pre(ctx, h, n));
    }
    let r = out * sh - data[shape.off_y + n];
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(ctx.b, k);
            if (j < w1_len) {
                let h = j / shape.d_in;
                let i = j % shape.d_in;
                let act = tanh(ts_pre(ctx, h, n));
                let back = weight * r * sh_theta[ctx.base + w1_len + h] * sh * (1.0 - act * act) / sqrt(f32(shape.d_in));
                (*g)[k] = (*g)[k] + back * data[shape.off_x + n * shape.d_in + i];
            } else {
                (*g)[k] = (*g)[k] + weight * r * tanh(ts_pre(ctx, j - w1_len, n)) * sh;
            }
        }
    }
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
