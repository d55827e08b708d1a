#!/usr/bin/env bash
# Two builds of rulelab side by side on the workloads a change must not slow: S1 (16,384
# Adam learners, examples/sweeps/s1_adam_quadratic.toml), the default inference fit
# (300 × 2,000 simulated trials, the dnn 3 × 64, 20 epochs) and experiment B
# (examples/hippo/pathint.toml), run alternately (old, new, old, new, ...) so that the
# machine's drift falls on both alike; prints each run's seconds and the medians.
#
#   benches/old_and_new.sh OLD_BINARY NEW_BINARY [ROUNDS] [--device cpu|gpu]
set -euo pipefail
old=$1; new=$2; rounds=${3:-3}; shift 3 || shift $#
device=${1:---device}; device_name=${2:-cpu}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$new" infer simulate --rule reinforce --animals 300 --trials 2000 --seed 1 --out "$work/train.csv" >/dev/null
"$new" infer simulate --rule reinforce --animals 300 --trials 2000 --seed 2 --out "$work/test.csv" >/dev/null

time_of() {  # seconds of one command, its output discarded
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk "BEGIN { print $t1 - $t0 }"
}

run() {  # BINARY WORKLOAD OUT
  local bin=$1 what=$2 out=$3
  rm -rf "$out"
  case $what in
    s1) time_of "$bin" sweep examples/sweeps/s1_adam_quadratic.toml --out "$out" "$device" "$device_name" ;;
    fit) time_of "$bin" infer fit "$work/train.csv" --test "$work/test.csv" --model dnn \
           --out "$out" "$device" "$device_name" ;;
    expb) time_of "$bin" hippo run examples/hippo/pathint.toml --out "$out" "$device" "$device_name" ;;
  esac
}

for what in s1 fit expb; do
  olds=(); news=()
  for r in $(seq "$rounds"); do
    olds+=("$(run "$old" "$what" "$work/old-$what")")
    news+=("$(run "$new" "$what" "$work/new-$what")")
    if [ "$what" = s1 ] || [ "$what" = expb ]; then
      # The same bytes from both builds (the fit's report holds timings).
      results=results.csv
      cmp -s "$work/old-$what/$results" "$work/new-$what/$results" \
        || echo "warning: $what: the builds' $results differ"
    fi
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  printf '%-5s old %s   new %s   median old %.2f s, new %.2f s\n' "$what" \
    "$(printf '%.2f ' "${olds[@]}")" "$(printf '%.2f ' "${news[@]}")" \
    "$(median "${olds[@]}")" "$(median "${news[@]}")"
done
