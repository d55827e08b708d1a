//! Landscape sweeps on a wgpu device: one kernel per (landscape, rule) pair, composed
//! from the shared driver (`shaders/landscape/sweep.wgsl`), the landscape's loss and
//! gradient, and the rule's step function (the optimiser family's own WGSL for member
//! rules). A chunk of learners is one dispatch that runs every step.

use super::cpu::bias_corrections;
use super::data::Shared;
use super::{LandscapeKind, Noise, Outcome, Params, Problem, RuleKind};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Kernel};
use crate::optim::{Consts, Member, CONSTS_WORDS};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

const PHILOX: &str = include_str!("../../shaders/common/philox.wgsl");
const DRIVER: &str = include_str!("../../shaders/landscape/sweep.wgsl");
const EXACT_GRAD: &str = include_str!("../../shaders/landscape/exact_grad.wgsl");

fn landscape_wgsl(kind: LandscapeKind) -> &'static [&'static str] {
    match kind {
        LandscapeKind::Quadratic => &[
            include_str!("../../shaders/landscape/quadratic.wgsl"),
            EXACT_GRAD,
        ],
        LandscapeKind::QuadraticDense | LandscapeKind::LinearRegression => &[
            include_str!("../../shaders/landscape/dense.wgsl"),
            EXACT_GRAD,
        ],
        LandscapeKind::DoubleWell => &[
            include_str!("../../shaders/landscape/double_well.wgsl"),
            EXACT_GRAD,
        ],
        LandscapeKind::Rosenbrock => &[
            include_str!("../../shaders/landscape/rosenbrock.wgsl"),
            EXACT_GRAD,
        ],
        LandscapeKind::TeacherStudent => {
            &[include_str!("../../shaders/landscape/teacher_student.wgsl")]
        }
    }
}

fn rule_wgsl(rule: RuleKind) -> &'static str {
    match rule.member() {
        Some(m) => crate::optim::gpu::step_wgsl(m),
        None if rule == RuleKind::Momentum => include_str!("../../shaders/landscape/momentum.wgsl"),
        None => include_str!("../../shaders/landscape/nesterov.wgsl"),
    }
}

/// The sweep kernel for a landscape and a rule, built once per process.
pub fn kernel(landscape: LandscapeKind, rule: RuleKind) -> Kernel {
    static KERNELS: OnceLock<Mutex<HashMap<(LandscapeKind, RuleKind), Kernel>>> = OnceLock::new();
    let mut map = KERNELS.get_or_init(Default::default).lock().unwrap();
    *map.entry((landscape, rule)).or_insert_with(|| {
        // The two landscapes sharing one dense kernel share its name too.
        let lname = if landscape.is_dense() {
            "dense"
        } else {
            landscape.name()
        };
        let name: &'static str =
            Box::leak(format!("sweep_{lname}_{}", rule.name()).into_boxed_str());
        let mut sources = vec![
            PHILOX,
            crate::optim::gpu::CONSTS_WGSL,
            rule_wgsl(rule),
            DRIVER,
        ];
        sources.extend_from_slice(landscape_wgsl(landscape));
        Kernel {
            name,
            sources: Box::leak(sources.into_boxed_slice()),
            entry: "main",
        }
    })
}

/// Every sweep kernel (for shader validation).
pub fn kernels() -> Vec<Kernel> {
    let lands = [
        LandscapeKind::Quadratic,
        LandscapeKind::QuadraticDense,
        LandscapeKind::DoubleWell,
        LandscapeKind::Rosenbrock,
        LandscapeKind::TeacherStudent,
    ];
    lands
        .iter()
        .flat_map(|&l| RuleKind::ALL.iter().map(move |&r| kernel(l, r)))
        .collect()
}

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Shape {
    dim: u32,
    nb: u32,
    lanes: u32,
    n_learners: u32,
    steps: u32,
    record_every: u32,
    n_records: u32,
    noise: u32,
    natural: u32,
    has_threshold: u32,
    threshold: f32,
    blowup: f32,
    off_bias: u32,
    off_curv: u32,
    off_dense_a: u32,
    off_dense_mu: u32,
    l_min: f32,
    off_x: u32,
    off_y: u32,
    d_in: u32,
    hidden: u32,
    samples: u32,
    minibatch: u32,
    t_begin: u32,
    t_end: u32,
    _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Learner {
    consts: [f32; CONSTS_WORDS],
    seed_lo: u32,
    seed_hi: u32,
    bc1_row: u32,
    bc2_row: u32,
    curv_row: u32,
    noise_sigma: f32,
    theta0: f32,
    theta0_noise: f32,
    mu: f32,
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    metric_eps: f32,
    init: [f32; 3],
    _pad: f32,
}

/// A learner's running statistics between windows (mirrors WGSL `Progress`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Progress {
    words: [u32; 8],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Out {
    final_loss: f32,
    min_loss: f32,
    mean_loss: f32,
    steps_to_threshold: i32,
    diverged: u32,
}

/// Rows of distinct values: the index of each value, registering it on first sight.
fn row_of(rows: &mut Vec<u64>, key: u64) -> u32 {
    match rows.iter().position(|&k| k == key) {
        Some(i) => i as u32,
        None => {
            rows.push(key);
            (rows.len() - 1) as u32
        }
    }
}

/// Loop back-edges one step of the kernel runs per invocation, counted generously: the
/// step loop, the loss reduction, the four-coordinate loops and Philox rounds, plus the
/// landscape's own loops (a dense row per coordinate; the teacher's cooperative
/// forward and backward passes per sample).
fn loops_per_step(problem: &Problem, lanes: usize) -> u64 {
    let mut n = 2 + lanes.trailing_zeros() as u64 + 6 * 4 + 2 * 10;
    if problem.landscape.is_dense() {
        n += 4 * (problem.dim as u64 + 1);
    }
    if let Some(t) = problem.teacher {
        // Per sample: this lane's share of the hidden units (d_in each), the output over
        // all hidden units, its four coordinates, and a Philox draw for minibatches.
        let mine = (t.hidden as u64).div_ceil(lanes as u64);
        let per_sample = 1 + mine * (t.d_in as u64 + 1) + t.hidden as u64 + 4 + 10;
        n += (t.samples + t.minibatch) as u64 * per_sample;
    }
    n + n / 2
}

/// Steps in the first window of a chunk, before any timing is known.
const FIRST_WINDOW: u64 = 64;
/// The wall time each later window aims at.
const WINDOW_SECONDS: f64 = 0.2;
const MAX_WINDOW: u64 = 1 << 20;

/// Runs a chunk of learners on the GPU.
pub fn run_chunk(
    gpu: &Gpu,
    problem: &Problem,
    shared: &Shared<f64>,
    params: &[Params],
) -> Result<Vec<Outcome>> {
    Ok(run_chunk_with(gpu, problem, shared, params, false, None)?.0)
}

/// Runs a chunk; with `finals`, also returns each learner's final θ and the exact
/// gradient there (2 * dim values per learner), for checks; with every window of steps `window` long when given (tests
/// use it to show that windows do not change results).
pub fn run_chunk_with(
    gpu: &Gpu,
    problem: &Problem,
    shared: &Shared<f64>,
    params: &[Params],
    finals: bool,
    window: Option<u64>,
) -> Result<(Vec<Outcome>, Vec<f32>)> {
    let n = params.len();
    if n == 0 {
        return Ok((vec![], vec![]));
    }
    let d = problem.dim;
    let nb = d.div_ceil(4);
    let lanes = nb.next_power_of_two();
    if lanes > 256 {
        return Err(Error::invalid(
            "landscape.dim",
            format!("{d} exceeds the GPU kernel's 1024"),
        ));
    }
    let steps = problem.steps;
    let member = problem.rule.member();

    // Shared data: bias-correction rows, curvature rows, dense A and μ, teacher data.
    let mut data: Vec<f32> = Vec::new();
    let mut beta_rows: Vec<u64> = Vec::new();
    let mut curv_rows: Vec<u64> = Vec::new();
    let mut learners = Vec::with_capacity(n);
    let curv_key = |p: &Params| match problem.landscape {
        LandscapeKind::Quadratic => [p.h_min, p.h_max, p.alpha]
            .iter()
            .fold(0u64, |h, v| h.rotate_left(21) ^ v.to_bits()),
        _ => 0,
    };
    let mut curv_params: Vec<Params> = Vec::new();
    for p in params {
        let m = member.unwrap_or(Member::Sgd);
        let hyper = p.hyper();
        let consts = Consts::new(m, &hyper, 1).cast::<f32>().words();
        let init = member.map_or(vec![0.0], |m| m.initial_state(&hyper));
        let ck = curv_key(p);
        let curv_row = row_of(&mut curv_rows, ck);
        if curv_row as usize == curv_params.len() {
            curv_params.push(*p);
        }
        let seed = p.seed_u64();
        learners.push(Learner {
            consts,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            bc1_row: row_of(&mut beta_rows, p.beta1.to_bits()),
            bc2_row: row_of(&mut beta_rows, p.beta2.to_bits()),
            curv_row,
            noise_sigma: p.noise_sigma as f32,
            theta0: p.theta0 as f32,
            theta0_noise: p.theta0_noise as f32,
            mu: p.mu as f32,
            a: p.a as f32,
            b: p.b as f32,
            c: p.c as f32,
            d: p.d as f32,
            metric_eps: p.eps as f32,
            init: [
                init.first().copied().unwrap_or(0.0) as f32,
                init.get(1).copied().unwrap_or(0.0) as f32,
                init.get(2).copied().unwrap_or(0.0) as f32,
            ],
            _pad: 0.0,
        });
    }
    let mut shape = Shape {
        dim: d as u32,
        nb: nb as u32,
        lanes: lanes as u32,
        n_learners: n as u32,
        steps: steps as u32,
        record_every: problem.record_every as u32,
        n_records: steps
            .checked_div(problem.record_every)
            .map_or(0, |r| r as u32 + 1),
        noise: match problem.noise {
            Noise::None => 0,
            Noise::Isotropic => 1,
            Noise::Curvature => 2,
        },
        natural: (problem.rule == RuleKind::NaturalGradient) as u32,
        has_threshold: problem.threshold.is_some() as u32,
        threshold: problem.threshold.unwrap_or(0.0) as f32,
        blowup: problem.blowup.min(f32::MAX as f64) as f32,
        ..Shape::default()
    };
    shape.off_bias = data.len() as u32;
    for &bits in &beta_rows {
        data.extend(
            bias_corrections(f64::from_bits(bits), steps)
                .iter()
                .map(|&v| v as f32),
        );
    }
    shape.off_curv = data.len() as u32;
    for p in &curv_params {
        match problem.landscape {
            LandscapeKind::Quadratic => {
                data.extend(problem.spectrum_values(p).iter().map(|&v| v as f32))
            }
            LandscapeKind::QuadraticDense | LandscapeKind::LinearRegression => {
                data.extend(shared.diag.iter().map(|&v| v as f32))
            }
            _ => data.extend(std::iter::repeat_n(1.0f32, d)),
        }
    }
    if let Some(dense) = &shared.dense {
        shape.off_dense_a = data.len() as u32;
        data.extend(dense.a.iter().map(|&v| v as f32));
        shape.off_dense_mu = data.len() as u32;
        data.extend(dense.mu.iter().map(|&v| v as f32));
        shape.l_min = dense.l_min as f32;
    }
    if let (Some(t), Some(teacher)) = (problem.teacher, &shared.teacher) {
        shape.off_x = data.len() as u32;
        data.extend(teacher.x.iter().map(|&v| v as f32));
        shape.off_y = data.len() as u32;
        data.extend(teacher.y.iter().map(|&v| v as f32));
        shape.d_in = t.d_in as u32;
        shape.hidden = t.hidden as u32;
        shape.samples = t.samples as u32;
        shape.minibatch = t.minibatch as u32;
    }

    let pipeline = gpu.pipeline(&kernel(problem.landscape, problem.rule))?;
    let uniform = gpu.scoped(|| {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sweep shape"),
            size: std::mem::size_of::<Shape>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })?;
    let learner_buf = gpu.upload("sweep learners", &learners)?;
    let data_buf = gpu.upload("sweep data", &data)?;
    let outs = gpu.zeros::<Out>("sweep outcomes", n)?;
    // Poisoned: a learner the kernel never writes reads back as NaN with diverged = !0.
    gpu.fill(
        &outs,
        Out {
            final_loss: f32::NAN,
            min_loss: f32::NAN,
            mean_loss: f32::NAN,
            steps_to_threshold: -2,
            diverged: u32::MAX,
        },
    )?;
    let traj = gpu.zeros::<f32>("sweep trajectories", (n * shape.n_records as usize).max(1))?;
    gpu.fill(&traj, f32::NAN)?;
    let fin = gpu.zeros::<f32>("sweep finals", if finals { n * 2 * d } else { 1 })?;
    gpu.fill(&fin, f32::NAN)?;
    let carry = gpu.zeros::<f32>("sweep carry", n * 4 * d)?;
    let progress = gpu.zeros::<Progress>("sweep progress", n)?;
    let bind = gpu.bind_group(
        &pipeline,
        &[
            (0, uniform.as_entire_binding()),
            (1, learner_buf.buffer.as_entire_binding()),
            (2, data_buf.buffer.as_entire_binding()),
            (3, outs.buffer.as_entire_binding()),
            (4, traj.buffer.as_entire_binding()),
            (5, fin.buffer.as_entire_binding()),
            (6, carry.buffer.as_entire_binding()),
            (7, progress.buffer.as_entire_binding()),
        ],
    )?;
    let workgroups = n.div_ceil(256 / lanes) as u32;
    // Windows of steps sized from the last one's wall time, aiming at WINDOW_SECONDS per
    // dispatch: short enough for any display driver's watchdog, long enough that
    // submission overhead does not show.
    let total = steps as u64 + 1;
    // On adapters that cap loop iterations per invocation, no window may exceed the cap.
    let max_window = match gpu.loop_budget() {
        Some(budget) => {
            let per_step = loops_per_step(problem, lanes);
            if per_step > budget {
                return Err(Error::invalid(
                    "landscape",
                    format!(
                        "one step of this {} needs ~{per_step} loop iterations, past the software adapter's limit of {budget} per invocation; run it with --device cpu",
                        problem.landscape.name()
                    ),
                ));
            }
            budget / per_step
        }
        None => MAX_WINDOW,
    };
    let mut begin = 0u64;
    let mut steps_now = window
        .unwrap_or(FIRST_WINDOW)
        .clamp(1, total)
        .min(max_window);
    while begin < total {
        let end = (begin + steps_now).min(total);
        shape.t_begin = begin as u32;
        shape.t_end = end as u32;
        gpu.queue
            .write_buffer(&uniform, 0, bytemuck::bytes_of(&shape));
        let t0 = std::time::Instant::now();
        gpu.dispatch_and_wait("sweep", &pipeline, &bind, workgroups)?;
        let per_step = t0.elapsed().as_secs_f64() / (end - begin) as f64;
        steps_now = window
            .unwrap_or(((WINDOW_SECONDS / per_step.max(1e-9)) as u64).clamp(1, MAX_WINDOW))
            .min(max_window);
        begin = end;
    }

    let outs = gpu.download(&outs)?;
    let traj = if shape.n_records > 0 {
        gpu.download(&traj)?
    } else {
        vec![]
    };
    let records = shape.n_records as usize;
    let outcomes = outs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            if o.diverged > 1 {
                return Err(Error::Internal(format!(
                    "the sweep kernel left learner {i} of the chunk unwritten"
                )));
            }
            Ok(Outcome {
                final_loss: o.final_loss as f64,
                min_loss: o.min_loss as f64,
                mean_loss: o.mean_loss as f64,
                steps_to_threshold: (o.steps_to_threshold >= 0)
                    .then_some(o.steps_to_threshold as u32),
                diverged: o.diverged == 1,
                trajectory: traj
                    .get(i * records..(i + 1) * records)
                    .map(<[f32]>::to_vec)
                    .unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let finals = if finals { gpu.download(&fin)? } else { vec![] };
    Ok((outcomes, finals))
}
