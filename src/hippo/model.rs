//! The theta-gated Helmholtz machine of the hippocampal formation (spec
//! `hippocampus.md` §1–§2): HPC (p) and MEC (g) neurons with a basal (bottom-up) and an
//! apical (top-down, recurrent) compartment each, a soma that the theta gate switches
//! between them, and a local rule that moves each compartment towards the soma. This
//! is the CPU implementation, generic over the float type: the f64 reference for the
//! checks and the f32 CPU device.
//!
//! ```text
//! V_c = W_c · [inputs; 1]        a_c = f_c(V_c) + ξ_c        r = (1 − θ) a_B + θ a_A
//! δ_c = (r − a_c) ⊙ f_c'(V_c)    PI ← (1 − dt/τ_PI) PI + (dt/τ_PI) δ Iᵀ
//! W ← W + η (PI − λ2 W − λ1 sign W)
//! ```
//!
//! Per step: sensory inputs (given) → HPC → MEC → velocity cells (given) → conjunctive
//! cells, so top-down and recurrent inputs read the previous step's rates, bottom-up
//! inputs the current ones, and the conjunctive cells the velocity the agent takes next.

use crate::real::{dot, Real};
use crate::rng::{draw_normals, fill_normals, key_from_seed};
use serde::{Deserialize, Serialize};

/// A dendrite's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Act {
    Linear,
    /// max(0, tanh x).
    Retanh,
}

impl Act {
    /// (f(x), f'(x)).
    #[inline(always)]
    pub fn eval<F: Real>(self, x: F) -> (F, F) {
        match self {
            Act::Linear => (x, F::one()),
            // Branch-free, so that loops over neurons vectorise.
            Act::Retanh => {
                let t = x.max(F::zero()).tanh_fast();
                let df = if x > F::zero() {
                    F::one() - t * t
                } else {
                    F::zero()
                };
                (t, df)
            }
        }
    }
}

/// Where a compartment's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The sensory features (this step's).
    Z,
    /// The HPC somata.
    P,
    /// The MEC somata.
    G,
    /// The conjunctive velocity cells.
    C,
}

/// One compartment of a layer: its inputs, in order, then a bias when asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compartment {
    /// Each input block and the scale of its initial weights, N(0, (w_init/√n_in)²)
    /// with n_in the compartment's whole input count (the spec's words; scaling by each
    /// block's own size instead gave a worse path integrator on experiment B).
    pub inputs: Vec<(Source, f64)>,
    pub bias: bool,
    /// A fixed identity pathway from its one input (not plastic) instead of weights.
    pub identity: bool,
    pub act: Act,
    /// The OU noise's σ.
    pub sigma: f64,
    /// Learning rate per step (0: not plastic).
    pub eta: f64,
    pub lambda1: f64,
    pub lambda2: f64,
}

/// A layer of two-compartment neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub n: usize,
    pub basal: Compartment,
    pub apical: Compartment,
}

/// The network's shape and constants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub n_z: usize,
    pub hpc: Layer,
    pub mec: Layer,
    /// Conjunctive velocity cells (2 per MEC unit when path integrating, else none).
    pub conjunctive: bool,
    /// Seconds per step.
    pub dt: f64,
    pub tau_pi: f64,
    /// The OU noise's coherence time (s).
    pub tau_noise: f64,
}

impl Spec {
    pub fn n_c(&self) -> usize {
        if self.conjunctive {
            2 * self.mec.n
        } else {
            0
        }
    }

    fn size(&self, s: Source) -> usize {
        match s {
            Source::Z => self.n_z,
            Source::P => self.hpc.n,
            Source::G => self.mec.n,
            Source::C => self.n_c(),
        }
    }

    /// Inputs of a compartment, its bias included.
    pub fn n_in(&self, c: &Compartment) -> usize {
        c.inputs.iter().map(|&(s, _)| self.size(s)).sum::<usize>() + usize::from(c.bias)
    }

    /// Checks the shape and the constants; the error names the key.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |k: &str, m: String| Err(crate::Error::invalid(k, m));
        if !(self.dt > 0.0 && self.dt.is_finite()) {
            return bad("dt", format!("{} must be > 0", self.dt));
        }
        // The spec asks dt/τ_PI ≤ 0.2 but its own defaults (dt 25 ms, τ_PI 100 ms) give
        // 0.25; the trace is a stable first-order filter for any ratio below 1, and we
        // refuse ratios above the defaults'.
        if self.tau_pi.is_nan() || self.tau_pi <= 0.0 || self.dt / self.tau_pi > MAX_DT_OVER_TAU_PI
        {
            return bad(
                "tau_pi",
                format!(
                    "dt / tau_pi = {} must be at most {MAX_DT_OVER_TAU_PI}",
                    self.dt / self.tau_pi
                ),
            );
        }
        if self.tau_noise.is_nan() || self.tau_noise <= 0.0 {
            return bad("tau_noise", format!("{} must be > 0", self.tau_noise));
        }
        for (name, n) in [
            ("n_z", self.n_z),
            ("hpc.n", self.hpc.n),
            ("mec.n", self.mec.n),
        ] {
            if n == 0 {
                return bad(name, "must be at least 1".into());
            }
        }
        for (name, layer) in [("hpc", &self.hpc), ("mec", &self.mec)] {
            for (part, c) in [("basal", &layer.basal), ("apical", &layer.apical)] {
                let key = format!("{name}.{part}");
                if c.inputs.is_empty() {
                    return bad(&key, "has no inputs".into());
                }
                if c.identity
                    && (c.inputs.len() != 1 || c.bias || self.size(c.inputs[0].0) != layer.n)
                {
                    return bad(
                        &key,
                        format!(
                            "an identity pathway needs one input of {} units and no bias",
                            layer.n
                        ),
                    );
                }
                if c.inputs.iter().any(|&(s, _)| s == Source::C) && !self.conjunctive {
                    return bad(&key, "reads conjunctive cells, but there are none".into());
                }
                for (k, v) in [
                    ("sigma", c.sigma),
                    ("eta", c.eta),
                    ("lambda1", c.lambda1),
                    ("lambda2", c.lambda2),
                ] {
                    if !(v >= 0.0 && v.is_finite()) {
                        return bad(
                            &format!("{key}.{k}"),
                            format!("{v} must be finite and >= 0"),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// The largest dt / τ_PI a spec may have (the published defaults').
pub const MAX_DT_OVER_TAU_PI: f64 = 0.25;

/// One compartment's state: weights, eligibility traces, and this step's V, a and noise.
#[derive(Clone, Debug)]
pub struct Dendrite<F> {
    /// n × n_in, row-major (empty for an identity pathway). `w` and `pi` of a plastic
    /// compartment lag while it is kept factored: read them after [`State::settle`].
    pub w: Vec<F>,
    pub pi: Vec<F>,
    pub v: Vec<F>,
    pub a: Vec<F>,
    pub df: Vec<F>,
    pub xi: Vec<F>,
}

/// Which compartments a step may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learning {
    On,
    Off,
}

/// One model's whole state.
#[derive(Clone, Debug)]
pub struct State<F> {
    pub z: Vec<F>,
    pub p: Vec<F>,
    pub g: Vec<F>,
    pub c: Vec<F>,
    /// Velocity cells (v_R, v_L).
    pub vel: [F; 2],
    /// HPC basal, HPC apical, MEC basal, MEC apical.
    pub dendrites: [Dendrite<F>; 4],
    pub step: u64,
    key: [u32; 2],
    scratch: Scratch<F>,
    /// Plastic compartments without λ1, λ2 keep their weights and trace factored (see
    /// [`Factored`]) between calls of [`State::settle`].
    factored: [Option<Form<F>>; 4],
}

/// Buffers a step reuses: each compartment's input vector and noise draws, and the
/// rates of the last step.
#[derive(Clone, Debug)]
struct Scratch<F> {
    inputs: [Vec<F>; 4],
    words: [[Vec<u32>; 4]; 4],
    normals: [Vec<F>; 4],
    g_prev: Vec<F>,
    c_prev: Vec<F>,
}

/// Counter purpose of the OU noise draws and of the initial weights.
const NOISE: u32 = 0x4850_0001;
const INIT: u32 = 0x4850_0002;

impl<F: Real> State<F> {
    /// Weights N(0, (w_init/√n_in)²) per input block from the counter RNG (seeded),
    /// biases 0, rates, traces and noise 0.
    pub fn new(spec: &Spec, seed: u64) -> Self {
        let key = key_from_seed(seed);
        let comps = [
            &spec.hpc.basal,
            &spec.hpc.apical,
            &spec.mec.basal,
            &spec.mec.apical,
        ];
        let ns = [spec.hpc.n, spec.hpc.n, spec.mec.n, spec.mec.n];
        let dendrites = std::array::from_fn(|k| {
            let (c, n) = (comps[k], ns[k]);
            let n_in = spec.n_in(c);
            let w = if c.identity {
                vec![]
            } else {
                let mut draws = vec![F::zero(); n * n_in];
                fill_normals(key, 0, k as u32, INIT, &mut draws);
                let mut w = vec![F::zero(); n * n_in];
                for j in 0..n {
                    let mut col = 0;
                    for &(s, w_init) in &c.inputs {
                        let scale = F::c(w_init / (n_in as f64).sqrt());
                        for _ in 0..spec.size(s) {
                            w[j * n_in + col] = draws[j * n_in + col] * scale;
                            col += 1;
                        }
                    }
                }
                w
            };
            Dendrite {
                pi: vec![F::zero(); w.len()],
                w,
                v: vec![F::zero(); n],
                a: vec![F::zero(); n],
                df: vec![F::zero(); n],
                xi: vec![F::zero(); n],
            }
        });
        State {
            z: vec![F::zero(); spec.n_z],
            p: vec![F::zero(); spec.hpc.n],
            g: vec![F::zero(); spec.mec.n],
            c: vec![F::zero(); spec.n_c()],
            vel: [F::zero(); 2],
            scratch: Scratch {
                inputs: std::array::from_fn(|k| Vec::with_capacity(spec.n_in(comps[k]))),
                words: std::array::from_fn(|k| {
                    let nb = ns[k].div_ceil(4);
                    std::array::from_fn(|_| vec![0; nb])
                }),
                normals: std::array::from_fn(|k| vec![F::zero(); 4 * ns[k].div_ceil(4)]),
                g_prev: vec![F::zero(); spec.mec.n],
                c_prev: vec![F::zero(); spec.n_c()],
            },
            dendrites,
            step: 0,
            key,
            factored: [None, None, None, None],
        }
    }

    /// The same state in another float type (rounded).
    pub fn cast<G: Real>(&self, spec: &Spec) -> State<G> {
        let mut this = self.clone();
        this.settle();
        let this = &this;
        let c = |v: &[F]| -> Vec<G> {
            v.iter()
                .map(|x| G::c(x.to_f64().unwrap_or(f64::NAN)))
                .collect()
        };
        let mut s = State::<G>::new(spec, 0);
        s.key = this.key;
        s.step = this.step;
        s.z = c(&this.z);
        s.p = c(&this.p);
        s.g = c(&this.g);
        s.c = c(&this.c);
        s.vel = [
            G::c(this.vel[0].to_f64().unwrap_or(f64::NAN)),
            G::c(this.vel[1].to_f64().unwrap_or(f64::NAN)),
        ];
        for (d, e) in s.dendrites.iter_mut().zip(&this.dendrites) {
            *d = Dendrite {
                w: c(&e.w),
                pi: c(&e.pi),
                v: c(&e.v),
                a: c(&e.a),
                df: c(&e.df),
                xi: c(&e.xi),
            };
        }
        s
    }

    /// Brings every compartment's `w` and `pi` up to date (they lag while a plastic
    /// compartment is kept factored during steps). Call before reading them.
    pub fn settle(&mut self) {
        settle(self)
    }

    /// The counter RNG's key of this model's noise.
    pub fn key(&self) -> [u32; 2] {
        self.key
    }

    /// One time step: `z` this step's sensory features, `vel` the velocity cells after
    /// it (the agent's new velocity), θ for HPC and MEC.
    pub fn step(&mut self, spec: &Spec, z: &[F], vel: [F; 2], theta: [F; 2], learning: Learning) {
        step(self, spec, z, vel, theta, learning, None)
    }

    /// [`State::step`] with the MEC apical compartment on `helper`'s thread.
    pub fn step_helped(
        &mut self,
        spec: &Spec,
        z: &[F],
        vel: [F; 2],
        theta: [F; 2],
        learning: Learning,
        helper: &mut Helper<F>,
    ) {
        step(self, spec, z, vel, theta, learning, Some(helper))
    }

    #[inline(always)]
    fn step_inner(
        &mut self,
        spec: &Spec,
        z: &[F],
        vel: [F; 2],
        theta: [F; 2],
        learning: Learning,
        mut helper: Option<&mut Helper<F>>,
    ) {
        self.z.copy_from_slice(z);
        if let Some(h) = &mut helper {
            // The helper learns from the last step (the soma's g is this step's input)
            // and drives MEC apical while HPC and MEC basal run here.
            let learn = std::mem::replace(&mut h.learn_due, false);
            h.send(Job {
                g: self.g.clone(),
                c: self.c.clone(),
                step: self.step,
                learn,
            });
        }
        let sc = &mut self.scratch;
        sc.g_prev.copy_from_slice(&self.g);
        sc.c_prev.copy_from_slice(&self.c);
        let comps = [
            &spec.hpc.basal,
            &spec.hpc.apical,
            &spec.mec.basal,
            &spec.mec.apical,
        ];
        let away = helper.is_some();
        // HPC, then MEC: each reads the rates as they stand when its turn comes.
        for (layer, &th) in theta.iter().enumerate() {
            for k in [2 * layer, 2 * layer + 1] {
                if away && k == LIFTED {
                    continue;
                }
                // In `Source` order.
                let sources = [&self.z[..], &self.p, &sc.g_prev, &sc.c_prev];
                drive_compartment(
                    spec,
                    comps[k],
                    k,
                    self.key,
                    self.step,
                    sources,
                    &mut self.dendrites[k],
                    &mut self.factored[k],
                    &mut sc.inputs[k],
                    &mut sc.words[k],
                    &mut sc.normals[k],
                );
            }
            if layer == 1 {
                if let Some(h) = &mut helper {
                    self.dendrites[LIFTED].a = h.receive();
                }
            }
            let soma = if layer == 0 { &mut self.p } else { &mut self.g };
            let (b, a) = (&self.dendrites[2 * layer], &self.dendrites[2 * layer + 1]);
            for ((r, &ab), &aa) in soma.iter_mut().zip(&b.a).zip(&a.a) {
                *r = (F::one() - th) * ab + th * aa;
            }
            if learning == Learning::On {
                for k in [2 * layer, 2 * layer + 1] {
                    if !comps[k].identity && comps[k].eta > 0.0 {
                        if away && k == LIFTED {
                            if let Some(h) = &mut helper {
                                h.learn_due = true;
                            }
                            continue;
                        }
                        learn(
                            spec,
                            comps[k],
                            &mut self.dendrites[k],
                            &mut self.factored[k],
                            soma,
                            &sc.inputs[k],
                        );
                    }
                }
            }
        }
        // The velocity cells read the agent's new velocity before the conjunctive cells
        // do, so these combine this step's g with the velocity of the step the agent is
        // about to take (spec §7's reading of the update order).
        self.vel = vel;
        if spec.conjunctive {
            // c⁺ = ReLU(g + v_R − v_L − 1), c⁻ = ReLU(g − v_R + v_L − 1).
            let dv = self.vel[0] - self.vel[1];
            let n = spec.mec.n;
            for i in 0..n {
                self.c[i] = (self.g[i] + dv - F::one()).max(F::zero());
                self.c[n + i] = (self.g[i] - dv - F::one()).max(F::zero());
            }
        }
        self.step += 1;
    }
}

/// Builds compartment k's input from `sources` (z, p, g_prev, c_prev), draws its noise
/// for `step` and drives it.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn drive_compartment<F: Real>(
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

/// The compartment a [`Helper`] steps: MEC apical, the largest, whose inputs (the last
/// step's g and c) are known when a step begins.
const LIFTED: usize = 3;

/// What the main thread asks of a helper each step: learn from the last step if `learn`
/// (the soma's g is `g`), then drive MEC apical for `step` from the last step's g and c.
struct Job<F> {
    g: Vec<F>,
    c: Vec<F>,
    step: u64,
    learn: bool,
}

/// The MEC apical compartment of one state, stepped on a thread of its own while the
/// main thread steps the rest (both cores on one model): started by [`Helper::start`],
/// which lifts the compartment out of the state, and ended by [`Helper::finish`],
/// which puts it back. Each step is one message each way; the results are those of
/// [`State::step`], bit for bit.
pub struct Helper<F: Real> {
    jobs: std::sync::mpsc::SyncSender<Job<F>>,
    rates: std::sync::mpsc::Receiver<Vec<F>>,
    thread: Option<std::thread::JoinHandle<Lifted<F>>>,
    /// The last step's MEC apical term waits for the helper's next job.
    learn_due: bool,
    waited: std::time::Duration,
}

/// A compartment off its state: dendrite, factored weights and scratch.
struct Lifted<F> {
    d: Dendrite<F>,
    factored: Option<Form<F>>,
    input: Vec<F>,
    words: [Vec<u32>; 4],
    normals: Vec<F>,
}

impl<F: Real> Helper<F> {
    /// Whether a helper pays for its messages on this network: MEC apical must read
    /// only the last step's rates and hold enough weights.
    pub fn worthwhile(spec: &Spec) -> bool {
        let c = &spec.mec.apical;
        !c.identity
            && c.inputs
                .iter()
                .all(|(s, _)| matches!(s, Source::G | Source::C))
            && spec.mec.n * spec.n_in(c) >= 10_000
    }

    /// Lifts MEC apical out of `state` onto a new thread.
    pub fn start(state: &mut State<F>, spec: &Spec) -> Helper<F> {
        let k = LIFTED;
        let shell = Dendrite {
            w: vec![],
            pi: vec![],
            v: vec![],
            a: state.dendrites[k].a.clone(),
            df: vec![],
            xi: vec![],
        };
        let mut lifted = Lifted {
            d: std::mem::replace(&mut state.dendrites[k], shell),
            factored: state.factored[k].take(),
            input: state.scratch.inputs[k].clone(),
            words: state.scratch.words[k].clone(),
            normals: state.scratch.normals[k].clone(),
        };
        let (jobs, job_rx) = std::sync::mpsc::sync_channel::<Job<F>>(1);
        let (rate_tx, rates) = std::sync::mpsc::sync_channel::<Vec<F>>(1);
        let (spec, key) = (spec.clone(), state.key);
        let thread = std::thread::spawn(move || {
            while let Some(Job { g, c, step, learn }) = receive(&job_rx) {
                serve(&mut lifted, &spec, key, &g, &c, step, learn);
                if rate_tx.send(lifted.d.a.clone()).is_err() {
                    break;
                }
            }
            lifted
        });
        Helper {
            jobs,
            rates,
            thread: Some(thread),
            learn_due: false,
            waited: std::time::Duration::ZERO,
        }
    }

    /// Ends the helper: the last step's learning done, MEC apical back in `state`.
    pub fn finish(mut self, state: &mut State<F>, spec: &Spec) {
        let learn = self.learn_due;
        let thread = self.thread.take().expect("a helper finishes once");
        drop(self);
        let mut lifted = thread.join().expect("the hippo helper thread panicked");
        if learn {
            learn_last(&mut lifted, spec, &state.g);
        }
        state.dendrites[LIFTED] = lifted.d;
        state.factored[LIFTED] = lifted.factored;
    }

    fn send(&mut self, job: Job<F>) {
        self.jobs
            .send(job)
            .expect("the hippo helper thread stopped");
    }

    fn receive(&mut self) -> Vec<F> {
        let t0 = std::time::Instant::now();
        let rates = receive(&self.rates).expect("the hippo helper thread stopped");
        self.waited += t0.elapsed();
        rates
    }

    /// Time the main thread has waited for the helper since the last call: where it
    /// grows (both cores busy with other work, the helper off its core), the caller
    /// should finish the helper and step alone.
    pub fn take_waited(&mut self) -> std::time::Duration {
        std::mem::take(&mut self.waited)
    }
}

/// A message, spinning for up to 50 µs first: a step takes microseconds, less than a
/// sleeping thread takes to wake; past that the other thread is likely off its core
/// and spinning would only keep it off.
fn receive<T>(rx: &std::sync::mpsc::Receiver<T>) -> Option<T> {
    let t0 = std::time::Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(t) => return Some(t),
                Err(std::sync::mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
            }
        }
        if t0.elapsed() > std::time::Duration::from_micros(50) {
            return rx.recv().ok();
        }
    }
}

#[inline(always)]
fn learn_lifted<F: Real>(l: &mut Lifted<F>, spec: &Spec, soma: &[F]) {
    learn(
        spec,
        &spec.mec.apical,
        &mut l.d,
        &mut l.factored,
        soma,
        &l.input,
    );
}

crate::multiversion! {
    /// The last step's MEC apical learning, at a helper's end.
    fn learn_last<F: Real>(l: &mut Lifted<F>, spec: &Spec, soma: &[F]) -> () = learn_lifted;
}

#[inline(always)]
fn serve_inner<F: Real>(
    l: &mut Lifted<F>,
    spec: &Spec,
    key: [u32; 2],
    g: &[F],
    c: &[F],
    step: u64,
    learn: bool,
) {
    if learn {
        learn_lifted(l, spec, g);
    }
    // Only g and c are read ([`Helper::worthwhile`]).
    let sources = [&[][..], &[][..], g, c];
    drive_compartment(
        spec,
        &spec.mec.apical,
        LIFTED,
        key,
        step,
        sources,
        &mut l.d,
        &mut l.factored,
        &mut l.input,
        &mut l.words,
        &mut l.normals,
    );
}

#[inline(always)]
fn settle_inner<F: Real>(state: &mut State<F>) {
    for (f, d) in state.factored.iter_mut().zip(&mut state.dendrites) {
        if let Some(f) = f.take() {
            f.write(d);
        }
    }
}

crate::multiversion! {
    /// [`State::settle`], compiled for the CPU's widest vectors (the folds fuse
    /// multiply-adds, a libm call each on the baseline).
    fn settle<F: Real>(state: &mut State<F>) -> () = settle_inner;
}

crate::multiversion! {
    /// A helper's job, compiled for the CPU's widest vectors.
    fn serve<F: Real>(l: &mut Lifted<F>, spec: &Spec, key: [u32; 2], g: &[F], c: &[F], step: u64, learn: bool) -> () = serve_inner;
}

crate::multiversion! {
    /// [`State::step`], compiled for the CPU's widest vectors (src/simd.rs).
    fn step<F: Real>(state: &mut State<F>, spec: &Spec, z: &[F], vel: [F; 2], theta: [F; 2], learning: Learning, helper: Option<&mut Helper<F>>) -> () = step_inner;
}

#[inline(always)]
fn step_inner<F: Real>(
    state: &mut State<F>,
    spec: &Spec,
    z: &[F],
    vel: [F; 2],
    theta: [F; 2],
    learning: Learning,
    helper: Option<&mut Helper<F>>,
) {
    state.step_inner(spec, z, vel, theta, learning, helper)
}

/// V, f(V) + ξ and f'(V) of one compartment, after its OU noise's step by `noise` (
/// standard normals; none where σ = 0).
#[inline(always)]
fn drive<F: Real>(
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
fn learn<F: Real>(
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
enum Form<F> {
    Factored(Factored<F>),
    Columns(Columns<F>),
}

impl<F: Real> Form<F> {
    fn new(spec: &Spec, comp: &Compartment, d: &Dendrite<F>, n_in: usize) -> Option<Self> {
        Factored::new(spec, comp, d, n_in)
            .map(Form::Factored)
            .or_else(|| Columns::new(comp, d, n_in).map(Form::Columns))
    }

    #[inline(always)]
    fn write(self, d: &mut Dendrite<F>) {
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
struct Columns<F> {
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
struct Factored<F> {
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

/// The theta gate at step t: a square wave at `freq` Hz (θ = 1, the apical phase, in
/// the first half of each cycle) or ½(1 + sin 2π phase).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theta {
    Square,
    Smooth,
    /// θ ≡ 0: pure inference.
    Basal,
    /// θ ≡ 1: pure generation.
    Apical,
}

impl Theta {
    pub fn at(self, step: u64, dt: f64, freq: f64) -> f64 {
        let phase = (step as f64 * dt * freq).fract();
        match self {
            Theta::Square => f64::from(u8::from(phase < 0.5)),
            Theta::Smooth => 0.5 * (1.0 + (2.0 * std::f64::consts::PI * phase).sin()),
            Theta::Basal => 0.0,
            Theta::Apical => 1.0,
        }
    }
}

/// The training monitor (spec §2): per layer (HPC, MEC) an exponential moving average,
/// τ = 60 s, of mean |a_B − a_A|, started after the first two theta cycles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Monitor {
    /// The averages, None until the monitor starts.
    pub loss: Option<[f64; 2]>,
    /// Steps before it starts.
    pub start: u64,
    rate: f64,
}

impl Monitor {
    pub fn new(spec: &Spec, theta_freq: f64) -> Monitor {
        Monitor {
            loss: None,
            start: (2.0 / (theta_freq * spec.dt)).ceil() as u64,
            rate: spec.dt / 60.0,
        }
    }

    /// Reads the state after a step.
    pub fn update<F: Real>(&mut self, state: &State<F>) {
        self.observe(state.step, gaps(state));
    }

    /// Takes a step's mean |a_B − a_A| per layer (`step`: the steps done, this one
    /// included).
    pub fn observe(&mut self, step: u64, now: [f64; 2]) {
        if step <= self.start {
            return;
        }
        self.loss = Some(match self.loss {
            None => now,
            Some(m) => std::array::from_fn(|k| m[k] + self.rate * (now[k] - m[k])),
        });
    }
}

/// Mean |a_B − a_A| of HPC and of MEC in a state.
pub fn gaps<F: Real>(state: &State<F>) -> [f64; 2] {
    std::array::from_fn(|layer| {
        let (b, a) = (&state.dendrites[2 * layer], &state.dendrites[2 * layer + 1]);
        let gap: F =
            b.a.iter()
                .zip(&a.a)
                .fold(F::zero(), |s, (&x, &y)| s + (x - y).abs());
        gap.to_f64().unwrap_or(f64::NAN) / b.a.len() as f64
    })
}
