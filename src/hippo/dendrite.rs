//! One compartment of the network on the CPU, generic over the float type: its state
//! ([`Dendrite`]), its input built and its noise drawn for a step, its drive (V, f(V) + ξ,
//! f'(V)) and its local learning, with the two forms a plastic compartment may keep its
//! weights in between settles (input-major columns, or factored with its eligibility
//! trace). One file because the forms are how `drive` and `learn` run: each form's
//! arithmetic is the direct rule's, reordered.

use super::spec::{Compartment, Spec};
use crate::real::{dot, Real};
use crate::rng::draw_normals;

/// Counter purpose of the OU noise draws.
pub(super) const NOISE: u32 = 0x4850_0001;

/// One compartment's state: weights, eligibility traces, and this step's V, a and noise.
#[derive(Clone, Debug)]
pub struct Dendrite<F> {
    /// n × n_in, row-major (empty for an identity pathway). `w` and `pi` of a plastic
    /// compartment lag while it is kept factored: read them after `State::settle`.
    pub w: Vec<F>,
    pub pi: Vec<F>,
    pub v: Vec<F>,
    pub a: Vec<F>,
    pub df: Vec<F>,
    pub xi: Vec<F>,
}

/// Builds compartment k's input from `sources` (z, p, g_prev, c_prev), draws its noise
/// for `step` and drives it.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn drive_compartment<F: Real>(
    spec: &Spec,
    comp: &Compartment,
    k: usize,
    key: [u32; 2],
    step: u64,
    sources: [&[F]; 4],
    d: &mut Dendrite<F>,
    factored: &mut Option<Form<F>>,
    input: &mut Vec<F>,
    words: &mut [Vec<u32>; 4],
    normals: &mut [F],
) {
    input.clear();
    for &(s, _) in &comp.inputs {
        input.extend_from_slice(sources[s as usize]);
    }
    if comp.bias {
        input.push(F::one());
    }
    // An if, not a closure: closures are compiled without the caller's target features
    // (no AVX-512 for the noise).
    let noise = if comp.sigma > 0.0 {
        let n = d.v.len();
        draw_normals(key, step as u32, k as u32, NOISE, words, normals);
        Some(&normals[..n])
    } else {
        None
    };
    drive(spec, comp, d, factored, input, noise);
}

/// V, f(V) + ξ and f'(V) of one compartment, after its OU noise's step by `noise` (
/// standard normals; none where σ = 0).
#[inline(always)]
pub(super) fn drive<F: Real>(
    spec: &Spec,
    comp: &Compartment,
    d: &mut Dendrite<F>,
    factored: &mut Option<Form<F>>,
    input: &[F],
    noise: Option<&[F]>,
) {
    let n_in = input.len();
    if comp.identity {
        d.v.copy_from_slice(input);
    } else if let Some(Form::Factored(f)) = factored {
        f.apply(input, &mut d.v);
    } else if let Some(Form::Columns(c)) = factored {
        c.apply(input, &mut d.v);
    } else {
        for (j, v) in d.v.iter_mut().enumerate() {
            *v = dot(&d.w[j * n_in..(j + 1) * n_in], input);
        }
    }
    if let Some(z) = noise {
        let decay = F::c(spec.dt / spec.tau_noise);
        let kick = F::c(comp.sigma * (2.0 * spec.dt / spec.tau_noise).sqrt());
        for (xi, &z) in d.xi.iter_mut().zip(z) {
            *xi = *xi - *xi * decay + kick * z;
        }
    }
    for j in 0..d.v.len() {
        let (f, df) = comp.act.eval(d.v[j]);
        d.a[j] = f + d.xi[j];
        d.df[j] = df;
    }
}

/// The local rule on one compartment: δ = (r − a) f'(V), the trace, the weights.
#[inline(always)]
pub(super) fn learn<F: Real>(
    spec: &Spec,
    comp: &Compartment,
    d: &mut Dendrite<F>,
    factored: &mut Option<Form<F>>,
    soma: &[F],
    input: &[F],
) {
    let n_in = input.len();
    let rate = F::c(spec.dt / spec.tau_pi);
    if factored.is_none() {
        *factored = Form::new(spec, comp, d, n_in);
    }
    let keep = F::one() - rate;
    let (eta, l1, l2) = (F::c(comp.eta), F::c(comp.lambda1), F::c(comp.lambda2));
    let decay = F::one() - eta * l2;
    match factored {
        Some(Form::Factored(f)) => {
            for ((g, &r), (&a, &df)) in f.g_new.iter_mut().zip(soma).zip(d.a.iter().zip(&d.df)) {
                *g = rate * (r - a) * df;
            }
            f.push(input);
            return;
        }
        Some(Form::Columns(c)) => {
            for ((g, &r), (&a, &df)) in c.g.iter_mut().zip(soma).zip(d.a.iter().zip(&d.df)) {
                *g = rate * (r - a) * df;
            }
            c.learn(input, keep, decay, eta);
            return;
        }
        None => {}
    }
    for (j, &r) in soma.iter().enumerate() {
        let g = rate * (r - d.a[j]) * d.df[j];
        let row = j * n_in..(j + 1) * n_in;
        let (w, pi) = (&mut d.w[row.clone()], &mut d.pi[row]);
        // W ← W + η (PI − λ2 W − λ1 sign W), the λ1 term apart (it needs the sign).
        for ((w, pi), &x) in w.iter_mut().zip(pi.iter_mut()).zip(input) {
            *pi = keep * *pi + g * x;
            *w = decay * *w + eta * *pi;
        }
        if comp.lambda1 > 0.0 {
            for w in w.iter_mut() {
                let sign = if *w > F::zero() {
                    F::one()
                } else if *w < F::zero() {
                    -F::one()
                } else {
                    F::zero()
                };
                *w = *w - eta * l1 * sign;
            }
        }
    }
}

/// How a plastic compartment keeps its weights between settles, where not as `w` and
/// `pi` in the dendrite.
#[derive(Clone, Debug)]
pub(super) enum Form<F> {
    Factored(Factored<F>),
    Columns(Columns<F>),
}

impl<F: Real> Form<F> {
    pub(super) fn new(
        spec: &Spec,
        comp: &Compartment,
        d: &Dendrite<F>,
        n_in: usize,
    ) -> Option<Self> {
        Factored::new(spec, comp, d, n_in)
            .map(Form::Factored)
            .or_else(|| Columns::new(comp, d, n_in).map(Form::Columns))
    }

    #[inline(always)]
    pub(super) fn write(self, d: &mut Dendrite<F>) {
        match self {
            Form::Factored(f) => f.write(d),
            Form::Columns(c) => c.write(d),
        }
    }
}

/// The direct rule (λ1 = 0) on W and PI kept input-major, for compartments with few
/// inputs and many neurons (experiment A's HPC apical: 50 × 5), whose rows are too
/// short to vectorise: columns over the neurons are long. The same arithmetic as the
/// direct rule per element; W x sums in another order.
#[derive(Clone, Debug)]
pub(super) struct Columns<F> {
    n: usize,
    n_in: usize,
    /// n rounded up to `PAD`: the stride of the columns, whose padding holds zeros.
    np: usize,
    w: Vec<F>,
    pi: Vec<F>,
    /// This step's (dt/τ_PI) δ, padded, filled by the caller before [`Columns::learn`].
    g: Vec<F>,
    vbuf: Vec<F>,
}

impl<F: Real> Columns<F> {
    fn new(comp: &Compartment, d: &Dendrite<F>, n_in: usize) -> Option<Self> {
        let n = d.v.len();
        if comp.identity || comp.lambda1 != 0.0 || comp.eta <= 0.0 || n_in >= PAD || n < PAD {
            return None;
        }
        let np = n.div_ceil(PAD) * PAD;
        let transpose = |m: &[F]| -> Vec<F> {
            let mut t = vec![F::zero(); np * n_in];
            for j in 0..n {
                for i in 0..n_in {
                    t[i * np + j] = m[j * n_in + i];
                }
            }
            t
        };
        Some(Columns {
            n,
            n_in,
            np,
            w: transpose(&d.w),
            pi: transpose(&d.pi),
            g: vec![F::zero(); np],
            vbuf: vec![F::zero(); np],
        })
    }

    #[inline(always)]
    fn apply(&mut self, x: &[F], v: &mut [F]) {
        self.vbuf.iter_mut().for_each(|v| *v = F::zero());
        add_rows(&mut self.vbuf, &self.w, x);
        v.copy_from_slice(&self.vbuf[..self.n]);
    }

    /// PI ← keep PI + g xᵀ, W ← decay W + η PI, a column at a time.
    #[inline(always)]
    fn learn(&mut self, x: &[F], keep: F, decay: F, eta: F) {
        let np = self.np;
        for ((w, pi), &xi) in self
            .w
            .chunks_exact_mut(np)
            .zip(self.pi.chunks_exact_mut(np))
            .zip(x)
        {
            for j in 0..np {
                pi[j] = keep * pi[j] + self.g[j] * xi;
                w[j] = decay * w[j] + eta * pi[j];
            }
        }
    }

    #[inline(always)]
    fn write(self, d: &mut Dendrite<F>) {
        for j in 0..self.n {
            for i in 0..self.n_in {
                d.w[j * self.n_in + i] = self.w[i * self.np + j];
                d.pi[j * self.n_in + i] = self.pi[i * self.np + j];
            }
        }
    }
}

/// A plastic compartment's weights and eligibility trace in factored form, for λ1 =
/// λ2 = 0. With k = 1 − dt/τ_PI the rule is PI_t = k PI_{t−1} + g_t x_tᵀ (g = (dt/τ_PI)
/// δ) and W_t = W_{t−1} + η PI_t, so A = W + c·PI with c = η k / (1 − k) takes one
/// rank-1 step a step, A_t = A_{t−1} + β g_t x_tᵀ with β = η / (1 − k), and PI is the
/// sum of the recent terms k^m g_{t−m} x_{t−m}ᵀ (older ones fall below the float's
/// resolution). So a step reads A once (W x = A x + low-rank terms) instead of
/// reading and writing W and PI, and A takes its rank-1 terms in batches of `FOLD`.
/// The arithmetic differs from the direct rule by rounding only (and by k^K < ε/4 of
/// the oldest trace terms).
#[derive(Clone, Debug)]
pub(super) struct Factored<F> {
    n: usize,
    n_in: usize,
    /// n and the ring's capacity rounded up to whole unrolled vector loops (`PAD`):
    /// the strides of the arrays below, whose padding holds zeros.
    np: usize,
    cp: usize,
    /// A up to the last fold, input-major (n_in columns of np), so that
    /// A x and the folds are sums of whole columns that vectorise over neurons.
    a: Vec<F>,
    /// The explicit trace at the start (input-major too), and k^(learning steps since).
    base: Option<(Vec<F>, F)>,
    /// The last `len` terms in a ring of `cap` slots, the next written at `head`: g
    /// slot-major (cap × n), x input-major (n_in × cap) so that the dots x_r · x of every
    /// slot are sums of whole rows that vectorise over slots. The newest `pending` are
    /// not folded into `a` yet.
    gs: Vec<F>,
    xs: Vec<F>,
    head: usize,
    len: usize,
    pending: usize,
    cap: usize,
    k: F,
    beta: F,
    c: F,
    /// This step's g, filled by the caller before [`Factored::push`].
    g_new: Vec<F>,
    /// Per slot: x_r · x; and W x, padded.
    dots: Vec<F>,
    vbuf: Vec<F>,
}

/// Terms folded into A at once.
const FOLD: usize = 16;
/// Neuron and ring-slot arrays are padded to a multiple of this many floats, so the
/// vectorised loops run in whole blocks ([`add_scaled`]) without remainders.
const PAD: usize = 16;
/// Most terms a factored trace keeps (slower traces stay direct).
const MAX_TERMS: usize = 400;

impl<F: Real> Factored<F> {
    /// The factored form of a compartment's current W and PI, when its rule allows one.
    fn new(spec: &Spec, comp: &Compartment, d: &Dendrite<F>, n_in: usize) -> Option<Self> {
        if comp.identity || comp.lambda1 != 0.0 || comp.lambda2 != 0.0 || comp.eta <= 0.0 {
            return None;
        }
        let k = 1.0 - spec.dt / spec.tau_pi;
        let eps = F::epsilon().to_f64().unwrap_or(1e-16);
        // Terms older than cap weigh k^cap < ε/4 in the trace.
        let cap = ((eps / 4.0).ln() / k.ln()).ceil();
        if !(k > 0.0 && k < 1.0 && cap as usize >= FOLD && cap as usize <= MAX_TERMS) {
            return None;
        }
        let cap = cap as usize;
        let n = d.v.len();
        let (np, cp) = (n.div_ceil(PAD) * PAD, cap.div_ceil(PAD) * PAD);
        // Floats a step streams: the direct rule reads W for W x and reads and writes
        // PI and W; the factored form reads A and the ring (x and g) and folds. Small
        // inputs (experiment A) stay direct: there the ring costs more than W.
        if 2 * n_in * np + n_in * cp + cap * np >= 5 * n * n_in {
            return None;
        }
        let (k, beta, c) = (
            F::c(k),
            F::c(comp.eta / (1.0 - k)),
            F::c(comp.eta * k / (1.0 - k)),
        );
        let transpose = |m: &dyn Fn(usize) -> F| -> Vec<F> {
            let mut t = vec![F::zero(); np * n_in];
            for j in 0..n {
                for i in 0..n_in {
                    t[i * np + j] = m(j * n_in + i);
                }
            }
            t
        };
        let a = transpose(&|e| d.w[e] + c * d.pi[e]);
        let base =
            d.pi.iter()
                .any(|&p| p != F::zero())
                .then(|| (transpose(&|e| d.pi[e]), F::one()));
        Some(Factored {
            n,
            n_in,
            np,
            cp,
            a,
            base,
            gs: vec![F::zero(); cap * np],
            xs: vec![F::zero(); n_in * cp],
            head: 0,
            len: 0,
            pending: 0,
            cap,
            k,
            beta,
            c,
            g_new: vec![F::zero(); n],
            dots: vec![F::zero(); cp],
            vbuf: vec![F::zero(); np],
        })
    }

    /// The slot of the term m steps old (0: the newest).
    #[inline(always)]
    fn slot(&self, m: usize) -> usize {
        (self.head + self.cap - 1 - m) % self.cap
    }

    /// v = W x: A x + β Σ_pending g_r (x_r·x) − c (PI x), PI = Σ_m k^m g_m x_mᵀ (+ the
    /// decayed base). Loops, not iterator adaptors with closures, which would be
    /// compiled without the caller's target features.
    #[inline(always)]
    fn apply(&mut self, x: &[F], v: &mut [F]) {
        let mut vb = std::mem::take(&mut self.vbuf);
        vb.iter_mut().for_each(|v| *v = F::zero());
        add_rows(&mut vb, &self.a, x);
        if let Some((pi, scale)) = &self.base {
            let s = self.c * *scale;
            for (col, &xi) in pi.chunks_exact(self.np).zip(x) {
                add_scaled(&mut vb, [col], [-(s * xi)]);
            }
        }
        // Every slot's x_r · x at once (empty slots hold zeros).
        let mut dots = std::mem::take(&mut self.dots);
        dots.iter_mut().for_each(|d| *d = F::zero());
        add_rows(&mut dots, &self.xs, x);
        // Then every slot's g_r scaled by its coefficient (empty slots weigh 0).
        let mut decay = F::one();
        let mut slot = self.head;
        for m in 0..self.cap {
            // slot(m) without a division: one step back round the ring.
            slot = if slot == 0 { self.cap - 1 } else { slot - 1 };
            let mut coef = -self.c * decay;
            if m < self.pending {
                coef = coef + self.beta;
            }
            dots[slot] = if m < self.len {
                coef * dots[slot]
            } else {
                F::zero()
            };
            decay = decay * self.k;
        }
        add_rows(&mut vb, &self.gs, &dots[..self.cap]);
        v.copy_from_slice(&vb[..self.n]);
        self.vbuf = vb;
        self.dots = dots;
    }

    /// Takes this step's term g_new xᵀ (the oldest term leaves a full ring).
    #[inline(always)]
    fn push(&mut self, x: &[F]) {
        let (n, np, cp, slot) = (self.n, self.np, self.cp, self.head);
        self.gs[slot * np..slot * np + n].copy_from_slice(&self.g_new);
        for (i, &xi) in x.iter().enumerate() {
            self.xs[i * cp + slot] = xi;
        }
        self.head = (slot + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
        self.pending += 1;
        if let Some((_, scale)) = &mut self.base {
            *scale = *scale * self.k;
            if *scale < F::epsilon() * F::c(0.25) {
                self.base = None;
            }
        }
        if self.pending == FOLD {
            self.fold();
        }
    }

    /// A += β Σ_pending g xᵀ, a column at a time (each column of A read and written
    /// once per four terms).
    #[inline(always)]
    fn fold(&mut self) {
        let (np, cp) = (self.np, self.cp);
        let slots: [usize; FOLD] = std::array::from_fn(|p| self.slot(p));
        let slots = &slots[..self.pending];
        let g = |slot: usize| &self.gs[slot * np..(slot + 1) * np];
        for (i, col) in self.a.chunks_exact_mut(np).enumerate() {
            let xrow = &self.xs[i * cp..(i + 1) * cp];
            let mut four = slots.chunks_exact(4);
            for q in &mut four {
                let s: [F; 4] = std::array::from_fn(|r| self.beta * xrow[q[r]]);
                add_scaled(col, [g(q[0]), g(q[1]), g(q[2]), g(q[3])], s);
            }
            for &slot in four.remainder() {
                add_scaled(col, [g(slot)], [self.beta * xrow[slot]]);
            }
        }
        self.pending = 0;
    }

    /// Writes the current W and PI into the dendrite.
    #[inline(always)]
    fn write(mut self, d: &mut Dendrite<F>) {
        self.fold();
        let (n, n_in, np, cp) = (self.n, self.n_in, self.np, self.cp);
        match &self.base {
            Some((pi, scale)) => {
                for j in 0..n {
                    for i in 0..n_in {
                        d.pi[j * n_in + i] = *scale * pi[i * np + j];
                    }
                }
            }
            None => d.pi.iter_mut().for_each(|p| *p = F::zero()),
        }
        let mut decay = F::one();
        for m in 0..self.len {
            let slot = self.slot(m);
            for j in 0..n {
                let s = decay * self.gs[slot * np + j];
                for i in 0..n_in {
                    let p = &mut d.pi[j * n_in + i];
                    *p = *p + s * self.xs[i * cp + slot];
                }
            }
            decay = decay * self.k;
        }
        for j in 0..n {
            for i in 0..n_in {
                d.w[j * n_in + i] = self.a[i * np + j] - self.c * d.pi[j * n_in + i];
            }
        }
    }
}

/// v += Σ_r s_r m_r over the rows m_r of m (each v.len() long), four rows a pass so that
/// v is read and written once per four: loads and stores, not the arithmetic, bound
/// these loops.
#[inline(always)]
fn add_rows<F: Real>(v: &mut [F], m: &[F], s: &[F]) {
    let n = v.len();
    let row = |r: usize| &m[r * n..(r + 1) * n];
    let mut four = s.chunks_exact(4);
    let mut r = 0;
    for q in &mut four {
        add_scaled(
            v,
            [row(r), row(r + 1), row(r + 2), row(r + 3)],
            [q[0], q[1], q[2], q[3]],
        );
        r += 4;
    }
    for &sr in four.remainder() {
        add_scaled(v, [row(r)], [sr]);
        r += 1;
    }
}

/// v += Σ_k s_k rows_k, element by element (the rows as long as v), fused: one rounding
/// per term, the same at every vector width (a call to libm's fma on the baseline).
#[inline(always)]
fn add_scaled<F: Real, const K: usize>(v: &mut [F], rows: [&[F]; K], s: [F; K]) {
    let n = v.len();
    debug_assert!(n.is_multiple_of(PAD));
    let rows: [&[F]; K] = std::array::from_fn(|k| &rows[k][..n]);
    // Whole blocks of PAD: a vector register or two each, no remainder loop.
    for (b, vb) in v.chunks_exact_mut(PAD).enumerate() {
        let at = b * PAD;
        let mut t: [F; PAD] = std::array::from_fn(|j| vb[j]);
        for k in 0..K {
            let r = &rows[k][at..at + PAD];
            for j in 0..PAD {
                t[j] = s[k].mul_add(r[j], t[j]);
            }
        }
        vb.copy_from_slice(&t);
    }
}
