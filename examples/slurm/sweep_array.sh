#!/usr/bin/env bash
# A big sweep as a Slurm array job: each task runs one shard (rulelab reads
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT itself), a dependent job merges them.
#
#   sbatch examples/slurm/sweep_array.sh examples/sweeps/s1_adam_quadratic.toml results/s1
#
# A task that dies (preemption, time limit) can be resubmitted as is: --resume checks its
# files against the manifest and picks it up from its last finished chunk.
#
# The array below is 0-based. A 1-based one (--array=1-16) or a stepped one
# (--array=0-30:2) works unchanged: rulelab maps a task to its shard as
# K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP, and a task ID
# that does not fit the array is an error naming the variables, never the whole grid.
#SBATCH --job-name=rulelab-sweep
#SBATCH --array=0-15
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --time=01:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
CONFIG="${1:?usage: sweep_array.sh CONFIG OUT_DIR}"
OUT="${2:?usage: sweep_array.sh CONFIG OUT_DIR}"
RULELAB="${RULELAB:-rulelab}"
shard_dir="$OUT/shard-$SLURM_ARRAY_TASK_ID"
resume=()
if [ -f "$shard_dir/manifest.json" ]; then resume=(--resume); fi
"$RULELAB" sweep "$CONFIG" --out "$shard_dir" "${resume[@]}"

# The last task to finish merges (every shard's manifest says complete); merge checks
# every shard against its manifest and refuses, harmlessly here, while one is written.
if [ "$(grep -l '"complete": true' "$OUT"/shard-*/manifest.json 2>/dev/null | wc -l)" -eq "$SLURM_ARRAY_TASK_COUNT" ]; then
    "$RULELAB" merge "$OUT"/shard-* --out "$OUT/merged" || true
fi
