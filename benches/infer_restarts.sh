#!/usr/bin/env bash
# What restarts cost: the dnn fit (3 x 64, batch 12, trunc 500) of 100 animals x 500
# trials for 3 epochs with R = 1, 8 and 32 restarts side by side, on DEVICE (default
# auto), then one table. On a GPU the restarts fill workgroups that would otherwise
# idle, so 32 should cost well under twice one; on the CPU device the cost is linear.
#
#   DEVICE=gpu benches/infer_restarts.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-results/infer-restarts}"
RULELAB="${RULELAB:-target/release/rulelab}"
DEVICE="${DEVICE:-auto}"
[ -x "$RULELAB" ] || cargo build --release
mkdir -p "$OUT"
"$RULELAB" infer simulate --rule reinforce --animals 100 --trials 500 --alpha 0.0625,0 --seed 1 --out "$OUT/train.csv"
for r in 1 8 32; do
    rm -rf "$OUT/r$r"
    "$RULELAB" --device "$DEVICE" infer fit "$OUT/train.csv" --epochs 3 --restarts "$r" --out "$OUT/r$r" >/dev/null
done
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = [(r, json.load(open(os.path.join(out, f"r{r}", "metrics.json")))) for r in (1, 8, 32)]
one = rows[0][1]["seconds"]
print(f"\n| restarts (100 x 500 trials, 3 epochs, 3 x 64) | seconds | vs R = 1 | trial-steps/s | best train LL | device |")
print("|---|---|---|---|---|---|")
for r, m in rows:
    print(f"| {r} | {m['seconds']:.2f} | {m['seconds'] / one:.2f}x | {m['trials_per_second']:,.0f} | {m['train_ll']:.5f} | {m['device']} |")
PY
