#!/usr/bin/env bash
# Experiment B's network for MINUTES simulated minutes (default 3), side by side in one
# run: `rulelab hippo run` with one model on DEVICE (default auto: here the CPU device)
# and the numpy peer (benches/peers/hippo_numpy.py, one time step at a time, as the
# published code steps), then steps/s, the ratio and both monitors per minute
# (different random draws, the same equations). Not in CI.
#
#   PYTHON=/path/to/venv/bin/python benches/peers/hippo_side_by_side.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES="${1:-3}"
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-results/hippo-peers}"
RULELAB="${RULELAB:-target/release/rulelab}"
DEVICE="${DEVICE:-auto}"
[ -x "$RULELAB" ] || cargo build --release
mkdir -p "$OUT"
# One model, training only (the shortest test the runner allows: one step).
cat > "$OUT/b.toml" <<TOML
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
rm -rf "$OUT/rulelab"
"$RULELAB" --device "$DEVICE" hippo run "$OUT/b.toml" --out "$OUT/rulelab" > /dev/null 2>&1
"$PYTHON" benches/peers/hippo_numpy.py --minutes "$MINUTES" --json "$OUT/numpy.json" > /dev/null
"$PYTHON" - "$OUT" "$MINUTES" <<'PY'
import csv, json, os, sys
out, minutes = sys.argv[1], float(sys.argv[2])
m = json.load(open(os.path.join(out, "rulelab", "manifest.json")))
steps = minutes * 60 / 0.025 + 2
ours = steps / m["compute_seconds"]
p = json.load(open(os.path.join(out, "numpy.json")))
rows = {round(float(r["t"])): r for r in csv.DictReader(open(os.path.join(out, "rulelab", "losses.csv"))) if r["stage"] == "train"}
print(f"\n| experiment B, {minutes:g} simulated minutes, one model | steps/s | vs numpy |")
print("|---|---|---|")
print(f"| rulelab hippo run, {m['adapter']} | {ours:,.0f} | {ours / p['steps_per_s']:.1f}x |")
print(f"| {p['peer']}, one step at a time | {p['steps_per_s']:,.0f} | 1x |")
print("\n| minute | monitor HPC rulelab | numpy | monitor MEC rulelab | numpy |")
print("|---|---|---|---|---|")
for i, mon in enumerate(p["monitor_per_minute"]):
    r = rows[60 * (i + 1)]
    print(f"| {i + 1} | {float(r['loss_hpc']):.4f} | {mon[0]:.4f} | {float(r['loss_mec']):.4f} | {mon[1]:.4f} |")
PY
