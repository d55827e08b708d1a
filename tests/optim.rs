//! The optimiser family on the adapter against the f64 reference.

mod common;

use rulelab::check::{self, compare, Tolerance};
use rulelab::gpu::Gpu;
use rulelab::optim::cases::{
    self as checks, compare_outcome, multi_step_tolerance, random_config, random_grads, run_cpu,
    run_gpu,
};
use rulelab::optim::gpu::GpuOptimizer;
use rulelab::optim::{kalman_steady_gain, Config, Group, Hyper, Member};
use rulelab::Error;

fn assert_rows(rows: &[rulelab::check::Row], seed: u64) {
    assert!(!rows.is_empty());
    for r in rows {
        assert!(r.report.pass, "{} (seed {seed}): {}", r.kernel, r.report);
    }
}

/// Every member, 3 groups with their own hyper-parameters, 20 steps of random
/// gradients: the same cases `rulelab check` runs.
#[test]
fn every_member_matches_reference_over_20_steps() {
    let Some(gpu) = common::gpu() else { return };
    let backend = common::backend(&gpu);
    let seed = common::seed("every_member");
    for case in checks::cases() {
        assert_rows(&case.run(&backend, seed).unwrap(), seed);
    }
}

/// Awkward lengths: 1, around the workgroup and tile sizes, and primes.
#[test]
fn awkward_lengths() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("awkward_lengths");
    let mut rng = check::rng(seed);
    for &n in &[1usize, 2, 255, 256, 257, 1023, 1024, 1025, 4099] {
        for &member in Member::ALL {
            let config = Config::single(member, checks::random_hyper(member, &mut rng), n);
            let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
            let grads = random_grads(n, 5, &mut rng);
            let got = run_gpu(&gpu, &config, &theta0, &grads).unwrap();
            let want = run_cpu::<f64>(&config, &theta0, &grads).unwrap();
            let rows = compare_outcome(
                &config,
                &format!("{} n={n}", member.name()),
                &got,
                &want,
                &theta0,
                &grads,
                multi_step_tolerance(5),
            );
            assert_rows(&rows, seed);
        }
    }
}

/// A device with 7 workgroups per dimension and 64 KiB bindings: the arena is bound as
/// many windows and each window's tiles need a 2-D grid. Every member, several groups.
#[test]
fn split_dispatch_and_windows_under_lowered_limits() {
    let Some(gpu) = common::tiny_limits_gpu() else {
        return;
    };
    let seed = common::seed("split_lowered");
    let mut rng = check::rng(seed);
    let n = 100_003;
    assert!(
        gpu.windows(n as u64, 4).len() > 5,
        "the arena must span several windows"
    );
    for &member in Member::ALL {
        let config = random_config(member, n, 4, &mut rng);
        let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
        let grads = random_grads(n, 4, &mut rng);
        let got = run_gpu(&gpu, &config, &theta0, &grads).unwrap();
        let want = run_cpu::<f64>(&config, &theta0, &grads).unwrap();
        assert_rows(
            &compare_outcome(
                &config,
                member.name(),
                &got,
                &want,
                &theta0,
                &grads,
                multi_step_tolerance(4),
            ),
            seed,
        );
    }
}

/// A real length past 65,535 x 256: more than one dispatch dimension's worth of
/// workgroup-sized pieces, at the adapter's own limits.
#[test]
fn length_past_one_dispatch_dimension() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("past_dimension");
    let mut rng = check::rng(seed);
    let n = 65_535 * 256 + 4_099;
    let config = Config::single(
        Member::Adam,
        checks::random_hyper(Member::Adam, &mut rng),
        n,
    );
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    let grads = random_grads(n, 2, &mut rng);
    let got = run_gpu(&gpu, &config, &theta0, &grads).unwrap();
    let want = run_cpu::<f64>(&config, &theta0, &grads).unwrap();
    assert_rows(
        &compare_outcome(
            &config,
            "adam long",
            &got,
            &want,
            &theta0,
            &grads,
            multi_step_tolerance(2),
        ),
        seed,
    );
}

/// Parameters outside every group come back bit for bit unchanged.
#[test]
fn gaps_between_groups_are_untouched() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("gaps");
    let mut rng = check::rng(seed);
    let n = 3000;
    let h = checks::random_hyper(Member::Kalman, &mut rng);
    let config = Config {
        member: Member::Kalman,
        hypers: vec![h],
        groups: vec![
            Group {
                offset: 1000,
                len: 500,
                hyper: 0,
            },
            Group {
                offset: 10,
                len: 900,
                hyper: 0,
            },
        ],
        clip_norm: None,
        skip_nonfinite: false,
    };
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    let grads = random_grads(n, 3, &mut rng);
    let got = run_gpu(&gpu, &config, &theta0, &grads).unwrap();
    for i in (0..10).chain(910..1000).chain(1500..n) {
        assert_eq!(
            got.theta[i].to_bits(),
            theta0[i].to_bits(),
            "element {i} outside every group changed"
        );
    }
    assert!(got.theta[10..910]
        .iter()
        .zip(&theta0[10..910])
        .all(|(a, b)| a != b));
}

/// Two f32 runs of `steps` steps that should agree: each rounds theta about twice per
/// step at the scale of the largest |theta| seen.
fn two_run_tolerance(thetas: &[&[f32]], steps: usize) -> Tolerance {
    let peak = thetas
        .iter()
        .flat_map(|t| t.iter())
        .fold(0.0f64, |a, &b| a.max((b as f64).abs()));
    Tolerance::new(4.0 * steps as f64 * f32::EPSILON as f64 * peak, 1e-5)
}

/// v_hat -> 0: s2_post -> sigma^2, so with beta1 = 0 adabayes_fp is SGD with
/// lr = sigma^2 * B on the mean gradient.
#[test]
fn adabayes_fp_small_gradient_limit_is_sgd() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("fp_to_sgd");
    let mut rng = check::rng(seed);
    let n = 5000;
    let (sigma2, batch) = (0.01, 16.0);
    let fp = Hyper {
        beta1: 0.0,
        beta2: 0.9,
        eps: 1e-12,
        sigma2,
        eta: 1e4,
        batch,
        ..Hyper::default()
    };
    let sgd = Hyper {
        lr: sigma2 * batch,
        ..Hyper::default()
    };
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    let grads = random_grads(n, 20, &mut rng);
    let a = run_gpu(
        &gpu,
        &Config::single(Member::AdabayesFp, fp, n),
        &theta0,
        &grads,
    )
    .unwrap();
    let b = run_gpu(&gpu, &Config::single(Member::Sgd, sgd, n), &theta0, &grads).unwrap();
    // The limit is approached to (B g)^2 sigma^4 / eta^2 ~ 1e-11, so what remains is the
    // rounding of two f32 runs: ~2 ulp of the largest |theta| per step each.
    let tol = two_run_tolerance(&[&theta0, &b.theta], 20);
    let r = compare(&a.theta, &check::widen(&b.theta), tol);
    assert!(r.pass, "seed {seed}: {r}");
    // And the limit is not reached by accident: with a small eta it is not SGD.
    let far = Hyper { eta: 1e-3, ..fp };
    let c = run_gpu(
        &gpu,
        &Config::single(Member::AdabayesFp, far, n),
        &theta0,
        &grads,
    )
    .unwrap();
    assert!(!compare(&c.theta, &check::widen(&b.theta), tol).pass);
}

/// v_hat -> infinity: s2_post -> eta / sqrt(v_hat), so adabayes_fp is Adam with
/// learning rate eta (eps aside).
#[test]
fn adabayes_fp_large_gradient_limit_is_adam() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("fp_to_adam");
    let mut rng = check::rng(seed);
    let n = 5000;
    let eta = 1e-3;
    // eps is negligible on purpose: the two members place it differently (inside and
    // outside the root), which is the one difference the limit leaves ("eps aside").
    let fp = Hyper {
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-30,
        sigma2: 1e8,
        eta,
        batch: 1.0,
        ..Hyper::default()
    };
    let adam = Hyper {
        lr: eta,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-30,
        ..Hyper::default()
    };
    // theta starts at 0 so that it holds only the sum of the steps: the comparison then
    // measures the steps, not the rounding of a unit-scale theta.
    let theta0 = vec![0.0f32; n];
    let grads = random_grads(n, 20, &mut rng);
    let a = run_gpu(
        &gpu,
        &Config::single(Member::AdabayesFp, fp, n),
        &theta0,
        &grads,
    )
    .unwrap();
    let b = run_gpu(
        &gpu,
        &Config::single(Member::Adam, adam, n),
        &theta0,
        &grads,
    )
    .unwrap();
    // A step's relative gap is eta / (2 sigma^2 sqrt(v_hat)) < 1e-6 for gradients above
    // 1e-5; what remains is f32 rounding of two formulas, a few ulp of each step.
    let path = 20.0 * eta;
    let tol = Tolerance::new(40.0 * f32::EPSILON as f64 * path, 1e-5);
    let r = compare(&a.theta, &check::widen(&b.theta), tol);
    assert!(r.pass, "seed {seed}: {r}");
    let r = compare(
        &a.states[0],
        &check::widen(&b.states[0]),
        Tolerance::new(0.0, 0.0),
    );
    assert!(
        r.pass,
        "first moments must be the same EMA, seed {seed}: {r}"
    );
    // And the limit is not reached by accident: with a small sigma^2 it is not Adam.
    let near = Hyper { sigma2: 1e-4, ..fp };
    let c = run_gpu(
        &gpu,
        &Config::single(Member::AdabayesFp, near, n),
        &theta0,
        &grads,
    )
    .unwrap();
    assert!(!compare(&c.theta, &check::widen(&b.theta), tol).pass);
}

/// With r_hat held fixed (beta2 = 1) the gain converges to K_inf and, after burn-in,
/// the filter's m is the EMA of g with beta1 = 1 - K_inf: Adam's first moment is a
/// steady-state Kalman filter.
#[test]
fn kalman_steady_state_is_the_first_moment_ema() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("kalman_ema");
    let mut rng = check::rng(seed);
    let n = 2048;
    let (q, r) = (1e-3, 0.09);
    let k_inf = kalman_steady_gain(q, r);
    assert!((k_inf * k_inf / (1.0 - k_inf) - q / r).abs() < 1e-12);
    let h = Hyper {
        lr: 1e-3,
        beta2: 1.0,
        q,
        r0: r,
        p0: 100.0,
        r_min: 1e-12,
        ..Hyper::default()
    };
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    // Burn-in: (1 - K_inf)^steps and the gain transient fall below f32 round-off.
    let steps = (40.0 / k_inf).ceil() as usize;
    let grads = random_grads(n, steps, &mut rng);
    let got = run_gpu(&gpu, &Config::single(Member::Kalman, h, n), &theta0, &grads).unwrap();
    let mut ema = vec![0.0f64; n];
    for g in &grads {
        for (e, &x) in ema.iter_mut().zip(g) {
            *e = (1.0 - k_inf) * *e + k_inf * x as f64;
        }
    }
    // m is an EMA of O(1) gradients; f32 round-off leaves ~1e-6 of the gradient scale.
    let tol = Tolerance::new(2e-6, 1e-5).relative_to_peak(&ema);
    let rep = compare(&got.states[0], &ema, tol);
    assert!(rep.pass, "seed {seed}: K_inf = {k_inf}: {rep}");
    // P has converged to its steady state (1 - K_inf) (P + q) = K_inf r.
    let p = compare(
        &got.states[1],
        &vec![k_inf * r; n],
        Tolerance::new(0.0, 1e-5),
    );
    assert!(p.pass, "seed {seed}: {p}");
}

/// Changing lr between steps takes effect without rebuilding anything.
#[test]
fn hyper_parameters_change_between_steps() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("set_hyper");
    let mut rng = check::rng(seed);
    let n = 3000;
    let h = checks::random_hyper(Member::Adam, &mut rng);
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    let grads = random_grads(n, 10, &mut rng);
    let theta = gpu.upload("theta", &theta0).unwrap();
    let g = gpu.zeros::<f32>("g", n).unwrap();
    let config = Config::single(Member::Adam, h, n);
    let mut opt = GpuOptimizer::new(&gpu, config.clone(), &theta.buffer, &g.buffer, n).unwrap();
    let mut cpu = rulelab::optim::cpu::CpuOptimizer::<f64>::new(config, n).unwrap();
    let mut want = check::widen(&theta0);
    let h2 = Hyper {
        lr: h.lr * 3.0,
        beta1: 0.5,
        ..h
    };
    for (t, step) in grads.iter().enumerate() {
        if t == 5 {
            opt.set_hyper(0, h2).unwrap();
            cpu.set_hyper(0, h2).unwrap();
        }
        gpu.write(&g, step).unwrap();
        opt.step(&gpu).unwrap();
        cpu.step(&mut want, &check::widen(step)).unwrap();
    }
    let got = gpu.download(&theta).unwrap();
    let r = compare(&got, &want, multi_step_tolerance(10));
    assert!(r.pass, "seed {seed}: {r}");
    assert!(matches!(
        opt.set_hyper(0, Hyper { beta1: 1.0, ..h }),
        Err(Error::Invalid { .. })
    ));
}

/// The embedding path: a program that owns its device and buffers (with usages of its
/// own choosing) hands them to rulelab, which steps them in place.
#[test]
fn embedding_on_a_callers_device_and_buffers() {
    if common::gpu().is_none() {
        return;
    }
    let seed = common::seed("embedding");
    let mut rng = check::rng(seed);
    let adapter = rulelab::gpu::choose_adapter(rulelab::gpu::adapters()).unwrap();
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).unwrap();
    let n = 4000;
    let theta0 = check::uniform(&mut rng, n, -1.0, 1.0);
    let grads = random_grads(n, 6, &mut rng);
    use wgpu::util::DeviceExt;
    let usage = wgpu::BufferUsages::STORAGE
        | wgpu::BufferUsages::COPY_DST
        | wgpu::BufferUsages::COPY_SRC
        | wgpu::BufferUsages::VERTEX;
    let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("caller params"),
        contents: bytemuck::cast_slice(&theta0),
        usage,
    });
    let gbuf = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("caller grads"),
        size: (n * 4) as u64,
        usage,
        mapped_at_creation: false,
    });
    let gpu = Gpu::from_device(device.clone(), queue.clone());
    let config = random_config(Member::Adamw, n, 2, &mut rng);
    let mut opt = GpuOptimizer::new(&gpu, config.clone(), &params, &gbuf, n).unwrap();
    for step in &grads {
        queue.write_buffer(&gbuf, 0, bytemuck::cast_slice(step));
        opt.step(&gpu).unwrap();
    }
    let got: Vec<f32> = gpu.download_raw(&params, n).unwrap();
    let want = run_cpu::<f64>(&config, &theta0, &grads).unwrap();
    let r = compare(&got, &want.theta, multi_step_tolerance(6));
    assert!(r.pass, "seed {seed}: {r}");
}

/// Bad input is a typed error naming the field, never a panic.
#[test]
fn bad_input_names_the_field() {
    let n = 100;
    let field_of = |c: Config| match c.validate(n) {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected an invalid-input error, got {other:?}"),
    };
    let adam = |h: Hyper| Config::single(Member::Adam, h, n);
    assert_eq!(
        field_of(adam(Hyper {
            beta1: 1.0,
            ..Hyper::default()
        })),
        "hypers[0].beta1"
    );
    assert_eq!(
        field_of(adam(Hyper {
            beta2: -0.1,
            ..Hyper::default()
        })),
        "hypers[0].beta2"
    );
    assert_eq!(
        field_of(adam(Hyper {
            lr: -1e-3,
            ..Hyper::default()
        })),
        "hypers[0].lr"
    );
    assert_eq!(
        field_of(adam(Hyper {
            eps: 0.0,
            ..Hyper::default()
        })),
        "hypers[0].eps"
    );
    assert_eq!(
        field_of(Config::single(
            Member::Adabayes,
            Hyper {
                sigma2: 0.0,
                ..Hyper::default()
            },
            n
        )),
        "hypers[0].sigma2"
    );
    assert_eq!(
        field_of(Config::single(
            Member::AdabayesFp,
            Hyper {
                sigma2: -1.0,
                ..Hyper::default()
            },
            n
        )),
        "hypers[0].sigma2"
    );
    assert_eq!(
        field_of(Config::single(
            Member::Kalman,
            Hyper {
                beta2: 1.5,
                ..Hyper::default()
            },
            n
        )),
        "hypers[0].beta2"
    );
    let mut c = adam(Hyper::default());
    c.groups = vec![
        Group {
            offset: 0,
            len: 60,
            hyper: 0,
        },
        Group {
            offset: 50,
            len: 20,
            hyper: 0,
        },
    ];
    assert_eq!(field_of(c.clone()), "groups[1]");
    c.groups = vec![Group {
        offset: 90,
        len: 20,
        hyper: 0,
    }];
    assert_eq!(field_of(c.clone()), "groups[0]");
    c.groups = vec![Group {
        offset: 0,
        len: 20,
        hyper: 3,
    }];
    assert_eq!(field_of(c.clone()), "groups[0].hyper");
    c.groups = vec![Group {
        offset: 0,
        len: 20,
        hyper: 0,
    }];
    c.clip_norm = Some(0.0);
    assert_eq!(field_of(c), "clip_norm");

    // Lengths that disagree: on the CPU device, and buffers too small on the GPU.
    let mut cpu = rulelab::optim::cpu::CpuOptimizer::<f32>::new(adam(Hyper::default()), n).unwrap();
    let mut theta = vec![0.5f32; n];
    assert!(
        matches!(cpu.step(&mut theta, &[0.1; 99]), Err(Error::Invalid { field, .. }) if field == "grads")
    );
    let Some(gpu) = common::gpu() else { return };
    let small = gpu.zeros::<f32>("small", n - 1).unwrap();
    let ok = gpu.zeros::<f32>("ok", n).unwrap();
    let e = GpuOptimizer::new(&gpu, adam(Hyper::default()), &ok.buffer, &small.buffer, n).err();
    assert!(
        matches!(e, Some(Error::Invalid { ref field, .. }) if field == "grads"),
        "{e:?}"
    );
}
