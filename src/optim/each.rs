//! The loops every member's update runs in: zipped slices of parameters, gradient and
//! states, element by element, over chunks in parallel with rayon (or inline for a few
//! coordinates).

use super::Consts;
use crate::real::Real;
use rayon::prelude::*;

/// Elements per parallel task: large enough to amortise scheduling, small enough to
/// balance two to hundreds of cores.
const CHUNK: usize = 1 << 15;

// The element functions receive the constants as arguments that each chunk copies into
// locals first. A closure that captured them by reference instead made LLVM reload them
// for every element (it cannot prove the stores to theta leave them alone), which
// halved the bandwidth.

#[inline(always)]
pub fn each1<F: Real>(
    t: &mut [F],
    g: &[F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F]| {
        let (c, scale) = (*c, scale);
        for (t, &g) in t.iter_mut().zip(g) {
            f(t, g * scale, &c)
        }
    };
    if t.len() <= CHUNK {
        // One learner's few coordinates (landscape sweeps): no task to schedule.
        return run(t, g);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .for_each(|(t, g)| run(t, g));
}

#[inline(always)]
pub fn each2<F: Real>(
    t: &mut [F],
    g: &[F],
    a: &mut [F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &mut F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F], a: &mut [F]| {
        let (c, scale) = (*c, scale);
        for ((t, &g), a) in t.iter_mut().zip(g).zip(a.iter_mut()) {
            f(t, g * scale, a, &c)
        }
    };
    if t.len() <= CHUNK {
        return run(t, g, a);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .for_each(|((t, g), a)| run(t, g, a));
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn each3<F: Real>(
    t: &mut [F],
    g: &[F],
    a: &mut [F],
    b: &mut [F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &mut F, &mut F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F], a: &mut [F], b: &mut [F]| {
        let (c, scale) = (*c, scale);
        for (((t, &g), a), b) in t.iter_mut().zip(g).zip(a.iter_mut()).zip(b.iter_mut()) {
            f(t, g * scale, a, b, &c)
        }
    };
    if t.len() <= CHUNK {
        return run(t, g, a, b);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .zip(b.par_chunks_mut(CHUNK))
        .for_each(|(((t, g), a), b)| run(t, g, a, b));
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
#[inline(always)]
pub fn each4<F: Real>(
    t: &mut [F],
    g: &[F],
    a: &mut [F],
    b: &mut [F],
    d: &mut [F],
    c: &Consts<F>,
    scale: F,
    f: impl Fn(&mut F, F, &mut F, &mut F, &mut F, &Consts<F>) + Sync,
) {
    let run = |t: &mut [F], g: &[F], a: &mut [F], b: &mut [F], d: &mut [F]| {
        let (c, scale) = (*c, scale);
        for ((((t, &g), a), b), d) in t
            .iter_mut()
            .zip(g)
            .zip(a.iter_mut())
            .zip(b.iter_mut())
            .zip(d.iter_mut())
        {
            f(t, g * scale, a, b, d, &c)
        }
    };
    if t.len() <= CHUNK {
        return run(t, g, a, b, d);
    }
    t.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .zip(b.par_chunks_mut(CHUNK))
        .zip(d.par_chunks_mut(CHUNK))
        .for_each(|((((t, g), a), b), d)| run(t, g, a, b, d));
}
