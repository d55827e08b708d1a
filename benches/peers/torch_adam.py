#!/usr/bin/env python3
"""PyTorch's fused Adam as the peer for `rulelab bench optim` (not run in CI).

Times one optimizer.step() of torch.optim.Adam(fused=True) on one flat parameter of
n floats, and a device-to-device copy of the same size, with CUDA events (median of
repeated runs). Writes rows in the shape of rulelab's bench JSON.

    python3 benches/peers/torch_adam.py --json out/torch_adam.json [--log2-sizes 20,24,26]
"""
import argparse
import json
import statistics

import torch


def timed(fn, reps, cuda):
    times = []
    for rep in range(reps + 1):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            t = start.elapsed_time(end) / 1e3
        else:
            import time
            t0 = time.perf_counter()
            fn()
            t = time.perf_counter() - t0
        if rep > 0:
            times.append(t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--log2-sizes", default="20,24,26")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    cuda = torch.cuda.is_available()
    dev = "cuda" if cuda else "cpu"
    name = torch.cuda.get_device_name() if cuda else "cpu"
    rows = []
    for k in [int(s) for s in args.log2_sizes.split(",")]:
        n = 1 << k
        p = torch.nn.Parameter(torch.randn(n, device=dev))
        p.grad = torch.randn(n, device=dev)
        opt = torch.optim.Adam([p], lr=1e-3, fused=cuda, foreach=None if cuda else True)
        opt.step()
        src, dst = torch.randn(n, device=dev), torch.empty(n, device=dev)
        copy = 8.0 * n / timed(lambda: dst.copy_(src), args.reps, cuda)
        seconds = timed(opt.step, args.reps, cuda)
        bps = 28.0 * n / seconds
        row = dict(kernel="torch_adam_fused" if cuda else "torch_adam_foreach", n=n, seconds=seconds,
                   bytes_per_s=bps, copy_bytes_per_s=copy, copy_shader_bytes_per_s=copy,
                   ratio=bps / copy, device="gpu" if cuda else "cpu", adapter=name,
                   clock="cuda_events" if cuda else "host_clock")
        print(f"{row['kernel']:<20} {n:>10} {seconds:11.3e} {bps/1e9:10.2f} {copy/1e9:10.2f} {row['ratio']:6.3f}")
        rows.append(row)
        del p, opt, src, dst
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
