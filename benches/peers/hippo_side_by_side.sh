#!/usr/bin/env bash
# Experiment B's network for MINUTES simulated minutes (default 3), side by side in one
# run: rulelab's CPU model (examples/hippo_ring.rs, f32, one core) and the numpy peer
# (benches/peers/hippo_numpy.py, one time step at a time), then steps/s, the ratio and
# both monitors per minute (different random draws, the same equations). Not in CI.
#
#   PYTHON=/path/to/venv/bin/python benches/peers/hippo_side_by_side.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES="${1:-3}"
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-results/hippo-peers}"
mkdir -p "$OUT"
cargo build --release --example hippo_ring 2>/dev/null
target/release/examples/hippo_ring "$MINUTES" 1 > "$OUT/rulelab.csv" 2> "$OUT/rulelab.txt"
"$PYTHON" benches/peers/hippo_numpy.py --minutes "$MINUTES" --json "$OUT/numpy.json" > /dev/null
"$PYTHON" - "$OUT" "$MINUTES" <<'PY'
import csv, json, os, re, sys
out, minutes = sys.argv[1], float(sys.argv[2])
text = open(os.path.join(out, "rulelab.txt")).read()
secs = float(re.search(r"trained [\d.]+ \+ 10 min in ([\d.]+) s", text).group(1))
ours = minutes * 60 / 0.025 / secs
p = json.load(open(os.path.join(out, "numpy.json")))
rows = list(csv.DictReader(open(os.path.join(out, "rulelab.csv"))))
print(f"\n| experiment B, {minutes:g} simulated minutes, one model | steps/s | vs numpy |")
print("|---|---|---|")
print(f"| rulelab CPU model (f32, one core) | {ours:,.0f} | {ours / p['steps_per_s']:.1f}x |")
print(f"| {p['peer']}, one step at a time | {p['steps_per_s']:,.0f} | 1x |")
print("\n| minute | monitor HPC rulelab | numpy | monitor MEC rulelab | numpy |")
print("|---|---|---|---|---|")
for r, m in zip(rows, p["monitor_per_minute"]):
    print(f"| {r['minute']} | {float(r['loss_hpc']):.4f} | {m[0]:.4f} | {float(r['loss_mec']):.4f} | {m[1]:.4f} |")
PY
