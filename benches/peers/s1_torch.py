#!/usr/bin/env python3
"""S1 in PyTorch (batched tensors, float32): the second peer for `rulelab bench sweep`.

All 16,384 learners are one [B, D] tensor; each step draws the whole batch's noise with
torch.randn and applies Adam in place. Same grid and learner order as rulelab (seed
fastest). Runs on CUDA when available, else on the CPU with all its threads.

    python3 benches/peers/s1_torch.py [--learners 16384] [--steps 1000] [--json out.json]
"""
import argparse
import json
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=16384)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--json")
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    D, T, sigma, eps = 256, args.steps, 0.1, 1e-8
    lrs = np.geomspace(1e-4, 1e-1, 16)
    b1s = np.array([0.5, 0.71407, 0.836488, 0.906494, 0.946528, 0.969421, 0.982513, 0.99])
    b2s = np.array([0.9, 0.962724, 0.986105, 0.994821, 0.998069, 0.99928, 0.999732, 0.9999])
    L, B1, B2, S = np.meshgrid(lrs, b1s, b2s, np.arange(16), indexing="ij")
    n = args.learners
    col = lambda x: torch.tensor(x.reshape(-1)[:n], dtype=torch.float32, device=dev)[:, None]
    lr, b1, b2 = col(L), col(B1), col(B2)
    h = torch.tensor(np.geomspace(1e-3, 1.0, D), dtype=torch.float32, device=dev)[None, :]
    gen = torch.Generator(device=dev).manual_seed(0)

    def run():
        theta = torch.ones(n, D, device=dev)
        m = torch.zeros(n, D, device=dev)
        v = torch.zeros(n, D, device=dev)
        g = torch.empty(n, D, device=dev)
        for t in range(1, T + 1):
            torch.randn(n, D, generator=gen, device=dev, out=g)
            g.mul_(sigma).addcmul_(h, theta)
            m.mul_(b1).add_((1 - b1) * g)
            v.mul_(b2).add_((1 - b2) * g * g)
            mhat = m / (1 - b1 ** t)
            vhat = v / (1 - b2 ** t)
            theta.sub_(lr * mhat / (vhat.sqrt() + eps))
        return 0.5 * (h * theta * theta).sum(dim=1)

    with torch.no_grad():
        if dev == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        final = run()
        if dev == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
    final = final.cpu().numpy()
    per = final.reshape(-1, 16).mean(axis=1) if n % 16 == 0 else final
    best = int(np.argmin(per))
    out = dict(peer="torch", device=dev if dev == "cpu" else torch.cuda.get_device_name(), threads=torch.get_num_threads(),
               learners=n, steps=T, seconds=seconds, learner_steps_per_s=n * T / seconds,
               coordinate_steps_per_s=n * T * D / seconds, median_final_loss=float(np.median(final)),
               best_setting=dict(lr=float(L.reshape(-1)[best * 16]), beta1=float(B1.reshape(-1)[best * 16]),
                                 beta2=float(B2.reshape(-1)[best * 16]), mean_final_loss=float(per[best])))
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
