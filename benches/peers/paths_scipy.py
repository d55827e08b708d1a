"""The 10,000-start double-well paths (examples/control/double_well_starts.toml) solved
the way the paper's notebooks would: scipy's L-BFGS-B, one path at a time, with an
analytic gradient in numpy (f64). The starts are read from rulelab's paths.csv (columns
from_0, from_1), so both solve the same paths; prints paths/s and writes one JSON.

    python benches/peers/paths_scipy.py RULELAB_OUT_DIR --json out.json [--limit N]
"""
import argparse, csv, json, os, time
import numpy as np
from scipy.optimize import minimize

# The example's numbers (examples/control/double_well_starts.toml).
A, B, C, D = 1.0, 1.0, 1.0, -0.5
GAMMA, ETA, K, T, N = 0.1, 1.0, 1.0, 4.0, 50
END = np.array([1.0625, 0.0])
DT = T / N
W = np.exp(-GAMMA * DT * np.arange(N)) / N  # weight of interval n (left point)


def loss_grad(th):
    x, y = th[:, 0], th[:, 1]
    loss = A * (x * x - B) ** 2 + C * y * y + D * x
    g = np.stack([4 * A * x * (x * x - B) + D, 2 * C * y], axis=1)
    return loss, g


def action(free, start):
    th = np.vstack([start, free.reshape(N - 1, 2), END])
    v = (th[1:] - th[:-1]) / DT  # v_n, n = 0..N-1
    loss, lg = loss_grad(th[:-1])
    s = np.sum(W * (0.5 / ETA * np.sum(v * v, axis=1) + K * loss))
    g = np.zeros_like(th)
    wv = (W / (ETA * DT))[:, None] * v
    g[1:] += wv                      # from v_{m-1}
    g[:-1] += -wv + K * W[:, None] * lg  # from v_m and L(θ_m)
    return s, g[1:-1].ravel()


def magnitude(free, start):
    """Σ_n w_n (|kinetic_n| + k |L_n|): the scale of the terms S sums, which sets the
    rounding of an f32 S (S itself may be near 0 where the loss is negative)."""
    th = np.vstack([start, free.reshape(N - 1, 2), END])
    v = (th[1:] - th[:-1]) / DT
    loss, _ = loss_grad(th[:-1])
    return float(np.sum(W * (0.5 / ETA * np.sum(v * v, axis=1) + K * np.abs(loss))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rulelab_out")
    ap.add_argument("--json", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--gtol", type=float, default=1e-6)
    ap.add_argument("--ftol", type=float, default=1e-9)
    a = ap.parse_args()
    rows = list(csv.DictReader(open(os.path.join(a.rulelab_out, "paths.csv"))))
    if a.limit:
        rows = rows[: a.limit]
    s_final, iters, scale = [], [], []
    t0 = time.perf_counter()
    for r in rows:
        start = np.array([float(r["from_0"]), float(r["from_1"])])
        frac = np.arange(1, N)[:, None] / N
        x0 = (start + frac * (END - start)).ravel()
        res = minimize(action, x0, args=(start,), jac=True, method="L-BFGS-B",
                       options={"gtol": a.gtol, "ftol": a.ftol, "maxiter": 2000})
        s_final.append(float(res.fun))
        scale.append(magnitude(res.x, start))
        iters.append(int(res.nit))
    secs = time.perf_counter() - t0
    ours = np.array([float(r["s_final"]) for r in rows])
    theirs = np.array(s_final)
    rel = np.abs(ours - theirs) / np.array(scale)
    out = {
        "peer": "scipy L-BFGS-B (numpy f64, one path at a time)",
        "paths": len(rows),
        "seconds": secs,
        "paths_per_s": len(rows) / secs,
        "median_iterations": float(np.median(iters)),
        "rel_diff_median": float(np.median(rel)),
        "rel_diff_max": float(rel.max()),
        "within_1e-5": float(np.mean(rel <= 1e-5)),
        "rulelab_lower": float(np.mean(ours < theirs - 1e-5 * np.array(scale))),
        "note": "rel_diff = |S_rulelab - S_scipy| / sum_n w_n (kinetic_n + k |L_n|)",
    }
    json.dump(out, open(a.json, "w"), indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
