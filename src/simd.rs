//! Compiling hot CPU loops for the vector units the machine has.
//!
//! rulelab's CPU code is plain Rust over slices that LLVM vectorises; built for the
//! x86-64 baseline it gets 4-lane SSE. Functions that are compute-bound (the sweep's
//! learner loop, where the noise generator dominates) are compiled three times through
//! [`multiversion!`](crate::multiversion) and the widest the CPU supports is chosen at
//! run time: AVX-512 (16 lanes), AVX2 (8) or the baseline. IEEE operations round the
//! same at any width and Rust never fuses a * b + c on its own, so results do not
//! depend on the choice (`RULELAB_SIMD=baseline|avx2` caps the width; the tests use it
//! to show that).

use std::sync::OnceLock;

/// 2: AVX-512, 1: AVX2, 0: baseline; what the CPU has, capped by `RULELAB_SIMD`.
fn width() -> u8 {
    static WIDTH: OnceLock<u8> = OnceLock::new();
    *WIDTH.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let has = if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            2
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            1
        } else {
            0
        };
        #[cfg(not(target_arch = "x86_64"))]
        let has = 0;
        let cap = match std::env::var("RULELAB_SIMD").as_deref() {
            Ok("baseline") => 0,
            Ok("avx2") => 1,
            _ => 2,
        };
        has.min(cap)
    })
}

/// True where the CPU has the AVX-512 subsets the wide variant is compiled for.
#[inline]
pub fn has_avx512() -> bool {
    width() >= 2
}

/// True where the CPU has AVX2 and FMA (the 8-lane variant).
#[inline]
pub fn has_avx2() -> bool {
    width() >= 1
}

/// The widest vector extension in use: "avx512", "avx2" or "baseline".
pub fn level() -> &'static str {
    if has_avx512() {
        "avx512"
    } else if has_avx2() {
        "avx2"
    } else {
        "baseline"
    }
}

/// `multiversion!(pub fn name<F: Real>(a: A, b: B) -> R = inner);` defines `name`, which
/// calls the `#[inline(always)]` function `inner` compiled for AVX-512, AVX2 or the
/// baseline, whichever the CPU has. Everything `inner` calls must be inlined into it to
/// be widened too.
#[macro_export]
macro_rules! multiversion {
    ($(#[$doc:meta])* $vis:vis fn $name:ident<$g:ident: $bound:path>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $inner:path;) => {
        $(#[$doc])*
        $vis fn $name<$g: $bound>($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
                unsafe fn wide512<$g: $bound>($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide256<$g: $bound>($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                if $crate::simd::has_avx512() {
                    // SAFETY: the CPU supports every feature wide512 is compiled for.
                    return unsafe { wide512($($arg),*) };
                }
                if $crate::simd::has_avx2() {
                    // SAFETY: as above, for wide256.
                    return unsafe { wide256($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}
