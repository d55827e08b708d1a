#!/usr/bin/env bash
# Every picture in docs/, drawn again from the examples with the release binary (about
# five minutes on two cores, on the CPU device). Run from anywhere; the runs go to
# target/pictures/ and only the PNGs are copied into docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
rl="$PWD/target/release/rulelab"
export RULELAB_DEVICE=cpu
work=target/pictures
rm -rf "$work"
mkdir -p "$work/sim"
cd "$work"
root=../..
ex=$root/examples

$rl sweep $ex/sweeps/quickstart.toml --out quickstart
$rl sweep $ex/sweeps/horizon.toml --out horizon
$rl control horizon horizon > /dev/null
$rl sweep $ex/sweeps/continual.toml --out continual
$rl control path $ex/control/double_well_starts.toml --out paths
$rl hippo run $ex/hippo/pathint.toml --out pathint
$rl hippo run $ex/hippo/transfer.toml --out transfer
# The default rule-inference experiment (300 + 300 animals of 2,000 trials).
RULELAB="$PWD/../release/rulelab" bash $ex/infer/default_experiment.sh infer_default --device cpu
# The rnn with --skip on the history-dependent truth.
$rl infer simulate --rule reinforce_history --animals 300 --seed 1 --out sim/hist.csv
$rl infer simulate --rule reinforce_history --animals 300 --seed 2 --out sim/hist_test.csv
$rl infer fit sim/hist.csv --test sim/hist_test.csv --model rnn --skip --gru 8 --hidden 64 --layers 3 --out rnn_skip
# A fit sweep (its config reads sim/t500.csv and sim/t500_test.csv).
$rl infer simulate --rule reinforce_history --animals 300 --trials 500 --alpha 0.0625,0 --seed 1 --out sim/t500.csv
$rl infer simulate --rule reinforce_history --animals 300 --trials 500 --alpha 0.0625,0 --seed 2 --out sim/t500_test.csv
$rl infer sweep $ex/infer/sweep.toml --out fit_sweep

docs=$root/docs
cp quickstart/summary.png $docs/sweep_quickstart.png
cp horizon/horizon.png $docs/horizon.png
cp continual/regret.png $docs/continual_regret.png
cp paths/summary.png $docs/paths_double_well_starts.png
cp pathint/summary.png $docs/hippo_pathint.png
cp transfer/summary.png $docs/hippo_transfer.png
cp infer_default/fit/fit.png $docs/infer_fit.png
cp rnn_skip/rule_history.png $docs/infer_rnn_skip_history.png
cp fit_sweep/summary.png $docs/infer_sweep.png
echo "docs/: $(ls $docs/*.png | wc -l) pictures"
