#!/usr/bin/env bash
# S1 on this machine's CPU, side by side: rulelab's CPU device, JAX and PyTorch, one
# after the other in one run, then one table. Not part of CI.
#
#   PYTHON=/path/to/venv/bin/python benches/peers/s1_side_by_side.sh [OUT_DIR]
#
# The venv needs jax and torch (pip install jax torch); keep it outside the repository.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-results/s1-peers}"
PYTHON="${PYTHON:-python3}"
RULELAB="${RULELAB:-target/release/rulelab}"
mkdir -p "$OUT"
[ -x "$RULELAB" ] || cargo build --release
"$RULELAB" bench sweep --devices cpu --json "$OUT/rulelab.json"
"$PYTHON" benches/peers/s1_jax.py --json "$OUT/jax.json"
"$PYTHON" benches/peers/s1_torch.py --json "$OUT/torch.json"
"$PYTHON" - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
r = [x for x in json.load(open(os.path.join(out, "rulelab.json"))) if x["kernel"] == "s1_adam_quadratic"][0]
rows = [("rulelab (" + r["device"] + ", " + r["simd"] + ")", r["seconds"], r["median_final_loss"], r["best_setting"], r["best_mean_final_loss"])]
for peer in ("jax", "torch"):
    p = json.load(open(os.path.join(out, peer + ".json")))
    b = p["best_setting"]
    rows.append((peer + " (" + p["device"] + ")", p["seconds"], p["median_final_loss"],
                 f"lr={b['lr']:.4g} beta1={b['beta1']} beta2={b['beta2']}", b["mean_final_loss"]))
print("\n| S1 | seconds | vs rulelab | median final loss | best setting | its mean final loss |")
print("|---|---|---|---|---|---|")
for name, s, med, best, bl in rows:
    print(f"| {name} | {s:.2f} | {s / rows[0][1]:.1f}x | {med:.4f} | {best} | {bl:.4f} |")
PY
