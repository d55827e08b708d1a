//! Philox4x32-10, the counter-based generator shared by every backend. The WGSL twin is
//! `shaders/common/philox.wgsl`; both produce identical u32 words for a (counter, key)
//! pair, so a learner's noise is the same on the GPU, on the CPU device and in the f64
//! reference, however the work is chunked or sharded.
//!
//! Counter layout used across rulelab: `[index, step, stream, purpose]`, where index is
//! the learner or element, step the time step, stream a second id (a coordinate block,
//! a group) and purpose separates draws made for different reasons.

use crate::error::Result;
use crate::gpu::{Gpu, Kernel};
use crate::real::{ln_poly, sincos_poly, Real};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// Ten Philox rounds over `counter` with `key`.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for _ in 0..10 {
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

/// The key for a 64-bit seed.
pub fn key_from_seed(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Uniform in (0, 1): (top 23 bits + 1/2) / 2^23, exact in f32 and in f64.
#[inline(always)]
pub fn uniform_open<F: Real>(bits: u32) -> F {
    (F::from_u24(bits >> 9) + F::c(0.5)) * F::c(1.0 / 8_388_608.0)
}

/// Box-Muller on two words: r = sqrt(-2 ln u0), angle 2 pi (u1 - 1/2) in (-pi, pi),
/// with the branch-free polynomial ln, sin and cos of [`crate::real`] (the WGSL twin uses
/// the same formulas, so both backends draw the same samples to f32 round-off, and the
/// CPU loops over them vectorise).
#[inline(always)]
pub fn normal_pair<F: Real>(b0: u32, b1: u32) -> (F, F) {
    let r = (F::c(-2.0) * ln_poly(uniform_open::<F>(b0))).sqrt();
    // Half the angle, y in (-pi/2, pi/2): sin 2y = 2 s c, cos 2y = c^2 - s^2.
    let y = F::c(std::f64::consts::PI) * (uniform_open::<F>(b1) - F::c(0.5));
    let (s, c) = sincos_poly(y);
    (-r * (c * c - s * s), -r * (F::c(2.0) * s * c))
}

/// Four standard normal samples from one Philox block.
#[inline]
pub fn normals4<F: Real>(bits: [u32; 4]) -> [F; 4] {
    let (a, b) = normal_pair(bits[0], bits[1]);
    let (c, d) = normal_pair(bits[2], bits[3]);
    [a, b, c, d]
}

/// Standard normals for the coordinates 0..out.len() of one draw (a learner's gradient
/// noise at one step, say). With nb = ceil(len / 4) blocks, block b is drawn at counter
/// [b, step, stream, purpose] and its word k goes to coordinate k * nb + b. The WGSL
/// kernels draw the same way (one block per thread, its four coordinates nb apart);
/// this layout lets the CPU draw all blocks at once in structure-of-arrays form, so
/// both the Philox rounds and Box-Muller vectorise.
pub fn fill_normals<F: Real>(key: [u32; 2], step: u32, stream: u32, purpose: u32, out: &mut [F]) {
    let nb = out.len().div_ceil(4);
    let mut words: [Vec<u32>; 4] = [vec![0; nb], vec![0; nb], vec![0; nb], vec![0; nb]];
    let mut z = vec![F::zero(); 4 * nb];
    draw_normals(key, step, stream, purpose, &mut words, &mut z);
    out.copy_from_slice(&z[..out.len()]);
}

/// [`fill_normals`] into caller-owned scratch, for hot loops: `words` holds nb blocks
/// per array and `out` 4 nb samples.
#[inline(always)]
pub fn draw_normals<F: Real>(
    key: [u32; 2],
    step: u32,
    stream: u32,
    purpose: u32,
    words: &mut [Vec<u32>; 4],
    out: &mut [F],
) {
    words[0]
        .iter_mut()
        .enumerate()
        .for_each(|(b, w)| *w = b as u32);
    words[1].fill(step);
    words[2].fill(stream);
    words[3].fill(purpose);
    philox_blocks(words, key);
    normals_blocks(words, out);
}

/// Ten Philox rounds over blocks held as four word arrays (structure of arrays).
#[inline(always)]
pub fn philox_blocks(w: &mut [Vec<u32>; 4], key: [u32; 2]) {
    let [c0, c1, c2, c3] = w;
    let mut k = key;
    for _ in 0..10 {
        for (((c0, c1), c2), c3) in c0
            .iter_mut()
            .zip(c1.iter_mut())
            .zip(c2.iter_mut())
            .zip(c3.iter_mut())
        {
            let p0 = M0 as u64 * *c0 as u64;
            let p1 = M1 as u64 * *c2 as u64;
            let n0 = (p1 >> 32) as u32 ^ *c1 ^ k[0];
            let n2 = (p0 >> 32) as u32 ^ *c3 ^ k[1];
            *c0 = n0;
            *c1 = p1 as u32;
            *c2 = n2;
            *c3 = p0 as u32;
        }
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
}

/// Box-Muller over blocks: word pairs (0, 1) and (2, 3) of block b give the samples at
/// b, nb + b, 2 nb + b and 3 nb + b of `out` (length 4 nb).
#[inline(always)]
pub fn normals_blocks<F: Real>(w: &[Vec<u32>; 4], out: &mut [F]) {
    let nb = w[0].len();
    let (z0, rest) = out.split_at_mut(nb);
    let (z1, rest) = rest.split_at_mut(nb);
    let (z2, z3) = rest.split_at_mut(nb);
    for (((a, b), z0), z1) in w[0].iter().zip(&w[1]).zip(z0.iter_mut()).zip(z1.iter_mut()) {
        (*z0, *z1) = normal_pair(*a, *b);
    }
    for (((a, b), z2), z3) in w[2].iter().zip(&w[3]).zip(z2.iter_mut()).zip(z3.iter_mut()) {
        (*z2, *z3) = normal_pair(*a, *b);
    }
}

/// Draws words and normals on the device for comparison with this generator.
pub fn check_kernel() -> Kernel {
    Kernel::new("rng_check", "main", &["common/rng_check.wgsl"])
}

crate::gpu_struct! {
    /// The check kernel's uniform.
    pub struct RngParams {
        pub key: [u32; 2],
        pub c1: u32,
        pub c2: u32,
        pub c3: u32,
        pub n: u32,
        pub _pad0: u32,
        pub _pad1: u32,
    }
}

/// Words and normal samples drawn on the adapter, one block of four per counter.
pub type Draws = (Vec<[u32; 4]>, Vec<[f32; 4]>);

/// Runs the WGSL generator on the adapter for counters `(i, c1, c2, c3)`, i < n, and
/// returns its words and normal samples. Outputs are poisoned before the kernel runs.
pub fn gpu_draw(gpu: &Gpu, key: [u32; 2], c: [u32; 3], n: u32) -> Result<Draws> {
    let params = RngParams {
        key,
        c1: c[0],
        c2: c[1],
        c3: c[2],
        n,
        _pad0: 0,
        _pad1: 0,
    };
    let uniform = gpu.uniform("rng params", &params)?;
    let words = gpu.zeros::<[u32; 4]>("rng words", n as usize)?;
    let normals = gpu.zeros::<[f32; 4]>("rng normals", n as usize)?;
    gpu.fill(&words, [0xDEAD_BEEF; 4])?;
    gpu.fill(&normals, [f32::NAN; 4])?;
    let pipeline = gpu.pipeline(&check_kernel())?;
    let bind = gpu.bind_group(
        &pipeline,
        &[
            (0, uniform.as_entire_binding()),
            (1, words.buffer.as_entire_binding()),
            (2, normals.buffer.as_entire_binding()),
        ],
    )?;
    gpu.dispatch_and_wait("rng check", &pipeline, &bind, n.div_ceil(64))?;
    Ok((gpu.download(&words)?, gpu.download(&normals)?))
}

/// The same draws by the CPU device: words through the vectorised block generator,
/// normals through the f32 Box-Muller the sweeps use.
pub fn cpu_draw(key: [u32; 2], c: [u32; 3], n: u32) -> Draws {
    let n = n as usize;
    let mut words: [Vec<u32>; 4] = [
        (0..n as u32).collect(),
        vec![c[0]; n],
        vec![c[1]; n],
        vec![c[2]; n],
    ];
    philox_blocks(&mut words, key);
    let mut z = vec![0.0f32; 4 * n];
    normals_blocks(&words, &mut z);
    (
        (0..n)
            .map(|i| [words[0][i], words[1][i], words[2][i], words[3][i]])
            .collect(),
        (0..n)
            .map(|i| [z[i], z[n + i], z[2 * n + i], z[3 * n + i]])
            .collect(),
    )
}

/// `rulelab check --family rng`: the generator on the backend (the WGSL twin on a GPU,
/// the vectorised f32 path on the CPU device) against the scalar f64 reference.
pub fn cases() -> Vec<crate::check::Case> {
    use crate::check::{compare, Case, Row, Tolerance, NORMAL_TOLERANCE};
    vec![Case::new("rng", "philox4x32_10", |backend, seed| {
        let n = 4099;
        let key = key_from_seed(seed);
        let c = [seed as u32 ^ 0x55, 7, 3];
        let (words, normals) = match backend {
            crate::gpu::Backend::Gpu(gpu) => gpu_draw(gpu, key, c, n)?,
            crate::gpu::Backend::Cpu => cpu_draw(key, c, n),
        };
        let mut got_bits = Vec::new();
        let mut want_bits = Vec::new();
        let mut got_z = Vec::new();
        let mut want_z = Vec::new();
        for i in 0..n {
            let w = philox4x32_10([i, c[0], c[1], c[2]], key);
            want_bits.extend(w.iter().map(|&b| b as f64));
            got_bits.extend(words[i as usize].iter().map(|&b| b as f64));
            want_z.extend(normals4::<f64>(w));
            got_z.extend(normals[i as usize]);
        }
        Ok(vec![
            Row {
                family: "rng",
                kernel: "philox4x32_10 words".into(),
                size: want_bits.len(),
                report: compare(&got_bits, &want_bits, Tolerance::new(0.0, 0.0)),
            },
            Row {
                family: "rng",
                kernel: "philox normals".into(),
                size: want_z.len(),
                report: compare(&got_z, &want_z, NORMAL_TOLERANCE),
            },
        ])
    })]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-answer vectors from the Philox authors' Random123 distribution (kat_vectors).
    #[test]
    fn known_answers() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn block_draws_match_scalar_philox() {
        let key = key_from_seed(0xDEAD_BEEF_1234);
        let mut out = vec![0.0f64; 10];
        fill_normals(key, 5, 2, 9, &mut out);
        let nb = 3;
        for (j, &z) in out.iter().enumerate() {
            let (b, k) = (j % nb, j / nb);
            let want = normals4::<f64>(philox4x32_10([b as u32, 5, 2, 9], key))[k];
            assert_eq!(z, want, "coordinate {j}");
        }
    }

    #[test]
    fn normals_have_unit_moments() {
        let n = 200_000u32;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for i in 0..n {
            for z in normals4::<f64>(philox4x32_10([i, 1, 2, 3], key_from_seed(9))) {
                s1 += z;
                s2 += z * z;
            }
        }
        let m = 4.0 * n as f64;
        assert!((s1 / m).abs() < 5.0 / m.sqrt(), "mean {}", s1 / m);
        assert!((s2 / m - 1.0).abs() < 0.01, "var {}", s2 / m);
    }
}
