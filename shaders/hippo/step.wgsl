// needs: common/philox.wgsl
//
// The theta-gated hippocampal model's time steps (Rust twin: hippo::model, State::step).
// One workgroup per model, models of one shape side by side; a thread owns neurons j,
// j + WG, ... of a layer. The rates every compartment reads live in workgroup memory,
// `x` = [z | p | g | c | 1], so a compartment's input is a few contiguous blocks of x.
// Weights and traces are stored input-major (column k of W at k·n), so neighbouring
// threads touch neighbouring words. p is overwritten only after HPC has learned and g, c
// only after MEC has, so HPC reads the previous step's g and c, MEC this step's p and
// the previous g and c, as on the CPU.
//
// The host streams each step's inputs (z, velocity cells, θ of HPC and MEC) and reads
// back each step's Σ|a_B − a_A| per layer (the monitor runs on the host, in f64) and,
// every `record_every` steps, the HPC and MEC rates.

struct HippoShape {
    n_models: u32,
    // Floats of one model's arena (weights, traces, noise, activations, rates).
    arena_stride: u32,
    // Floats of one model's inputs per step: z, then v_R, v_L, θ_HPC, θ_MEC.
    stream_stride: u32,
    x_len: u32,
    n_z: u32,
    n_h: u32,
    n_m: u32,
    n_c: u32,
    // The models' step counter at stream row 0 (it keys the noise).
    step0: u32,
    // This dispatch runs stream rows [begin, end).
    begin: u32,
    end: u32,
    learning: u32,
    // Records p and g after rows r with r % record_every == 0 (0: never).
    record_every: u32,
    // Where p, g, c start in a model's arena.
    rates_at: u32,
    _pad0: u32,
    _pad1: u32,
}

// One compartment's shape, the same for every model: its input blocks in x (offset,
// length; a bias is the block at x_len − 1 of length 1) and where its arrays start in a
// model's arena.
struct CompShape {
    n: u32,
    n_in: u32,
    identity: u32,
    // 0 linear, 1 retanh.
    act: u32,
    n_blocks: u32,
    o0: u32,
    l0: u32,
    o1: u32,
    l1: u32,
    o2: u32,
    l2: u32,
    o3: u32,
    l3: u32,
    w_at: u32,
    pi_at: u32,
    xi_at: u32,
    a_at: u32,
    // The noise stream id (the compartment's index, 0..3).
    stream: u32,
    _pad0: u32,
    _pad1: u32,
}

// One compartment's constants in one model, computed on the host in f64 and rounded,
// as the CPU computes them.
struct CompConsts {
    // dt / τ_noise and σ sqrt(2 dt / τ_noise).
    noise_decay: f32,
    kick: f32,
    // dt / τ_PI.
    rate: f32,
    eta: f32,
    l1: f32,
    l2: f32,
    _pad0: f32,
    _pad1: f32,
}

const WG: u32 = 128u;
const MAX_X: u32 = 2048u;
const MAX_N: u32 = 1024u;
// The counter purpose of the noise draws (hippo::model's NOISE).
const NOISE: u32 = 0x48500001u;

@group(0) @binding(0) var<uniform> shape: HippoShape;
@group(0) @binding(1) var<storage, read> comps: array<CompShape, 4>;
// comps_of[model · 4 + compartment].
@group(0) @binding(2) var<storage, read> consts: array<CompConsts>;
@group(0) @binding(3) var<storage, read> keys: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> arena: array<f32>;
@group(0) @binding(5) var<storage, read> inputs: array<f32>;
@group(0) @binding(6) var<storage, read_write> gaps: array<f32>;
@group(0) @binding(7) var<storage, read_write> records: array<f32>;

var<workgroup> x: array<f32, MAX_X>;
var<workgroup> soma: array<f32, MAX_N>;
var<workgroup> part: array<vec2<f32>, WG>;

fn block(c: CompShape, b: u32) -> vec2<u32> {
    switch b {
        case 0u: { return vec2<u32>(c.o0, c.l0); }
        case 1u: { return vec2<u32>(c.o1, c.l1); }
        case 2u: { return vec2<u32>(c.o2, c.l2); }
        default: { return vec2<u32>(c.o3, c.l3); }
    }
}

// (f(v), f'(v)).
fn act(kind: u32, v: f32) -> vec2<f32> {
    if kind == 0u {
        return vec2<f32>(v, 1.0);
    }
    if v > 0.0 {
        let t = tanh(v);
        return vec2<f32>(t, 1.0 - t * t);
    }
    return vec2<f32>(0.0, 0.0);
}

// Neuron j's standard normal of compartment `stream` at `step` among n: the draw the
// CPU's draw_normals makes, word j / nb of block j % nb (nb = ceil(n / 4)) at counter
// (block, step, stream, NOISE).
fn noise_normal(key: vec2<u32>, step: u32, stream: u32, j: u32, n: u32) -> f32 {
    let nb = (n + 3u) / 4u;
    let w = philox4x32_10(vec4<u32>(j % nb, step, stream, NOISE), key);
    let q = j / nb;
    var pair: vec2<f32>;
    if q < 2u {
        pair = normal_pair(w.x, w.y);
    } else {
        pair = normal_pair(w.z, w.w);
    }
    return select(pair.y, pair.x, q % 2u == 0u);
}

// Compartment k of neuron j: V, the noise's step, a = f(V) + ξ. Returns (a, f'(V)).
fn drive(m: u32, k: u32, j: u32, step: u32) -> vec2<f32> {
    let c = comps[k];
    let cc = consts[m * 4u + k];
    let base = m * shape.arena_stride;
    var v = 0.0;
    if c.identity != 0u {
        v = x[c.o0 + j];
    } else {
        let wb = base + c.w_at + j;
        var col = 0u;
        for (var b = 0u; b < c.n_blocks; b++) {
            let ol = block(c, b);
            for (var i = 0u; i < ol.y; i++) {
                v = v + arena[wb + (col + i) * c.n] * x[ol.x + i];
            }
            col = col + ol.y;
        }
    }
    var xi = arena[base + c.xi_at + j];
    if cc.kick > 0.0 {
        let z = noise_normal(keys[m], step, c.stream, j, c.n);
        xi = xi - xi * cc.noise_decay + cc.kick * z;
        arena[base + c.xi_at + j] = xi;
    }
    let f = act(c.act, v);
    let a = f.x + xi;
    arena[base + c.a_at + j] = a;
    return vec2<f32>(a, f.y);
}

// The local rule on compartment k of neuron j with soma rate r: δ, the trace, the
// weights.
fn learn(m: u32, k: u32, j: u32, r: f32, ad: vec2<f32>) {
    let c = comps[k];
    let cc = consts[m * 4u + k];
    if c.identity != 0u || cc.eta == 0.0 {
        return;
    }
    let base = m * shape.arena_stride;
    let keep = 1.0 - cc.rate;
    let g = cc.rate * (r - ad.x) * ad.y;
    let decay = 1.0 - cc.eta * cc.l2;
    let shrink = cc.eta * cc.l1;
    let wb = base + c.w_at + j;
    let pb = base + c.pi_at + j;
    var col = 0u;
    for (var b = 0u; b < c.n_blocks; b++) {
        let ol = block(c, b);
        for (var i = 0u; i < ol.y; i++) {
            let at = (col + i) * c.n;
            let pi = keep * arena[pb + at] + g * x[ol.x + i];
            arena[pb + at] = pi;
            var w = decay * arena[wb + at] + cc.eta * pi;
            if shrink > 0.0 {
                w = w - shrink * sign(w);
            }
            arena[wb + at] = w;
        }
        col = col + ol.y;
    }
}

// One layer (0: HPC, compartments 0 and 1; 1: MEC, 2 and 3): every neuron's soma into
// `soma`, its learning, and this thread's Σ|a_B − a_A|.
fn layer(m: u32, lid: u32, l: u32, n: u32, theta: f32, step: u32) -> f32 {
    var gap = 0.0;
    for (var j = lid; j < n; j += WG) {
        let b = drive(m, 2u * l, j, step);
        let a = drive(m, 2u * l + 1u, j, step);
        let r = (1.0 - theta) * b.x + theta * a.x;
        soma[j] = r;
        if shape.learning != 0u {
            learn(m, 2u * l, j, r, b);
            learn(m, 2u * l + 1u, j, r, a);
        }
        gap = gap + abs(b.x - a.x);
    }
    return gap;
}

@compute @workgroup_size(128)
fn steps(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid3: vec3<u32>) {
    let m = wid.x + wid.y * nwg.x;
    if m >= shape.n_models {
        return;
    }
    let lid = lid3.x;
    let base = m * shape.arena_stride;
    let p_at = shape.n_z;
    let g_at = p_at + shape.n_h;
    let c_at = g_at + shape.n_m;
    let rates = shape.n_h + shape.n_m + shape.n_c;
    for (var i = lid; i < rates; i += WG) {
        x[p_at + i] = arena[base + shape.rates_at + i];
    }
    if lid == 0u {
        x[shape.x_len - 1u] = 1.0;
    }
    for (var s = shape.begin; s < shape.end; s++) {
        let row = (s * shape.n_models + m) * shape.stream_stride;
        for (var i = lid; i < shape.n_z; i += WG) {
            x[i] = inputs[row + i];
        }
        workgroupBarrier();
        let step = shape.step0 + s;
        let gh = layer(m, lid, 0u, shape.n_h, inputs[row + shape.n_z + 2u], step);
        workgroupBarrier();
        for (var j = lid; j < shape.n_h; j += WG) {
            x[p_at + j] = soma[j];
        }
        workgroupBarrier();
        let gm = layer(m, lid, 1u, shape.n_m, inputs[row + shape.n_z + 3u], step);
        part[lid] = vec2<f32>(gh, gm);
        workgroupBarrier();
        // c⁺ = ReLU(g + v_R − v_L − 1), c⁻ = ReLU(g − v_R + v_L − 1), from the new g.
        let dv = inputs[row + shape.n_z] - inputs[row + shape.n_z + 1u];
        for (var j = lid; j < shape.n_m; j += WG) {
            let g = soma[j];
            x[g_at + j] = g;
            if shape.n_c > 0u {
                x[c_at + j] = max(g + dv - 1.0, 0.0);
                x[c_at + shape.n_m + j] = max(g - dv - 1.0, 0.0);
            }
        }
        if lid == 0u {
            var sum = vec2<f32>(0.0, 0.0);
            let used = min(WG, max(shape.n_h, shape.n_m));
            for (var t = 0u; t < used; t++) {
                sum = sum + part[t];
            }
            gaps[(s * shape.n_models + m) * 2u] = sum.x;
            gaps[(s * shape.n_models + m) * 2u + 1u] = sum.y;
        }
        if shape.record_every != 0u && s % shape.record_every == 0u {
            let r = s / shape.record_every;
            let width = shape.n_h + shape.n_m;
            for (var j = lid; j < width; j += WG) {
                records[(r * shape.n_models + m) * width + j] = x[p_at + j];
            }
        }
        workgroupBarrier();
    }
    for (var i = lid; i < rates; i += WG) {
        arena[base + shape.rates_at + i] = x[p_at + i];
    }
}
