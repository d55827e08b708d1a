#!/usr/bin/env bash
# Steps per second with 1, 64 and 512 models side by side: experiment B's network
# (HPC 100, MEC 100, 200 conjunctive cells) trained for MINUTES simulated minutes
# (default 0.5; the single model 20 times as long, so that its run is not mostly
# start-up) plus a 2 s path-integration test, seeds 1..N, on DEVICE (default auto: the
# GPU where there is one, else the CPU device), then one table of model-steps per
# second (all models' steps together) from each run's manifest.
#
#   DEVICE=gpu MINUTES=2 benches/hippo_models.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-results/hippo-models}"
RULELAB="${RULELAB:-target/release/rulelab}"
DEVICE="${DEVICE:-auto}"
MINUTES="${MINUTES:-0.5}"
[ -x "$RULELAB" ] || cargo build --release
mkdir -p "$OUT"
for n in 1 64 512; do
    minutes=$(python3 -c "print($MINUTES * (20 if $n == 1 else 1))")
    cat > "$OUT/b$n.toml" <<TOML
[experiment]
kind = "pathint"
spin_up = 1.0
lesion = 1.0
[model]
minutes = $minutes
test_runs = 1
[grid]
seed = { range = [1, $((n + 1))] }
TOML
    rm -rf "$OUT/b$n"
    "$RULELAB" --device "$DEVICE" hippo run "$OUT/b$n.toml" --out "$OUT/b$n" 2>&1 | tail -1
done
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
print("\n| models side by side (B + a 2 s test) | simulated minutes | seconds | model-steps/s | steps/s per model | device |")
print("|---|---|---|---|---|---|")
for n in (1, 64, 512):
    m = json.load(open(os.path.join(out, f"b{n}", "manifest.json")))
    s, rate = m["compute_seconds"], m["learner_steps_per_s"]
    minutes = float(m["config"].split("minutes = ")[1].split()[0])
    print(f"| {n} | {minutes:g} | {s:.2f} | {rate:,.0f} | {rate / n:,.0f} | {m['adapter']} |")
PY
