// Landscapes without minibatches: the rule sees the exact gradient (plus any noise).
// needs: loss/point.wgsl
fn stochastic_grad(pt: Point, valid: vec4<bool>, g: vec4<f32>) -> vec4<f32> {
    return g;
}
