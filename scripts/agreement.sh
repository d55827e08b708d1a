#!/usr/bin/env bash
# How the GPU kernels and the CPU device agree on every example: runs each config on
# both (--device gpu and --device cpu) and compares results.csv row by row.
#
#   scripts/agreement.sh [OUT_DIR]        (default: results/agreement)
#
# Columns: learners whose final loss agrees to a relative 1e-5 (f32 round-off over the
# run) or that diverged on both devices; to 1e-3; further apart (chaos amplified the
# round-off: another basin); diverged on one device only.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-results/agreement}"
RULELAB="${RULELAB:-target/release/rulelab}"
[ -x "$RULELAB" ] || cargo build --release
mkdir -p "$OUT"
for cfg in examples/sweeps/*.toml; do
    name=$(basename "$cfg" .toml)
    for dev in cpu gpu; do
        rm -rf "$OUT/$name-$dev"
        "$RULELAB" sweep "$cfg" --out "$OUT/$name-$dev" --device "$dev" > /dev/null
    done
done
python3 - "$OUT" examples/sweeps/*.toml <<'PY'
import csv, os, sys
out = sys.argv[1]
print("| example | learners | final loss within 1e-5 (or both diverged) | within 1e-3 | further apart | diverged on one device only |")
print("|---|---|---|---|---|---|")
for cfg in sys.argv[2:]:
    name = os.path.basename(cfg)[:-5]
    rows = [list(csv.DictReader(open(os.path.join(out, f"{name}-{d}", "results.csv")))) for d in ("cpu", "gpu")]
    c = [0, 0, 0, 0]
    for a, b in zip(*rows):
        x, y = float(a["final_loss"]), float(b["final_loss"])
        if a["diverged"] != b["diverged"]:
            c[3] += 1
        elif a["diverged"] == "true":
            c[0] += 1
        else:
            rel = abs(x - y) / max(abs(x), 1e-300)
            c[0 if rel <= 1e-5 else 1 if rel <= 1e-3 else 2] += 1
    print(f"| {name} | {len(rows[0])} | {c[0]} | {c[1]} | {c[2]} | {c[3]} |")
PY
