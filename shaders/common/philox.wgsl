// Philox4x32-10 (Salmon et al. 2011), the counter-based generator rulelab uses on every
// backend. src/rng.rs is its Rust twin; tests/rng.rs proves the two agree bit for bit.
// A draw is keyed by (seed -> key) and a counter of stream ids, so results never depend
// on which thread, chunk or shard computed them.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High and low 32 bits of the 64-bit product a*b (WGSL has no 64-bit integers).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox4x32_10(counter: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key_in;
    for (var round = 0u; round < 10u; round++) {
        let p0 = mulhilo(PHILOX_M0, c.x);
        let p1 = mulhilo(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
    }
    return c;
}

// Uniform in the open interval (0, 1): (top 23 bits + 1/2) / 2^23, exact in f32.
fn uniform_open(bits: u32) -> f32 {
    return (f32(bits >> 9u) + 0.5) * 1.1920928955078125e-7;
}

// ln(u) for u in (0, 1), accurate to f32 relative precision everywhere. Near u = 1 the
// platform log may carry an absolute error of 2^-21 (Vulkan allows it), which would
// swamp ln(u) ~ -(1 - u); there the series of ln(1 - x), x = 1 - u (exact), is used.
fn log_open(u: f32) -> f32 {
    let x = 1.0 - u;
    if (x < 0.015625) {
        return -x * (1.0 + x * (0.5 + x * (0.3333333333 + x * (0.25 + x * (0.2 + x * 0.1666666667)))));
    }
    return log(u);
}

// Box-Muller on two words. The angle is taken in (-pi, pi), where the GPU's sin and cos
// are most accurate; cos(2 pi u) = -cos(2 pi (u - 1/2)) keeps the textbook values.
fn normal_pair(b0: u32, b1: u32) -> vec2<f32> {
    let r = sqrt(-2.0 * log_open(uniform_open(b0)));
    let a = 6.283185307179586 * (uniform_open(b1) - 0.5);
    return vec2<f32>(-r * cos(a), -r * sin(a));
}

fn normals4(bits: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(normal_pair(bits.x, bits.y), normal_pair(bits.z, bits.w));
}
