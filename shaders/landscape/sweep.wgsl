// The landscape sweep driver: every learner runs all its steps inside one dispatch.
//
// Long runs are cut into windows of steps [t_begin, t_end), one dispatch each, so that
// no dispatch runs long enough to trip a display driver's watchdog: between windows a
// learner's coordinates, filter states and running statistics wait in `carry` and
// `progress`.
//
// Layout: a workgroup of 256 threads holds 256 / lanes learners; a learner's `lanes`
// threads (a power of two >= nb = ceil(dim / 4)) each own one noise block b = lane and
// its four coordinates j = k * nb + b (k = 0..3, j < dim), kept in registers for the
// whole run. Each step publishes theta to workgroup memory (coupled landscapes read
// their neighbours there), evaluates the loss and gradient (landscape file: `loss_grad`),
// reduces the loss over the learner's lanes, records it, and applies the rule (rule
// file: `step`) to noisy gradients drawn from Philox exactly as the CPU draws them.
//
// Slots: a landscape file (loss_grad, loss_offset, stochastic_grad: loss/point.wgsl
// says what they may read) and a rule file (`fn step`, optim/consts.wgsl).
// needs: common/philox.wgsl, optim/consts.wgsl, loss/point.wgsl, loss/slots.wgsl, loss/lanes.wgsl, landscape/control_gain.wgsl

struct SweepShape {
    land: Land,
    n_learners: u32,
    steps: u32,
    record_every: u32,
    n_records: u32,
    threshold: f32,
    blowup: f32,
    // Offset (in f32 words) of the bias-correction rows in `data`.
    off_bias: u32,
    // This dispatch's window of steps; the run is t = 0..=steps.
    t_begin: u32,
    t_end: u32,
    off_mask: u32,
    // Carried values per coordinate between windows: θ and three states, then with a
    // switching landscape bayes_reset's g_prev, θ_prev and v.
    carry_width: u32,
}

// The kernel's modes, chosen when its pipeline is built (src/landscape/gpu.rs, `modes`):
// a chunk's learners share them, and a mode the chunk does not use is compiled out.
// Gradient noise: 0 none, 1 isotropic, 2 curvature.
override NOISE: u32 = 0u;
// The gradient's multiplier: 0 none, 1 natural gradient (1/h), 2 control_optimal (r/h).
override METRIC: u32 = 0u;
// Whether the run records the first step at or below `threshold`.
override HAS_THRESHOLD: bool = false;
// The drift every step adds, f(θ_t): 0 none, 1 decay −jθ, 2 rotation qAθ on pairs.
override DRIFT: u32 = 0u;
// 1: the rule moves only coordinates whose mask (data[off_mask + j]) is 1; 2: its
// change u is projected onto the control basis, P u (P at off_mask, D×D row-major).
override MASKED: u32 = 0u;
// A switching landscape (landscape::Continual): 0 none, 1 at a hazard, 2 in blocks.
override CONTINUAL: u32 = 0u;
// Whether some learner of the chunk runs bayes_reset (its reductions need every lane).
override BAYES: bool = false;

struct SweepLearner {
    consts: Consts,
    land: LandParams,
    seed_lo: u32,
    seed_hi: u32,
    bc1_row: u32,
    bc2_row: u32,
    noise_sigma: f32,
    theta0: f32,
    theta0_noise: f32,
    metric_eps: f32,
    // The rule's initial state (adabayes starts s2_post at sigma^2, kalman P at p0 and
    // r_hat at r0).
    init0: f32,
    init1: f32,
    init2: f32,
    drift_rate: f32,
    // Continual learning: a switch at step t when (philox word >> 9) < switch_thr (the
    // CPU's uniform < hazard, in integers), or every `block` steps; the reset strategy
    // (RESET_*), its period and rate; σ_μ; bayes_reset's prior logit ρ.
    switch_thr: u32,
    block: u32,
    reset: u32,
    reset_every: u32,
    sigma_mu: f32,
    shrink: f32,
    prior_logit: f32,
    _pad0: u32,
}

const RESET_NONE: u32 = 0u;
const RESET_SCHEDULED: u32 = 1u;
const RESET_SHRINK: u32 = 2u;
const RESET_BAYES: u32 = 3u;
// The oracle twin: resets at the switches.
const RESET_ORACLE: u32 = 4u;
const PURPOSE_SWITCH: u32 = 5u;
const PURPOSE_SHIFT: u32 = 6u;
const BAYES_MEMORY: f32 = 0.98;
const BAYES_FLOOR: f32 = 1e-6;

// A learner's running statistics between windows.
struct Progress {
    final_loss: f32,
    min_loss: f32,
    sum: f32,
    count: u32,
    hit: i32,
    diverged: u32,
    _pad0: u32,
    _pad1: u32,
    // Continual learning: the block [blk_start, blk_end) (blk_end 0 until the scan
    // finds it), the late-half sums, switches, the step count's origin, whether
    // bayes_reset has a previous gradient.
    blk_start: u32,
    blk_end: u32,
    late_sum: f32,
    late_count: u32,
    switches: u32,
    reset_at: u32,
    have_prev: u32,
    _pad2: u32,
}

struct SweepOut {
    final_loss: f32,
    min_loss: f32,
    mean_loss: f32,
    steps_to_threshold: i32,
    diverged: u32,
    late_loss: f32,
    switches: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> shape: SweepShape;
@group(0) @binding(1) var<storage, read> learners: array<SweepLearner>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
@group(0) @binding(3) var<storage, read_write> outs: array<SweepOut>;
@group(0) @binding(4) var<storage, read_write> traj: array<f32>;
// Final theta and gradient per learner (dim each), for checks.
@group(0) @binding(5) var<storage, read_write> finals: array<f32>;
// Between windows: theta and the three states (4 * dim per learner), and statistics.
@group(0) @binding(6) var<storage, read_write> carry: array<f32>;
@group(0) @binding(7) var<storage, read_write> progress: array<Progress>;

const WG: u32 = 256u;

var<workgroup> sh_theta: array<f32, 1024>;
// The rule's proposed changes, for the projection onto a control basis.
var<workgroup> sh_u: array<f32, 1024>;

// Whether the optimum switches at step u >= 1 (as ContinualRun::switches_at).
fn switches_at(learner: SweepLearner, key: vec2<u32>, u: u32) -> bool {
    if (u == 0u) {
        return false;
    }
    if (CONTINUAL == 2u) {
        return u % learner.block == 0u;
    }
    let w = philox4x32_10(vec4<u32>(0u, u, 0u, PURPOSE_SWITCH), key).x;
    return (w >> 9u) < learner.switch_thr;
}

// Coordinate j's shift δ_j in the block starting at step s (fill_normals' layout).
fn shift_of(learner: SweepLearner, key: vec2<u32>, s: u32, j: u32) -> f32 {
    let nb = shape.land.nb;
    let z = normals4(philox4x32_10(vec4<u32>(j % nb, s, 0u, PURPOSE_SHIFT), key));
    return learner.sigma_mu * z[j / nb];
}

// The first switch after s, when blocks are fixed (else 0: the scan finds it).
fn block_end_after(learner: SweepLearner, s: u32) -> u32 {
    if (CONTINUAL == 2u) {
        return min((s / learner.block + 1u) * learner.block, shape.steps + 1u);
    }
    return 0u;
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let lanes = shape.land.lanes;
    let slot = lid / lanes;
    let lane = lid % lanes;
    let per_wg = WG / lanes;
    let index = (wid.x + wid.y * nwg.x) * per_wg + slot;
    let live = index < shape.n_learners;
    let learner = learners[min(index, shape.n_learners - 1u)];
    let key = vec2<u32>(learner.seed_lo, learner.seed_hi);
    let b = lane;
    let dim = shape.land.dim;
    let nb = shape.land.nb;
    let base = slot * lanes * 4u;
    var valid = vec4<bool>(false, false, false, false);
    for (var k = 0u; k < 4u; k++) {
        valid[k] = b < nb && coord(b, k) < dim;
    }

    // Initial point: theta0 + theta0_noise * xi, xi from the INIT stream; or, after the
    // first window, where the last one left off.
    let z0 = normals4(philox4x32_10(vec4<u32>(b, 0u, 0u, PURPOSE_INIT), key));
    let first = shape.t_begin == 0u;
    let at = min(index, shape.n_learners - 1u) * shape.carry_width * dim;
    var th = vec4<f32>(0.0);
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var noise_scale = vec4<f32>(0.0);
    var metric_inv = vec4<f32>(1.0);
    // Continual learning: θ0, the block's shift, bayes_reset's state and its c_i.
    var theta0 = vec4<f32>(0.0);
    var shift = vec4<f32>(0.0);
    var g_prev = vec4<f32>(0.0);
    var th_prev = vec4<f32>(0.0);
    var v = vec4<f32>(0.0);
    var jump = vec4<f32>(0.0);
    var hc = vec4<f32>(1.0);
    var pt = Point(b, slot, base, learner.land, key, 0u);
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(b, k);
            if (first) {
                th[k] = learner.theta0 + learner.theta0_noise * z0[k];
                s0[k] = learner.init0;
                s1[k] = learner.init1;
                s2[k] = learner.init2;
            } else {
                th[k] = carry[at + j];
                s0[k] = carry[at + dim + j];
                s1[k] = carry[at + 2u * dim + j];
                s2[k] = carry[at + 3u * dim + j];
            }
            let h = select(1.0, curvature(pt, j), NOISE == 2u || METRIC != 0u);
            noise_scale[k] = select(learner.noise_sigma, learner.noise_sigma * sqrt(h), NOISE == 2u);
            let hf = max(h, learner.metric_eps);
            metric_inv[k] = select(1.0 / hf, control_gain(hf, learner.consts.ctl_gamma, learner.consts.ctl_eta_k), METRIC == 2u);
            if (CONTINUAL != 0u) {
                theta0[k] = learner.theta0 + learner.theta0_noise * z0[k];
                hc[k] = curvature(pt, j);
                jump[k] = 2.0 * learner.sigma_mu * learner.sigma_mu * hc[k] * hc[k];
                if (first) {
                    v[k] = max(2.0 * noise_scale[k] * noise_scale[k], BAYES_FLOOR * jump[k]);
                } else if (shape.carry_width == 7u) {
                    g_prev[k] = carry[at + 4u * dim + j];
                    th_prev[k] = carry[at + 5u * dim + j];
                    v[k] = carry[at + 6u * dim + j];
                }
            }
        }
    }

    var final_loss = 0.0;
    var min_loss = 3.4e38;
    var sum = 0.0;
    var count = 0u;
    var hit = -1;
    var diverged = 0u;
    var blk_start = 0u;
    var blk_end = block_end_after(learner, 0u);
    var late_sum = 0.0;
    var late_count = 0u;
    var switches = 0u;
    var reset_at = 0u;
    var have_prev = 0u;
    if (!first) {
        let pr = progress[min(index, shape.n_learners - 1u)];
        final_loss = pr.final_loss;
        min_loss = pr.min_loss;
        sum = pr.sum;
        count = pr.count;
        hit = pr.hit;
        diverged = pr.diverged;
        blk_start = pr.blk_start;
        blk_end = pr.blk_end;
        late_sum = pr.late_sum;
        late_count = pr.late_count;
        switches = pr.switches;
        reset_at = pr.reset_at;
        have_prev = pr.have_prev;
    }
    if (CONTINUAL != 0u) {
        for (var k = 0u; k < 4u; k++) {
            if (valid[k]) {
                shift[k] = shift_of(learner, key, blk_start, coord(b, k));
            }
        }
    }
    var stopped = !live || diverged != 0u;
    let stopped_at_entry = stopped;
    var g = vec4<f32>(0.0);
    for (var t = shape.t_begin; t < shape.t_end; t++) {
        pt.t = t;
        if (CONTINUAL != 0u && !stopped) {
            // Scan ahead two steps per step for the block's end, so that it is known
            // by the block's midpoint (a loss is late when 2 (t − start) >= length).
            if (blk_end == 0u) {
                let u1 = 2u * (t - blk_start) + blk_start;
                for (var u = max(u1, 1u) - 1u; u <= u1; u++) {
                    if (blk_end == 0u && u > blk_start && u <= shape.steps && switches_at(learner, key, u)) {
                        blk_end = u;
                    }
                }
                if (blk_end == 0u && u1 >= shape.steps) {
                    blk_end = shape.steps + 1u;
                }
            }
            var hard = false;
            if (t > 0u && t == blk_end) {
                switches = switches + 1u;
                blk_start = t;
                blk_end = block_end_after(learner, t);
                for (var k = 0u; k < 4u; k++) {
                    if (valid[k]) {
                        shift[k] = shift_of(learner, key, t, coord(b, k));
                    }
                }
                hard = learner.reset == RESET_ORACLE;
            }
            if (learner.reset == RESET_SCHEDULED && t > 0u && t % learner.reset_every == 0u) {
                hard = true;
            }
            if (hard) {
                th = theta0;
                s0 = vec4<f32>(learner.init0);
                s1 = vec4<f32>(learner.init1);
                s2 = vec4<f32>(learner.init2);
                reset_at = t;
                have_prev = 0u;
            }
        }
        // The landscape is evaluated at θ − δ (δ = 0 unless it switches).
        let ths = th - shift;
        // The last step's minibatch gradient may still be reading workgroup memory on
        // slower lanes: wait for them before publishing the new theta.
        workgroupBarrier();
        for (var k = 0u; k < 4u; k++) {
            if (valid[k]) {
                sh_theta[base + coord(b, k)] = ths[k];
            }
        }
        workgroupBarrier();
        let lg = loss_grad(pt, ths, valid);
        let loss = sum_over_lanes(lid, lane, lanes, select(0.0, lg.loss, b < nb)) + loss_offset();
        if (!stopped) {
            final_loss = loss;
            g = lg.g;
            if (lane == 0u && shape.record_every > 0u && t % shape.record_every == 0u) {
                traj[index * shape.n_records + t / shape.record_every] = loss;
            }
            let bad = (bitcast<u32>(loss) & 0x7f800000u) == 0x7f800000u || loss > shape.blowup;
            if (bad) {
                diverged = 1u;
                stopped = true;
            } else {
                min_loss = min(min_loss, loss);
                sum = sum + loss;
                count = count + 1u;
                if (CONTINUAL != 0u && blk_end != 0u && 2u * (t - blk_start) >= blk_end - blk_start) {
                    late_sum = late_sum + loss;
                    late_count = late_count + 1u;
                }
                if (hit < 0 && HAS_THRESHOLD && loss <= shape.threshold) {
                    hit = i32(t);
                }
            }
        }
        // The gradient the rule sees (a minibatch's, for teacher_student): computed by
        // every lane, in uniform control flow, since it may cooperate through barriers.
        let sg = stochastic_grad(pt, valid, lg.g);
        // The rule's step on noisy gradients: its proposal, then (in uniform control
        // flow, for the basis projection's barriers) what partial control lets through.
        let moves = !stopped && t < shape.steps;
        var noisy = sg;
        if (moves && NOISE != 0u) {
            noisy = noisy + noise_scale * normals4(philox4x32_10(vec4<u32>(b, t, 0u, PURPOSE_NOISE), key));
        }
        // bayes_reset: the innovation's log-likelihood ratio, summed over the learner's
        // lanes (every lane takes part: the sum uses barriers).
        var pi = 0.0;
        if (BAYES) {
            let filtering = moves && learner.reset == RESET_BAYES;
            var llr = 0.0;
            var e = vec4<f32>(0.0);
            if (filtering && have_prev != 0u) {
                for (var k = 0u; k < 4u; k++) {
                    if (valid[k]) {
                        e[k] = noisy[k] - (g_prev[k] + hc[k] * (th[k] - th_prev[k]));
                        let w = v[k] + jump[k];
                        llr = llr + 0.5 * (log(v[k] / w) + e[k] * e[k] * (1.0 / v[k] - 1.0 / w));
                    }
                }
            }
            llr = sum_over_lanes(lid, lane, lanes, llr);
            if (filtering) {
                if (have_prev != 0u) {
                    let z = learner.prior_logit + llr;
                    pi = select(1.0 / (1.0 + exp(-z)), 0.0, z != z);
                    let rate = (1.0 - BAYES_MEMORY) * (1.0 - pi);
                    for (var k = 0u; k < 4u; k++) {
                        v[k] = max(v[k] + rate * (e[k] * e[k] - v[k]), BAYES_FLOOR * jump[k]);
                    }
                }
                g_prev = noisy;
                th_prev = th;
                have_prev = 1u;
            }
        }
        var proposal = th;
        if (moves) {
            var c = learner.consts;
            c.bc1 = data[shape.off_bias + learner.bc1_row * shape.steps + t - reset_at];
            c.bc2 = data[shape.off_bias + learner.bc2_row * shape.steps + t - reset_at];
            if (METRIC != 0u) {
                noisy = noisy * metric_inv;
            }
            for (var k = 0u; k < 4u; k++) {
                if (valid[k]) {
                    let x = step(State(th[k], s0[k], s1[k], s2[k]), noisy[k], c);
                    proposal[k] = x.theta;
                    s0[k] = x.s0;
                    s1[k] = x.s1;
                    s2[k] = x.s2;
                }
            }
        }
        if (MASKED == 2u) {
            // θ_t + P (proposal − θ_t), the sum over i in order as the CPU's.
            workgroupBarrier();
            for (var k = 0u; k < 4u; k++) {
                if (valid[k]) {
                    sh_u[base + coord(b, k)] = proposal[k] - th[k];
                }
            }
            workgroupBarrier();
            for (var k = 0u; k < 4u; k++) {
                if (valid[k]) {
                    let row = shape.off_mask + coord(b, k) * dim;
                    var pu = 0.0;
                    for (var i = 0u; i < dim; i++) {
                        pu = pu + data[row + i] * sh_u[base + i];
                    }
                    proposal[k] = th[k] + pu;
                }
            }
        }
        if (moves) {
            for (var k = 0u; k < 4u; k++) {
                if (valid[k]) {
                    let j = coord(b, k);
                    // An uncontrolled coordinate keeps θ_t; every one adds the drift
                    // f(θ_t), its partner read from θ_t as published this step.
                    var next = proposal[k];
                    if (MASKED == 1u && data[shape.off_mask + j] == 0.0) {
                        next = th[k];
                    }
                    let q = learner.drift_rate;
                    if (DRIFT == 1u) {
                        next = next + -q * th[k];
                    } else if (DRIFT == 2u) {
                        var partner = sh_theta[base + (j ^ 1u)];
                        if (CONTINUAL != 0u) {
                            partner = partner + shift_of(learner, key, blk_start, j ^ 1u);
                        }
                        next = next + select(q * partner, -q * partner, j % 2u == 0u);
                    }
                    th[k] = next;
                }
            }
            // Continual learning after the step: shrink, or bayes_reset's soft reset.
            var w = 0.0;
            if (learner.reset == RESET_SHRINK) {
                w = learner.shrink;
            } else if (learner.reset == RESET_BAYES) {
                w = pi;
                s0 = s0 - w * (s0 - vec4<f32>(learner.init0));
                s1 = s1 - w * (s1 - vec4<f32>(learner.init1));
                s2 = s2 - w * (s2 - vec4<f32>(learner.init2));
                if (pi > 0.5) {
                    reset_at = t + 1u;
                }
            }
            if (CONTINUAL != 0u && w != 0.0) {
                th = th - w * (th - theta0);
            }
        }
    }
    if (live && shape.t_end <= shape.steps) {
        // Not the last window: leave everything for the next one.
        for (var k = 0u; k < 4u; k++) {
            if (valid[k]) {
                let j = coord(b, k);
                carry[at + j] = th[k];
                carry[at + dim + j] = s0[k];
                carry[at + 2u * dim + j] = s1[k];
                carry[at + 3u * dim + j] = s2[k];
                if (shape.carry_width == 7u) {
                    carry[at + 4u * dim + j] = g_prev[k];
                    carry[at + 5u * dim + j] = th_prev[k];
                    carry[at + 6u * dim + j] = v[k];
                }
            }
        }
        if (lane == 0u) {
            progress[index] = Progress(final_loss, min_loss, sum, count, hit, diverged, 0u, 0u,
                blk_start, blk_end, late_sum, late_count, switches, reset_at, have_prev, 0u);
        }
    }
    if (live && shape.t_end > shape.steps) {
        if (lane == 0u) {
            var out: SweepOut;
            out.final_loss = final_loss;
            out.min_loss = select(bitcast<f32>(0x7fc00000u), min_loss, count > 0u);
            out.mean_loss = select(bitcast<f32>(0x7fc00000u), sum / f32(count), count > 0u);
            out.steps_to_threshold = hit;
            out.diverged = diverged;
            out.late_loss = select(bitcast<f32>(0x7fc00000u), late_sum / f32(late_count), late_count > 0u);
            out.switches = switches;
            outs[index] = out;
        }
    }
    // Final theta and gradient (checks only): written by the window in which the learner
    // ran last.
    if (live && !stopped_at_entry && arrayLength(&finals) >= (index + 1u) * 2u * dim) {
        for (var k = 0u; k < 4u; k++) {
            if (valid[k]) {
                let j = coord(b, k);
                finals[index * 2u * dim + j] = th[k];
                finals[index * 2u * dim + dim + j] = g[k];
            }
        }
    }
}
