// A landscape's loss and gradient at given points: the second driver of the landscape
// interface (loss/point.wgsl), beside the sweep. One dispatch evaluates a batch
// of points, `lanes` threads per point as the interface lays them out; checks use it,
// and so can any program that needs L and ∇L of a landscape on the GPU.
//
// Slot: a landscape file (loss_grad, loss_offset).
// needs: loss/point.wgsl, loss/slots.wgsl, loss/lanes.wgsl

struct PointsShape {
    land: Land,
    n_points: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> shape: PointsShape;
@group(0) @binding(1) var<storage, read> params: array<LandParams>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
// The points, dim coordinates each.
@group(0) @binding(3) var<storage, read> theta: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

const WG: u32 = 256u;

var<workgroup> sh_theta: array<f32, 1024>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    // Landscapes without shared data never read `data`; naming it keeps the binding in
    // the pipeline's layout, so every landscape binds the same six buffers.
    _ = arrayLength(&data);
    let lanes = shape.land.lanes;
    let dim = shape.land.dim;
    let nb = shape.land.nb;
    let slot = lid / lanes;
    let lane = lid % lanes;
    let index = (wid.x + wid.y * nwg.x) * (WG / lanes) + slot;
    let live = index < shape.n_points;
    let at = min(index, shape.n_points - 1u) * dim;
    let base = slot * lanes * 4u;
    var valid = vec4<bool>(false, false, false, false);
    var th = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) {
        let j = coord(lane, k);
        valid[k] = lane < nb && j < dim;
        if (valid[k]) {
            th[k] = theta[at + j];
            sh_theta[base + j] = th[k];
        }
    }
    workgroupBarrier();
    let pt = Point(lane, slot, base, params[min(index, shape.n_points - 1u)], vec2<u32>(0u), 0u);
    let lg = loss_grad(pt, th, valid);
    let total = sum_over_lanes(lid, lane, lanes, select(0.0, lg.loss, lane < nb));
    if (!live) {
        return;
    }
    if (lane == 0u) {
        loss[index] = total + loss_offset();
    }
    for (var k = 0u; k < 4u; k++) {
        if (valid[k]) {
            grad[at + coord(lane, k)] = lg.g[k];
        }
    }
}
