#!/usr/bin/env python3
"""S1 in JAX (jit + vmap + lax.scan, float32): the peer for `rulelab bench sweep`.

16,384 Adam learners on a 256-dimensional diagonal quadratic L = ½ Σ h_i θ_i² with h
log-spaced in [1e-3, 1], additive gradient noise σ = 0.1, θ_0 = 1, 1,000 steps; grid
16 lr × 8 β1 × 8 β2 × 16 seeds in rulelab's learner order (seed fastest). Prints the
time (compile excluded, measured separately), the best setting by mean final loss over
seeds and the median final loss, and writes them as JSON.

    python3 benches/peers/s1_jax.py [--learners 16384] [--steps 1000] [--json out.json]
"""
import argparse
import json
import time

import numpy as np
import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", False)


def grid():
    lrs = np.geomspace(1e-4, 1e-1, 16)
    b1 = np.array([0.5, 0.71407, 0.836488, 0.906494, 0.946528, 0.969421, 0.982513, 0.99])
    b2 = np.array([0.9, 0.962724, 0.986105, 0.994821, 0.998069, 0.99928, 0.999732, 0.9999])
    seeds = np.arange(16)
    L, B1, B2, S = np.meshgrid(lrs, b1, b2, seeds, indexing="ij")
    return [x.reshape(-1) for x in (L, B1, B2, S)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=16384)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--json")
    args = ap.parse_args()
    D, T, sigma, eps = 256, args.steps, 0.1, 1e-8
    lr, b1, b2, seed = [x[: args.learners] for x in grid()]
    h = jnp.asarray(np.geomspace(1e-3, 1.0, D), jnp.float32)

    def learner(lr, b1, b2, key):
        def step(carry, t):
            theta, m, v, key = carry
            key, sub = jax.random.split(key)
            g = h * theta + sigma * jax.random.normal(sub, (D,), jnp.float32)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            tt = (t + 1).astype(jnp.float32)
            mhat = m / (1 - b1 ** tt)
            vhat = v / (1 - b2 ** tt)
            theta = theta - lr * mhat / (jnp.sqrt(vhat) + eps)
            return (theta, m, v, key), None

        theta0 = jnp.ones((D,), jnp.float32)
        z = jnp.zeros((D,), jnp.float32)
        (theta, _, _, _), _ = jax.lax.scan(step, (theta0, z, z, key), jnp.arange(T))
        return 0.5 * jnp.sum(h * theta * theta)

    run = jax.jit(jax.vmap(learner))
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seed, jnp.uint32))
    args_ = (jnp.asarray(lr, jnp.float32), jnp.asarray(b1, jnp.float32), jnp.asarray(b2, jnp.float32), keys)
    t0 = time.perf_counter()
    run.lower(*args_).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    final = np.asarray(run(*args_).block_until_ready())
    seconds = time.perf_counter() - t0
    per_setting = final.reshape(-1, 16).mean(axis=1) if len(final) % 16 == 0 else final
    best = int(np.argmin(per_setting))
    out = dict(peer="jax", device=str(jax.devices()[0]), learners=len(final), steps=T, seconds=seconds,
               compile_seconds=compile_s, learner_steps_per_s=len(final) * T / seconds,
               coordinate_steps_per_s=len(final) * T * D / seconds, median_final_loss=float(np.median(final)),
               best_setting=dict(lr=float(lr[best * 16]), beta1=float(b1[best * 16]), beta2=float(b2[best * 16]),
                                 mean_final_loss=float(per_setting[best])))
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
