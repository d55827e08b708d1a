//! The inference family's checks: a batch of animals' loss and gradient through
//! several truncation windows, the backend (CPU device or GPU kernels, f32) against the
//! f64 model.

use super::model::{self, Window};
use super::net::{Net, K};
use super::simulate::{Simulation, TrueRule};
use crate::check::{self, compare, Case, Row, Tolerance};
use crate::error::Result;
use crate::gpu::Backend;
use rand::Rng;

fn row(kernel: String, got: &[f64], want: &[f64], tol: Tolerance) -> Row {
    Row {
        family: "infer",
        kernel,
        size: got.len(),
        report: compare(got, want, tol.relative_to_peak(want)),
    }
}

fn batch_rows(backend: &Backend, net: Net, trunc: usize, seed: u64) -> Result<Vec<Row>> {
    let mut rng = check::rng(seed ^ 0x1f);
    let sim = Simulation::new(TrueRule::ReinforceBase, 5, 70, rng.random_range(0..1 << 40));
    let (mut data, _) = sim.run();
    // Animals of different lengths, one with a second session.
    for (a, len) in data.animals.iter_mut().zip([37, 70, 50, 61, 23]) {
        a.trials.truncate(len);
    }
    data.animals[2].trials[30].session_start = true;
    // PyTorch's initialisation (U(±1/√in)) with a rule scale c that moves w visibly.
    let mut phi = super::fit::initial_phi(&net, rng.random_range(0..1 << 40));
    for c in &mut phi[net.c_offset()..] {
        *c = rng.random_range(0.05..0.3);
    }
    let w0: Vec<[f64; K]> = (0..5)
        .map(|_| [rng.random_range(-2.0..2.0), rng.random_range(-1.0..1.0)])
        .collect();
    let weight = 1.0 / data.trials() as f64;
    // The f64 reference.
    let mut want_grad = vec![0.0; net.len()];
    let mut want_w0 = vec![];
    let mut want_loss = 0.0;
    let mut win = Window::new(&net, trunc);
    for (a, &w) in data.animals.iter().zip(&w0) {
        let (l, g) = model::animal(
            &net,
            &phi,
            &a.trials,
            w,
            trunc,
            weight,
            Some(&mut want_grad),
            &mut win,
        );
        want_loss += l;
        want_w0.extend(g);
    }
    let phi32: Vec<f32> = phi.iter().map(|&x| x as f32).collect();
    let w032: Vec<[f32; K]> = w0.iter().map(|w| [w[0] as f32, w[1] as f32]).collect();
    let (loss, grad, grad_w0): (f64, Vec<f32>, Vec<[f32; K]>) = match backend {
        Backend::Gpu(gpu) => {
            let refs: Vec<&super::Animal> = data.animals.iter().collect();
            let b = super::gpu::batch_grad(gpu, &net, &phi32, &refs, &w032, trunc, weight as f32)?;
            (b.loss, b.grad, b.grad_w0)
        }
        Backend::Cpu => {
            let mut grad = vec![0.0f32; net.len()];
            let mut gw = vec![];
            let mut loss = 0.0;
            let mut win = Window::new(&net, trunc);
            for (a, &w) in data.animals.iter().zip(&w032) {
                let (l, g) = model::animal(
                    &net,
                    &phi32,
                    &a.trials,
                    w,
                    trunc,
                    weight as f32,
                    Some(&mut grad),
                    &mut win,
                );
                loss += l as f64;
                gw.push(g);
            }
            (loss, grad, gw)
        }
    };
    let label = match net.gru {
        0 => format!("dnn {}x{} trunc {trunc}", net.layers, net.hidden),
        g => format!(
            "rnn gru {g}{} {}x{} trunc {trunc}",
            if net.skip { " skip" } else { "" },
            net.layers,
            net.hidden
        ),
    };
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let flat_w0: Vec<f64> = grad_w0
        .iter()
        .flat_map(|g| g.iter().map(|&x| x as f64))
        .collect();
    let tol = Tolerance::new(1e-5, 1e-3);
    Ok(vec![
        row(
            format!("{label} loss"),
            &[loss],
            &[want_loss],
            Tolerance::new(1e-5, 1e-5),
        ),
        row(format!("{label} grad phi"), &f(&grad), &want_grad, tol),
        row(format!("{label} grad w0"), &flat_w0, &want_w0, tol),
    ])
}

pub fn cases() -> Vec<Case> {
    let mut v = vec![];
    for (net, trunc) in [
        (Net::dnn(16, 2), 20),
        (Net::dnn(70, 1), 100),
        // Wide enough that a software adapter's loop budget cuts each window into
        // several dispatches, forward and backward.
        (Net::dnn(200, 2), 30),
    ] {
        v.push(Case::new(
            "infer",
            format!(
                "dnn {}x{} window gradients (trunc {trunc})",
                net.layers, net.hidden
            ),
            move |b, seed| batch_rows(b, net, trunc, seed),
        ));
    }
    // The rnn: the spec's GRU of 32 under 2 × 32, a small one over short windows, and
    // one wider than a workgroup (its units strided over the threads, and its windows
    // cut into several dispatches on a software adapter).
    for (net, trunc) in [
        (
            Net {
                hidden: 32,
                layers: 2,
                gru: 32,
                skip: false,
            },
            25,
        ),
        (
            Net {
                hidden: 5,
                layers: 1,
                gru: 7,
                skip: false,
            },
            9,
        ),
        (
            Net {
                hidden: 6,
                layers: 2,
                gru: 5,
                skip: true,
            },
            13,
        ),
        (
            Net {
                hidden: 16,
                layers: 1,
                gru: 100,
                skip: false,
            },
            40,
        ),
    ] {
        v.push(Case::new(
            "infer",
            format!(
                "rnn gru {}{} {}x{} window gradients (trunc {trunc})",
                net.gru,
                if net.skip { " skip" } else { "" },
                net.layers,
                net.hidden
            ),
            move |b, seed| batch_rows(b, net, trunc, seed),
        ));
    }
    v
}
