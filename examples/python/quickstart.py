"""The quickstart sweep from Python: Adam against heavy-ball momentum on an
ill-conditioned quadratic, then the median final loss over seeds per setting and the
best settings' loss curves, drawn with matplotlib.

    python examples/python/quickstart.py [OUT]        # default results/quickstart-py

It runs examples/sweeps/quickstart.toml, the file `rulelab sweep` runs in the README,
and writes the same results.csv (byte for byte on the same device), then OUT/quickstart.png.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to a file; drop this line in a notebook
import matplotlib.pyplot as plt

import rulelab

REPO = Path(__file__).resolve().parents[2]
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/quickstart-py")

run = rulelab.sweep(REPO / "examples/sweeps/quickstart.toml", out=out, resume=out.exists())
print(run.describe)
results = run.results  # a row per learner: learner, rule, lr, beta1, seed, final_loss, ...

# Seeds are replicates: fold them (the median), never plot them as an axis.
median = results.groupby(["rule", "beta1", "lr"]).final_loss.median().reset_index()
best = median.loc[median.groupby("rule").final_loss.idxmin()]
print(best.to_string(index=False))

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
for (rule, beta1), g in median.groupby(["rule", "beta1"]):
    left.plot(g.lr, g.final_loss, "-" if rule == "adam" else "--", marker="o", ms=3,
              label=f"{rule}, β1 = {beta1}")
left.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="median final loss (over seeds)")
left.legend(fontsize=7, ncol=2)

curves = run.trajectories  # learner, step, loss
for _, b in best.iterrows():
    learners = results[(results.rule == b.rule) & (results.beta1 == b.beta1) & (results.lr == b.lr)]
    for i, learner in enumerate(learners.learner):
        c = curves[curves.learner == learner]
        right.plot(c.step, c.loss, color="C0" if b.rule == "adam" else "C1", alpha=0.6,
                   label=f"{b.rule} (lr {b.lr:.3g}, β1 {b.beta1})" if i == 0 else None)
right.set(yscale="log", xlabel="step", ylabel="loss", title="best setting per rule, every seed")
right.legend(fontsize=8)
fig.tight_layout()
fig.savefig(out / "quickstart.png", dpi=120)
print(f"wrote {out / 'results.csv'} and {out / 'quickstart.png'}")
