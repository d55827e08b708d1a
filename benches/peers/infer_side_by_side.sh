#!/usr/bin/env bash
# The spec's default rule-inference experiment, side by side in one run: rulelab's
# `infer fit --model MODEL` (MODEL=dnn, the default, or rnn; 20 epochs on the default
# device, or DEVICE=cpu|gpu) and the PyTorch peer
# (benches/peers/infer_torch.py, a per-trial Python loop) on the same training animals,
# then one table: seconds per epoch, trial-steps per second, the ratio, and both fits'
# training LL after the peer's epochs. Not part of CI.
#
#   PYTHON=/path/to/venv/bin/python benches/peers/infer_side_by_side.sh [OUT_DIR]
#
# The venv needs torch and numpy; keep it outside the repository. The peer runs
# PEER_EPOCHS epochs (default 2; its time per epoch is flat, so the ratio holds) on
# PEER_DEVICE (cpu, the default, or cuda).
# ANIMALS and TRIALS shrink the experiment (defaults 300 and 2000).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-results/infer-peers}"
PYTHON="${PYTHON:-python3}"
RULELAB="${RULELAB:-target/release/rulelab}"
DEVICE="${DEVICE:-auto}"
MODEL="${MODEL:-dnn}"
ANIMALS="${ANIMALS:-300}"
TRIALS="${TRIALS:-2000}"
[ -x "$RULELAB" ] || cargo build --release
rm -rf "$OUT/fit"
mkdir -p "$OUT"
case "$MODEL" in
  dnn) RULE=reinforce; SIZE=(--hidden 64 --layers 3) ;;
  rnn) RULE=reinforce_history; SIZE=(--gru 32 --hidden 32 --layers 2) ;;
  *) echo "MODEL must be dnn or rnn" >&2; exit 2 ;;
esac
rm -f "$OUT"/train.*
"$RULELAB" infer simulate --rule "$RULE" --animals "$ANIMALS" --trials "$TRIALS" --seed 1 --out "$OUT/train.csv"
"$RULELAB" --device "$DEVICE" infer fit "$OUT/train.csv" --model "$MODEL" "${SIZE[@]}" \
  --epochs 20 --batch 12 --trunc 500 --lr 3e-3 --decay 0.5 --out "$OUT/fit"
"$PYTHON" benches/peers/infer_torch.py "$OUT/train.csv" --model "$MODEL" "${SIZE[@]}" \
  --epochs "${PEER_EPOCHS:-2}" --device "${PEER_DEVICE:-cpu}" --json "$OUT/torch.json"
"$PYTHON" - "$OUT" <<'PY'
import csv, json, os, sys
out = sys.argv[1]
m = json.load(open(os.path.join(out, "fit", "metrics.json")))
ep = list(csv.DictReader(open(os.path.join(out, "fit", "epochs.csv"))))
p = json.load(open(os.path.join(out, "torch.json")))
steps = p["animals"] * p["trials"]
ours = m["seconds"] / len(ep)
k = len(p["epochs"])
shape = "dnn 3x64" if p["model"] == "dnn" else "rnn GRU 32 + 2x32"
print(f"\n| {shape}, {p['animals']} animals x {p['trials']} trials, batch 12, trunc 500 | s / epoch | trial-steps/s | 20 epochs | vs PyTorch | train LL after epoch {k} |")
print("|---|---|---|---|---|---|")
print(f"| rulelab ({m['device']}) | {ours:.2f} | {steps / ours:,.0f} | {m['seconds']:.1f} s | "
      f"{p['seconds_per_epoch'] / ours:.1f}x | {float(ep[k - 1]['train_ll']):.5f} |")
print(f"| {p['peer']} | {p['seconds_per_epoch']:.1f} | {p['trial_steps_per_s']:,.0f} | "
      f"{20 * p['seconds_per_epoch']:.0f} s (projected) | 1x | {p['epochs'][-1]['train_ll']:.5f} |")
PY
