#!/usr/bin/env bash
# The same sweep as sweep_array.sh, as a 1-based array (--array=1-16): rulelab maps task
# IDs to shards itself, K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / STEP, so
# 1-based arrays and stepped ones (--array=0-30:2) need nothing else. A task ID that does
# not fit the array is an error naming the variables, never a run of the whole grid.
#
#   sbatch examples/slurm/sweep_array_1based.sh examples/sweeps/s1_adam_quadratic.toml results/s1
#SBATCH --job-name=rulelab-sweep
#SBATCH --array=1-16
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --time=01:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
CONFIG="${1:?usage: sweep_array_1based.sh CONFIG OUT_DIR}"
OUT="${2:?usage: sweep_array_1based.sh CONFIG OUT_DIR}"
RULELAB="${RULELAB:-rulelab}"
shard_dir="$OUT/shard-$SLURM_ARRAY_TASK_ID"
resume=()
if [ -f "$shard_dir/manifest.json" ]; then resume=(--resume); fi
"$RULELAB" sweep "$CONFIG" --out "$shard_dir" "${resume[@]}"

# The last task to finish merges; merge checks every shard against its manifest and
# refuses (harmlessly, here) while one is unfinished or being written.
if [ "$(grep -l '"complete": true' "$OUT"/shard-*/manifest.json 2>/dev/null | wc -l)" -eq "$SLURM_ARRAY_TASK_COUNT" ]; then
    "$RULELAB" merge "$OUT"/shard-* --out "$OUT/merged" || true
fi
