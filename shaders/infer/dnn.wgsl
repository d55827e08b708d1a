// The dnn and rnn models' truncated BPTT on the GPU (Rust twins: infer::model and
// infer::rnn). One workgroup
// per slot, a (restart, animal) pair: restarts run side by side, each slot reading its
// restart's φ from the parameter arena. A slot's threads share each trial's
// matrix-vector products (output j on thread j, strided). A window of trials [t0, t1)
// runs as forward dispatches over [begin, end) in order, keeping every trial's inputs,
// activations and outputs in `tape`, then backward dispatches over the same ranges in
// reverse, carrying ∂/∂w in `state`. Each slot accumulates its own gradient row (φ and
// c, then ∂/∂w_0); `reduce` sums the rows into the arena's gradient, where the
// optimiser steps it. Software adapters get short ranges (their loop budget); hardware
// ones a whole window at once.
//
// The rnn (shape.gru = G > 0 units) puts a GRU between the rule's inputs and the MLP:
// φ opens with its W_i (3G × 8), W_h (3G × G), b_i, b_h (PyTorch's order, gates r, z,
// n), the MLP reads h_{t+1}, and the state h is carried between dispatches (and
// windows) in `carry`, as ∂/∂h is in the backward pass. With shape.skip the MLP reads
// [h_{t+1}, x_t].

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
    _pad3: u32,
    // The slots this forward/backward dispatch runs (the tape holds group_len of them).
    slot_base: u32,
    group_len: u32,
    per_restart: u32,
    // GRU units (0: the dnn).
    gru: u32,
    // 1: the rnn's MLP also reads the trial's inputs after the GRU's state.
    skip: u32,
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
    // The mean's weight, 1 / trials of the slot's restart's batch (restarts draw their
    // own batches).
    weight: f32,
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
// Per slot 2G floats: the GRU's state h, then ∂/∂h carried backward (rnn only).
@group(0) @binding(8) var<storage, read_write> carry: array<f32>;

const WG: u32 = 64u;
const INPUTS: u32 = 8u;

var<workgroup> sh_a: array<f32, 1024>;
var<workgroup> sh_b: array<f32, 1024>;
var<workgroup> sh_w: array<f32, 2>;
var<workgroup> sh_g: array<f32, 2>;
// The GRU's state (forward) or ∂/∂h (backward), and ∂/∂w through the GRU's input.
var<workgroup> sh_h: array<f32, 256>;
var<workgroup> sh_dw: array<f32, 2>;
// The animal's trial count, read once and shared (barriers sit in loops bounded by it).
var<workgroup> sh_n: u32;

// What the MLP reads: the rule's inputs (dnn) or the GRU's state (rnn).
fn mlp_inputs() -> u32 {
    return select(INPUTS, shape.gru + INPUTS * shape.skip, shape.gru > 0u);
}

fn n_in(l: u32) -> u32 {
    return select(shape.hidden, mlp_inputs(), l == 0u);
}

// Floats of the GRU's parameters at the start of φ, as rnn::gru_len.
fn gru_len() -> u32 {
    let g = shape.gru;
    return 3u * g * INPUTS + 3u * g * g + 6u * g;
}

// Where a trial's MLP activations start on the tape: after its inputs (8) and, for the
// rnn, h_t, r, z, n, W_hn h + b_hn and h_{t+1} (6G), then with skip the inputs again
// (so that the MLP's input [h_{t+1}, x_t] lies in one piece).
fn pre() -> u32 {
    return INPUTS + 6u * shape.gru + INPUTS * shape.skip;
}

// Where the MLP's input of the trial at `at` lies on the tape.
fn mlp_in_at(at: u32) -> u32 {
    return select(at, at + INPUTS + 5u * shape.gru, shape.gru > 0u);
}

fn n_out(l: u32) -> u32 {
    return select(shape.hidden, 2u, l == shape.layers);
}

// Offset of layer l's W in φ (its b follows W), as Net::offset.
fn offset(l: u32) -> u32 {
    var o = gru_len();
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

// tanh, ±1 beyond |x| = 10 (where it is ±1 in f32): some implementations compute
// tanh through exp(2x), which overflows to inf / inf for large x.
fn tanh_safe(x: f32) -> f32 {
    return select(tanh(x), sign(x), abs(x) > 10.0);
}

// One GRU step on the inputs in sh_a[0..8] from the state in sh_h: h_{t+1} goes to
// sh_h and sh_a (the MLP's input), and h_t, the gates and h_{t+1} to the tape at `at`.
// Thread j computes unit j's three gates (strided).
fn gru_forward(pb: u32, at: u32, lid: u32) {
    let g = shape.gru;
    let wh = 3u * g * INPUTS;
    let bi = wh + 3u * g * g;
    let bh = bi + 3u * g;
    for (var j = lid; j < g; j += WG) {
        var ir = phi[pb + bi + j];
        var iz = phi[pb + bi + g + j];
        var i_n = phi[pb + bi + 2u * g + j];
        for (var k = 0u; k < INPUTS; k++) {
            let x = sh_a[k];
            ir = ir + phi[pb + j * INPUTS + k] * x;
            iz = iz + phi[pb + (g + j) * INPUTS + k] * x;
            i_n = i_n + phi[pb + (2u * g + j) * INPUTS + k] * x;
        }
        var hr = phi[pb + bh + j];
        var hz = phi[pb + bh + g + j];
        var hn = phi[pb + bh + 2u * g + j];
        for (var i = 0u; i < g; i++) {
            let v = sh_h[i];
            hr = hr + phi[pb + wh + j * g + i] * v;
            hz = hz + phi[pb + wh + (g + j) * g + i] * v;
            hn = hn + phi[pb + wh + (2u * g + j) * g + i] * v;
        }
        let r = sigmoid(ir + hr);
        let z = sigmoid(iz + hz);
        let n = tanh_safe(i_n + r * hn);
        let h = sh_h[j];
        let h_new = (1.0 - z) * n + z * h;
        let o = at + INPUTS;
        tape[o + j] = h;
        tape[o + g + j] = r;
        tape[o + 2u * g + j] = z;
        tape[o + 3u * g + j] = n;
        tape[o + 4u * g + j] = hn;
        tape[o + 5u * g + j] = h_new;
        sh_b[j] = h_new;
    }
    workgroupBarrier();
    for (var j = lid; j < g; j += WG) {
        sh_a[j] = sh_b[j];
        sh_h[j] = sh_b[j];
    }
    workgroupBarrier();
}

// Backpropagates the trial at `at` through its GRU step: ∂/∂h_{t+1} is sh_h (from
// later trials) plus the MLP's sh_a[0..G]; leaves ∂/∂h_t in sh_h, adds the GRU's
// parameter gradients to the slot's row at `gbase`, and returns ∂/∂w_t through the
// GRU's input (valid on every thread). a = ∂/∂ the gates' input pre-activations goes
// to sh_b[0..3G], its hidden share a_h (the n rows times r) to sh_a[G..4G].
fn gru_backward(pb: u32, at: u32, gbase: u32, lid: u32) -> vec2<f32> {
    let g = shape.gru;
    let wh = 3u * g * INPUTS;
    let bi = wh + 3u * g * g;
    let bh = bi + 3u * g;
    let o = at + INPUTS;
    for (var j = lid; j < g; j += WG) {
        let d = sh_h[j] + sh_a[j];
        let h = tape[o + j];
        let r = tape[o + g + j];
        let z = tape[o + 2u * g + j];
        let n = tape[o + 3u * g + j];
        let hn = tape[o + 4u * g + j];
        let dn = d * (1.0 - z) * (1.0 - n * n);
        let dz = d * (h - n) * z * (1.0 - z);
        let dr = dn * hn * r * (1.0 - r);
        sh_b[j] = dr;
        sh_b[g + j] = dz;
        sh_b[2u * g + j] = dn;
        sh_a[g + j] = dr;
        sh_a[2u * g + j] = dz;
        sh_a[3u * g + j] = dn * r;
        // h_{t+1} = … + z ⊙ h_t: the direct path (unit j's own entry).
        sh_h[j] = d * z;
    }
    workgroupBarrier();
    // ∂/∂h_t += W_hᵀ a_h; ∂/∂w_t = the first two columns of W_iᵀ a.
    for (var j = lid; j < g; j += WG) {
        var s = sh_h[j];
        for (var row = 0u; row < 3u * g; row++) {
            s = s + phi[pb + wh + row * g + j] * sh_a[g + row];
        }
        sh_h[j] = s;
    }
    if (lid < 2u) {
        var s = 0.0;
        for (var row = 0u; row < 3u * g; row++) {
            s = s + phi[pb + row * INPUTS + lid] * sh_b[row];
        }
        sh_dw[lid] = s;
    }
    // The parameters: Σ a ⊗ x and a for W_i and b_i, Σ a_h ⊗ h_t and a_h for W_h, b_h.
    for (var row = lid; row < 3u * g; row += WG) {
        let ar = sh_b[row];
        let ah = sh_a[g + row];
        grads[gbase + bi + row] = grads[gbase + bi + row] + ar;
        grads[gbase + bh + row] = grads[gbase + bh + row] + ah;
        if (ar != 0.0) {
            for (var k = 0u; k < INPUTS; k++) {
                grads[gbase + row * INPUTS + k] = grads[gbase + row * INPUTS + k] + ar * tape[at + k];
            }
        }
        if (ah != 0.0) {
            for (var i = 0u; i < g; i++) {
                grads[gbase + wh + row * g + i] = grads[gbase + wh + row * g + i] + ah * tape[o + i];
            }
        }
    }
    workgroupBarrier();
    return vec2<f32>(sh_dw[0], sh_dw[1]);
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
    // The GRU's state: zero at the animal's first trial, else carried.
    let g = shape.gru;
    let fresh_animal = shape.t0 == 0u && shape.begin == 0u;
    for (var j = lid; j < g; j += WG) {
        sh_h[j] = select(carry[a * 2u * g + j], 0.0, fresh_animal);
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
            if (g > 0u) {
                gru_forward(pb, at, lid);
                if (shape.skip == 1u) {
                    // x_t after h_{t+1} (thread k wrote tape[at + k] itself above).
                    if (lid < INPUTS) {
                        let v = tape[at + lid];
                        sh_a[g + lid] = v;
                        tape[at + INPUTS + 6u * g + lid] = v;
                    }
                    workgroupBarrier();
                }
            }
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
                    }
                    tape[at + pre() + l * h + j] = z;
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
    for (var j = lid; j < g; j += WG) {
        carry[a * 2u * g + j] = sh_h[j];
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
    // ∂/∂h, detached at the window's end as w is.
    let g_units = shape.gru;
    for (var j = lid; j < g_units; j += WG) {
        sh_h[j] = select(carry[a * 2u * g_units + g_units + j], 0.0, shape.end == shape.t1);
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
            let out_at = at + pre() + shape.layers * h;
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
                let x_at = select(at + pre() + (ll - 1u) * h, mlp_in_at(at), ll == 0u);
                // δ_j through ReLU (hidden layers), then this thread's rows of ∂W, ∂b.
                for (var j = lid; j < no; j += WG) {
                    var dj = sh_a[j];
                    if (ll < shape.layers && tape[at + pre() + ll * h + j] <= 0.0) {
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
            if (g_units > 0u) {
                // With skip, ∂/∂w also takes the MLP's direct path (read before the GRU's
                // backward reuses sh_a).
                var direct = vec2<f32>(0.0);
                if (shape.skip == 1u) {
                    direct = vec2<f32>(sh_a[g_units], sh_a[g_units + 1u]);
                    workgroupBarrier();
                }
                dw = gru_backward(pb, at, row, lid) + direct;
            } else {
                dw = vec2<f32>(sh_a[0], sh_a[1]);
            }
        }
        if (lid == 0u) {
            let wt = vec2<f32>(tape[at + shape.tape_stride - 2u], tape[at + shape.tape_stride - 1u]);
            let d = (sigmoid(wt.x * tr.s + wt.y) - tr.y) * st.weight;
            sh_g[0] = g.x + dw.x + d * tr.s;
            sh_g[1] = g.y + dw.y + d;
        }
        workgroupBarrier();
    }
    for (var j = lid; j < g_units; j += WG) {
        carry[a * 2u * g_units + g_units + j] = sh_h[j];
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
