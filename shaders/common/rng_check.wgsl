// Writes Philox words and normal samples for counters (i, c1, c2, c3), so that tests and
// `rulelab check` can compare them with the Rust generator.
// needs: common/philox.wgsl

struct RngParams {
    key: vec2<u32>,
    c1: u32,
    c2: u32,
    c3: u32,
    n: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: RngParams;
@group(0) @binding(1) var<storage, read_write> words: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> normals: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= params.n) {
        return;
    }
    let bits = philox4x32_10(vec4<u32>(i, params.c1, params.c2, params.c3), params.key);
    words[i] = bits;
    normals[i] = normals4(bits);
}
