// Arena glue for members with 2 state buffers.
// needs: optim/consts.wgsl
@group(0) @binding(0) var<storage, read_write> theta: array<f32>;
@group(0) @binding(6) var<storage, read_write> state0: array<f32>;
@group(0) @binding(7) var<storage, read_write> state1: array<f32>;

fn load(i: u32) -> State {
    return State(theta[i], state0[i], state1[i], 0.0);
}

fn store(i: u32, x: State) {
    theta[i] = x.theta;
    state0[i] = x.s0;
    state1[i] = x.s1;
}
