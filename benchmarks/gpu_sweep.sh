#!/usr/bin/env bash
# The synthetic CAM-vs-L2G benchmark for several designs and seeds at once on a
# GPU machine (each run is one process; they share the GPU and the CPU cores).
# Usage: bash benchmarks/gpu_sweep.sh OUT_DIR [RUNS_FILE]
# RUNS_FILE (default benchmarks/sweeps/designs_2026-11-27.txt): one run per line,
# "name|design JSON|extra options"; lines starting with '#' are comments.
set -uo pipefail
OUT="${1:-/tmp/gpu_sweep}"
RUNS_FILE="${2:-benchmarks/sweeps/designs_2026-11-27.txt}"
mkdir -p "$OUT"
COMMON="--device cuda --workers ${WORKERS:-2} --cam-iters ${CAM_ITERS:-1000} --l2g-iters ${L2G_ITERS:-500}"
VARIANTS="${VARIANTS:-l2g}"
pids=()
while IFS='|' read -r name design extra; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  for seed in 0 1; do
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 python3 benchmarks/synthetic_cam_vs_l2g.py $COMMON $extra --seeds "$seed" \
      --variants $VARIANTS --design "$design" --data-dir "/tmp/sweep_data_$name" \
      --out "$OUT/sweep_${name}_seed${seed}.json" > "$OUT/sweep_${name}_seed${seed}.log" 2>&1 &
    pids+=($!)
  done
done < "$RUNS_FILE"
wait "${pids[@]}"
for f in "$OUT"/sweep_*.log; do echo "== $f"; grep -E "^\|" "$f" | tail -3; done
