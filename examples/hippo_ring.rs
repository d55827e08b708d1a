//! Experiment B (spec hippocampus.md §4) on the CPU in f32: trains the network on the
//! ring for MINUTES simulated minutes (default 30), printing the monitor (an EMA over
//! 60 s of mean |a_B − a_A| of HPC and MEC) each minute; trains 10 minutes more while
//! keeping the decoder's samples and fits it; prints the ring-attractor analysis; then
//! the path-integration test, 10 runs of 10 s spin-up and 20 s with θ ≡ 1, beside the
//! same test on the untrained network. Until `rulelab hippo run` exists this is the way
//! to watch the model learn:
//!
//! ```text
//! cargo run --release --example hippo_ring [MINUTES] [SEED]
//! ```

use rulelab::hippo::decode::Ridge;
use rulelab::hippo::experiments::{
    path_integration, path_integration_errors, ring_profiles, train_ring, RingRun,
};
use rulelab::hippo::model::{Learning, Monitor, Theta};

/// Mean error (cm) at 1 s after the lesion and over the whole lesion.
fn summary(errors: &[Vec<f64>], steps_per_s: usize) -> (f64, f64) {
    let n = errors.len() as f64;
    let at_1s = errors.iter().map(|e| e[steps_per_s - 1]).sum::<f64>() / n;
    let mean = errors
        .iter()
        .map(|e| e.iter().sum::<f64>() / e.len() as f64)
        .sum::<f64>()
        / n;
    (100.0 * at_1s, 100.0 * mean)
}

fn main() -> rulelab::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let minutes: Option<u64> = args.get(1).map_or(Some(30), |a| a.parse().ok());
    let seed: Option<u64> = args.get(2).map_or(Some(1), |a| a.parse().ok());
    let (Some(minutes @ 1..), Some(seed), true) = (minutes, seed, args.len() <= 3) else {
        eprintln!("usage: hippo_ring [MINUTES (a whole number, at least 1; default 30)] [SEED (default 1)]");
        std::process::exit(2);
    };
    let spec = path_integration();
    let untrained = RingRun::<f32>::new(spec.clone(), seed);
    let mut run = untrained.clone();
    let start = std::time::Instant::now();
    // The spec's monitor: an EMA (60 s) of mean |a_B − a_A| per layer.
    println!("minute,loss_hpc,loss_mec");
    let mut monitor = Monitor::new(&run.spec, run.theta_freq);
    for minute in 1..=minutes {
        run.steps(run.steps_in(60.0), Theta::Square, Learning::On, |r| {
            monitor.update(&r.state)
        });
        let [h, m] = monitor.loss.expect("started after two theta cycles");
        println!("{minute},{h:.5},{m:.5}");
    }
    let trained_s = start.elapsed().as_secs_f64();
    // The decoder's samples: 10 more minutes of training, every 4th step.
    let (rates, positions) = train_ring(&mut run, 10.0, 10.0);
    let decoder = Ridge::fit(&rates, &positions, 1e-3)?;
    let errors = path_integration_errors(&run, &decoder, 10, 10.0, 20.0);
    let mut control = untrained.clone();
    let (rates0, positions0) = train_ring(&mut control, 10.0, 10.0);
    let errors0 = path_integration_errors(
        &control,
        &Ridge::fit(&rates0, &positions0, 1e-3)?,
        10,
        10.0,
        20.0,
    );
    // The ring-attractor analysis: mean weight by offset from each unit (n/2 = itself).
    let [rec, plus, minus] = ring_profiles(&run.spec, &run.state, &run.places);
    let n = rec.len();
    let show = |p: &[f64]| {
        (0..=8)
            .map(|k| format!("{:+.3}", p[n / 2 - 8 + 2 * k]))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let peak = |p: &[f64]| {
        let i = (0..n).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
        i as i64 - (n / 2) as i64
    };
    let far: Vec<f64> = (0..n)
        .filter(|&i| i.abs_diff(n / 2) >= n / 4)
        .map(|i| rec[i])
        .collect();
    eprintln!(
        "MEC recurrent profile, offsets -8..8 by 2: {}; mean beyond a quarter ring {:+.4}",
        show(&rec),
        far.iter().sum::<f64>() / far.len() as f64
    );
    eprintln!(
        "conjunctive profiles peak at offsets {:+} (c+) and {:+} (c-)",
        peak(&plus),
        peak(&minus)
    );
    let sps = run.steps_in(1.0) as usize;
    let (a1, am) = summary(&errors, sps);
    let (c1, cm) = summary(&errors0, sps);
    eprintln!(
        "trained {minutes} + 10 min in {:.1} s ({:.0} steps/s); whole run {:.1} s",
        trained_s,
        run.steps_in(60.0 * minutes as f64) as f64 / trained_s,
        start.elapsed().as_secs_f64()
    );
    eprintln!("path integration, 10 runs: error 1 s after the lesion {a1:.1} cm, mean over 20 s {am:.1} cm");
    eprintln!("the same network untrained (control, decoder on its own rates): {c1:.1} cm, {cm:.1} cm (chance: 25 cm)");
    Ok(())
}
