//! Experiment B's network (spec hippocampus.md §4) on the ring for a number of
//! simulated minutes on the CPU, in f32, printing the per-minute losses (mean |a_B − a_A|
//! of HPC and MEC) and the steps per second. Until `rulelab hippo run` exists this is
//! the way to watch the model learn:
//!
//!     cargo run --release --example hippo_ring [MINUTES] [SEED]

use rulelab::hippo::experiments::path_integration;
use rulelab::hippo::model::{Learning, State, Theta};
use rulelab::hippo::ring::{Agent, PlaceCells};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let minutes: u64 = args
        .get(1)
        .map_or(30, |a| a.parse().expect("MINUTES: a whole number"));
    let seed: u64 = args
        .get(2)
        .map_or(1, |a| a.parse().expect("SEED: a whole number"));
    let spec = path_integration();
    let mut state = State::<f32>::new(&spec, seed);
    let places = PlaceCells::new(spec.n_z, 0.06, seed);
    let mut agent = Agent::new(seed);
    let mut z = vec![0f32; spec.n_z];
    let per_minute = (60.0 / spec.dt) as u64;
    let start = std::time::Instant::now();
    println!("minute,loss_hpc,loss_mec");
    for minute in 1..=minutes {
        let mut loss = [0.0f64; 2];
        for _ in 0..per_minute {
            let t = state.step;
            agent.step(t, spec.dt, seed);
            places.rates(agent.x, &mut z);
            let th = Theta::Square.at(t, spec.dt, 5.0) as f32;
            state.step(&spec, &z, agent.velocity_cells(), [th, th], Learning::On);
            for (layer, l) in loss.iter_mut().enumerate() {
                let (b, a) = (&state.dendrites[2 * layer], &state.dendrites[2 * layer + 1]);
                let gap: f32 = b.a.iter().zip(&a.a).map(|(x, y)| (x - y).abs()).sum();
                *l += gap as f64 / b.a.len() as f64 / per_minute as f64;
            }
        }
        println!("{minute},{:.5},{:.5}", loss[0], loss[1]);
    }
    let s = start.elapsed().as_secs_f64();
    eprintln!(
        "{} steps in {s:.2} s: {:.0} steps/s",
        minutes * per_minute,
        (minutes * per_minute) as f64 / s
    );
}
