// The landscape interface: everything a landscape's loss and gradient may read, and
// the three functions a driver that calls them must define. A landscape file reads
// nothing else, so any driver (the sweep, the point evaluator, a path optimiser) can
// compose it.
//
// A point is evaluated by `lanes` threads together: lane b holds the point's four
// coordinates j = k * nb + b (k = 0..3, j < dim) in registers, and every lane can read
// every coordinate of the point through `point_coord` (the driver keeps them in
// workgroup memory). `loss_grad` returns the lane's share of the loss and the gradient
// of its four coordinates.
//
// Defined by the driver (loss/slots.wgsl defines them for a driver that keeps the
// record at shape.land, the data in `data` and the points in `sh_theta`):
//   fn land() -> Land                        the landscape's shape and data offsets
//   fn land_data(i: u32) -> f32              word i of the shared data
//   fn point_coord(pt: Point, j: u32) -> f32 coordinate j of the point
// Defined by each landscape file:
//   fn loss_grad(pt: Point, th: vec4<f32>, valid: vec4<bool>) -> LossGrad
//   fn loss_offset() -> f32                  a constant added to the reduced loss
//   fn stochastic_grad(pt: Point, valid: vec4<bool>, g: vec4<f32>) -> vec4<f32>
//                                            the gradient a rule sees (a minibatch's)
// needs: common/philox.wgsl

// Counter purposes of a learner's random draws (word 3), as src/loss/mod.rs.
const PURPOSE_INIT: u32 = 1u;
const PURPOSE_NOISE: u32 = 2u;
const PURPOSE_MINIBATCH: u32 = 3u;

struct Land {
    dim: u32,
    // Blocks of four coordinates, ceil(dim / 4), and threads per point (a power of
    // two >= nb).
    nb: u32,
    lanes: u32,
    // Offsets (in f32 words) into the shared data: curvature rows (dim each), the
    // dense quadratic form, the teacher's samples.
    off_curv: u32,
    off_dense_a: u32,
    off_dense_mu: u32,
    l_min: f32,
    off_x: u32,
    off_y: u32,
    d_in: u32,
    hidden: u32,
    samples: u32,
    minibatch: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// One point's landscape numbers.
struct LandParams {
    // The optimum of quadratics.
    mu: f32,
    // Double-well coefficients.
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    // Row of the shared data holding this point's curvature (spectrum or Hessian
    // diagonal).
    curv_row: u32,
}

// The calling thread and the point it evaluates.
struct Point {
    lane: u32,
    // The point's index among the points a workgroup evaluates together.
    slot: u32,
    // The point's first coordinate in the driver's coordinate storage.
    base: u32,
    p: LandParams,
    // The learner's random key and step (minibatch draws).
    key: vec2<u32>,
    t: u32,
}

struct LossGrad {
    // This lane's share of the point's loss.
    loss: f32,
    g: vec4<f32>,
}

fn coord(lane: u32, k: u32) -> u32 {
    return k * land().nb + lane;
}

fn curvature(pt: Point, j: u32) -> f32 {
    return land_data(land().off_curv + pt.p.curv_row * land().dim + j);
}
