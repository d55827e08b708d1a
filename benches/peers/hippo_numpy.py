"""Experiments B (path integration, §4) and A (latents, §3) of the theta-gated
hippocampal model (../shared/specs/hippocampus.md) in numpy, stepping one time step at
a time the way the published code does: a layer object per population, its
compartments' matrix-vector products, OU noise, the theta gate, the eligibility traces
and the local rule, every step. The peer of rulelab's CPU model for the speed
comparison (out of CI):

    python benches/peers/hippo_numpy.py --experiment pathint --minutes 2 --json OUT.json
    python benches/peers/hippo_numpy.py --experiment latents --minutes 2 --json OUT.json

A's latents are drawn in the loop as rulelab draws them: each GP sample from its
Gaussian conditional on the last 3 s.

It reports steps per second and the monitor (mean |a_B - a_A| per layer) per minute.
"""

import argparse
import json
import time

import numpy as np

DT, TAU_PI, TAU_NOISE = 0.025, 0.1, 0.3


def retanh(x):
    t = np.tanh(x)
    return np.where(x > 0, t, 0.0), np.where(x > 0, 1 - t * t, 0.0)


def linear(x):
    return x, np.ones_like(x)


class Compartment:
    def __init__(self, rng, n, n_in, w_init, act, eta, bias, identity=False, sigma=0.01, lambda2=0.0):
        self.identity = identity
        self.act, self.eta, self.bias = act, eta, bias
        self.sigma, self.lambda2 = sigma, lambda2
        if not identity:
            self.w = rng.normal(0, w_init / np.sqrt(n_in + bias), (n, n_in + bias))
            if bias:
                self.w[:, -1] = 0
            self.pi = np.zeros_like(self.w)
        self.xi = np.zeros(n)
        self.rng = rng

    def drive(self, x):
        if self.bias:
            x = np.append(x, 1.0)
        self.x = x
        v = x if self.identity else self.w @ x
        self.xi += -self.xi * DT / TAU_NOISE + self.sigma * np.sqrt(2 * DT / TAU_NOISE) * self.rng.standard_normal(len(self.xi))
        f, self.df = self.act(v)
        self.a = f + self.xi
        return self.a

    def learn(self, soma):
        if self.identity or self.eta == 0:
            return
        delta = (soma - self.a) * self.df
        self.pi = (1 - DT / TAU_PI) * self.pi + (DT / TAU_PI) * np.outer(delta, self.x)
        self.w += self.eta * (self.pi - self.lambda2 * self.w)


def observe(t, gaps, monitor, losses):
    """The monitor after step t (an EMA over 60 s of mean |a_B - a_A| per layer,
    started after two theta cycles); appends it to losses each simulated minute."""
    now = np.array([np.mean(np.abs(gap)) for gap in gaps])
    if t >= 16:
        monitor = now if monitor is None else monitor + DT / 60 * (now - monitor)
    if (t + 1) % int(round(60 / DT)) == 0:
        losses.append(monitor.tolist())
        print(f"numpy minute {len(losses)}: monitor {monitor[0]:.5f} {monitor[1]:.5f}", flush=True)
    return monitor


def pathint(a, rng):
    """Experiment B's network; returns the monitor per minute."""
    n = 100
    centres = (np.arange(n) + 0.5 + 0.5 * (rng.random(n) - 0.5)) / n
    hpc_b = Compartment(rng, n, n, 1.0, linear, 0.0, False, identity=True)
    hpc_a = Compartment(rng, n, n, 1.0, linear, 0.01, True)
    mec_b = Compartment(rng, n, n, 1.0, retanh, 0.01, True)
    mec_a = Compartment(rng, n, 3 * n, 0.2, retanh, 0.01, False)
    p, g, c = np.zeros(n), np.zeros(n), np.zeros(2 * n)
    x, v = rng.random(), 0.0
    steps = int(round(a.minutes * 60 / DT))
    monitor, losses = None, []
    for t in range(steps):
        x = (x + v * DT) % 1.0
        v += -v * DT / 0.7 + 0.5 * np.sqrt(2 * DT / 0.7) * rng.standard_normal()
        d = np.abs(x - centres)
        d = np.minimum(d, 1 - d)
        z = np.exp(-d * d / (2 * 0.06**2))
        theta = 1.0 if (t * DT * 5.0) % 1.0 < 0.5 else 0.0
        g_prev, c_prev = g, c
        ab, aa = hpc_b.drive(z), hpc_a.drive(g_prev)
        p = (1 - theta) * ab + theta * aa
        hpc_b.learn(p)
        hpc_a.learn(p)
        mb, ma = mec_b.drive(p), mec_a.drive(np.concatenate([g_prev, c_prev]))
        g = (1 - theta) * mb + theta * ma
        mec_b.learn(g)
        mec_a.learn(g)
        vel = np.array([max(v, 0) / 0.5, max(-v, 0) / 0.5])
        dv = vel[0] - vel[1]
        c = np.concatenate([np.maximum(g + dv - 1, 0), np.maximum(g - dv - 1, 0)])
        monitor = observe(t, [ab - aa, mb - ma], monitor, losses)
    return steps, losses


def latents(a, rng):
    """Experiment A's network; returns the monitor per minute."""
    n_lat, n_z, n_h, n_m = 5, 50, 50, 5
    # GP latents, RBF kernel (1 s), each sample conditioned on the last 3 s.
    w = int(round(3.0 / DT))
    lags = np.arange(w + 1) * DT
    kern = lambda l: np.exp(-0.5 * l * l)
    k = kern(lags[:w, None] - lags[None, :w]) + 1e-6 * np.eye(w)
    k_star = kern((w - np.arange(w)) * DT)
    coef = np.linalg.solve(k, k_star)
    sd = np.sqrt(max(1 + 1e-6 - k_star @ coef, 0))
    hist = (np.linalg.cholesky(k) @ rng.standard_normal((w, n_lat))).T.copy()
    mixing = rng.normal(0, np.sqrt(1 / n_lat), (n_z, n_lat))
    hpc_b = Compartment(rng, n_h, n_z, 1.0, linear, 0.0, False, identity=True)
    hpc_a = Compartment(rng, n_h, n_m, 1.0, linear, 1e-3, False)
    mec_b = Compartment(rng, n_m, n_h, 1.0, linear, 1e-3, False)
    mec_a = Compartment(rng, n_m, n_m, 0.1, linear, 1e-3, False, sigma=0.05, lambda2=0.005)
    g = np.zeros(n_m)
    steps = int(round(a.minutes * 60 / DT))
    monitor, losses = None, []
    for t in range(steps):
        lat = hist @ coef + sd * rng.standard_normal(n_lat)
        hist[:, :-1] = hist[:, 1:]
        hist[:, -1] = lat
        z = mixing @ lat
        theta = 1.0 if (t * DT * 5.0) % 1.0 < 0.5 else 0.0
        g_prev = g
        ab, aa = hpc_b.drive(z), hpc_a.drive(g_prev)
        p = (1 - theta) * ab + theta * aa
        hpc_a.learn(p)
        mb, ma = mec_b.drive(p), mec_a.drive(g_prev)
        g = (1 - theta) * mb + theta * ma
        mec_b.learn(g)
        mec_a.learn(g)
        monitor = observe(t, [ab - aa, mb - ma], monitor, losses)
    return steps, losses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", choices=["pathint", "latents"], default="pathint")
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    t0 = time.perf_counter()
    steps, losses = (pathint if a.experiment == "pathint" else latents)(a, rng)
    sec = time.perf_counter() - t0
    out = {
        "peer": f"numpy {np.__version__}",
        "experiment": a.experiment,
        "steps": steps,
        "seconds": sec,
        "steps_per_s": steps / sec,
        "monitor_per_minute": losses,
    }
    print(f"numpy: {steps} steps in {sec:.1f} s, {steps / sec:.0f} steps/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
