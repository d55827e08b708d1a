// The multi-tensor driver shared by every member. One workgroup updates one tile: up to
// 1024 consecutive parameters of one group (4 per thread, strided so that each load
// instruction of the workgroup touches consecutive words). The host cuts the group
// table into tiles, and the arena into windows that fit one storage binding; `start` is
// relative to the bound window.
//
// Slots: one of optim/states{0,1,2,3}.wgsl (the parameter and state bindings 0, 6, 7,
// 8 with `load` and `store`) and a member file (`fn step`).
// needs: optim/consts.wgsl, optim/tiles.wgsl

@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> consts: array<Consts>;
@group(0) @binding(3) var<storage, read> tiles: array<Tile>;
@group(0) @binding(4) var<storage, read> control: ClipControl;
@group(0) @binding(5) var<storage, read> skip: array<u32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = wid.x + wid.y * nwg.x;
    if (t >= arrayLength(&tiles)) {
        return;
    }
    let tile = tiles[t];
    if (skip[tile.group] != 0u) {
        return;
    }
    let c = consts[tile.hyper];
    let scale = control.scale;
    for (var k = 0u; k < PER_THREAD; k++) {
        let j = k * WG + lid;
        if (j < tile.len) {
            let i = tile.start + j;
            store(i, step(load(i), grad[i] * scale, c));
        }
    }
}
