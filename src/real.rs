//! The float types CPU code is written over: f64 for references, f32 for the CPU
//! device. Besides `num_traits::Float` they expose the bit-level split that the
//! vectorisable transcendental functions below need, so that noise on the CPU is drawn
//! with exactly the formulas the WGSL twin uses (`shaders/common/philox.wgsl`).

use num_traits::Float;

pub trait Real: Float + Send + Sync + std::fmt::Debug + Default + 'static {
    /// x = m * 2^e with m in [1, 2), for positive normal x; returns (m, e as a float).
    fn split_exp(self) -> (Self, Self);

    /// The value of a u32 below 2^24 (exact in both types), without the checked
    /// conversions of `NumCast`, which keep loops from vectorising.
    fn from_u24(x: u32) -> Self;

    #[inline(always)]
    fn c(x: f64) -> Self {
        Self::from(x).unwrap()
    }

    /// tanh: libm's for f64 (the references), a branch-free form for f32 that loops
    /// vectorise (relative error below 1e-6; libm's tanhf is a call per element).
    fn tanh_fast(self) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn from_u24(x: u32) -> f32 {
        x as f32
    }

    /// The odd series to x¹¹ for |x| < 0.3, else 1 − 2 / (e^{2|x|} + 1) with e^y = 2^k e^r,
    /// |r| ≤ ln 2 / 2, e^r by its series to r⁷; both computed, one kept.
    #[inline(always)]
    fn tanh_fast(self) -> f32 {
        let a = self.abs();
        let x2 = self * self;
        let series = self
            * (1.0
                + x2 * (-1.0 / 3.0
                    + x2 * (2.0 / 15.0
                        + x2 * (-17.0 / 315.0
                            + x2 * (62.0 / 2835.0 + x2 * (-1382.0 / 155925.0))))));
        // 2|x| ≤ 20 keeps 2^k normal; tanh is 1 in f32 from |x| ≈ 9 on.
        let y = (2.0 * a).min(20.0);
        let k = (y * std::f32::consts::LOG2_E + 0.5).floor();
        let r = (y - k * 0.693_145_75) - k * 1.428_606_8e-6;
        let er = 1.0
            + r * (1.0
                + r * (0.5
                    + r * (1.0 / 6.0
                        + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
        let e = er * f32::from_bits(((k as i32 + 127) as u32) << 23);
        let big = (1.0 - 2.0 / (e + 1.0)).copysign(self);
        if a < 0.3 {
            series
        } else {
            big
        }
    }

    #[inline(always)]
    fn split_exp(self) -> (f32, f32) {
        let b = self.to_bits();
        let e = ((b >> 23) & 0xff) as i32 - 127;
        (f32::from_bits((b & 0x007f_ffff) | 0x3f80_0000), e as f32)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn from_u24(x: u32) -> f64 {
        x as f64
    }

    #[inline(always)]
    fn tanh_fast(self) -> f64 {
        self.tanh()
    }

    #[inline(always)]
    fn split_exp(self) -> (f64, f64) {
        let b = self.to_bits();
        let e = ((b >> 52) & 0x7ff) as i64 - 1023;
        (
            f64::from_bits((b & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000),
            e as f64,
        )
    }
}

/// ln(x) for positive normal x by range reduction to m in [sqrt(1/2), sqrt(2)) and the
/// atanh series, relative error below 1e-9: branch-free, so loops over it vectorise.
/// Near x = 1 it keeps full relative precision (m - 1 is exact there).
#[inline(always)]
pub fn ln_poly<F: Real>(x: F) -> F {
    let (m, e) = x.split_exp();
    let big = m > F::c(std::f64::consts::SQRT_2);
    let m = if big { m * F::c(0.5) } else { m };
    let e = if big { e + F::one() } else { e };
    let z = (m - F::one()) / (m + F::one());
    let z2 = z * z;
    let series = F::one()
        + z2 * (F::c(1.0 / 3.0)
            + z2 * (F::c(0.2)
                + z2 * (F::c(1.0 / 7.0) + z2 * (F::c(1.0 / 9.0) + z2 * F::c(1.0 / 11.0)))));
    e * F::c(std::f64::consts::LN_2) + F::c(2.0) * z * series
}

/// (sin y, cos y) for |y| <= pi/2 by their Taylor series to the y^13 and y^14 terms
/// (error below 1e-9), branch-free.
#[inline(always)]
pub fn sincos_poly<F: Real>(y: F) -> (F, F) {
    let y2 = y * y;
    let s = y
        * (F::one()
            - y2 * F::c(1.0 / 6.0)
                * (F::one()
                    - y2 * F::c(1.0 / 20.0)
                        * (F::one()
                            - y2 * F::c(1.0 / 42.0)
                                * (F::one()
                                    - y2 * F::c(1.0 / 72.0)
                                        * (F::one()
                                            - y2 * F::c(1.0 / 110.0)
                                                * (F::one() - y2 * F::c(1.0 / 156.0)))))));
    let c = F::one()
        - y2 * F::c(0.5)
            * (F::one()
                - y2 * F::c(1.0 / 12.0)
                    * (F::one()
                        - y2 * F::c(1.0 / 30.0)
                            * (F::one()
                                - y2 * F::c(1.0 / 56.0)
                                    * (F::one()
                                        - y2 * F::c(1.0 / 90.0)
                                            * (F::one()
                                                - y2 * F::c(1.0 / 132.0)
                                                    * (F::one() - y2 * F::c(1.0 / 182.0)))))));
    (s, c)
}

/// a · b with eight partial sums, so the loop vectorises (one running sum would pin
/// the order of the additions).
#[inline(always)]
pub fn dot<F: Real>(a: &[F], b: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let n = a.len().min(b.len()) / 8 * 8;
    for (x, y) in a[..n].chunks_exact(8).zip(b[..n].chunks_exact(8)) {
        for k in 0..8 {
            acc[k] = acc[k] + x[k] * y[k];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for i in n..a.len().min(b.len()) {
        s = s + a[i] * b[i];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomials_match_libm() {
        for i in 1..10_000 {
            let x = i as f64 / 10_000.0;
            assert!(
                (ln_poly(x) - x.ln()).abs() <= 2e-9 * x.ln().abs().max(1e-300),
                "ln {x}"
            );
            let xf = x as f32;
            assert!(
                (ln_poly(xf) as f64 - (xf as f64).ln()).abs()
                    <= 4e-7 * (xf as f64).ln().abs() + 1e-9,
                "ln f32 {x}"
            );
            let y = (x - 0.5) * std::f64::consts::PI;
            let (s, c) = sincos_poly(y);
            assert!(
                (s - y.sin()).abs() < 1e-9 && (c - y.cos()).abs() < 1e-9,
                "sincos {y}"
            );
        }
        for i in -40_000..=40_000 {
            let x = i as f32 / 2_000.0;
            let (got, want) = (x.tanh_fast() as f64, (x as f64).tanh());
            assert!(
                (got - want).abs() <= 1e-6 * want.abs(),
                "tanh {x}: {got} vs {want}"
            );
        }
        let near_one = 1.0 - 3.0 * 2f64.powi(-23);
        assert!((ln_poly(near_one) / near_one.ln() - 1.0).abs() < 1e-12);
    }
}
