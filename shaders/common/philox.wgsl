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

// ln(x) for positive normal x: range reduction to m in [sqrt(1/2), sqrt(2)) and the
// atanh series; the same formula as ln_poly in src/real.rs. Near x = 1 it keeps full
// relative precision, where a platform log may carry an absolute error of 2^-21.
fn ln_poly(x: f32) -> f32 {
    let b = bitcast<u32>(x);
    var e = f32(i32((b >> 23u) & 0xffu) - 127);
    var m = bitcast<f32>((b & 0x007fffffu) | 0x3f800000u);
    let big = m > 1.4142135623730951;
    m = select(m, m * 0.5, big);
    e = select(e, e + 1.0, big);
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let series = 1.0 + z2 * (0.3333333333333333 + z2 * (0.2 + z2 * (0.14285714285714285 + z2 * (0.1111111111111111 + z2 * 0.09090909090909091))));
    return e * 0.6931471805599453 + 2.0 * z * series;
}

// (sin y, cos y) for |y| <= pi/2 by Taylor series, as sincos_poly in src/real.rs.
fn sincos_poly(y: f32) -> vec2<f32> {
    let y2 = y * y;
    let s = y * (1.0 - y2 * 0.16666666666666666 * (1.0 - y2 * 0.05 * (1.0 - y2 * 0.023809523809523808 * (1.0 - y2 * 0.013888888888888888 * (1.0 - y2 * 0.00909090909090909 * (1.0 - y2 * 0.00641025641025641))))));
    let c = 1.0 - y2 * 0.5 * (1.0 - y2 * 0.08333333333333333 * (1.0 - y2 * 0.03333333333333333 * (1.0 - y2 * 0.017857142857142856 * (1.0 - y2 * 0.011111111111111112 * (1.0 - y2 * 0.007575757575757576 * (1.0 - y2 * 0.005494505494505495))))));
    return vec2<f32>(s, c);
}

// Box-Muller on two words: r = sqrt(-2 ln u0) and the angle 2 pi (u1 - 1/2), from half
// the angle y in (-pi/2, pi/2): sin 2y = 2 s c, cos 2y = c^2 - s^2.
fn normal_pair(b0: u32, b1: u32) -> vec2<f32> {
    let r = sqrt(-2.0 * ln_poly(uniform_open(b0)));
    let sc = sincos_poly(3.141592653589793 * (uniform_open(b1) - 0.5));
    return vec2<f32>(-r * (sc.y * sc.y - sc.x * sc.x), -r * (2.0 * sc.x * sc.y));
}

fn normals4(bits: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(normal_pair(bits.x, bits.y), normal_pair(bits.z, bits.w));
}
