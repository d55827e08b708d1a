//! The closed forms of the control problem against an f64 RK4 integration of the
//! closed loop (derived here from the HJB equation, independently of the code), the
//! spec's worked numbers, and the two limits.

use rand::{Rng, SeedableRng};
use rulelab::control::{closed, Control};
use std::process::Command;

/// Classic RK4 on a state vector.
fn rk4(mut y: Vec<f64>, t_end: f64, steps: usize, f: impl Fn(f64, &[f64]) -> Vec<f64>) -> Vec<f64> {
    let dt = t_end / steps as f64;
    for s in 0..steps {
        let t = s as f64 * dt;
        let add = |y: &[f64], k: &[f64], a: f64| -> Vec<f64> {
            y.iter().zip(k).map(|(y, k)| y + a * k).collect()
        };
        let k1 = f(t, &y);
        let k2 = f(t + dt / 2.0, &add(&y, &k1, dt / 2.0));
        let k3 = f(t + dt / 2.0, &add(&y, &k2, dt / 2.0));
        let k4 = f(t + dt, &add(&y, &k3, dt));
        for i in 0..y.len() {
            y[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    y
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn rng() -> rand::rngs::StdRng {
    let seed = rulelab::check::seed();
    eprintln!("seed {seed} (replay with RULELAB_SEED={seed})");
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// A control problem with γ in [0, 3) and η, k in [0.2, 2).
fn random_control(rng: &mut rand::rngs::StdRng) -> Control {
    Control::new(
        rng.random_range(0.0..3.0),
        rng.random_range(0.2..2.0),
        rng.random_range(0.2..2.0),
    )
    .unwrap()
}

#[test]
fn the_worked_numbers() {
    for (gamma, r, j) in [
        (0.0, 1.0, 0.5),
        (1.0, 0.618034, 0.309017),
        (10.0, 0.0990195, 0.0495),
    ] {
        let c = Control::new(gamma, 1.0, 1.0).unwrap();
        assert!(
            rel(c.rate(1.0, 1.0), r) < 1e-6,
            "gamma {gamma}: rate {}",
            c.rate(1.0, 1.0)
        );
        let ji = c.cost_to_go(1.0, 1.0, 0.0, 1.0);
        // The spec prints 0.0495 for 0.04950976.
        assert!(rel(ji, j) < 2e-4, "gamma {gamma}: J∞ {ji}");
        assert!(rel(c.cost(1.0, 1.0, 0.0, 1.0, 1e4), ji) < 1e-12);
    }
}

/// θ(t) and J(t) along the optimal feedback, integrated with the running cost, and the
/// Riccati equation; perturbing the gain costs more.
#[test]
fn trajectories_and_costs_match_an_integration_of_the_feedback() {
    let mut rng = rng();
    for _ in 0..20 {
        let c = Control::new(
            rng.random_range(0.0..5.0),
            rng.random_range(0.2..3.0),
            rng.random_range(0.2..3.0),
        )
        .unwrap();
        let (h, g) = (rng.random_range(0.1..4.0), rng.random_range(0.3..3.0));
        let (theta0, mu) = (rng.random_range(-2.0..2.0), rng.random_range(-1.0..1.0));
        let t_end = rng.random_range(0.5..4.0);
        let cost_of = |r: f64, t_end: f64, steps: usize| {
            rk4(vec![theta0, 0.0], t_end, steps, |t, y| {
                let v = -r * (y[0] - mu);
                let running = g * v * v / (2.0 * c.eta) + c.k * h * (y[0] - mu).powi(2) / 2.0;
                vec![v, (-c.gamma * t).exp() * running]
            })
        };
        let r = c.rate(h, g);
        let y = cost_of(r, t_end, 20000);
        // The dynamics are linear in θ − μ; θ itself carries eps |θ| of round-off.
        let traj = c.trajectory(h, g, theta0, mu, t_end);
        assert!(
            (y[0] - traj).abs() <= 1e-9 * (theta0 - mu).abs() + 1e-14 * (1.0 + mu.abs()),
            "θ(T) {} vs {traj}",
            y[0]
        );
        assert!(rel(y[1], c.cost(h, g, theta0, mu, t_end)) < 1e-9);
        let p = c.riccati(h, g);
        assert!(
            rel(c.eta * p * p / g + c.gamma * p, c.k * h) < 1e-12,
            "Riccati"
        );
        // Optimal among linear feedbacks: any other gain pays more over a long horizon.
        let long = 40.0 / (r + c.gamma).max(0.2);
        let best = cost_of(r, long, 20000)[1];
        for f in [0.9, 1.1] {
            assert!(
                cost_of(r * f, long, 20000)[1] > best,
                "gain x{f} is cheaper"
            );
        }
        assert!(rel(best, c.cost_to_go(h, g, theta0, mu)) < 1e-6);
    }
}

#[test]
fn the_limits_are_gradient_descent_and_ballistic() {
    let (eta, k, h, g) = (0.7, 1.3, 2.5, 0.8);
    let far = Control::new(1e7, eta, k).unwrap();
    assert!(
        rel(far.rate(h, g), eta * k * h / (g * 1e7)) < 1e-9,
        "large γ: gd with rate ηkh/(gγ)"
    );
    let near = Control::new(1e-12, eta, k).unwrap();
    assert!(
        rel(near.rate(h, g), (eta * k * h / g).sqrt()) < 1e-9,
        "γ → 0: ballistic"
    );
}

/// The decay drift's rate and fixed point against the closed loop of the HJB solution
/// with f = −jθ: η p² + (γ + 2j) p − kh = 0, b = −khμ / (γ + ηp + j), θ̇ = −jθ − η(pθ + b).
#[test]
fn the_decay_drift() {
    let mut rng = rng();
    for _ in 0..10 {
        let c = random_control(&mut rng);
        let (h, mu, j) = (
            rng.random_range(0.2..3.0),
            rng.random_range(-2.0..2.0),
            rng.random_range(0.0..2.0),
        );
        let (gm, kh) = (c.gamma + 2.0 * j, c.k * h);
        let p = (-gm + (gm * gm + 4.0 * c.eta * kh).sqrt()) / (2.0 * c.eta);
        let b = -kh * mu / (c.gamma + c.eta * p + j);
        let (rate, fixed) = c.decay_drift(h, mu, j);
        let t = 3.0 / rate;
        let y = rk4(vec![fixed + 1.0], t, 4000, |_, y| {
            vec![-j * y[0] - c.eta * (p * y[0] + b)]
        });
        assert!(rel(y[0] - fixed, (-rate * t).exp()) < 1e-9, "rate");
        let y = rk4(vec![0.0], 60.0 / rate, 20000, |_, y| {
            vec![-j * y[0] - c.eta * (p * y[0] + b)]
        });
        assert!(
            (y[0] - fixed).abs() < 1e-9 * fixed.abs().max(1.0),
            "fixed point {} vs {fixed}",
            y[0]
        );
    }
}

/// The rotation drift against the HJB closed loop with f = qAθ: γp = −ηp² + kh, and
/// (γ + ηp) b − q Aᵀ b = −khμ; θ̇ = qAθ − η(pθ + b).
#[test]
fn the_rotation_drift() {
    let mut rng = rng();
    for _ in 0..10 {
        let c = random_control(&mut rng);
        let (h, q) = (rng.random_range(0.2..3.0), rng.random_range(-2.0..2.0));
        let mu = [rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0)];
        let p = c.riccati(h, 1.0);
        let kh = c.k * h;
        // [[s, -q], [q, s]] b = -kh mu with s = γ + ηp (Aᵀ = [[0, 1], [-1, 0]]).
        let s = c.gamma + c.eta * p;
        let det = s * s + q * q;
        let rhs = [-kh * mu[0], -kh * mu[1]];
        let b = [
            (s * rhs[0] + q * rhs[1]) / det,
            (s * rhs[1] - q * rhs[0]) / det,
        ];
        let field = |y: &[f64]| {
            vec![
                -q * y[1] - c.eta * (p * y[0] + b[0]),
                q * y[0] - c.eta * (p * y[1] + b[1]),
            ]
        };
        let (rate, freq, fixed) = c.rotation_drift(h, mu, q);
        assert_eq!(freq, q);
        let y = rk4(vec![0.0, 0.0], 60.0 / rate, 40000, |_, y| field(y));
        for i in 0..2 {
            assert!(
                (y[i] - fixed[i]).abs() < 1e-8,
                "fixed point {y:?} vs {fixed:?}"
            );
        }
        // The distance to the fixed point shrinks at the rate, whatever the spin.
        let t = 2.0 / rate;
        let y = rk4(vec![fixed[0] + 1.0, fixed[1]], t, 8000, |_, y| field(y));
        let dist = ((y[0] - fixed[0]).powi(2) + (y[1] - fixed[1]).powi(2)).sqrt();
        assert!(rel(dist, (-rate * t).exp()) < 1e-8, "rate");
    }
}

/// The fixed-endpoint path meets both ends and the Euler–Lagrange equation.
#[test]
fn the_fixed_endpoint_path_solves_the_euler_lagrange_equation() {
    let mut rng = rng();
    for _ in 0..10 {
        let c = random_control(&mut rng);
        let (h, mu) = (rng.random_range(0.2..5.0), rng.random_range(-1.0..1.0));
        let (a, b, t_end) = (
            rng.random_range(-2.0..2.0),
            rng.random_range(-2.0..2.0),
            rng.random_range(0.5..8.0),
        );
        let path = c.fixed_endpoints(h, mu, a, b, t_end);
        assert!((path.at(0.0) - a).abs() < 1e-12 && (path.at(t_end) - b).abs() < 1e-12);
        let dt = 1e-4;
        for k in 1..20 {
            let t = t_end * k as f64 / 20.0;
            let (y0, y1, y2) = (path.at(t - dt), path.at(t), path.at(t + dt));
            let acc = (y2 - 2.0 * y1 + y0) / (dt * dt);
            let vel = (y2 - y0) / (2.0 * dt);
            let residual = acc - c.gamma * vel - c.eta * c.k * h * (y1 - mu);
            // Central differences: truncation ~dt² and round-off ~eps |y| / dt².
            let scale = acc.abs() + c.eta * c.k * h * (y1 - mu).abs() + 1.0;
            assert!(
                residual.abs() < 1e-5 * scale,
                "t = {t}: residual {residual}"
            );
        }
    }
}

/// Dense H (G = I): P = U diag(p) Uᵀ solves η P² + γ P = k H.
#[test]
fn dense_hessians_through_their_eigendecomposition() {
    let mut rng = rng();
    let d = 7;
    // H = Bᵀ B + I, symmetric positive definite.
    let bm: Vec<f64> = (0..d * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut h = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            h[i * d + j] = (0..d).map(|k| bm[k * d + i] * bm[k * d + j]).sum::<f64>()
                + if i == j { 1.0 } else { 0.0 };
        }
    }
    let c = Control::new(0.7, 1.3, 0.9).unwrap();
    let (p, rates, eig) = closed::dense(&c, &h, d).unwrap();
    for i in 0..d {
        for j in 0..d {
            let pp: f64 = (0..d).map(|k| p[i * d + k] * p[k * d + j]).sum();
            let lhs = c.eta * pp + c.gamma * p[i * d + j];
            assert!((lhs - c.k * h[i * d + j]).abs() < 1e-10, "({i}, {j})");
        }
    }
    for (r, e) in rates.iter().zip(&eig) {
        assert!(rel(*r, c.rate(*e, 1.0)) < 1e-14);
    }
    let mut bad = h.clone();
    bad[1] += 0.5;
    assert!(closed::dense(&c, &bad, d).is_err(), "not symmetric");
}

#[test]
fn rates_on_the_command_line() {
    let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args([
            "control", "rates", "--eta", "1", "--k", "1", "--gamma", "0,1,10", "--h", "4,1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 6);
    let ratio = |g: &str| v["rate_ratio"][g].as_f64().unwrap();
    // Ballistic (γ = 0): sqrt(h1 / h2) = 2; towards gradient descent, h1 / h2 = 4.
    assert!((ratio("0") - 2.0).abs() < 1e-12);
    assert!(ratio("1") > 2.0 && ratio("10") > ratio("1") && ratio("10") < 4.0);
    for bad in [
        vec!["--gamma", "-1", "--h", "1"],
        vec!["--gamma", "1", "--h", "0"],
        vec!["--gamma", "1", "--h", "1,2", "--g", "1"],
        vec!["--gamma", "1", "--h", "1", "--eta", "0"],
        vec!["--gamma", "1", "--h", "1", "--k", "-2"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
            .args(["control", "rates"])
            .args(&bad)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {err}");
        assert!(err.starts_with("rulelab: invalid"), "{bad:?}: {err}");
    }
}

/// ∂S/∂θ of the f64 action against central finite differences, on every landscape and
/// drift, at free points and (for a free end) the last one; fixed points get 0.
#[test]
fn the_action_gradient_matches_finite_differences() {
    use rulelab::control::action::action;
    use rulelab::control::cases::random_paths;
    use rulelab::control::DriftKind;
    use rulelab::loss::{cases::small_landscape, data, LandscapeKind};
    let mut rng = rng();
    for &kind in LandscapeKind::ALL {
        for &drift in DriftKind::ALL {
            let problem = small_landscape(kind);
            let r = random_paths(&problem, 2, drift, &mut rng);
            let shared = data::build(&problem, &r.params[0]);
            let d = problem.dim;
            let len = (r.shape.n + 1) * d;
            let theta: Vec<f64> = r.theta[..len].iter().map(|&x| x as f64).collect();
            let (p, c) = (&r.params[0], &r.consts[0]);
            let mut grad = vec![0.0; len];
            action(&problem, &shared, p, &r.shape, c, &theta, &mut grad);
            let mut scratch = vec![0.0; len];
            for _ in 0..12 {
                let idx = rng.random_range(0..len);
                let m = idx / d;
                let step = 1e-6;
                let mut plus = theta.clone();
                plus[idx] += step;
                let mut minus = theta.clone();
                minus[idx] -= step;
                let fd = (action(&problem, &shared, p, &r.shape, c, &plus, &mut scratch)
                    - action(&problem, &shared, p, &r.shape, c, &minus, &mut scratch))
                    / (2.0 * step);
                let free = m > 0 && (m < r.shape.n || r.shape.free_end);
                let want = if free { fd } else { 0.0 };
                let scale = grad.iter().fold(0.0f64, |a, b| a.max(b.abs()));
                assert!(
                    (grad[idx] - want).abs() <= 1e-6 * scale + 1e-5 * want.abs(),
                    "{} {}: point {m} coordinate {}: {} vs {want}",
                    kind.name(),
                    drift.name(),
                    idx % d,
                    grad[idx]
                );
            }
        }
    }
}

fn problem(
    kind: rulelab::landscape::LandscapeKind,
    dim: usize,
    h: Vec<f64>,
) -> rulelab::landscape::Problem {
    use rulelab::landscape::{Landscape, Noise, Problem, RuleKind, Spectrum};
    Problem {
        landscape: Landscape {
            dim,
            spectrum: Spectrum::List,
            h,
            label_noise: 0.0,
            ..Landscape::new(kind)
        },
        noise: Noise::None,
        rule: RuleKind::GD,
        steps: 1,
        record_every: 0,
        threshold: None,
        blowup: 1e30,
        drift: rulelab::landscape::DriftKind::None,
        mask: None,
        basis: None,
        continual: None,
    }
}

/// A straight line from a to b over N intervals.
fn straight(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    (0..=n)
        .flat_map(|m| {
            let s = m as f64 / n as f64;
            a.iter().zip(b).map(move |(x, y)| x + s * (y - x))
        })
        .collect()
}

/// On a quadratic with both ends fixed, the optimised discrete path (N = 200) is the
/// Euler–Lagrange solution to within 1e-3 of the path's scale. The left-point
/// convention weights interval n by e^{−γ t_n}, which is first-order in γΔt: the error
/// halves when N doubles (shown at γ = 2, where N = 200 leaves 4e-3; γ = 1 leaves 1.8e-3).
#[test]
fn quadratic_paths_meet_the_euler_lagrange_solution() {
    use rulelab::control::{paths, Drift, PathConsts, PathShape};
    use rulelab::gpu::Backend;
    use rulelab::lbfgs::{Status, Stop};
    use rulelab::loss::{data, LandscapeKind, Shape};
    let (h, mu, a, b, t_end) = (2.0, 1.0, -0.5, 1.5, 3.0);
    let prob = problem(LandscapeKind::Quadratic, 1, vec![h]).landscape;
    let p = Shape {
        mu,
        ..Shape::DEFAULT
    };
    let shared = data::build(&prob, &p);
    let error = |gamma: f64, n: usize| {
        let consts = [PathConsts {
            gamma,
            eta: 1.0,
            k: 1.0,
        }];
        let shape = PathShape {
            n,
            t_end,
            free_end: false,
            drift: Drift::NONE,
            g: vec![1.0],
        };
        let mut theta = straight(&[a], &[b], n);
        let stop = Stop {
            gtol: 1e-12,
            ftol: 1e-15,
            max_iter: 5000,
            memory: 10,
        };
        let r = paths::solve(
            &Backend::Cpu,
            true,
            &prob,
            &shared,
            &[p],
            &consts,
            &shape,
            &mut theta,
            &stop,
        )
        .unwrap();
        assert_eq!(r[0].status, Status::Converged, "{:?}", r[0]);
        let exact = Control::new(gamma, 1.0, 1.0)
            .unwrap()
            .fixed_endpoints(h, mu, a, b, t_end);
        let scale = theta.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let worst = (0..=n)
            .map(|m| (theta[m] - exact.at(t_end * m as f64 / n as f64)).abs())
            .fold(0.0f64, f64::max);
        worst / scale
    };
    for gamma in [0.0, 0.25, 0.5] {
        let e = error(gamma, 200);
        assert!(e < 1e-3, "γ = {gamma}: relative error {e}");
    }
    let (e200, e400) = (error(2.0, 200), error(2.0, 400));
    assert!(
        (e200 / e400 - 2.0).abs() < 0.2,
        "first order: {e200} at N = 200, {e400} at N = 400"
    );
}

/// The spec's reference case (§3): the double well from (−0.6, 0.55) to (1 + 1/16, 0),
/// γ = 0.1, T = 4, N = 50, from a straight line. f32 on each device ends at the S of a
/// tight f64 run; the optimal path climbs over the barrier (its loss is not monotone),
/// which gradient flow from the same start never does.
#[test]
fn the_reference_double_well_case() {
    use rulelab::control::{paths, Drift, PathConsts, PathShape};
    use rulelab::gpu::Backend;
    use rulelab::lbfgs::{Status, Stop};
    use rulelab::loss::{data, LandscapeKind, Shape};
    let prob = problem(LandscapeKind::DoubleWell, 2, vec![]).landscape;
    let p = Shape {
        a: 1.0,
        b: 1.0,
        c: 1.0,
        d: -0.5,
        ..Shape::DEFAULT
    };
    let shared = data::build(&prob, &p);
    let consts = [PathConsts {
        gamma: 0.1,
        eta: 1.0,
        k: 1.0,
    }];
    let shape = PathShape {
        n: 50,
        t_end: 4.0,
        free_end: false,
        drift: Drift::NONE,
        g: vec![1.0, 1.0],
    };
    let start = straight(&[-0.6, 0.55], &[1.0 + 1.0 / 16.0, 0.0], 50);
    let run = |backend: &Backend, reference: bool, stop: Stop| {
        let mut theta = start.clone();
        let r = paths::solve(
            backend,
            reference,
            &prob,
            &shared,
            &[p],
            &consts,
            &shape,
            &mut theta,
            &stop,
        )
        .unwrap();
        (r[0].clone(), theta)
    };
    let tight = Stop {
        gtol: 1e-12,
        ftol: 1e-15,
        max_iter: 10000,
        memory: 10,
    };
    let (best, path) = run(&Backend::Cpu, true, tight);
    assert_eq!(best.status, Status::Converged);
    assert!(best.s_final < best.s_init, "{best:?}");
    eprintln!(
        "reference case f64: S {:.8} -> {:.8} in {} iterations",
        best.s_init, best.s_final, best.iterations
    );
    let f32_stop = Stop {
        gtol: 1e-6,
        ftol: 1e-8,
        max_iter: 10000,
        memory: 10,
    };
    let mut backends = vec![("cpu", Backend::Cpu)];
    if let Some(gpu) = common_gpu() {
        backends.push(("gpu", Backend::Gpu(gpu)));
    }
    for (name, b) in &backends {
        let (r, _) = run(b, false, f32_stop);
        eprintln!(
            "reference case {name} f32: S {:.8} -> {:.8} in {} iterations ({:?})",
            r.s_init, r.s_final, r.iterations, r.status
        );
        assert!(r.status != Status::Stalled, "{name}: {r:?}");
        assert!(
            rel(r.s_final, best.s_final) < 1e-5,
            "{name}: f32 S {} vs f64 {}",
            r.s_final,
            best.s_final
        );
    }
    // The loss along the optimal path climbs over the barrier between the wells.
    let loss = |x: f64, y: f64| (x * x - 1.0).powi(2) + y * y - 0.5 * x;
    let along: Vec<f64> = path.chunks(2).map(|q| loss(q[0], q[1])).collect();
    assert!(
        along.windows(2).any(|w| w[1] > w[0] + 1e-9),
        "the path's loss is monotone"
    );
    // Gradient flow from the same start stays in the left well (θ1 ≈ −0.93).
    let (mut x, mut y) = (-0.6f64, 0.55f64);
    for _ in 0..200_000 {
        let (gx, gy) = (4.0 * x * (x * x - 1.0) - 0.5, 2.0 * y);
        x -= 1e-4 * gx;
        y -= 1e-4 * gy;
    }
    assert!(
        (x + 0.93).abs() < 0.01 && y.abs() < 1e-6,
        "gradient flow ends at ({x}, {y})"
    );
}

fn common_gpu() -> Option<std::sync::Arc<rulelab::gpu::Gpu>> {
    match rulelab::gpu::Gpu::new() {
        Ok(g) => Some(std::sync::Arc::new(g)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but no adapter: {e}")
        }
        Err(_) => None,
    }
}

/// The control rules in a sweep follow the closed form: on a noiseless quadratic,
/// control_optimal contracts coordinate i by exactly 1 − lr r_i per step (r_i the
/// optimal rate of `Control`), and control_estimated with β2 = 0 does the same from its
/// second step on (its first uses ĥ = 1, after which the secant is exact).
#[test]
fn control_rules_contract_at_the_optimal_rate() {
    use rulelab::landscape::cases::run_cpu;
    use rulelab::landscape::{LandscapeKind, Params, RuleKind};
    let h = vec![4.0, 1.0];
    let mut rng = rng();
    for rule in ["control_optimal", "control_estimated"] {
        let rule = RuleKind::from_name(rule).unwrap();
        let (gamma, eta, k, lr) = (
            rng.random_range(0.0..5.0),
            rng.random_range(0.5..2.0),
            rng.random_range(0.5..2.0),
            0.01,
        );
        let mut prob = problem(LandscapeKind::Quadratic, 2, h.clone());
        prob.rule = rule;
        let p = Params {
            lr,
            gamma,
            eta,
            k,
            beta2: 0.0,
            mu: rng.random_range(-0.5..0.5),
            theta0: rng.random_range(1.0..2.0),
            ..Params::default()
        };
        let shared = prob.shared_data(&p);
        let at = |steps: usize| {
            let mut pr = prob.clone();
            pr.steps = steps;
            run_cpu::<f64>(&pr, &shared, &[p]).theta
        };
        let (from, to) = (at(2), at(40));
        let control = Control::new(gamma, eta, k).unwrap();
        for i in 0..2 {
            let r = control.rate(h[i], 1.0);
            let want = (1.0 - lr * r).powi(38);
            let got = (to[i] - p.mu) / (from[i] - p.mu);
            assert!(
                rel(got, want) < 1e-12,
                "{}: coordinate {i}: contraction {got} vs (1 − lr r)^38 = {want} (γ {gamma})",
                rule.name()
            );
        }
    }
}

/// Drift and partial controllability in sweeps: with lr = 0 a decay leaves
/// θ_t = (1 − j)^t θ_0 and a rotation turns each pair by the matrix [[1, −q], [q, 1]]
/// per step; an uncontrolled coordinate without drift never moves while the rule moves
/// the others; the final loss splits into the two sets exactly.
#[test]
fn drift_and_control_masks_in_sweeps() {
    use rulelab::landscape::cases::run_cpu;
    use rulelab::landscape::{split_loss, DriftKind, LandscapeKind, Params, RuleKind};
    let mut rng = rng();
    let (j, t) = (rng.random_range(0.01..0.1), 25);
    let mut prob = problem(LandscapeKind::Quadratic, 4, vec![1.0, 2.0, 3.0, 4.0]);
    prob.steps = t;
    let theta0 = rng.random_range(0.5..2.0);
    let p = Params {
        lr: 0.0,
        drift_rate: j,
        theta0,
        ..Params::default()
    };
    let shared = prob.shared_data(&p);
    prob.drift = DriftKind::Decay;
    let got = run_cpu::<f64>(&prob, &shared, &[p]).theta;
    for x in &got {
        assert!(rel(*x, (1.0 - j).powi(t as i32) * theta0) < 1e-12, "{x}");
    }
    prob.drift = DriftKind::Rotation;
    let got = run_cpu::<f64>(&prob, &shared, &[p]).theta;
    let (mut x, mut y) = (theta0, theta0);
    for _ in 0..t {
        (x, y) = (x - j * y, y + j * x);
    }
    assert!(
        rel(got[0], x) < 1e-12 && rel(got[1], y) < 1e-12,
        "{got:?} vs ({x}, {y})"
    );

    prob.drift = DriftKind::None;
    prob.rule = RuleKind::GD;
    prob.mask = Some(vec![true, false, true, false]);
    let p = Params { lr: 0.1, ..p };
    let out = run_cpu::<f64>(&prob, &shared, &[p]);
    let theta = &out.theta;
    assert_eq!((theta[1], theta[3]), (theta0, theta0));
    assert!(
        theta[0].abs() < 0.5 * theta0 && theta[2].abs() < 0.5 * theta0,
        "{theta:?}"
    );
    let [c, u] = split_loss(&prob, &p, &[], theta).unwrap();
    assert!(rel(u, 0.5 * (2.0 + 4.0) * theta0 * theta0) < 1e-12);
    assert!(rel(c + u, out.outcomes[0].final_loss) < 1e-12);
}

/// A masked sweep writes the loss split on each device (the same numbers), and bad
/// drift and control keys are one line naming the key, exit 2, nothing written.
#[test]
fn masked_sweeps_and_bad_control_keys() {
    let root = std::env::temp_dir().join(format!("rulelab-mask-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let base = "[landscape]\nkind = 'quadratic'\ndim = 6\nspectrum = 'linspace'\nh_min = 0.5\nh_max = 2.0\n";
    // A mask, and a random basis of 3 directions (the split is then ½ rᵀHPr and
    // ½ rᵀH(I−P)r, which still sum to the loss).
    let controls = [
        "control = { mask = [1, 1, 0, 1, 0, 1] }",
        "control = { basis = 'random', m = 3 }\ndata_seed = 11",
    ];
    for (c, control) in controls.iter().enumerate() {
        let good = format!(
            "{base}drift = 'rotation'\ndrift_rate = 0.01\n{control}\n\
             [rule]\nkind = 'control_optimal'\nlr = 0.05\n[grid]\ngamma = [0.0, 1.0]\n[run]\nsteps = 200\n"
        );
        let file = root.join(format!("good{c}.toml"));
        std::fs::write(&file, good).unwrap();
        let mut tables = vec![];
        for device in ["cpu", "gpu"] {
            let out = root.join(format!("{device}{c}"));
            let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
                .args([
                    "sweep",
                    file.to_str().unwrap(),
                    "--out",
                    out.to_str().unwrap(),
                    "--device",
                    device,
                ])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            if device == "gpu"
                && err.contains("no GPU adapter")
                && std::env::var("CI").as_deref() != Ok("true")
            {
                continue;
            }
            assert!(o.status.success(), "{device}: {err}");
            let text = std::fs::read_to_string(out.join("results.csv")).unwrap();
            let head: Vec<&str> = text.lines().next().unwrap().split(',').collect();
            let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
            let rows: Vec<[f64; 3]> = text
                .lines()
                .skip(1)
                .map(|l| {
                    let f: Vec<f64> = l
                        .split(',')
                        .map(|x| x.parse().unwrap_or(f64::NAN))
                        .collect();
                    [
                        f[col("final_loss")],
                        f[col("final_loss_controlled")],
                        f[col("final_loss_uncontrolled")],
                    ]
                })
                .collect();
            for r in &rows {
                assert!(
                    (r[1] + r[2] - r[0]).abs() <= 1e-5 * r[0].abs().max(1e-6),
                    "{device}: {r:?}"
                );
                assert!(
                    r[2] > r[1],
                    "{device}: the uncontrolled part dominates: {r:?}"
                );
            }
            tables.push(rows);
        }
        if let [a, b] = tables.as_slice() {
            for (x, y) in a.iter().zip(b) {
                for i in 0..3 {
                    assert!(rel(x[i], y[i]) < 1e-4, "cpu {x:?} vs gpu {y:?}");
                }
            }
        }
    }
    let rule = "[rule]\nkind = 'gd'\n[run]\nsteps = 10\n";
    let bad = [
        ("control = { mask = [1, 0] }", "landscape.control"),
        (
            "control = { mask = [0, 0, 0, 0, 0, 0] }",
            "landscape.control",
        ),
        (
            "control = { mask = [1, 2, 1, 1, 1, 1] }",
            "landscape.control.mask",
        ),
        (
            "control = { basis = 'random', m = 6 }",
            "landscape.control.m",
        ),
        (
            "control = { basis = 'random', m = 0 }",
            "landscape.control.m",
        ),
        (
            "control = { basis = 'random', m = 9 }",
            "landscape.control.m",
        ),
        (
            "control = { basis = 'learned', m = 2 }",
            "landscape.control.basis",
        ),
        ("control = { basis = 'random' }", "landscape.control.m"),
        ("control = { m = 2 }", "landscape.control.basis"),
        (
            "control = { basis = 'random', m = 2, mask = [1, 1, 1, 1, 1, 1] }",
            "landscape.control.mask",
        ),
        ("data_seed = 3", "landscape.data_seed"),
        ("drift_rate = 0.1", "landscape.drift_rate"),
        ("drift = 'spin'", "landscape.drift"),
    ];
    for (i, (line, key)) in bad.iter().enumerate() {
        let f = root.join(format!("bad{i}.toml"));
        std::fs::write(&f, format!("{base}{line}\n{rule}")).unwrap();
        let out = root.join(format!("bad{i}"));
        let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
            .args([
                "sweep",
                f.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--device",
                "cpu",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{line}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{line}: {err}");
        assert!(err.contains(key), "{line}: {err}");
        assert!(!out.exists(), "{line} wrote {}", out.display());
    }
    // Rotation needs coordinate pairs.
    let f = root.join("odd.toml");
    std::fs::write(
        &f,
        format!(
            "{}drift = 'rotation'\ndrift_rate = 0.1\n{rule}",
            base.replace("dim = 6", "dim = 5")
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args([
            "sweep",
            f.to_str().unwrap(),
            "--out",
            root.join("odd").to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(2) && err.contains("landscape.drift"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// `rulelab control horizon`: rates measured from a sweep's trajectories meet the closed
/// form, the ratio runs from √(h₁/h₂) to h₁/h₂, and a directory that is not a finished
/// horizon sweep, or whose files were changed, is refused.
#[test]
fn the_horizon_measured_from_a_sweep() {
    let root = std::env::temp_dir().join(format!("rulelab-horizon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let (h1, h2) = (9.0f64, 1.0f64);
    let config = format!(
        "[landscape]\nkind = 'quadratic'\ndim = 1\nspectrum = 'logspace'\ntheta0 = 0.7\n\
         [rule]\nkind = 'control_optimal'\nlr = 0.002\n\
         [grid]\ngamma = [0.001, 1.0, 100.0]\nh_min = [{h1}, {h2}]\n\
         [run]\nsteps = 2000\nrecord_every = 25\n[output]\ntrajectories = true\n"
    );
    let file = root.join("horizon.toml");
    std::fs::write(&file, config).unwrap();
    let out = root.join("out");
    let rulelab = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rulelab"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = rulelab(&[
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = rulelab(&["control", "horizon", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        let f = |k: &str, i: usize| r[k][i].as_f64().unwrap();
        for i in 0..2 {
            // Forward Euler with Δt = 0.002 contracts at ln(1 − rΔt)/Δt, within rΔt of r.
            assert!(rel(f("measured", i), f("closed", i)) < 5e-3, "{r}");
        }
    }
    let ratio = |i: usize| rows[i]["ratio_measured"].as_f64().unwrap();
    assert!(
        rel(ratio(0), (h1 / h2).sqrt()) < 5e-3,
        "ballistic: {}",
        ratio(0)
    );
    assert!(
        rel(ratio(2), h1 / h2) < 2e-2,
        "gradient descent: {}",
        ratio(2)
    );
    assert!(ratio(0) < ratio(1) && ratio(1) < ratio(2));
    assert!(out.join("horizon.png").exists() && out.join("horizon.svg").exists());

    // A changed series file is refused, not measured.
    let series = out.join("trajectories.csv");
    let mut text = std::fs::read_to_string(&series).unwrap();
    text.truncate(text.len() - 30);
    std::fs::write(&series, text).unwrap();
    let o = rulelab(&["control", "horizon", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("does not match its manifest"),
        "{err}"
    );

    // A sweep of another shape is refused with what a horizon sweep needs.
    let other = root.join("other.toml");
    std::fs::write(
        &other,
        "[landscape]\nkind = 'quadratic'\ndim = 2\n[rule]\nkind = 'gd'\n[run]\nsteps = 10\n",
    )
    .unwrap();
    let out2 = root.join("other");
    let o = rulelab(&[
        "sweep",
        other.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert!(o.status.success());
    let o = rulelab(&["control", "horizon", out2.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("is not a horizon sweep"),
        "{err}"
    );
    std::fs::remove_dir_all(&root).ok();
}

/// With `control = { basis = "random", m }` θ moves only within the span of the m
/// directions: (I − P)(θ_T − θ_0) = 0, P an orthogonal projector of rank m, and a
/// drift-free rule still lowers the loss in the controlled directions.
#[test]
fn a_random_basis_moves_only_within_its_span() {
    use rulelab::landscape::{cpu, SweepConfig};
    let (d, m) = (12, 4);
    let cfg = SweepConfig::from_toml(&format!(
        "[landscape]\nkind = 'quadratic'\ndim = {d}\nspectrum = 'logspace'\nh_min = 0.1\n\
         h_max = 1.0\ntheta0 = 1.0\ndata_seed = 5\ncontrol = {{ basis = 'random', m = {m} }}\n\
         [rule]\nkind = 'momentum'\nlr = 0.1\n[run]\nsteps = 300\n"
    ))
    .unwrap();
    let p = cfg.learner(0);
    let problem = cfg.study.problem_for(&p);
    let shared = problem.shared_data(&p);
    let proj = &shared.projector;
    assert_eq!(proj.len(), d * d);
    // P is symmetric, idempotent and of rank m (trace m).
    let trace: f64 = (0..d).map(|i| proj[i * d + i]).sum();
    assert!((trace - m as f64).abs() < 1e-12, "trace {trace}");
    for i in 0..d {
        for j in 0..d {
            assert!((proj[i * d + j] - proj[j * d + i]).abs() < 1e-14);
            let pp: f64 = (0..d).map(|k| proj[i * d + k] * proj[k * d + j]).sum();
            assert!((pp - proj[i * d + j]).abs() < 1e-12);
        }
    }
    let (o, theta, _) = cpu::simulate_full::<f64>(&problem, &shared, &p);
    let moved: Vec<f64> = theta.iter().map(|&x| x - 1.0).collect();
    for i in 0..d {
        let p_moved: f64 = (0..d).map(|k| proj[i * d + k] * moved[k]).sum();
        assert!(
            (moved[i] - p_moved).abs() < 1e-12,
            "coordinate {i} left the span"
        );
    }
    let norm: f64 = moved.iter().map(|x| x * x).sum();
    assert!(norm > 1e-2, "it moved");
    let [c, u] = rulelab::landscape::split_loss(&problem, &p, proj, &theta).unwrap();
    assert!((c + u - o.final_loss).abs() < 1e-12 * o.final_loss);
    let start: f64 = problem
        .landscape
        .spectrum_values(&p.shape())
        .iter()
        .map(|h| 0.5 * h)
        .sum();
    assert!(o.final_loss < start, "{} from {start}", o.final_loss);
}
