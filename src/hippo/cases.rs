//! The hippocampal family's checks: several models of one shape, each with its own
//! seed and constants, stepped on the backend (the GPU kernel or the f32 CPU device)
//! from a warmed-up state on fresh random inputs, against the f64 model: every rate,
//! activation, noise value, trace and weight after one step and after 200.

use super::experiments::{latents, path_integration};
use super::model::{Learning, State};
use super::spec::{Act, Spec};
use crate::check::{self, compare, Case, Row, Tolerance};
use crate::error::Result;
use crate::gpu::Backend;
use rand::Rng;

/// Three models of `base`'s shape with their own η, σ, λ (λ1 only with `l1`) and seeds,
/// each warmed up by
/// 30 random steps in f64 so that no rate, trace or noise value is zero.
fn models(base: &Spec, rng: &mut impl Rng, l1: bool) -> Vec<(Spec, State<f64>)> {
    (0..3)
        .map(|m| {
            let mut spec = base.clone();
            for c in [
                &mut spec.hpc.apical,
                &mut spec.mec.basal,
                &mut spec.mec.apical,
            ] {
                c.eta *= rng.random_range(0.5..2.0);
                c.sigma = rng.random_range(0.005..0.05);
                if m > 0 {
                    c.lambda1 = if l1 { rng.random_range(0.0..1e-3) } else { 0.0 };
                    c.lambda2 = rng.random_range(0.0..0.01);
                }
            }
            spec.tau_pi = rng.random_range(0.1..0.3);
            let mut s = State::<f64>::new(&spec, rng.random_range(0..1 << 40));
            for _ in 0..30 {
                let (z, vel, th) = inputs(&spec, rng);
                s.step(&spec, &z, vel, th, Learning::On);
            }
            (spec, s)
        })
        .collect()
}

/// One step's random inputs, f32 values: features, velocity cells, θ of both layers.
fn inputs(spec: &Spec, rng: &mut impl Rng) -> (Vec<f64>, [f64; 2], [f64; 2]) {
    let mut f = |lo: f32, hi: f32| rng.random_range(lo..hi) as f64;
    let z = (0..spec.n_z).map(|_| f(0.0, 1.0)).collect();
    (z, [f(0.0, 1.5), f(0.0, 1.5)], [f(0.0, 1.0), f(0.0, 1.0)])
}

/// Everything a state holds that a step changes, flattened in one order.
fn flat<F: crate::real::Real>(s: &State<F>) -> [(&'static str, Vec<f64>); 5] {
    let v = |x: &[F]| {
        x.iter()
            .map(|y| y.to_f64().unwrap_or(f64::NAN))
            .collect::<Vec<_>>()
    };
    let all = |f: &dyn Fn(&super::dendrite::Dendrite<F>) -> &Vec<F>| {
        s.dendrites
            .iter()
            .flat_map(|d| v(f(d)))
            .collect::<Vec<f64>>()
    };
    let mut rates = v(&s.p);
    rates.extend(v(&s.g));
    rates.extend(v(&s.c));
    [
        ("rates", rates),
        ("activations", all(&|d| &d.a)),
        ("noise", all(&|d| &d.xi)),
        ("traces", all(&|d| &d.pi)),
        ("weights", all(&|d| &d.w)),
    ]
}

fn steps_rows(
    backend: &Backend,
    base: Spec,
    label: &str,
    steps: usize,
    seed: u64,
) -> Result<Vec<Row>> {
    let mut rng = check::rng(seed ^ 0x4850);
    // λ1's sign(W) and retanh's f'(V) are discontinuous at 0: where f32 and f64 land on
    // different sides (a weight λ1 pins near zero, a V near zero), the rule takes
    // different steps, which 200 steps carry on. So these are compared over one step
    // and the long horizon runs the smooth rule: no λ1, linear dendrites.
    let mut base = base;
    if steps > 1 {
        base.mec.basal.act = Act::Linear;
        base.mec.apical.act = Act::Linear;
    }
    let models = models(&base, &mut rng, steps == 1);
    let stream: Vec<Vec<_>> = (0..steps)
        .map(|_| {
            models
                .iter()
                .map(|(spec, _)| inputs(spec, &mut rng))
                .collect()
        })
        .collect();
    let mut want: Vec<State<f64>> = models.iter().map(|(_, s)| s.clone()).collect();
    for row in &stream {
        for ((spec, _), (s, (z, vel, th))) in models.iter().zip(want.iter_mut().zip(row)) {
            s.step(spec, z, *vel, *th, Learning::On);
        }
    }
    for s in &mut want {
        s.settle();
    }
    let specs: Vec<Spec> = models.iter().map(|(s, _)| s.clone()).collect();
    let mut got: Vec<State<f32>> = models.iter().map(|(spec, s)| s.cast(spec)).collect();
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    match backend {
        Backend::Gpu(gpu) => {
            let dev = super::gpu::ModelsOnDevice::new(gpu, &specs, &got)?;
            let mut flat_in = vec![];
            for row in &stream {
                for (z, vel, th) in row {
                    flat_in.extend(f32s(z));
                    flat_in.extend(f32s(&[vel[0], vel[1], th[0], th[1]]));
                }
            }
            let step0 = got[0].step;
            dev.run(&flat_in, step0, Learning::On, 0)?;
            dev.read_states(&mut got)?;
        }
        Backend::Cpu => {
            for row in &stream {
                for ((spec, s), (z, vel, th)) in specs.iter().zip(got.iter_mut()).zip(row) {
                    let v = [vel[0] as f32, vel[1] as f32];
                    s.step(
                        spec,
                        &f32s(z),
                        v,
                        [th[0] as f32, th[1] as f32],
                        Learning::On,
                    );
                }
            }
        }
    }
    for s in &mut got {
        s.settle();
    }
    // One step: f32 round-off of dot products over up to 300 inputs. 200 steps: the
    // round-off carried through the rule and the recurrence (short enough to stay
    // close, not chaotic).
    let tol = if steps == 1 {
        Tolerance::new(1e-6, 1e-4)
    } else {
        Tolerance::new(1e-4, 1e-3)
    };
    let mut rows = vec![];
    for what in 0..5 {
        let (mut g, mut w) = (vec![], vec![]);
        let mut name = "";
        for (a, b) in got.iter().zip(&want) {
            let (n, x) = flat(a)[what].clone();
            name = n;
            g.extend(x);
            w.extend(flat(b)[what].1.clone());
        }
        rows.push(Row {
            family: "hippo",
            kernel: format!("{label} {steps} step(s): {name}"),
            size: g.len(),
            report: compare(&g, &w, tol.relative_to_peak(&w)),
        });
    }
    Ok(rows)
}

pub fn cases() -> Vec<Case> {
    let mut v = vec![];
    for steps in [1, 200] {
        v.push(Case::new(
            "hippo",
            if steps == 1 {
                "path-integration network, 3 models, 1 step".to_string()
            } else {
                format!(
                    "path-integration network, linear dendrites, no λ1, 3 models, {steps} steps"
                )
            },
            move |b, seed| steps_rows(b, path_integration(), "ring", steps, seed),
        ));
        v.push(Case::new(
            "hippo",
            format!("latent network, 3 models, {steps} step(s)"),
            move |b, seed| steps_rows(b, latents(), "latents", steps, seed),
        ));
    }
    v
}
