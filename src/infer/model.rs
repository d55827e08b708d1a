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
use crate::real::{dot, Real};

/// Weights of the GLM: stimulus and bias.
pub const K: usize = 2;
/// The rule's inputs: w (K), s, 1, d, y, r, z.
pub const INPUTS: usize = K + 6;

/// The model's sizes and where each parameter lives in the flat vector φ: with a GRU
/// (the rnn model, `gru` > 0 units) its parameters first (see [`super::rnn`]); then the
/// MLP, per layer W (row-major, out × in) then b; the output layer; then c (K). The
/// dnn's MLP reads the rule's inputs, the rnn's the GRU's state (and with `skip` the
/// rule's inputs after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub hidden: usize,
    pub layers: usize,
    /// GRU units; 0 for the dnn model.
    pub gru: usize,
    /// The rnn's MLP also reads the trial's own inputs beside the GRU's state, so the
    /// rnn holds the dnn (a GRU that says nothing leaves the dnn's rule).
    pub skip: bool,
}

impl Net {
    /// The dnn model: an MLP of `layers` × `hidden` on the rule's inputs.
    pub fn dnn(hidden: usize, layers: usize) -> Net {
        Net {
            hidden,
            layers,
            gru: 0,
            skip: false,
        }
    }

    /// The model's name in files and messages.
    pub fn model(&self) -> &'static str {
        if self.gru > 0 {
            "rnn"
        } else {
            "dnn"
        }
    }

    /// Floats the MLP reads: the rule's inputs (dnn), or the GRU's state (rnn), then
    /// with `skip` the rule's inputs.
    pub fn mlp_inputs(&self) -> usize {
        match (self.gru, self.skip) {
            (0, _) => INPUTS,
            (g, false) => g,
            (g, true) => g + INPUTS,
        }
    }

    /// (in, out) of layer l (0..layers hidden, then the output layer).
    pub fn dims(&self, l: usize) -> (usize, usize) {
        let input = if l == 0 {
            self.mlp_inputs()
        } else {
            self.hidden
        };
        let output = if l == self.layers { K } else { self.hidden };
        (input, output)
    }

    /// Offset of layer l's W in φ (its b follows W).
    pub fn offset(&self, l: usize) -> usize {
        super::rnn::gru_len(self.gru)
            + (0..l)
                .map(|i| {
                    let (a, b) = self.dims(i);
                    a * b + b
                })
                .sum::<usize>()
    }

    /// Offset of c in φ.
    pub fn c_offset(&self) -> usize {
        self.offset(self.layers + 1)
    }

    /// Length of φ (the MLP and c).
    pub fn len(&self) -> usize {
        self.c_offset() + K
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Floats of activations one trial keeps for the backward pass.
    pub fn acts(&self) -> usize {
        self.layers * self.hidden
    }
}

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
    pub(super) gru: super::rnn::Tape<F>,
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
            gru: super::rnn::Tape::new(net.gru, if net.gru > 0 { trunc } else { 0 }),
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
    use super::rnn;
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
