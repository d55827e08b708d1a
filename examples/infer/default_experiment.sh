#!/usr/bin/env bash
# The spec's default experiment (../shared/specs/rule-inference.md §3): 300 training
# and 300 held-out animals × 2,000 trials learning by reinforce (α = (2^-6, 0)), the dnn
# model (3 × 64) fitted with batches of 12 animals, windows of 500 trials, 20 epochs.
#
#   examples/infer/default_experiment.sh [OUT] [--device gpu|cpu]
#
# About a minute on a 2-core machine's CPU device. OUT/fit holds metrics.json (held-out
# LL beside the truth's, Δw_stim RMSE beside the truth's RMS), the rule grid, the
# inferred weights and fit.png.
set -euo pipefail
out=${1:-out/infer_default}
shift || true
rulelab=${RULELAB:-target/release/rulelab}
mkdir -p "$out"
"$rulelab" infer simulate --rule reinforce --animals 300 --trials 2000 --seed 1 --out "$out/train.csv"
"$rulelab" infer simulate --rule reinforce --animals 300 --trials 2000 --seed 2 --out "$out/test.csv"
"$rulelab" infer fit "$out/train.csv" --test "$out/test.csv" --model dnn --hidden 64 --layers 3 \
  --epochs 20 --batch 12 --trunc 500 --lr 3e-3 --decay 0.5 --out "$out/fit" "$@"
