//! Landscapes on a wgpu device: the WGSL file that holds each landscape's loss and
//! gradient (shaders/loss/, composed into any driver that defines what
//! shaders/loss/point.wgsl asks for), the shared data laid out in a data arena with its
//! `Land` record, and the point evaluator (loss and gradient at given points).

use super::data::Shared;
use super::{Landscape, LandscapeKind, Shape};
use crate::error::{Error, Result};
use crate::gpu::{DataArena, Gpu, GpuStruct, Kernel, Layout};

/// The file holding the landscape's `loss_grad` (loss/point.wgsl says what it
/// may read).
pub fn wgsl_file(kind: LandscapeKind) -> &'static str {
    match kind {
        LandscapeKind::Quadratic => "loss/quadratic.wgsl",
        LandscapeKind::QuadraticDense | LandscapeKind::LinearRegression => "loss/dense.wgsl",
        LandscapeKind::DoubleWell => "loss/double_well.wgsl",
        LandscapeKind::Rosenbrock => "loss/rosenbrock.wgsl",
        LandscapeKind::TeacherStudent => "loss/teacher_student.wgsl",
    }
}

/// The file's name without directory and extension ("dense", "adam").
pub fn stem(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".wgsl").unwrap_or(file)
}

/// The point evaluator for a landscape (loss and gradient at given points).
pub fn points_kernel(landscape: LandscapeKind) -> Kernel {
    Kernel::new(
        format!("points_{}", stem(wgsl_file(landscape))),
        "main",
        &["loss/points.wgsl", wgsl_file(landscape)],
    )
}

/// The point evaluator of every landscape (one per WGSL file).
pub fn kernels() -> Vec<Kernel> {
    let mut all: Vec<Kernel> = Vec::new();
    for &k in LandscapeKind::ALL {
        let kernel = points_kernel(k);
        if !all.iter().any(|x| x.name == kernel.name) {
            all.push(kernel);
        }
    }
    all
}

/// Every struct the landscapes share with their WGSL.
pub fn layouts() -> Vec<Layout> {
    vec![Land::layout(), LandParams::layout(), PointsShape::layout()]
}

crate::gpu_struct! {
    /// The landscape's shape and data offsets (WGSL `Land`, loss/point.wgsl).
    pub struct Land {
        pub dim: u32,
        pub nb: u32,
        pub lanes: u32,
        pub off_curv: u32,
        pub off_dense_a: u32,
        pub off_dense_mu: u32,
        pub l_min: f32,
        pub off_x: u32,
        pub off_y: u32,
        pub d_in: u32,
        pub hidden: u32,
        pub samples: u32,
        pub minibatch: u32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }
}

crate::gpu_struct! {
    /// One point's landscape numbers (WGSL `LandParams`).
    pub struct LandParams {
        pub mu: f32,
        pub a: f32,
        pub b: f32,
        pub c: f32,
        pub d: f32,
        pub curv_row: u32,
    }
}

crate::gpu_struct! {
    /// The point evaluator's uniform.
    struct PointsShape {
        land: Land,
        n_points: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// Rows of distinct values: the index of each value, registering it on first sight.
pub fn row_of(rows: &mut Vec<u64>, key: u64) -> u32 {
    match rows.iter().position(|&k| k == key) {
        Some(i) => i as u32,
        None => {
            rows.push(key);
            (rows.len() - 1) as u32
        }
    }
}

/// Threads per point: a power of two covering the point's blocks of four coordinates.
pub fn lanes_for(land: &Landscape) -> Result<(usize, usize)> {
    let nb = land.dim.div_ceil(4);
    let lanes = nb.next_power_of_two();
    if lanes > 256 {
        return Err(Error::invalid(
            "landscape.dim",
            format!("{} exceeds the GPU kernel's 1024", land.dim),
        ));
    }
    Ok((nb, lanes))
}

/// The landscape's shared data in `arena` (curvature rows for the distinct spectra of
/// `params`, the dense quadratic form, the teacher's samples) and its `Land` record;
/// returns each learner's numbers with its curvature row.
pub fn land_data(
    landscape: &Landscape,
    shared: &Shared<f64>,
    params: &[Shape],
    arena: &mut DataArena,
) -> Result<(Land, Vec<LandParams>)> {
    let d = landscape.dim;
    let (nb, lanes) = lanes_for(landscape)?;
    let mut land: Land = bytemuck::Zeroable::zeroed();
    (land.dim, land.nb, land.lanes) = (d as u32, nb as u32, lanes as u32);
    // One curvature row per distinct spectrum (only quadratics vary theirs).
    let curv_key = |p: &Shape| match landscape.kind {
        LandscapeKind::Quadratic => [p.h_min, p.h_max, p.alpha]
            .iter()
            .fold(0u64, |h, v| h.rotate_left(21) ^ v.to_bits()),
        LandscapeKind::QuadraticDense
        | LandscapeKind::DoubleWell
        | LandscapeKind::Rosenbrock
        | LandscapeKind::LinearRegression
        | LandscapeKind::TeacherStudent => 0,
    };
    let mut rows: Vec<u64> = Vec::new();
    let mut row_params: Vec<&Shape> = Vec::new();
    let mut points = Vec::with_capacity(params.len());
    for p in params {
        let curv_row = row_of(&mut rows, curv_key(p));
        if curv_row as usize == row_params.len() {
            row_params.push(p);
        }
        points.push(LandParams {
            mu: p.mu as f32,
            a: p.a as f32,
            b: p.b as f32,
            c: p.c as f32,
            d: p.d as f32,
            curv_row,
        });
    }
    land.off_curv = arena.len() as u32;
    for p in row_params {
        let row: Vec<f32> = match landscape.kind {
            LandscapeKind::Quadratic => landscape
                .spectrum_values(p)
                .iter()
                .map(|&v| v as f32)
                .collect(),
            LandscapeKind::QuadraticDense | LandscapeKind::LinearRegression => {
                shared.diag.iter().map(|&v| v as f32).collect()
            }
            LandscapeKind::DoubleWell
            | LandscapeKind::Rosenbrock
            | LandscapeKind::TeacherStudent => vec![1.0; d],
        };
        arena.push(row);
    }
    if let Some(dense) = &shared.dense {
        land.off_dense_a = arena.push(dense.a.iter().map(|&v| v as f32));
        land.off_dense_mu = arena.push(dense.mu.iter().map(|&v| v as f32));
        land.l_min = dense.l_min as f32;
    }
    if let (Some(t), Some(teacher)) = (landscape.teacher, &shared.teacher) {
        land.off_x = arena.push(teacher.x.iter().map(|&v| v as f32));
        land.off_y = arena.push(teacher.y.iter().map(|&v| v as f32));
        (land.d_in, land.hidden) = (t.d_in as u32, t.hidden as u32);
        (land.samples, land.minibatch) = (t.samples as u32, t.minibatch as u32);
    }
    Ok((land, points))
}

/// The landscape's loss and gradient at given points (`theta`: dim values per point of
/// `params`), evaluated by the point kernel: (loss per point, gradient per point).
pub fn loss_grad_at(
    gpu: &Gpu,
    landscape: &Landscape,
    shared: &Shared<f64>,
    params: &[Shape],
    theta: &[f32],
) -> Result<(Vec<f32>, Vec<f32>)> {
    let n = params.len();
    let d = landscape.dim;
    if theta.len() != n * d {
        return Err(Error::invalid(
            "theta",
            format!(
                "holds {} values; {n} points of dim {d} need {}",
                theta.len(),
                n * d
            ),
        ));
    }
    if n == 0 {
        return Ok((vec![], vec![]));
    }
    let mut arena = DataArena::new();
    let (land, points) = land_data(landscape, shared, params, &mut arena)?;
    let shape = PointsShape {
        land,
        n_points: n as u32,
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    let pipeline = gpu.pipeline(&points_kernel(landscape.kind))?;
    let uniform = gpu.uniform("points shape", &shape)?;
    let params_buf = gpu.upload("points params", &points)?;
    let data_buf = arena.upload(gpu, "points data")?;
    let theta_buf = gpu.upload("points theta", theta)?;
    let loss = gpu.poisoned("points loss", n, f32::NAN)?;
    let grad = gpu.poisoned("points gradient", n * d, f32::NAN)?;
    let bind = gpu.bind_group(
        &pipeline,
        &[
            (0, uniform.as_entire_binding()),
            (1, params_buf.buffer.as_entire_binding()),
            (2, data_buf.buffer.as_entire_binding()),
            (3, theta_buf.buffer.as_entire_binding()),
            (4, loss.buffer.as_entire_binding()),
            (5, grad.buffer.as_entire_binding()),
        ],
    )?;
    let workgroups = n.div_ceil(256 / land.lanes as usize) as u32;
    gpu.dispatch_and_wait("points", &pipeline, &bind, workgroups)?;
    Ok((gpu.download(&loss)?, gpu.download(&grad)?))
}
