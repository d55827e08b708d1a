#!/usr/bin/env bash
# The 10,000-start double-well paths to convergence, side by side in one run: rulelab
# (`control path` on the default device, or DEVICE=cpu|gpu) and scipy's L-BFGS-B one
# path at a time on the same starts, then one table (paths/s and S per path). Not part
# of CI.
#
#   PYTHON=/path/to/venv/bin/python benches/peers/paths_side_by_side.sh [OUT_DIR]
#
# The venv needs numpy and scipy; keep it outside the repository. LIMIT=N solves only
# the first N paths with scipy (its paths/s is per path, so the ratio holds).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-results/paths-peers}"
PYTHON="${PYTHON:-python3}"
RULELAB="${RULELAB:-target/release/rulelab}"
DEVICE="${DEVICE:-auto}"
[ -x "$RULELAB" ] || cargo build --release
rm -rf "$OUT/rulelab"
mkdir -p "$OUT"
"$RULELAB" --device "$DEVICE" control path examples/control/double_well_starts.toml --out "$OUT/rulelab"
"$PYTHON" benches/peers/paths_scipy.py "$OUT/rulelab" --json "$OUT/scipy.json" --limit "${LIMIT:-0}"
"$PYTHON" - "$OUT" <<'PY'
import csv, json, os, sys
out = sys.argv[1]
m = json.load(open(os.path.join(out, "rulelab", "manifest.json")))
rows = list(csv.DictReader(open(os.path.join(out, "rulelab", "paths.csv"))))
conv = sum(r["status"] == "converged" for r in rows)
iters = sorted(int(r["iterations"]) for r in rows)
ours = len(rows) / m["compute_seconds"]
s = json.load(open(os.path.join(out, "scipy.json")))
print(f"\n| 10,000 double-well paths (N = 50) | paths/s | vs scipy | converged | median iterations |")
print("|---|---|---|---|---|")
print(f"| rulelab ({m['device']}: {m['adapter']}) | {ours:.0f} | {ours / s['paths_per_s']:.1f}x | {conv}/{len(rows)} | {iters[len(iters) // 2]} |")
print(f"| {s['peer']} | {s['paths_per_s']:.1f} | 1x | {s['paths']} solved | {s['median_iterations']:.0f} |")
print(f"\nS per path, rulelab (f32) vs scipy (f64), relative to the sum of |terms|: median "
      f"{s['rel_diff_median']:.1e}, max {s['rel_diff_max']:.1e}; within 1e-5: "
      f"{100 * s['within_1e-5']:.2f}%; rulelab lower by more than 1e-5: {100 * s['rulelab_lower']:.2f}%")
PY
