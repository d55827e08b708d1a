// The pass before the update when clipping or the non-finite guard is on.
// `prepass`: per tile, the sum of g^2 (into partials[global]) and a flag on its group if
// any g is NaN or infinite. `finalize` (one workgroup): the global norm over tiles of
// unflagged groups, the clip scale, and the count of skipped groups.
// needs: optim/tiles.wgsl

@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> tiles: array<Tile>;
@group(0) @binding(4) var<storage, read_write> control: ClipControl;
@group(0) @binding(5) var<storage, read_write> skip: array<atomic<u32>>;
@group(0) @binding(9) var<storage, read_write> partials: array<f32>;
@group(0) @binding(10) var<storage, read> tile_groups: array<u32>;
@group(0) @binding(11) var<storage, read_write> skipped_total: array<u32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

var<workgroup> sums: array<f32, 256>;

fn tree_sum(lid: u32) {
    for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if (lid < stride) {
            sums[lid] = sums[lid] + sums[lid + stride];
        }
    }
    workgroupBarrier();
}

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(256)
fn prepass(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = wid.x + wid.y * nwg.x;
    if (t >= arrayLength(&tiles)) {
        return;
    }
    let tile = tiles[t];
    var s = 0.0;
    var bad = false;
    for (var k = 0u; k < PER_THREAD; k++) {
        let j = k * WG + lid;
        if (j < tile.len) {
            let g = grad[tile.start + j];
            s = s + g * g;
            bad = bad || !is_finite(g);
        }
    }
    if (bad) {
        atomicOr(&skip[tile.group], 1u);
    }
    sums[lid] = s;
    tree_sum(lid);
    if (lid == 0u) {
        partials[tile.global] = sums[0];
    }
}

@compute @workgroup_size(256)
fn finalize(@builtin(local_invocation_index) lid: u32) {
    let n = arrayLength(&partials);
    var s = 0.0;
    for (var i = lid; i < n; i += WG) {
        if (atomicLoad(&skip[tile_groups[i]]) == 0u) {
            s = s + partials[i];
        }
    }
    // Flagged groups, counted by every thread (a loop over all groups on one thread
    // would meet software adapters' per-invocation loop limits for large tables).
    var flagged = 0u;
    for (var g = lid; g < arrayLength(&skip); g += WG) {
        flagged += atomicLoad(&skip[g]);
    }
    sums[lid] = s;
    tree_sum(lid);
    let total = sums[0];
    workgroupBarrier();
    sums[lid] = f32(flagged);
    tree_sum(lid);
    if (lid == 0u) {
        if (control.clip != 0u) {
            control.scale = min(1.0, control.max_norm / (sqrt(total) + 1e-6));
        }
        skipped_total[0] = skipped_total[0] + u32(sums[0]);
    }
}
