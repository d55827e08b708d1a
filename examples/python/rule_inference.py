"""Rule inference from Python: simulate animals that learn by REINFORCE, fit the dnn
model (a GLM policy whose weights learn by an MLP rule) on some animals, score it on
held-out ones, and draw the inferred rule against the true one.

    python examples/python/rule_inference.py [OUT] [--device cpu|gpu|auto]

The spec's default experiment (300 + 300 animals × 2,000 trials, 20 epochs): about half
a minute on a 2-core machine's CPU device (held-out LL −0.4703 nats/trial against the
truth's −0.4682). OUT (default results/infer-py) gets the simulated tables, the fit's
report (OUT/fit) and OUT/rule.png.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to a file; drop this line in a notebook
import matplotlib.pyplot as plt

import rulelab

ap = argparse.ArgumentParser()
ap.add_argument("out", nargs="?", default="results/infer-py")
ap.add_argument("--device", default="auto")
ap.add_argument("--animals", type=int, default=300)
ap.add_argument("--epochs", type=int, default=20)
args = ap.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# Ground truth: α = (2^-6, 0) on (stimulus, bias), the spec's default simulation. Given
# as files, the fit finds their .truth.csv / .sim.json sidecars and scores the rule.
train = rulelab.infer.simulate("reinforce", animals=args.animals, trials=2000, seed=1,
                               out=out / "train.csv")
rulelab.infer.simulate("reinforce", animals=args.animals, trials=2000, seed=2,
                       out=out / "test.csv")
print(f"{train.animal.nunique()} animals, {len(train)} trials, "
      f"{train.reward.mean():.1%} rewarded")

fit = rulelab.infer.fit(out / "train.csv", test=out / "test.csv", model="dnn",
                        epochs=args.epochs, out=out / "fit", device=args.device)
m = fit.metrics
print(f"held-out LL {m['test_ll']:.5f} nats/trial (truth {m['truth_test_ll']:.5f}); "
      f"Δw_stim RMSE {m['dw_rmse']:.5f} against the true rule's RMS {m['dw_true_rms']:.5f}")

# The rule: the mean update of w_stim after a trial with stimulus s and choice y, at
# weights (w_stim, b), fitted (solid) and true (dashed).
grid = fit.rule_grid
grid = grid[grid.b == 0]
stimuli = sorted(grid.s.unique())
shown = [stimuli[0], stimuli[len(stimuli) // 4], stimuli[-len(stimuli) // 4 - 1], stimuli[-1]]
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for ax, y in zip(axes, (0, 1)):
    for i, s in enumerate(shown):
        g = grid[(grid.y == y) & (grid.s == s)].sort_values("w_stim")
        ax.plot(g.w_stim, g.dw_stim_fitted, color=f"C{i}", label=f"s = {s:g} (fitted)")
        ax.plot(g.w_stim, g.dw_stim_true, color=f"C{i}", ls="--", label=f"s = {s:g} (true)")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set(xlabel="w_stim before the trial", title=f"choice y = {y} ({'right' if y else 'left'}), b = 0")
axes[0].set_ylabel("mean Δw_stim")
axes[1].legend(fontsize=7, ncol=2)
fig.suptitle("the dnn's inferred learning rule against REINFORCE")
fig.tight_layout()
fig.savefig(out / "rule.png", dpi=120)
print(f"wrote {out / 'rule.png'}")
