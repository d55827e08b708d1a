// A plain copy shader with the same access pattern as the optimiser driver (a workgroup
// moves 1024 words, 4 per thread, strided): the ceiling a streaming kernel can reach.

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let base = (wid.x + wid.y * nwg.x) * 1024u;
    let n = arrayLength(&dst);
    for (var k = 0u; k < 4u; k++) {
        let i = base + k * 256u + lid;
        if (i < n) {
            dst[i] = src[i];
        }
    }
}
