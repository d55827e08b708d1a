//! Many models, each with its own world, run through the phases of an experiment
//! side by side: on the CPU device each model steps on its own core (rayon), on a GPU
//! all of one shape step in the same dispatches ([`super::gpu::ModelsOnDevice`]) while
//! the host streams their worlds' inputs. Either way a phase returns what the
//! experiment asked to keep (rates every k steps, with the agent's position) and feeds
//! every step to each model's training monitor.

use super::gpu::{stream_stride, ModelsOnDevice};
use super::latents::Latents;
use super::model::{Helper, Learning, State};
use super::monitor::{gaps, Monitor};
use super::ring::{Agent, PlaceCells};
use super::spec::{Spec, Theta};
use crate::error::Result;
use crate::gpu::{Backend, Gpu};
use crate::rng::{fill_normals, key_from_seed};
use rayon::prelude::*;

/// What a model's sensory features come from.
#[derive(Clone, Debug)]
pub enum World {
    /// Experiment B: an agent on the 1 m ring and its place cells.
    Ring {
        agent: Agent,
        places: PlaceCells,
        seed: u64,
    },
    /// Experiment A: Gaussian-process latents through a fixed random mixing
    /// (features × latents, N(0, 1/latents)).
    Latents {
        latents: Latents,
        mixing: Vec<f64>,
        values: Vec<f64>,
    },
}

const MIXING: u32 = 0x4c41_0002;

impl World {
    /// The ring of experiment B: the agent at rest at a random position, place cells
    /// of `width` m.
    pub fn ring(n_z: usize, width: f64, seed: u64) -> World {
        World::Ring {
            agent: Agent::new(seed),
            places: PlaceCells::new(n_z, width, seed),
            seed,
        }
    }

    /// Experiment A's `n` latents (RBF, 1 s, sampled on the last 3 s) mixed into
    /// `n_z` features.
    pub fn latents(n: usize, n_z: usize, dt: f64, seed: u64) -> Result<World> {
        let mut mixing = vec![0.0; n_z * n];
        fill_normals(key_from_seed(seed), 0, 0, MIXING, &mut mixing);
        let scale = 1.0 / (n as f64).sqrt();
        mixing.iter_mut().for_each(|w| *w *= scale);
        Ok(World::Latents {
            latents: Latents::new(n, dt, 1.0, 3.0, seed)?,
            mixing,
            values: vec![0.0; n],
        })
    }

    /// Moves the world on to step `step` and writes its features; returns the velocity
    /// cells (the agent's new velocity; zero without an agent).
    pub fn next(&mut self, step: u64, dt: f64, z: &mut [f32]) -> [f32; 2] {
        match self {
            World::Ring {
                agent,
                places,
                seed,
            } => {
                agent.step(step, dt, *seed);
                places.rates(agent.x, z);
                agent.velocity_cells()
            }
            World::Latents {
                latents,
                mixing,
                values,
            } => {
                latents.next(values);
                let n = values.len();
                for (i, z) in z.iter_mut().enumerate() {
                    let row = &mixing[i * n..(i + 1) * n];
                    *z = crate::real::dot(row, values) as f32;
                }
                [0.0; 2]
            }
        }
    }

    /// The agent's position (m), NaN without one.
    pub fn position(&self) -> f64 {
        match self {
            World::Ring { agent, .. } => agent.x,
            World::Latents { .. } => f64::NAN,
        }
    }
}

/// One model: its network, state, world, theta and monitor.
#[derive(Clone, Debug)]
pub struct Model {
    pub spec: Spec,
    pub state: State<f32>,
    pub world: World,
    pub theta_freq: f64,
    pub monitor: Monitor,
    /// The monitor at every whole simulated second of the phases that log it:
    /// (seconds of logged phases so far, HPC, MEC).
    pub losses: Vec<(f64, [f64; 2])>,
    /// Σ of each step's mean |a_B − a_A| per layer, and the steps, since the caller
    /// last zeroed it.
    pub phase_gaps: ([f64; 2], u64),
    logged_steps: u64,
}

impl Model {
    pub fn new(spec: Spec, seed: u64, world: World, theta_freq: f64) -> Model {
        Model {
            state: State::new(&spec, seed),
            monitor: Monitor::new(&spec, theta_freq),
            spec,
            world,
            theta_freq,
            losses: vec![],
            phase_gaps: ([0.0; 2], 0),
            logged_steps: 0,
        }
    }

    fn after_step(&mut self, now: [f64; 2], log: bool) {
        self.monitor.observe(self.state.step, now);
        self.phase_gaps.0[0] += now[0];
        self.phase_gaps.0[1] += now[1];
        self.phase_gaps.1 += 1;
        if log {
            self.logged_steps += 1;
            let per_second = (1.0 / self.spec.dt).round() as u64;
            if self.logged_steps.is_multiple_of(per_second) {
                if let Some(l) = self.monitor.loss {
                    let t = self.logged_steps as f64 * self.spec.dt;
                    self.losses.push((t, l));
                }
            }
        }
    }
}

/// A stretch of steps with one gate and learning on or off.
#[derive(Clone, Copy, Debug)]
pub struct Phase {
    pub steps: u64,
    pub theta: Theta,
    pub learning: Learning,
    /// Keep the rates after every k-th step (0: none), the phase's first step first.
    pub record_every: u64,
    /// Add the monitor to each model's loss series every simulated second.
    pub log: bool,
}

impl Phase {
    /// A test phase: learning off, nothing logged, rates kept every `record_every`
    /// steps (0: none).
    pub fn test(steps: u64, theta: Theta, record_every: u64) -> Phase {
        Phase {
            steps,
            theta,
            learning: Learning::Off,
            record_every,
            log: false,
        }
    }
}

/// One model's rates after a recorded step.
#[derive(Clone, Debug)]
pub struct Sample {
    pub p: Vec<f32>,
    pub g: Vec<f32>,
    /// The agent's position (m), NaN without one.
    pub position: f64,
}

/// Models run side by side on a backend.
pub struct Models<'g> {
    pub models: Vec<Model>,
    device: Option<ModelsOnDevice<'g>>,
    gpu: Option<&'g Gpu>,
    /// Whether the host's copies of the states are current (the device's may be ahead).
    host_current: bool,
}

/// Steps one GPU call streams at most (the inputs of all models for these steps are
/// uploaded at once).
const GPU_ROWS: usize = 2000;

impl<'g> Models<'g> {
    /// The models, all of one shape when the backend is a GPU.
    pub fn new(models: Vec<Model>, backend: &'g Backend) -> Result<Models<'g>> {
        let gpu = match backend {
            Backend::Gpu(g) => Some(&**g),
            Backend::Cpu => None,
        };
        let mut m = Models {
            models,
            device: None,
            gpu,
            host_current: true,
        };
        m.upload()?;
        Ok(m)
    }

    /// Uploads the host's states (after the caller changed them or the specs).
    pub fn upload(&mut self) -> Result<()> {
        for m in &mut self.models {
            m.state.settle();
        }
        if let Some(gpu) = self.gpu {
            let specs: Vec<Spec> = self.models.iter().map(|m| m.spec.clone()).collect();
            let states: Vec<State<f32>> = self.models.iter().map(|m| m.state.clone()).collect();
            self.device = Some(ModelsOnDevice::new(gpu, &specs, &states)?);
        }
        self.host_current = true;
        Ok(())
    }

    /// Brings the host's states up to date (weights and traces for analyses): from the
    /// device, or settled on the CPU.
    pub fn sync(&mut self) -> Result<()> {
        for m in &mut self.models {
            m.state.settle();
        }
        if let (Some(dev), false) = (&self.device, self.host_current) {
            let mut states: Vec<State<f32>> = self.models.iter().map(|m| m.state.clone()).collect();
            dev.read_states(&mut states)?;
            for (m, s) in self.models.iter_mut().zip(states) {
                m.state = s;
            }
            self.host_current = true;
        }
        Ok(())
    }

    /// Runs a phase on every model; returns each model's samples.
    pub fn run(&mut self, phase: &Phase) -> Result<Vec<Vec<Sample>>> {
        if crate::interrupt::requested() {
            return Err(crate::Error::Interrupted { done: 0, total: 0 });
        }
        match &self.device {
            None => {
                // Both cores on each model while there are fewer models than cores
                // (long phases only: a helper thread takes tens of µs to start).
                let helped =
                    2 * self.models.len() <= rayon::current_num_threads() && phase.steps >= 100;
                Ok(self
                    .models
                    .par_iter_mut()
                    .map(|m| run_on_cpu(m, phase, helped && Helper::<f32>::worthwhile(&m.spec)))
                    .collect())
            }
            Some(dev) => {
                let out = run_on_device(dev, &mut self.models, phase)?;
                self.host_current = false;
                Ok(out)
            }
        }
    }
}

fn record_due(phase: &Phase, i: u64) -> bool {
    phase.record_every > 0 && i.is_multiple_of(phase.record_every)
}

fn run_on_cpu(m: &mut Model, phase: &Phase, helped: bool) -> Vec<Sample> {
    let mut z = vec![0f32; m.spec.n_z];
    let mut samples = vec![];
    let mut helper = helped.then(|| Helper::start(&mut m.state, &m.spec));
    let mut window = std::time::Instant::now();
    for i in 0..phase.steps {
        // Two threads help only while both have a core: where the main one waits for
        // the helper a quarter of the time, the rest of the phase runs on one.
        if i % 256 == 255 {
            if let Some(h) = &mut helper {
                if h.take_waited() * 4 > window.elapsed() {
                    if let Some(h) = helper.take() {
                        h.finish(&mut m.state, &m.spec);
                    }
                }
                window = std::time::Instant::now();
            }
        }
        let t = m.state.step;
        let vel = m.world.next(t, m.spec.dt, &mut z);
        let th = phase.theta.at(t, m.spec.dt, m.theta_freq) as f32;
        match &mut helper {
            Some(h) => m
                .state
                .step_helped(&m.spec, &z, vel, [th, th], phase.learning, h),
            None => m.state.step(&m.spec, &z, vel, [th, th], phase.learning),
        }
        let now = gaps(&m.state);
        m.after_step(now, phase.log);
        if record_due(phase, i) {
            samples.push(Sample {
                p: m.state.p.clone(),
                g: m.state.g.clone(),
                position: m.world.position(),
            });
        }
    }
    if let Some(h) = helper {
        h.finish(&mut m.state, &m.spec);
    }
    samples
}

fn run_on_device(
    dev: &ModelsOnDevice<'_>,
    models: &mut [Model],
    phase: &Phase,
) -> Result<Vec<Vec<Sample>>> {
    let n = models.len();
    let spec = models[0].spec.clone();
    let stride = stream_stride(&spec);
    let (n_h, n_m) = (spec.hpc.n, spec.mec.n);
    let mut samples: Vec<Vec<Sample>> = (0..n).map(|_| vec![]).collect();
    let every = phase.record_every.max(1) as usize;
    // Windows hold whole record periods, so a window's row 0 is a recorded step.
    let most = (GPU_ROWS.min(dev.max_rows()) / every).max(1) * every;
    let mut done = 0u64;
    while done < phase.steps {
        let rows = most.min((phase.steps - done) as usize);
        let step0 = models[0].state.step;
        // Each model's world for these rows: the inputs, and where the agent is.
        let per_model: Vec<(Vec<f32>, Vec<f64>, [f32; 2])> = models
            .par_iter_mut()
            .map(|m| {
                let mut rowbuf = vec![0f32; rows * stride];
                let mut pos = Vec::with_capacity(rows);
                let mut vel = [0f32; 2];
                for (r, chunk) in rowbuf.chunks_exact_mut(stride).enumerate() {
                    let t = step0 + r as u64;
                    vel = m.world.next(t, m.spec.dt, &mut chunk[..m.spec.n_z]);
                    let th = phase.theta.at(t, m.spec.dt, m.theta_freq) as f32;
                    chunk[m.spec.n_z..].copy_from_slice(&[vel[0], vel[1], th, th]);
                    pos.push(m.world.position());
                }
                (rowbuf, pos, vel)
            })
            .collect();
        let mut stream = vec![0f32; rows * n * stride];
        for (m, (rowbuf, _, _)) in per_model.iter().enumerate() {
            for r in 0..rows {
                stream[(r * n + m) * stride..][..stride]
                    .copy_from_slice(&rowbuf[r * stride..(r + 1) * stride]);
            }
        }
        let record = if phase.record_every > 0 { every } else { 0 };
        let out = dev.run(&stream, step0, phase.learning, record)?;
        for (mi, m) in models.iter_mut().enumerate() {
            for r in 0..rows {
                m.state.step += 1;
                let g = out.gaps[r * n + mi];
                m.after_step(
                    [g[0] as f64 / n_h as f64, g[1] as f64 / n_m as f64],
                    phase.log,
                );
            }
            m.state.vel = per_model[mi].2;
            if record > 0 {
                let width = n_h + n_m;
                for k in 0..rows.div_ceil(every) {
                    let at = (k * n + mi) * width;
                    samples[mi].push(Sample {
                        p: out.records[at..at + n_h].to_vec(),
                        g: out.records[at + n_h..at + width].to_vec(),
                        position: per_model[mi].1[k * every],
                    });
                }
            }
        }
        done += rows as u64;
    }
    Ok(samples)
}
