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

use super::dendrite::{drive_compartment, learn, Dendrite, Form};
use super::spec::{Source, Spec};
use crate::real::Real;
use crate::rng::{fill_normals, key_from_seed};

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
    /// `dendrite::Factored`) between calls of [`State::settle`].
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

/// Counter purpose of the initial weights (the OU noise's is `dendrite::NOISE`).
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
