// The action S of discretised paths and its gradient (src/control/action.rs has the
// formulas and the CPU twin): a third driver of the landscape interface, beside the
// sweep and the point evaluator, so every landscape's loss and gradient serve it
// unchanged.
//
// Layout: a path's N + 1 points are cut into blocks of WG / lanes points, one workgroup
// per block; a point's `lanes` threads hold its coordinates as the interface lays them
// out. The points before and after a block (its halos) wait in workgroup memory beside
// it, so each point sees its neighbours. Each workgroup writes its block's share of S;
// the host adds a path's shares.
//
// Slot: a landscape file (loss_grad, loss_offset).
// needs: loss/point.wgsl, loss/slots.wgsl, loss/lanes.wgsl

struct PathKernelShape {
    land: Land,
    n_paths: u32,
    // Intervals N; points 0..=N.
    n: u32,
    free_end: u32,
    // 0 none, 1 decay (f = −jθ), 2 rotation (f = qAθ on pairs).
    drift: u32,
    drift_rate: f32,
    dt: f32,
    // Points per workgroup (WG / lanes) and blocks per path.
    points_per_wg: u32,
    blocks: u32,
    // The metric G's diagonal in `data`.
    off_g: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct PathPoint {
    land: LandParams,
    gamma: f32,
    eta: f32,
    k: f32,
    _pad: f32,
}

@group(0) @binding(0) var<uniform> shape: PathKernelShape;
@group(0) @binding(1) var<storage, read> paths: array<PathPoint>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
@group(0) @binding(3) var<storage, read> theta: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

const WG: u32 = 256u;

var<workgroup> sh_theta: array<f32, 1024>;
var<workgroup> sh_prev: array<f32, 1024>;
var<workgroup> sh_next: array<f32, 1024>;

// Coordinate j of the point `slot` places from the block's first (−1: the halo
// before, points_per_wg: the halo after).
fn coord_at(slot: i32, j: u32) -> f32 {
    if (slot < 0) {
        return sh_prev[j];
    }
    if (u32(slot) >= shape.points_per_wg) {
        return sh_next[j];
    }
    return sh_theta[u32(slot) * 4u * shape.land.lanes + j];
}

// The drift's coordinate j at the point `slot`.
fn drift_at(slot: i32, j: u32) -> f32 {
    let c = shape.drift_rate;
    if (shape.drift == 1u) {
        return -c * coord_at(slot, j);
    }
    if (shape.drift == 2u) {
        if ((j & 1u) == 0u) {
            if (j + 1u < shape.land.dim) {
                return -c * coord_at(slot, j + 1u);
            }
            return 0.0;
        }
        return c * coord_at(slot, j - 1u);
    }
    return 0.0;
}

// v_{m,j} = (θ_{m+1,j} − θ_{m,j}) / Δt − f_j(θ_m) for the point at `slot`.
fn velocity(slot: i32, j: u32) -> f32 {
    return (coord_at(slot + 1, j) - coord_at(slot, j)) / shape.dt - drift_at(slot, j);
}

fn weight(p: PathPoint, m: u32) -> f32 {
    return exp(-p.gamma * f32(m) * shape.dt) / f32(shape.n);
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let lanes = shape.land.lanes;
    let dim = shape.land.dim;
    let nb = shape.land.nb;
    let ppw = shape.points_per_wg;
    let group = wid.x + wid.y * nwg.x;
    let path = min(group / shape.blocks, shape.n_paths - 1u);
    let live = group < shape.n_paths * shape.blocks;
    let block = group % shape.blocks;
    let slot = lid / lanes;
    let lane = lid % lanes;
    let m = block * ppw + slot;
    let point_ok = live && slot < ppw && m <= shape.n;
    let at = path * (shape.n + 1u) * dim;
    let base = slot * 4u * lanes;
    var valid = vec4<bool>(false, false, false, false);
    var th = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let j = coord(lane, k);
        valid[k] = point_ok && lane < nb && j < dim;
        if (valid[k]) {
            th[k] = theta[at + m * dim + j];
            sh_theta[base + j] = th[k];
            if (slot == 0u && m > 0u) {
                sh_prev[j] = theta[at + (m - 1u) * dim + j];
            }
            if (slot == ppw - 1u && m < shape.n) {
                sh_next[j] = theta[at + (m + 1u) * dim + j];
            }
        }
    }
    workgroupBarrier();
    let p = paths[path];
    let pt = Point(lane, slot, base, p.land, vec2<u32>(0u), 0u);
    let lg = loss_grad(pt, th, valid);
    let s = i32(slot);
    var share = 0.0;
    if (point_ok && m < shape.n) {
        var kinetic = 0.0;
        for (var k = 0u; k < 4u; k++) {
            if (valid[k]) {
                let j = coord(lane, k);
                let v = velocity(s, j);
                kinetic = kinetic + data[shape.off_g + j] * v * v;
            }
        }
        var loss = lg.loss;
        if (lane == 0u) {
            loss = loss + loss_offset();
        }
        share = weight(p, m) * (kinetic / (2.0 * p.eta) + p.k * loss);
    }
    let total = sum_over_lanes(lid, lid, WG, share);
    if (live && lid == 0u) {
        partial[group] = total;
    }
    let free = m > 0u && (m < shape.n || shape.free_end != 0u);
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            let j = coord(lane, k);
            var x = 0.0;
            if (free) {
                let g = data[shape.off_g + j];
                x = weight(p, m - 1u) * g * velocity(s - 1, j) / (p.eta * shape.dt);
                if (m < shape.n) {
                    // (J_fᵀ G v_m)_j: decay −j g_j v_j; rotation ±q on the partner.
                    var jt = 0.0;
                    if (shape.drift == 1u) {
                        jt = -shape.drift_rate * g * velocity(s, j);
                    } else if (shape.drift == 2u) {
                        if ((j & 1u) == 0u) {
                            if (j + 1u < dim) {
                                jt = shape.drift_rate * data[shape.off_g + j + 1u] * velocity(s, j + 1u);
                            }
                        } else {
                            jt = -shape.drift_rate * data[shape.off_g + j - 1u] * velocity(s, j - 1u);
                        }
                    }
                    x = x + weight(p, m) * (-(g * velocity(s, j) / shape.dt + jt) / p.eta + p.k * lg.g[k]);
                }
            }
            grad[at + m * dim + j] = x;
        }
    }
}
