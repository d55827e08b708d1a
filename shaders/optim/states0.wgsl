// Arena glue for members with 0 state buffers.
// needs: optim/consts.wgsl
@group(0) @binding(0) var<storage, read_write> theta: array<f32>;

fn load(i: u32) -> State {
    return State(theta[i], 0.0, 0.0, 0.0);
}

fn store(i: u32, x: State) {
    theta[i] = x.theta;
}
