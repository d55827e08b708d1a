#!/usr/bin/env bash
# What fitting a setting's seeds side by side buys: one fit sweep (dnn 2 x 32, 100 + 50
# animals x 500 trials, 5 epochs, 8 seeds) run twice on DEVICE (default auto), once with
# each fit in its own chunk ([run] chunk = 1, one fit at a time) and once with the
# default chunk (the 8 seeds in one fit, side by side), then a table. The two runs must
# write the same bytes (a restart is the fit its seed makes alone); on a GPU the side
# by side seeds fill workgroups that would otherwise idle.
#
#   DEVICE=gpu benches/infer_sweep_seeds.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-results/infer-sweep-seeds}"
RULELAB="${RULELAB:-target/release/rulelab}"
DEVICE="${DEVICE:-auto}"
[ -x "$RULELAB" ] || cargo build --release
mkdir -p "$OUT"
"$RULELAB" infer simulate --rule reinforce --animals 100 --trials 500 --alpha 0.0625,0 --seed 1 --out "$OUT/train.csv" >/dev/null
"$RULELAB" infer simulate --rule reinforce --animals 50 --trials 500 --alpha 0.0625,0 --seed 2 --out "$OUT/test.csv" >/dev/null
for mode in alone together; do
    chunk=""
    [ "$mode" = alone ] && chunk=$'[run]\nchunk = 1\n'
    cat > "$OUT/$mode.toml" <<TOML
[data]
train = "$OUT/train.csv"
test = "$OUT/test.csv"
[fit]
hidden = 32
layers = 2
epochs = 5
trunc = 100
$chunk
[grid]
seed = { range = [0, 8] }
TOML
    rm -rf "$OUT/$mode"
    "$RULELAB" --device "$DEVICE" infer sweep "$OUT/$mode.toml" --out "$OUT/$mode" 2>/dev/null
done
cmp "$OUT/alone/results.csv" "$OUT/together/results.csv"
cmp "$OUT/alone/epochs.csv" "$OUT/together/epochs.csv"
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
m = {k: json.load(open(os.path.join(out, k, "manifest.json"))) for k in ("alone", "together")}
one = m["alone"]["compute_seconds"]
print("\n| 8 seeds (dnn 2 x 32, 100 x 500 trials, 5 epochs) | seconds | vs one at a time | trial-steps/s | device |")
print("|---|---|---|---|---|")
for k, label in (("alone", "one fit at a time"), ("together", "side by side")):
    s = m[k]["compute_seconds"]
    print(f"| {label} | {s:.2f} | {s / one:.2f}x | {m[k]['learner_steps_per_s']:,.0f} | {m[k]['device']} |")
print("\nthe same results.csv and epochs.csv both ways")
PY
