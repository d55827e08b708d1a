//! The rnn model (spec §2, RNNGLM): a GRU of G units reads the rule's inputs of each
//! trial and an MLP maps its state to the weight change, so the rule can depend on the
//! animal's history:
//!
//! ```text
//! h_{t+1} = GRU(h_t, x_t),  x_t = (w_t, s_t, 1, d_t, y_t, r_t, z_t),  h_0 = 0
//! w_{t+1} = w_t + c ⊙ MLP(h_{t+1})
//! ```
//!
//! with PyTorch's GRU (σ the logistic function):
//!
//! ```text
//! r  = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z  = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! Its parameters open φ in PyTorch's order: W_i (3G × INPUTS, rows r, z, n), W_h
//! (3G × G), b_i (3G), b_h (3G); the MLP and c follow as for the dnn
//! ([`super::net::Net`]). Truncated BPTT detaches h with w every `trunc` trials. Like
//! the dnn, the code is generic over the float type: f64 for references and gradient
//! tests, f32 for the CPU device.

use super::mlp::mlp;
use super::net::{Net, INPUTS, K};
use crate::real::{dot, Real};

/// The most GRU units the CPU model takes (`--gru`).
pub const MAX_GRU: usize = 256;

/// Offsets in φ of W_i, W_h, b_i, b_h.
fn parts(g: usize) -> (usize, usize, usize, usize) {
    let wh = 3 * g * INPUTS;
    let bi = wh + 3 * g * g;
    (0, wh, bi, bi + 3 * g)
}

/// What the rnn keeps per window besides the MLP's tape (in [`Window`](super::model::Window)).
pub struct Tape<F> {
    /// The state carried from window to window (detached at each start).
    pub(super) h: Vec<F>,
    /// W_i and W_h transposed (INPUTS × 3G, then G × 3G): the forward pass adds one
    /// column per input to all 3G gates at once.
    wt: Vec<F>,
    /// h at the window's start, then h' after each trial: (trunc + 1) × G.
    pub(super) hs: Vec<F>,
    /// Per trial r, z, n and W_hn h + b_hn: trunc × 4G.
    gates: Vec<F>,
    /// Per trial ∂loss/∂ the gates' input pre-activations (r, z, n): trunc × 3G.
    a: Vec<F>,
    /// ∂loss/∂h' of the trial being backpropagated, and the MLP's share of it.
    dh: Vec<F>,
    pub(super) d_mlp: Vec<F>,
    /// The GRU step's and its backward's scratch (7G).
    scratch: Vec<F>,
}

impl<F: Real> Tape<F> {
    pub fn new(g: usize, trunc: usize) -> Self {
        Tape {
            h: vec![F::zero(); g],
            wt: vec![F::zero(); 3 * g * (INPUTS + g)],
            hs: vec![F::zero(); (trunc + 1) * g],
            gates: vec![F::zero(); trunc * 4 * g],
            a: vec![F::zero(); trunc * 3 * g],
            dh: vec![F::zero(); g],
            d_mlp: vec![F::zero(); g],
            scratch: vec![F::zero(); 7 * g],
        }
    }
}

#[inline(always)]
fn sigmoid<F: Real>(a: F) -> F {
    // σ(a) = (1 + tanh(a/2)) / 2: the vectorisable tanh serves both gates.
    let half = F::c(0.5);
    half + half * (half * a).tanh_fast()
}

/// W_i and W_h of φ transposed into `wt`.
fn transpose_gru<F: Real>(g: usize, phi: &[F], wt: &mut [F]) {
    let (wi, wh, _, _) = parts(g);
    let rows = 3 * g;
    for row in 0..rows {
        for k in 0..INPUTS {
            wt[k * rows + row] = phi[wi + row * INPUTS + k];
        }
        for j in 0..g {
            wt[(INPUTS + j) * rows + row] = phi[wh + row * g + j];
        }
    }
}

/// The state's share of the gates' pre-activations, W_h h + b_h (3G), into `ah`.
#[inline(always)]
fn hidden_part<F: Real>(g: usize, phi: &[F], wt: &[F], h: &[F], ah: &mut [F]) {
    let (_, _, _, bh) = parts(g);
    let rows = 3 * g;
    ah[..rows].copy_from_slice(&phi[bh..bh + rows]);
    for j in 0..g {
        let (hj, col) = (h[j], &wt[(INPUTS + j) * rows..(INPUTS + j + 1) * rows]);
        for row in 0..rows {
            ah[row] = ah[row] + col[row] * hj;
        }
    }
}

/// One GRU step from state `h` (whose share `ah` of the pre-activations is given) on
/// input `x`: writes h' to `h_new` and r, z, n and W_hn h + b_hn to `gates`.
/// `ai` is scratch of 3G floats.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_step_from<F: Real>(
    g: usize,
    phi: &[F],
    wt: &[F],
    x: &[F],
    h: &[F],
    ah: &[F],
    ai: &mut [F],
    gates: &mut [F],
    h_new: &mut [F],
) {
    let (_, _, bi, _) = parts(g);
    let rows = 3 * g;
    ai[..rows].copy_from_slice(&phi[bi..bi + rows]);
    for k in 0..INPUTS {
        let (xk, col) = (x[k], &wt[k * rows..(k + 1) * rows]);
        for row in 0..rows {
            ai[row] = ai[row] + col[row] * xk;
        }
    }
    for j in 0..g {
        let r = sigmoid(ai[j] + ah[j]);
        let z = sigmoid(ai[g + j] + ah[g + j]);
        let hn = ah[2 * g + j];
        let n = (ai[2 * g + j] + r * hn).tanh_fast();
        gates[j] = r;
        gates[g + j] = z;
        gates[2 * g + j] = n;
        gates[3 * g + j] = hn;
        h_new[j] = (F::one() - z) * n + z * h[j];
    }
}

/// One GRU step from state `h` on input `x` (see [`gru_step_from`]); `scratch` holds
/// 6G floats.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_step<F: Real>(
    g: usize,
    phi: &[F],
    wt: &[F],
    x: &[F],
    h: &[F],
    scratch: &mut [F],
    gates: &mut [F],
    h_new: &mut [F],
) {
    let (ah, ai) = scratch.split_at_mut(3 * g);
    hidden_part(g, phi, wt, h, ah);
    gru_step_from(g, phi, wt, x, h, ah, ai, gates, h_new);
}

/// Backpropagates ∂loss/∂h' (`dh`, replaced by ∂loss/∂h) through one GRU step: writes
/// ∂loss/∂ the gates' input pre-activations to `a` and returns ∂loss/∂ the first K
/// inputs (w). `scratch` holds 7G floats.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_backward<F: Real>(
    g: usize,
    phi: &[F],
    wt: &[F],
    h: &[F],
    gates: &[F],
    a: &mut [F],
    dh: &mut [F],
    scratch: &mut [F],
) -> [F; K] {
    let (_, wh, _, _) = parts(g);
    let rows = 3 * g;
    let (ah, acc) = scratch.split_at_mut(rows);
    for j in 0..g {
        let (r, z, n, hn) = (gates[j], gates[g + j], gates[2 * g + j], gates[3 * g + j]);
        let d = dh[j];
        let dn = d * (F::one() - z) * (F::one() - n * n);
        let dz = d * (h[j] - n) * z * (F::one() - z);
        let dr = dn * hn * r * (F::one() - r);
        a[j] = dr;
        a[g + j] = dz;
        a[2 * g + j] = dn;
        ah[j] = dr;
        ah[g + j] = dz;
        ah[2 * g + j] = dn * r;
        dh[j] = d * z;
    }
    // ∂h += W_hᵀ a_h, a row of W_h at a time (G wide), into four sums that take turns
    // so the adds do not wait on each other.
    let (acc0, rest) = acc.split_at_mut(g);
    let (acc1, rest) = rest.split_at_mut(g);
    let (acc2, acc3) = rest.split_at_mut(g);
    for j in 0..g {
        acc0[j] = F::zero();
        acc1[j] = F::zero();
        acc2[j] = F::zero();
        acc3[j] = F::zero();
    }
    let row_of = |row: usize| &phi[wh + row * g..wh + (row + 1) * g];
    let mut row = 0;
    while row + 4 <= rows {
        let (w0, w1, w2, w3) = (
            row_of(row),
            row_of(row + 1),
            row_of(row + 2),
            row_of(row + 3),
        );
        let (a0, a1, a2, a3) = (ah[row], ah[row + 1], ah[row + 2], ah[row + 3]);
        for j in 0..g {
            acc0[j] = acc0[j] + w0[j] * a0;
            acc1[j] = acc1[j] + w1[j] * a1;
            acc2[j] = acc2[j] + w2[j] * a2;
            acc3[j] = acc3[j] + w3[j] * a3;
        }
        row += 4;
    }
    while row < rows {
        let (w0, a0) = (row_of(row), ah[row]);
        for j in 0..g {
            acc0[j] = acc0[j] + w0[j] * a0;
        }
        row += 1;
    }
    for j in 0..g {
        dh[j] = dh[j] + ((acc0[j] + acc1[j]) + (acc2[j] + acc3[j]));
    }
    std::array::from_fn(|k| dot(&wt[k * rows..(k + 1) * rows], &a[..rows]))
}

/// Adds the GRU's parameter gradients over trials 0..n of a window: Σ a ⊗ x, Σ a_h ⊗ h
/// and the biases' sums (a_h is a with its n rows times r).
#[inline(always)]
#[allow(clippy::needless_range_loop)]
pub(super) fn gru_accumulate<F: Real>(
    g: usize,
    inputs: &[[F; INPUTS]],
    tape: &Tape<F>,
    n: usize,
    grad: &mut [F],
) {
    let (wi, wh, bi, bh) = parts(g);
    let rows = 3 * g;
    let mut ah = [F::zero(); 3 * MAX_GRU];
    for t in 0..n {
        let a = &tape.a[t * rows..(t + 1) * rows];
        let r = &tape.gates[t * 4 * g..t * 4 * g + g];
        let h = &tape.hs[t * g..(t + 1) * g];
        ah[..rows].copy_from_slice(a);
        for j in 0..g {
            ah[2 * g + j] = a[2 * g + j] * r[j];
        }
        let x = &inputs[t];
        for row in 0..rows {
            let ar = a[row];
            grad[bi + row] = grad[bi + row] + ar;
            let gw = &mut grad[wi + row * INPUTS..wi + (row + 1) * INPUTS];
            for k in 0..INPUTS {
                gw[k] = gw[k] + ar * x[k];
            }
        }
        for row in 0..rows {
            let ar = ah[row];
            grad[bh + row] = grad[bh + row] + ar;
            let gw = &mut grad[wh + row * g..wh + (row + 1) * g];
            for j in 0..g {
                gw[j] = gw[j] + ar * h[j];
            }
        }
    }
}

/// Starts a window at trial t0 (the model's [`super::model::window`] runs the rest): the GRU
/// transposed, and the window's first state, zero at an animal's first trial and the
/// carried one otherwise.
#[inline(always)]
pub(super) fn start<F: Real>(g: usize, phi: &[F], t0: usize, tape: &mut Tape<F>) {
    transpose_gru(g, phi, &mut tape.wt);
    if t0 == 0 {
        tape.h.fill(F::zero());
    }
    tape.hs[..g].copy_from_slice(&tape.h);
    tape.dh.fill(F::zero());
}

/// The GRU step of the window's trial i on its inputs `x`: returns h_{i+1}, the MLP's
/// input.
#[inline(always)]
pub(super) fn step<'a, F: Real>(
    g: usize,
    phi: &[F],
    tape: &'a mut Tape<F>,
    i: usize,
    x: &[F],
) -> &'a [F] {
    let (prev, next) = tape.hs.split_at_mut((i + 1) * g);
    gru_step(
        g,
        phi,
        &tape.wt,
        x,
        &prev[i * g..],
        &mut tape.scratch,
        &mut tape.gates[i * 4 * g..(i + 1) * 4 * g],
        &mut next[..g],
    );
    &next[..g]
}

/// Backpropagates trial i of the window through the GRU, given the MLP's ∂/∂h_{i+1}
/// in `tape.d_mlp` (∂/∂h from later trials is carried in `tape.dh`): returns ∂/∂w_i
/// through the GRU's input.
#[inline(always)]
pub(super) fn backward<F: Real>(g: usize, phi: &[F], tape: &mut Tape<F>, i: usize) -> [F; K] {
    for j in 0..g {
        tape.dh[j] = tape.dh[j] + tape.d_mlp[j];
    }
    gru_backward(
        g,
        phi,
        &tape.wt,
        &tape.hs[i * g..(i + 1) * g],
        &tape.gates[i * 4 * g..(i + 1) * 4 * g],
        &mut tape.a[i * 3 * g..(i + 1) * 3 * g],
        &mut tape.dh,
        &mut tape.scratch,
    )
}

/// The MLP's inputs of the window's trials: h_1, h_2, … (G each).
#[inline(always)]
pub(super) fn mlp_inputs<F: Real>(g: usize, tape: &Tape<F>) -> &[F] {
    &tape.hs[g..]
}

/// Ends a window of `stepped` rule steps: its last state is carried to the next.
#[inline(always)]
pub(super) fn finish<F: Real>(g: usize, tape: &mut Tape<F>, stepped: usize) {
    tape.h
        .copy_from_slice(&tape.hs[stepped * g..(stepped + 1) * g]);
}

/// An rnn's rule taken from given states, in f32 (the recovery grid asks it for
/// millions of trials): φ, its GRU transposed, and per state h with its share of the
/// gates, W_h h + b_h.
pub struct FromStates {
    net: Net,
    phi: Vec<f32>,
    wt: Vec<f32>,
    states: Vec<(Vec<f32>, Vec<f32>)>,
}

impl FromStates {
    pub fn new(net: &Net, phi: &[f64], states: &[Vec<f64>]) -> FromStates {
        let g = net.gru;
        let phi: Vec<f32> = phi.iter().map(|&v| v as f32).collect();
        let mut wt = vec![0.0; 3 * g * (INPUTS + g)];
        transpose_gru(g, &phi, &mut wt);
        let states = states
            .iter()
            .map(|h| {
                let h: Vec<f32> = h.iter().map(|&v| v as f32).collect();
                let mut ah = vec![0.0; 3 * g];
                hidden_part(g, &phi, &wt, &h, &mut ah);
                (h, ah)
            })
            .collect();
        FromStates {
            net: *net,
            phi,
            wt,
            states,
        }
    }

    /// Δw after a trial (inputs `x`), c ⊙ MLP(GRU(h, x)) averaged over the states.
    pub fn delta(&self, x: &[f64; INPUTS]) -> [f64; K] {
        let x: [f32; INPUTS] = x.map(|v| v as f32);
        let d = delta_states(&self.net, &self.phi, &self.wt, &self.states, &x);
        d.map(|v| v as f64)
    }
}

crate::multiversion! {
    /// [`FromStates::delta`] compiled for the CPU's widest vectors.
    fn delta_states<F: Real>(net: &Net, phi: &[F], wt: &[F], states: &[(Vec<F>, Vec<F>)], x: &[F; INPUTS]) -> [F; K] = delta_states_inner;
}

#[inline(always)]
fn delta_states_inner<F: Real>(
    net: &Net,
    phi: &[F],
    wt: &[F],
    states: &[(Vec<F>, Vec<F>)],
    x: &[F; INPUTS],
) -> [F; K] {
    let g = net.gru;
    let mut gates = [F::zero(); 4 * MAX_GRU];
    let mut h_new = [F::zero(); MAX_GRU];
    let mut ai = [F::zero(); 3 * MAX_GRU];
    let mut acts = vec![F::zero(); net.acts()];
    let c = &phi[net.c_offset()..];
    let mut sum = [F::zero(); K];
    // The MLP's input: h' (then the trial's inputs, with skip).
    let mut input = [F::zero(); MAX_GRU + INPUTS];
    input[g..g + INPUTS].copy_from_slice(x);
    for (h, ah) in states {
        gru_step_from(g, phi, wt, x, h, ah, &mut ai, &mut gates, &mut h_new);
        input[..g].copy_from_slice(&h_new[..g]);
        let out = mlp(net, phi, &input[..net.mlp_inputs()], &mut acts);
        for k in 0..K {
            sum[k] = sum[k] + c[k] * out[k];
        }
    }
    let n = F::c(states.len() as f64);
    sum.map(|v| v / n)
}
