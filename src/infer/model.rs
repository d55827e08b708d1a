//! The dnn model (spec §2): a Bernoulli GLM policy p(y_t = 1) = σ(w_t · x_t), x_t =
//! (s_t, 1), whose weights move by a learned rule
//!
//! ```text
//! w_{t+1} = w_t + c ⊙ f_φ(w_t, s_t, 1, d_t, y_t, r_t, z_t),
//! ```
//!
//! f_φ an MLP (L hidden layers of H ReLU units, a linear output of K = 2), c a learned
//! per-weight scale. The loss is the mean negative log-likelihood of the choices;
//! gradients come by backpropagation through time, truncated: w is detached every
//! `trunc` trials. This is the CPU implementation, generic over the float type: in f64
//! the reference for checks and gradient tests, in f32 (animals in parallel) the CPU
//! device.

use super::data::Trial;
use super::mlp::{inputs, mlp_accumulate, mlp_backward, mlp_t, nll, transpose_into};
use super::net::{Net, INPUTS, K};
use super::rnn;
use crate::real::Real;

/// One animal's scratch for a window of trials.
pub struct Window<F> {
    pub(super) inputs: Vec<[F; INPUTS]>,
    pub(super) acts: Vec<F>,
    pub(super) outs: Vec<[F; K]>,
    /// Per trial, every layer's δ (see [`mlp_backward`]).
    pub(super) deltas: Vec<F>,
    /// φ transposed for the forward pass (see [`transpose_into`]).
    pub(super) wt: Vec<F>,
    pub(super) scratch: Vec<F>,
    /// The rnn's GRU tape (empty for the dnn).
    pub(super) gru: rnn::Tape<F>,
    /// With `skip`: each trial's MLP input [h_{t+1}, x_t], and ∂/∂ the first G + K.
    cat: Vec<F>,
    d_cat: Vec<F>,
}

impl<F: Real> Window<F> {
    pub fn new(net: &Net, trunc: usize) -> Self {
        Window {
            inputs: vec![[F::zero(); INPUTS]; trunc],
            acts: vec![F::zero(); trunc * net.acts()],
            outs: vec![[F::zero(); K]; trunc],
            deltas: vec![F::zero(); trunc * (net.acts() + K)],
            wt: vec![F::zero(); net.len()],
            scratch: vec![F::zero(); 2 * net.hidden.max(net.mlp_inputs())],
            gru: rnn::Tape::new(net.gru, if net.gru > 0 { trunc } else { 0 }),
            cat: vec![
                F::zero();
                if net.skip {
                    trunc * net.mlp_inputs()
                } else {
                    0
                }
            ],
            d_cat: vec![F::zero(); if net.skip { net.gru + K } else { 0 }],
        }
    }
}

impl<F: Real> Window<F> {
    /// The rnn's state carried into the next window (empty for the dnn).
    pub fn state(&self) -> &[F] {
        &self.gru.h
    }

    /// Sets the state the next window (not at an animal's first trial) starts from.
    pub fn set_state(&mut self, h: &[F]) {
        self.gru.h.copy_from_slice(h);
    }
}

/// Runs trials [t0, t1) of one animal from w (the window's detached start): returns the
/// summed NLL (times `weight`) and w at t1; with `grad`, adds weight × ∂NLL/∂φ (and c)
/// and returns ∂NLL/∂w_{t0} (for a trainable w_0 when t0 = 0). `path`, when given,
/// receives w_t for each trial. For the rnn the GRU's state is carried from window to
/// window in `win` and detached with w (its steps are in [`super::rnn`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn window<F: Real>(
    net: &Net,
    phi: &[F],
    trials: &[Trial],
    t0: usize,
    t1: usize,
    w: [F; K],
    weight: F,
    grad: Option<&mut [F]>,
    win: &mut Window<F>,
    mut path: Option<&mut Vec<[F; K]>>,
) -> (F, [F; K], [F; K]) {
    let g = net.gru;
    let c = &phi[net.c_offset()..net.c_offset() + K];
    let na = net.acts();
    let nd = na + K;
    let mut w = w;
    let mut loss = F::zero();
    let mut ws = Vec::with_capacity(if grad.is_some() { t1 - t0 } else { 0 });
    transpose_into(net, phi, &mut win.wt);
    if g > 0 {
        rnn::start(g, phi, t0, &mut win.gru);
    }
    // The window's last trial of the animal has no rule step (nor δ).
    let stepped = (t1 - t0).min(trials.len().saturating_sub(1).saturating_sub(t0));
    for t in t0..t1 {
        let tr = &trials[t];
        if let Some(p) = path.as_deref_mut() {
            p.push(w);
        }
        let a = w[0] * F::c(tr.stimulus) + w[1];
        loss = loss + nll(a, tr.choice).0;
        if grad.is_some() {
            ws.push(w);
        }
        if t + 1 < trials.len() {
            let i = t - t0;
            win.inputs[i] = inputs(w, tr);
            // The MLP reads the rule's inputs (dnn) or the GRU's next state (rnn), then
            // with skip the rule's inputs.
            let x: &[F] = if g > 0 {
                let h = rnn::step(g, phi, &mut win.gru, i, &win.inputs[i]);
                if net.skip {
                    let m = g + INPUTS;
                    let cat = &mut win.cat[i * m..(i + 1) * m];
                    cat[..g].copy_from_slice(h);
                    cat[g..].copy_from_slice(&win.inputs[i]);
                    cat
                } else {
                    h
                }
            } else {
                &win.inputs[i]
            };
            let out = mlp_t(net, &win.wt, x, &mut win.acts[i * na..(i + 1) * na]);
            win.outs[i] = out;
            w = [w[0] + c[0] * out[0], w[1] + c[1] * out[1]];
        }
    }
    let mut g_w0 = [F::zero(); K];
    if let Some(grad) = grad {
        // ∂/∂w_{t1} (and ∂/∂h_{t1}) = 0: the next window starts from them detached.
        let mut gw = [F::zero(); K];
        for t in (t0..t1).rev() {
            let i = t - t0;
            let tr = &trials[t];
            if t + 1 < trials.len() {
                // w_{t+1} = w_t + c ⊙ f: ∂c += g ⊙ f, ∂f = g ⊙ c.
                let co = net.c_offset();
                for k in 0..K {
                    grad[co + k] = grad[co + k] + gw[k] * win.outs[i][k];
                }
                let d_out = [gw[0] * c[0], gw[1] * c[1]];
                let mut d_w = [F::zero(); K];
                let d_input: &mut [F] = match (g, net.skip) {
                    (0, _) => &mut d_w,
                    (_, false) => &mut win.gru.d_mlp,
                    (_, true) => &mut win.d_cat,
                };
                mlp_backward(
                    net,
                    phi,
                    &win.acts[i * na..(i + 1) * na],
                    d_out,
                    &mut win.deltas[i * nd..(i + 1) * nd],
                    &mut win.scratch,
                    d_input,
                );
                if g > 0 {
                    // With skip, ∂/∂w also takes the MLP's direct path.
                    let direct = if net.skip {
                        win.gru.d_mlp.copy_from_slice(&win.d_cat[..g]);
                        [win.d_cat[g], win.d_cat[g + 1]]
                    } else {
                        [F::zero(); K]
                    };
                    let through = rnn::backward(g, phi, &mut win.gru, i);
                    d_w = [through[0] + direct[0], through[1] + direct[1]];
                }
                gw = [gw[0] + d_w[0], gw[1] + d_w[1]];
            }
            let a = ws[i][0] * F::c(tr.stimulus) + ws[i][1];
            let d = nll(a, tr.choice).1 * weight;
            gw = [gw[0] + d * F::c(tr.stimulus), gw[1] + d];
        }
        let x = if net.skip {
            &win.cat[..]
        } else if g > 0 {
            rnn::mlp_inputs(g, &win.gru)
        } else {
            win.inputs.as_flattened()
        };
        mlp_accumulate(net, x, &win.acts, &win.deltas, stepped, grad);
        if g > 0 {
            rnn::gru_accumulate(g, &win.inputs, &win.gru, stepped, grad);
        }
        g_w0 = gw;
    }
    if g > 0 {
        rnn::finish(g, &mut win.gru, stepped);
    }
    (loss * weight, w, g_w0)
}

crate::multiversion! {
    /// The whole sequence of one animal in windows of `trunc` trials: (weight × summed
    /// NLL, ∂/∂w_0), adding weight × ∂NLL/∂φ to `grad` when given. Compiled for the
    /// CPU's widest vectors (src/simd.rs).
    #[allow(clippy::too_many_arguments)]
    pub fn animal<F: Real>(net: &Net, phi: &[F], trials: &[Trial], w0: [F; K], trunc: usize, weight: F, grad: Option<&mut [F]>, win: &mut Window<F>) -> (F, [F; K]) = animal_inner;
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn animal_inner<F: Real>(
    net: &Net,
    phi: &[F],
    trials: &[Trial],
    w0: [F; K],
    trunc: usize,
    weight: F,
    mut grad: Option<&mut [F]>,
    win: &mut Window<F>,
) -> (F, [F; K]) {
    let mut w = w0;
    let mut loss = F::zero();
    let mut g_w0 = [F::zero(); K];
    let mut t0 = 0;
    while t0 < trials.len() {
        let t1 = (t0 + trunc).min(trials.len());
        let (l, next, g) = window(
            net,
            phi,
            trials,
            t0,
            t1,
            w,
            weight,
            grad.as_deref_mut(),
            win,
            None,
        );
        if t0 == 0 {
            g_w0 = g;
        }
        loss = loss + l;
        w = next;
        t0 = t1;
    }
    (loss, g_w0)
}

/// The inferred weights w_t of one animal for every trial (no gradient).
pub fn weights<F: Real>(net: &Net, phi: &[F], trials: &[Trial], w0: [F; K]) -> Vec<[F; K]> {
    let mut win = Window::new(net, trials.len().max(1));
    let mut path = Vec::with_capacity(trials.len());
    window(
        net,
        phi,
        trials,
        0,
        trials.len(),
        w0,
        F::one(),
        None,
        &mut win,
        Some(&mut path),
    );
    path
}

/// The GRU's state before each trial of one animal (h_t, G floats each, h_0 = 0) under
/// φ from w_0: what the rule reads of the history when the trial's step is taken.
pub fn states(net: &Net, phi: &[f64], trials: &[Trial], w0: [f64; K]) -> Vec<Vec<f64>> {
    let g = net.gru;
    let n = trials.len();
    let mut win = Window::new(net, n.max(1));
    window(net, phi, trials, 0, n, w0, 1.0, None, &mut win, None);
    (0..n)
        .map(|t| win.gru.hs[t * g..(t + 1) * g].to_vec())
        .collect()
}
