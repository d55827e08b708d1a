#!/usr/bin/env bash
# One command that measures rulelab on a GPU: checks every kernel against its CPU
# reference on the adapter, benches the optimiser family against the adapter's own copy
# bandwidth, the sweep workloads (S1, Rosenbrock) on the GPU and the CPU and the rule
# inference fit (restarts; the default experiment), runs the peers that are installed
# (PyTorch's fused Adam; S1 in JAX and PyTorch; the inference fit in PyTorch), and
# prints the tables.
#
#   scripts/gpu-bench.sh [OUT_DIR]          (default: results/gpu-bench)
#
# RULELAB may point at a prebuilt binary (machines without a Rust toolchain);
# LOG2_SIZES and REPS override the optimiser sizes and repetitions, SWEEP_LEARNERS runs
# only the first N learners of each sweep workload (for slow adapters), PYTHON picks the
# interpreter that has the peers' packages.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-results/gpu-bench}"
RULELAB="${RULELAB:-target/release/rulelab}"
LOG2_SIZES="${LOG2_SIZES:-20,24,26}"
REPS="${REPS:-7}"
mkdir -p "$OUT"

# A machine without a Vulkan loader can carry Debian's libvulkan1 as .deb files in .gl/.
if ! ldconfig -p 2>/dev/null | grep -q libvulkan && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then export VK_DRIVER_FILES="$nvidia_icd"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

if [ ! -x "$RULELAB" ]; then cargo build --release; fi

"$RULELAB" devices | tee "$OUT/devices.txt"
"$RULELAB" check --device gpu | tee "$OUT/check.txt"
"$RULELAB" bench optim --device gpu --log2-sizes "$LOG2_SIZES" --reps "$REPS" --json "$OUT/optim.json"
"$RULELAB" bench sweep --devices gpu,cpu ${SWEEP_LEARNERS:+--learners "$SWEEP_LEARNERS"} --json "$OUT/sweep.json"
PYTHON="${PYTHON:-python3}"
# Rule inference: what restarts cost on the card, and the default experiment beside
# PyTorch on the same card (one peer epoch).
RULELAB="$RULELAB" DEVICE=gpu benches/infer_restarts.sh "$OUT/infer-restarts" | tee "$OUT/infer-restarts.txt"
RULELAB="$RULELAB" DEVICE=gpu benches/infer_sweep_seeds.sh "$OUT/infer-sweep-seeds" | tee "$OUT/infer-sweep-seeds.txt"
# The hippocampal model: 1, 64 and 512 models side by side (experiment B's network).
RULELAB="$RULELAB" DEVICE=gpu MINUTES="${HIPPO_MINUTES:-2}" benches/hippo_models.sh "$OUT/hippo-models" | tee "$OUT/hippo-models.txt"
if "$PYTHON" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
    RULELAB="$RULELAB" DEVICE=gpu PEER_DEVICE=cuda PEER_EPOCHS=1 PYTHON="$PYTHON" \
        benches/peers/infer_side_by_side.sh "$OUT/infer-peers" | tee "$OUT/infer-peers.txt"
    RULELAB="$RULELAB" DEVICE=gpu PEER_DEVICE=cuda PEER_EPOCHS=1 PYTHON="$PYTHON" MODEL=rnn \
        benches/peers/infer_side_by_side.sh "$OUT/infer-peers-rnn" | tee "$OUT/infer-peers-rnn.txt"
fi
if "$PYTHON" -c "import torch" 2>/dev/null; then
    "$PYTHON" benches/peers/torch_adam.py --log2-sizes "$LOG2_SIZES" --reps "$REPS" --json "$OUT/torch_adam.json"
    "$PYTHON" benches/peers/s1_torch.py --json "$OUT/s1_torch.json"
else
    echo "torch not installed: no PyTorch peers"
fi
if "$PYTHON" -c "import jax" 2>/dev/null; then
    "$PYTHON" benches/peers/s1_jax.py --json "$OUT/s1_jax.json"
else
    echo "jax not installed: no JAX peer"
fi

"$PYTHON" - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = json.load(open(os.path.join(out, "optim.json")))
peer = os.path.join(out, "torch_adam.json")
if os.path.exists(peer):
    rows += json.load(open(peer))
print(f"\n| kernel | n | time | GB/s | copy GB/s | copy shader GB/s | ratio | adapter |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['kernel']} | 2^{r['n'].bit_length()-1} | {r['seconds']*1e3:.3f} ms | {r['bytes_per_s']/1e9:.1f} | "
          f"{r['copy_bytes_per_s']/1e9:.1f} | {r['copy_shader_bytes_per_s']/1e9:.1f} | {r['ratio']:.3f} | {r['adapter']} |")
print("\n| sweep | device | learners | seconds | learner-steps/s | coordinate-steps/s | median final loss | best setting |")
print("|---|---|---|---|---|---|---|---|")
for r in json.load(open(os.path.join(out, "sweep.json"))):
    print(f"| {r['kernel']} | rulelab {r['device']} ({r['adapter']}) | {r['n']} | {r['seconds']:.3f} | {r['learner_steps_per_s']:.3e} | "
          f"{r['coordinate_steps_per_s']:.3e} | {r['median_final_loss']:.4f} | {r['best_setting']} |")
for peer in ("s1_jax", "s1_torch"):
    path = os.path.join(out, peer + ".json")
    if os.path.exists(path):
        p = json.load(open(path))
        b = p["best_setting"]
        print(f"| s1_adam_quadratic | {p['peer']} ({p['device']}) | {p['learners']} | {p['seconds']:.3f} | {p['learner_steps_per_s']:.3e} | "
              f"{p['coordinate_steps_per_s']:.3e} | {p['median_final_loss']:.4f} | lr={b['lr']:.4g} beta1={b['beta1']} beta2={b['beta2']} |")
PY
