//! The rule's MLP on the CPU, generic over the float type: its inputs for a trial, the
//! forward pass (plain and over φ transposed, skipping zero activations), the backward
//! pass and its gradient accumulation, and the choice's negative log-likelihood.

use super::data::Trial;
use super::net::{Net, INPUTS, K};
use crate::real::{dot, Real};

/// The rule's inputs for trial t.
#[inline(always)]
pub fn inputs<F: Real>(w: [F; K], t: &Trial) -> [F; INPUTS] {
    [
        w[0],
        w[1],
        F::c(t.stimulus),
        F::one(),
        if t.session_start { F::one() } else { F::zero() },
        F::c(t.choice as f64),
        F::c(t.reward as f64),
        F::c(t.correct as f64),
    ]
}

/// f_φ(input): the MLP's output (K), keeping each hidden layer's activations in `acts`.
#[inline(always)]
pub fn mlp<F: Real>(net: &Net, phi: &[F], input: &[F], acts: &mut [F]) -> [F; K] {
    let h = net.hidden;
    for l in 0..net.layers {
        let (n_in, n_out) = net.dims(l);
        let o = net.offset(l);
        let (w, b) = (
            &phi[o..o + n_in * n_out],
            &phi[o + n_in * n_out..o + n_in * n_out + n_out],
        );
        let (prev, rest) = acts.split_at_mut(l * h);
        let x: &[F] = if l == 0 { input } else { &prev[(l - 1) * h..] };
        for (j, a) in rest[..n_out].iter_mut().enumerate() {
            let z = b[j] + dot(&w[j * n_in..(j + 1) * n_in], x);
            *a = z.max(F::zero());
        }
    }
    output_layer(net, phi, input, acts)
}

/// The linear output layer (not transposed in either layout) from the last hidden
/// layer's activations (or the input, without hidden layers).
#[inline(always)]
fn output_layer<F: Real>(net: &Net, phi: &[F], input: &[F], acts: &[F]) -> [F; K] {
    let h = net.hidden;
    let o = net.offset(net.layers);
    let x = if net.layers == 0 {
        input
    } else {
        &acts[(net.layers - 1) * h..net.layers * h]
    };
    let n_in = net.dims(net.layers).0;
    std::array::from_fn(|k| {
        let row = &phi[o + k * n_in..o + (k + 1) * n_in];
        phi[o + K * n_in + k] + dot(row, x)
    })
}

/// φ's hidden-layer matrices transposed (in × out, row-major), biases and the rest as
/// in φ: the layout [`mlp_t`] reads.
pub fn transpose_into<F: Real>(net: &Net, phi: &[F], wt: &mut [F]) {
    wt.copy_from_slice(phi);
    for l in 0..net.layers {
        let (n_in, n_out) = net.dims(l);
        let o = net.offset(l);
        for j in 0..n_out {
            for i in 0..n_in {
                wt[o + i * n_out + j] = phi[o + j * n_in + i];
            }
        }
    }
}

/// Writes the indices of x's non-zero entries to the front of `idx` and returns their
/// count, without a branch per entry (half of a ReLU layer's outputs are zero, at
/// random: a branch on each would mispredict half the time).
#[inline(always)]
fn nonzero<F: Real>(x: &[F], idx: &mut [u32]) -> usize {
    let mut n = 0;
    for (i, &v) in x.iter().enumerate() {
        idx[n] = i as u32;
        n += usize::from(v != F::zero());
    }
    n
}

/// Layers up to this wide keep [`nonzero`]'s indices on the stack (zeroing room for
/// 1024 indices, `--hidden`'s most, cost more than a small layer's arithmetic).
const SMALL: usize = 256;

/// Room for `n` indices: `small` where it is enough, else `big` grown to `n`.
#[inline(always)]
fn index_buffer<'a>(small: &'a mut [u32; SMALL], big: &'a mut Vec<u32>, n: usize) -> &'a mut [u32] {
    if n <= SMALL {
        &mut small[..]
    } else {
        big.resize(n, 0);
        &mut big[..]
    }
}

/// Outputs a block of the hidden layer computes in registers.
const BLOCK: usize = 64;

/// [`mlp`] from the transposed φ of [`transpose_into`]: each hidden layer adds column i
/// of W times x_i to all its outputs at once (no horizontal sums) and skips the inputs
/// a ReLU left at zero, about half of them.
#[inline(always)]
pub fn mlp_t<F: Real>(net: &Net, wt: &[F], input: &[F], acts: &mut [F]) -> [F; K] {
    let h = net.hidden;
    for l in 0..net.layers {
        let (n_in, n_out) = net.dims(l);
        let o = net.offset(l);
        let w = &wt[o..o + n_in * n_out];
        let b = &wt[o + n_in * n_out..o + n_in * n_out + n_out];
        let (prev, rest) = acts.split_at_mut(l * h);
        let x: &[F] = if l == 0 { input } else { &prev[(l - 1) * h..] };
        let out = &mut rest[..n_out];
        let (mut small, mut big) = ([0u32; SMALL], Vec::new());
        let idx = index_buffer(&mut small, &mut big, n_in);
        let live = nonzero(&x[..n_in], idx);
        let mut j0 = 0;
        while j0 < n_out {
            let m = BLOCK.min(n_out - j0);
            let mut acc = [F::zero(); BLOCK];
            acc[..m].copy_from_slice(&b[j0..j0 + m]);
            for &i in &idx[..live] {
                let i = i as usize;
                let xi = x[i];
                let col = &w[i * n_out + j0..i * n_out + j0 + m];
                if m == BLOCK {
                    for k in 0..BLOCK {
                        acc[k] = acc[k] + col[k] * xi;
                    }
                } else {
                    for k in 0..m {
                        acc[k] = acc[k] + col[k] * xi;
                    }
                }
            }
            for k in 0..m {
                out[j0 + k] = acc[k].max(F::zero());
            }
            j0 += m;
        }
    }
    output_layer(net, wt, input, acts)
}

/// Backpropagates `d_out` (∂loss/∂f) through the MLP at one trial whose activations are
/// given: writes each layer's δ (∂loss/∂ its pre-activation, zero where the ReLU is
/// off; the output layer's is `d_out`) into `deltas` (`net.acts() + K` floats) and
/// writes ∂loss/∂ the MLP's first `d_input.len()` inputs to `d_input` (those on the
/// chain through time: w for the dnn, the GRU's state for the rnn). ∂loss/∂φ is left to
/// [`mlp_accumulate`], which sums δ ⊗ x over a whole window one layer at a time.
/// `scratch` holds 2 max(H, inputs) floats.
#[inline(always)]
pub fn mlp_backward<F: Real>(
    net: &Net,
    phi: &[F],
    acts: &[F],
    d_out: [F; K],
    deltas: &mut [F],
    scratch: &mut [F],
    d_input: &mut [F],
) {
    let h = net.hidden;
    let first = d_input.len();
    let (delta, next) = scratch.split_at_mut(h.max(net.mlp_inputs()));
    // ∂/∂x of layer l's input from its δ (`delta`), into `next`, a block of inputs at a
    // time in registers; layer 0 only its first K inputs.
    let input_grad = |l: usize, delta: &[F], next: &mut [F]| {
        let (n_in, n_out) = net.dims(l);
        let o = net.offset(l);
        let used = if l == 0 { first } else { n_in };
        let (mut small, mut big) = ([0u32; SMALL], Vec::new());
        let idx = index_buffer(&mut small, &mut big, n_out);
        let live = nonzero(&delta[..n_out], idx);
        let mut i0 = 0;
        while i0 < used {
            let m = BLOCK.min(used - i0);
            let mut acc = [F::zero(); BLOCK];
            for &j in &idx[..live] {
                let j = j as usize;
                let dj = delta[j];
                let row = &phi[o + j * n_in + i0..o + j * n_in + i0 + m];
                if m == BLOCK {
                    for k in 0..BLOCK {
                        acc[k] = acc[k] + row[k] * dj;
                    }
                } else {
                    for k in 0..m {
                        acc[k] = acc[k] + row[k] * dj;
                    }
                }
            }
            next[i0..i0 + m].copy_from_slice(&acc[..m]);
            i0 += m;
        }
    };
    let l = net.layers;
    deltas[l * h..l * h + K].copy_from_slice(&d_out);
    delta[..K].copy_from_slice(&d_out);
    input_grad(l, delta, next);
    // Hidden layers, last to first: δ through ReLU (its output > 0).
    for l in (0..net.layers).rev() {
        let out = &acts[l * h..(l + 1) * h];
        for (j, d) in deltas[l * h..(l + 1) * h].iter_mut().enumerate() {
            *d = if out[j] > F::zero() {
                next[j]
            } else {
                F::zero()
            };
        }
        delta[..h].copy_from_slice(&deltas[l * h..(l + 1) * h]);
        input_grad(l, delta, next);
    }
    d_input.copy_from_slice(&next[..first]);
}

/// Adds Σ_t δ_t ⊗ x_t (∂W) and Σ_t δ_t (∂b) over trials 0..n of a window to `grad`
/// (`inputs`: the MLP's input of each trial, `net.mlp_inputs()` floats each), layer by
/// layer, so that one layer's gradient stays in cache while the trials stream
/// past it (per trial, the whole of ∂φ would be touched every time).
#[inline(always)]
pub fn mlp_accumulate<F: Real>(
    net: &Net,
    inputs: &[F],
    acts: &[F],
    deltas: &[F],
    n: usize,
    grad: &mut [F],
) {
    let (h, na) = (net.hidden, net.acts());
    let nd = na + K;
    for l in 0..=net.layers {
        let (n_in, n_out) = net.dims(l);
        let o = net.offset(l);
        let (gw, gb) = grad[o..o + n_in * n_out + n_out].split_at_mut(n_in * n_out);
        for t in 0..n {
            let x: &[F] = if l == 0 {
                &inputs[t * n_in..(t + 1) * n_in]
            } else {
                &acts[t * na + (l - 1) * h..t * na + l * h]
            };
            let delta = &deltas[t * nd + l * h..t * nd + l * h + n_out];
            let (mut small, mut big) = ([0u32; SMALL], Vec::new());
            let idx = index_buffer(&mut small, &mut big, n_out);
            let live = nonzero(delta, idx);
            for &j in &idx[..live] {
                let j = j as usize;
                let dj = delta[j];
                gb[j] = gb[j] + dj;
                for (g, &xi) in gw[j * n_in..(j + 1) * n_in].iter_mut().zip(x) {
                    *g = *g + dj * xi;
                }
            }
        }
    }
}

#[inline(always)]
fn sigmoid<F: Real>(a: F) -> F {
    F::one() / (F::one() + (-a).exp())
}

/// −log p(y | a) for p = σ(a), computed stably, and its derivative p − y.
#[inline(always)]
pub fn nll<F: Real>(a: F, y: u8) -> (F, F) {
    // log(1 + e^a) − y a, with softplus written to neither overflow nor cancel.
    let softplus = a.max(F::zero()) + (F::one() + (-a.abs()).exp()).ln();
    let yf = F::c(y as f64);
    (softplus - yf * a, sigmoid(a) - yf)
}
