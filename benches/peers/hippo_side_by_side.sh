#!/usr/bin/env bash
# Experiments B (path integration) and A (latents), one model each, MINUTES simulated
# minutes of training (default 30, the issue's 72,000 steps), side by side in one run:
# `rulelab hippo run` on DEVICE (default auto: here the CPU device) and the numpy peer
# (benches/peers/hippo_numpy.py, one time step at a time, as the published code steps),
# then steps/s, the ratio and both monitors per minute (different random draws, the same
# equations). rulelab's steps/s counts every step of its run (A's protocol adds 4 minutes
# of θ-clamped, inference and generation phases; B's test is cut to one step) and its
# time includes the decoder and the analyses. Not in CI.
#
#   PYTHON=/path/to/venv/bin/python benches/peers/hippo_side_by_side.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES="${1:-30}"
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-results/hippo-peers}"
RULELAB="${RULELAB:-target/release/rulelab}"
DEVICE="${DEVICE:-auto}"
[ -x "$RULELAB" ] || cargo build --release
mkdir -p "$OUT"
cat > "$OUT/pathint.toml" <<TOML
[experiment]
kind = "pathint"
spin_up = 0.025
lesion = 0.025
[model]
minutes = $MINUTES
test_runs = 1
[grid]
seed = [1]
TOML
cat > "$OUT/latents.toml" <<TOML
[experiment]
kind = "latents"
[model]
minutes = $MINUTES
[grid]
seed = [1]
TOML
for e in pathint latents; do
  rm -rf "$OUT/rulelab-$e"
  "$RULELAB" --device "$DEVICE" hippo run "$OUT/$e.toml" --out "$OUT/rulelab-$e" > /dev/null 2>&1
  "$PYTHON" benches/peers/hippo_numpy.py --experiment "$e" --minutes "$MINUTES" --json "$OUT/numpy-$e.json" > /dev/null
done
"$PYTHON" - "$OUT" "$MINUTES" <<'PY'
import csv, json, os, sys
out, minutes = sys.argv[1], float(sys.argv[2])
print(f"\n| {minutes:g} simulated minutes, one model | rulelab steps/s | numpy steps/s | ratio |")
print("|---|---|---|---|")
for e, name in [("pathint", "B, path integration"), ("latents", "A, latents")]:
    m = json.load(open(os.path.join(out, f"rulelab-{e}", "manifest.json")))
    p = json.load(open(os.path.join(out, f"numpy-{e}.json")))
    ours = m["learner_steps_per_s"]
    print(f"| {name} ({m['adapter']} vs {p['peer']}) | {ours:,.0f} | {p['steps_per_s']:,.0f} | {ours / p['steps_per_s']:.1f}x |")
for e in ["pathint", "latents"]:
    p = json.load(open(os.path.join(out, f"numpy-{e}.json")))
    rows = {round(float(r["t"])): r for r in csv.DictReader(open(os.path.join(out, f"rulelab-{e}", "losses.csv"))) if r["stage"] == "train"}
    print(f"\n| {e}: minute | monitor HPC rulelab | numpy | monitor MEC rulelab | numpy |")
    print("|---|---|---|---|---|")
    for i, mon in enumerate(p["monitor_per_minute"]):
        r = rows.get(60 * (i + 1))
        if r is None or (i + 1) % max(1, len(p["monitor_per_minute"]) // 6) and i + 1 != len(p["monitor_per_minute"]):
            continue
        print(f"| {i + 1} | {float(r['loss_hpc']):.4f} | {mon[0]:.4f} | {float(r['loss_mec']):.4f} | {mon[1]:.4f} |")
PY
