// The dnn model's truncated BPTT on the GPU (Rust twin: infer::model). One workgroup
// per slot, a (restart, animal) pair: restarts run side by side, each slot reading its
// restart's φ from the parameter arena. A slot's threads share each trial's
// matrix-vector products (output j on thread j, strided). A window of trials [t0, t1)
// runs as forward dispatches over [begin, end) in order, keeping every trial's inputs,
// activations and outputs in `tape`, then backward dispatches over the same ranges in
// reverse, carrying ∂/∂w in `state`. Each slot accumulates its own gradient row (φ and
// c, then ∂/∂w_0); `reduce` sums the rows into the arena's gradient, where the
// optimiser steps it. Software adapters get short ranges (their loop budget); hardware
// ones a whole window at once.

struct DnnShape {
    hidden: u32,
    layers: u32,
    n_phi: u32,
    // Slots in the batch, restart-major, per_restart each.
    n_slots: u32,
    // The window [t0, t1) of each animal's trials (clipped to its length) and this
    // dispatch's range [begin, end) inside it.
    t0: u32,
    t1: u32,
    begin: u32,
    end: u32,
    // Floats one trial keeps on the tape: inputs (8), activations (L H), outputs (2),
    // w_t (2).
    tape_stride: u32,
    // The mean's weight, 1 / trials of the batch.
    weight: f32,
    // The slots this forward/backward dispatch runs (the tape holds group_len of them).
    slot_base: u32,
    group_len: u32,
    per_restart: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// One trial of an animal: s, d, y, r, z (and padding).
struct TrialRow {
    s: f32,
    d: f32,
    y: f32,
    r: f32,
    z: f32,
    _pad0: f32,
    _pad1: f32,
    _pad2: f32,
}

// Where a slot's trials live, and its carried values: w (the window's running
// weights), g (∂/∂w carried backward), the summed NLL.
struct AnimalState {
    first: u32,
    n_trials: u32,
    // Which restart's φ this slot runs (the arena holds n_phi floats per restart).
    restart: u32,
    // Where its w_0 lives in the arena (and its gradient in the arena's gradient).
    w0_at: u32,
    w0: f32,
    w1: f32,
    g0: f32,
    g1: f32,
    loss: f32,
    _pad2: f32,
    _pad3: f32,
    _pad4: f32,
}

@group(0) @binding(0) var<uniform> shape: DnnShape;
// The parameter arena: each restart's φ, then each restart's w_0 of every animal.
@group(0) @binding(1) var<storage, read> phi: array<f32>;
@group(0) @binding(2) var<storage, read> trials: array<TrialRow>;
@group(0) @binding(3) var<storage, read_write> state: array<AnimalState>;
@group(0) @binding(4) var<storage, read_write> tape: array<f32>;
// Per slot: n_phi + 2 floats (∂/∂φ, then ∂/∂w_0 from the first window).
@group(0) @binding(5) var<storage, read_write> grads: array<f32>;
// The arena's gradient (reduce writes every φ entry and the batch's w_0 entries).
@group(0) @binding(6) var<storage, read_write> arena_grads: array<f32>;
// Σ NLL per restart over the batches since the host last cleared it.
@group(0) @binding(7) var<storage, read_write> losses: array<f32>;

const WG: u32 = 64u;
const INPUTS: u32 = 8u;

var<workgroup> sh_a: array<f32, 1024>;
var<workgroup> sh_b: array<f32, 1024>;
var<workgroup> sh_w: array<f32, 2>;
var<workgroup> sh_g: array<f32, 2>;
// The animal's trial count, read once and shared (barriers sit in loops bounded by it).
var<workgroup> sh_n: u32;

fn n_in(l: u32) -> u32 {
    return select(shape.hidden, INPUTS, l == 0u);
}

fn n_out(l: u32) -> u32 {
    return select(shape.hidden, 2u, l == shape.layers);
}

// Offset of layer l's W in φ (its b follows W), as Net::offset.
fn offset(l: u32) -> u32 {
    var o = 0u;
    for (var i = 0u; i < l; i++) {
        o = o + n_in(i) * n_out(i) + n_out(i);
    }
    return o;
}

fn c_offset() -> u32 {
    return offset(shape.layers + 1u);
}

// Where trial t's entries start on the tape of slot a (the tape holds this group's).
fn tape_at(a: u32, t: u32) -> u32 {
    return ((a - shape.slot_base) * (shape.t1 - shape.t0) + (t - shape.t0)) * shape.tape_stride;
}

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let local = wid.x + wid.y * nwg.x;
    if (local >= shape.group_len) {
        return;
    }
    let a = shape.slot_base + local;
    let st = state[a];
    let pb = st.restart * shape.n_phi;
    let h = shape.hidden;
    if (lid == 0u) {
        if (shape.t0 == 0u && shape.begin == 0u) {
            sh_w[0] = phi[st.w0_at];
            sh_w[1] = phi[st.w0_at + 1u];
        } else {
            sh_w[0] = st.w0;
            sh_w[1] = st.w1;
        }
        sh_n = st.n_trials;
    }
    let n_trials = workgroupUniformLoad(&sh_n);
    let end = min(shape.end, n_trials);
    var loss = st.loss;
    for (var t = shape.begin; t < end; t++) {
        let tr = trials[st.first + t];
        let at = tape_at(a, t);
        let w = vec2<f32>(sh_w[0], sh_w[1]);
        // The choice's NLL under w_t: softplus(a) − y a, stably.
        if (lid == 0u) {
            let x = w.x * tr.s + w.y;
            loss = loss + max(x, 0.0) + log(1.0 + exp(-abs(x))) - tr.y * x;
            tape[at + shape.tape_stride - 2u] = w.x;
            tape[at + shape.tape_stride - 1u] = w.y;
        }
        if (t + 1u < n_trials) {
            // The rule's inputs (w, s, 1, d, y, r, z), then the layers.
            if (lid < INPUTS) {
                var v = 0.0;
                switch lid {
                    case 0u: { v = w.x; }
                    case 1u: { v = w.y; }
                    case 2u: { v = tr.s; }
                    case 3u: { v = 1.0; }
                    case 4u: { v = tr.d; }
                    case 5u: { v = tr.y; }
                    case 6u: { v = tr.r; }
                    default: { v = tr.z; }
                }
                sh_a[lid] = v;
                tape[at + lid] = v;
            }
            workgroupBarrier();
            for (var l = 0u; l <= shape.layers; l++) {
                let ni = n_in(l);
                let no = n_out(l);
                let o = offset(l);
                for (var j = lid; j < no; j += WG) {
                    var z = phi[pb + o + ni * no + j];
                    for (var i = 0u; i < ni; i++) {
                        z = z + phi[pb + o + j * ni + i] * sh_a[i];
                    }
                    if (l < shape.layers) {
                        z = max(z, 0.0);
                        tape[at + INPUTS + l * h + j] = z;
                    } else {
                        tape[at + INPUTS + shape.layers * h + j] = z;
                    }
                    sh_b[j] = z;
                }
                workgroupBarrier();
                for (var j = lid; j < no; j += WG) {
                    sh_a[j] = sh_b[j];
                }
                workgroupBarrier();
            }
            if (lid == 0u) {
                let c = c_offset();
                sh_w[0] = w.x + phi[pb + c] * sh_a[0];
                sh_w[1] = w.y + phi[pb + c + 1u] * sh_a[1];
            }
            workgroupBarrier();
        }
    }
    if (lid == 0u) {
        state[a].w0 = sh_w[0];
        state[a].w1 = sh_w[1];
        state[a].loss = loss;
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let local = wid.x + wid.y * nwg.x;
    if (local >= shape.group_len) {
        return;
    }
    let a = shape.slot_base + local;
    let st = state[a];
    let pb = st.restart * shape.n_phi;
    let h = shape.hidden;
    let row = a * (shape.n_phi + 2u);
    let c = c_offset();
    if (lid == 0u) {
        // ∂/∂w_{t1} = 0 at the window's end: the next window starts from a detached w.
        let fresh = shape.end == shape.t1;
        sh_g[0] = select(st.g0, 0.0, fresh);
        sh_g[1] = select(st.g1, 0.0, fresh);
        sh_n = st.n_trials;
    }
    let n_trials = workgroupUniformLoad(&sh_n);
    let end = min(shape.end, n_trials);
    for (var tt = end; tt > shape.begin; tt--) {
        let t = tt - 1u;
        let tr = trials[st.first + t];
        let at = tape_at(a, t);
        let g = vec2<f32>(sh_g[0], sh_g[1]);
        var dw = vec2<f32>(0.0);
        if (t + 1u < n_trials) {
            // w_{t+1} = w_t + c ⊙ f: ∂c += g ⊙ f, ∂f = g ⊙ c (in sh_a).
            let out_at = at + INPUTS + shape.layers * h;
            if (lid < 2u) {
                grads[row + c + lid] = grads[row + c + lid] + g[lid] * tape[out_at + lid];
                sh_a[lid] = g[lid] * phi[pb + c + lid];
            }
            workgroupBarrier();
            for (var l = shape.layers + 1u; l > 0u; l--) {
                let ll = l - 1u;
                let ni = n_in(ll);
                let no = n_out(ll);
                let o = offset(ll);
                let x_at = select(at + INPUTS + (ll - 1u) * h, at, ll == 0u);
                // δ_j through ReLU (hidden layers), then this thread's rows of ∂W, ∂b.
                for (var j = lid; j < no; j += WG) {
                    var dj = sh_a[j];
                    if (ll < shape.layers && tape[at + INPUTS + ll * h + j] <= 0.0) {
                        dj = 0.0;
                    }
                    sh_b[j] = dj;
                    if (dj != 0.0) {
                        grads[row + o + ni * no + j] = grads[row + o + ni * no + j] + dj;
                        for (var i = 0u; i < ni; i++) {
                            grads[row + o + j * ni + i] = grads[row + o + j * ni + i] + dj * tape[x_at + i];
                        }
                    }
                }
                workgroupBarrier();
                // ∂/∂x_i = Σ_j W_ji δ_j.
                for (var i = lid; i < ni; i += WG) {
                    var s = 0.0;
                    for (var j = 0u; j < no; j++) {
                        s = s + phi[pb + o + j * ni + i] * sh_b[j];
                    }
                    sh_a[i] = s;
                }
                workgroupBarrier();
            }
            dw = vec2<f32>(sh_a[0], sh_a[1]);
        }
        if (lid == 0u) {
            let wt = vec2<f32>(tape[at + shape.tape_stride - 2u], tape[at + shape.tape_stride - 1u]);
            let d = (sigmoid(wt.x * tr.s + wt.y) - tr.y) * shape.weight;
            sh_g[0] = g.x + dw.x + d * tr.s;
            sh_g[1] = g.y + dw.y + d;
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        state[a].g0 = sh_g[0];
        state[a].g1 = sh_g[1];
        if (shape.begin == 0u && shape.t0 == 0u) {
            grads[row + shape.n_phi] = grads[row + shape.n_phi] + sh_g[0];
            grads[row + shape.n_phi + 1u] = grads[row + shape.n_phi + 1u] + sh_g[1];
        }
    }
}

// Sums the batch's slot rows: work item p < R·n_phi writes restart p / n_phi's entry
// p % n_phi of ∂/∂φ; the next n_slots copy each slot's ∂/∂w_0 to its place in the
// arena; the last R add each restart's NLL to `losses`. R = n_slots / per_restart.
// Threads stride over the items (the grid may be smaller than their count).
@compute @workgroup_size(64)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let np = shape.n_phi;
    let per = shape.per_restart;
    let r_n = shape.n_slots / per;
    let stride = np + 2u;
    let threads = nwg.x * nwg.y * 64u;
    for (var p = gid.x + gid.y * nwg.x * 64u; p < r_n * (np + 1u) + shape.n_slots; p += threads) {
        if (p < r_n * np) {
            let r = p / np;
            let q = p % np;
            var s = 0.0;
            for (var i = 0u; i < per; i++) {
                s = s + grads[(r * per + i) * stride + q];
            }
            arena_grads[state[r * per].restart * np + q] = s;
        } else if (p < r_n * np + shape.n_slots) {
            let a = p - r_n * np;
            let at = state[a].w0_at;
            arena_grads[at] = grads[a * stride + np];
            arena_grads[at + 1u] = grads[a * stride + np + 1u];
        } else {
            let r = p - r_n * np - shape.n_slots;
            var s = 0.0;
            for (var i = 0u; i < per; i++) {
                s = s + state[r * per + i].loss;
            }
            let at = state[r * per].restart;
            losses[at] = losses[at] + s;
        }
    }
}
