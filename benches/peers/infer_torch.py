"""The dnn and rnn rule-inference fits in PyTorch, written the way the published code
is: a Python loop over trials on a batch tensor of animals, autograd through the
truncation window, torch.optim.Adam with a step decay. The peer of `rulelab infer fit`
for benches/peers/infer_side_by_side.sh (out of CI).

    python benches/peers/infer_torch.py TRAIN.csv [--model rnn] --epochs 2 [--device cuda] --json OUT.json

Same models and schedule as rulelab's defaults (../shared/specs/rule-inference.md §2):
inputs (w, s, 1, d, y, r, z); dnn 3 x 64 ReLU; rnn a GRU cell of 32 (h_0 = 0, detached
with w) under 2 x 32 ReLU; c = 1e-3, w_0 per animal from a logistic fit to its first
100 trials and trained, batches of 12 animals, windows of 500 trials, Adam lr 3e-3, x0.5
every 5 epochs. It times each epoch and reports trial-steps per second.
"""

import argparse
import csv
import json
import time
from collections import OrderedDict

import numpy as np
import torch


def read_project_csv(path):
    """The project CSV (animal, session, trial, stimulus, choice, correct_side, reward) as
    [A, T] arrays; every animal must have the same number of trials."""
    per = OrderedDict()
    with open(path) as f:
        for row in csv.DictReader(f):
            per.setdefault(row["animal"], []).append(row)
    lengths = {len(v) for v in per.values()}
    if len(lengths) != 1:
        raise SystemExit(f"{path}: animals differ in length {sorted(lengths)}")
    cols = {k: [] for k in ("s", "y", "z", "r", "d")}
    for rows in per.values():
        cols["s"].append([float(r["stimulus"]) for r in rows])
        cols["y"].append([float(r["choice"]) for r in rows])
        cols["z"].append([float(r["correct_side"]) for r in rows])
        cols["r"].append([float(r["reward"]) for r in rows])
        sess = [r["session"] for r in rows]
        cols["d"].append([1.0 if i == 0 or sess[i] != sess[i - 1] else 0.0 for i in range(len(rows))])
    return {k: torch.tensor(np.array(v), dtype=torch.float32) for k, v in cols.items()}


def logistic_w0(s, y, n=100, ridge=1e-2):
    """Per animal: Newton's method on the logistic regression of y on (s, 1)."""
    x = torch.stack([s[:, :n], torch.ones_like(s[:, :n])], dim=-1).double()
    y = y[:, :n].double()
    w = torch.zeros(s.shape[0], 2, dtype=torch.float64)
    for _ in range(25):
        p = torch.sigmoid((x * w[:, None, :]).sum(-1))
        g = ((p - y)[..., None] * x).sum(1) + ridge * w
        v = p * (1 - p)
        h = torch.einsum("at,ati,atj->aij", v, x, x) + ridge * torch.eye(2, dtype=torch.float64)
        w = w - torch.linalg.solve(h, g[..., None])[..., 0]
    return w.float()


class DNNGLM(torch.nn.Module):
    def __init__(self, n_animals, w0, hidden=64, layers=3):
        super().__init__()
        dims = [8] + [hidden] * layers
        mods = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        mods.append(torch.nn.Linear(dims[-1], 2))
        self.f = torch.nn.Sequential(*mods)
        self.c = torch.nn.Parameter(torch.full((2,), 1e-3))
        self.w0 = torch.nn.Parameter(w0.clone())

    def nll(self, data, idx, trunc):
        """Σ over the batch's animals and trials of −log p(y_t), w detached every
        `trunc` trials."""
        s, y, z, r, d = (data[k][idx] for k in ("s", "y", "z", "r", "d"))
        w = self.w0[idx]
        one = torch.ones_like(s[:, 0])
        total = 0.0
        for t in range(s.shape[1]):
            if t > 0 and t % trunc == 0:
                w = w.detach()
            logit = w[:, 0] * s[:, t] + w[:, 1]
            total = total + torch.nn.functional.binary_cross_entropy_with_logits(
                logit, y[:, t], reduction="sum"
            )
            if t + 1 < s.shape[1]:
                x = torch.stack([w[:, 0], w[:, 1], s[:, t], one, d[:, t], y[:, t], r[:, t], z[:, t]], dim=1)
                w = w + self.c * self.f(x)
        return total


class RNNGLM(DNNGLM):
    """A GRU cell reads the rule's inputs each trial; an MLP maps its state to the
    weight change."""

    def __init__(self, n_animals, w0, hidden=32, layers=2, gru=32):
        super().__init__(n_animals, w0, hidden, layers)
        self.gru = torch.nn.GRUCell(8, gru)
        dims = [gru] + [hidden] * layers
        mods = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        mods.append(torch.nn.Linear(dims[-1], 2))
        self.f = torch.nn.Sequential(*mods)
        self.units = gru

    def nll(self, data, idx, trunc):
        s, y, z, r, d = (data[k][idx] for k in ("s", "y", "z", "r", "d"))
        w = self.w0[idx]
        h = torch.zeros(s.shape[0], self.units, device=s.device)
        one = torch.ones_like(s[:, 0])
        total = 0.0
        for t in range(s.shape[1]):
            if t > 0 and t % trunc == 0:
                w, h = w.detach(), h.detach()
            logit = w[:, 0] * s[:, t] + w[:, 1]
            total = total + torch.nn.functional.binary_cross_entropy_with_logits(
                logit, y[:, t], reduction="sum"
            )
            if t + 1 < s.shape[1]:
                x = torch.stack([w[:, 0], w[:, 1], s[:, t], one, d[:, t], y[:, t], r[:, t], z[:, t]], dim=1)
                h = self.gru(x, h)
                w = w + self.c * self.f(h)
        return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--trunc", type=int, default=500)
    ap.add_argument("--model", default="dnn", choices=["dnn", "rnn"])
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--gru", type=int)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    data = read_project_csv(a.train)
    n, t_len = data["s"].shape
    w0 = logistic_w0(data["s"], data["y"])
    if a.model == "dnn":
        if a.gru:
            raise SystemExit("--gru: the dnn has no GRU")
        model = DNNGLM(n, w0, a.hidden or 64, a.layers or 3).to(a.device)
    else:
        model = RNNGLM(n, w0, a.hidden or 32, a.layers or 2, a.gru or 32).to(a.device)
    data = {k: v.to(a.device) for k, v in data.items()}
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    epochs = []
    for e in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n).to(a.device)
        total = 0.0
        for b in range(0, n, a.batch):
            idx = order[b : b + a.batch]
            opt.zero_grad()
            loss = model.nll(data, idx, a.trunc)
            (loss / (len(idx) * t_len)).backward()
            opt.step()
            total += loss.item()
        sched.step()
        sec = time.perf_counter() - t0
        epochs.append({"epoch": e + 1, "train_ll": -total / (n * t_len), "seconds": sec})
        print(f"torch epoch {e + 1}: train LL {-total / (n * t_len):.5f}, {sec:.1f} s", flush=True)
    per_epoch = sum(x["seconds"] for x in epochs) / len(epochs)
    out = {
        "model": a.model,
        "peer": f"PyTorch {torch.__version__} ("
        + (torch.cuda.get_device_name() if a.device == "cuda" else f"CPU, {torch.get_num_threads()} threads")
        + ")",
        "animals": n,
        "trials": t_len,
        "epochs": epochs,
        "seconds_per_epoch": per_epoch,
        "trial_steps_per_s": n * t_len / per_epoch,
    }
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
