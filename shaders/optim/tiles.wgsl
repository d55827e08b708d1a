// The arena's tile table and control word, shared by the update kernels (arena.wgsl)
// and the clipping / non-finite pass (reduce.wgsl); src/optim/gpu.rs mirrors both.

struct Tile {
    start: u32,
    len: u32,
    group: u32,
    hyper: u32,
    global: u32,
}

struct ClipControl {
    // Gradient scale from global-norm clipping (1 when off), written by `finalize`.
    scale: f32,
    max_norm: f32,
    clip: u32,
    _pad: u32,
}
