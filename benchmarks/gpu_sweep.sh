#!/usr/bin/env bash
# The synthetic CAM-vs-L2G benchmark for several designs and seeds at once on a
# GPU machine (each run is one process; they share the GPU and the CPU cores).
# Usage: bash benchmarks/gpu_sweep.sh OUT_DIR   (runs listed in RUNS below)
set -uo pipefail
OUT="${1:-/tmp/gpu_sweep}"
mkdir -p "$OUT"
COMMON="--device cuda --workers 2 --cam-iters ${CAM_ITERS:-1000} --l2g-iters ${L2G_ITERS:-500}"
# name|design JSON|extra options
RUNS=(
  "default|{}|"
  "subtle|{\"texture_contrast\": 0.2, \"body_texture_reliability\": 0.9}|"
  "subtler|{\"texture_contrast\": 0.12, \"body_texture_reliability\": 1.0}|"
  "subtle_long|{\"texture_contrast\": 0.2, \"body_texture_reliability\": 0.9}|--cam-iters 2000 --l2g-iters 1000"
)
pids=()
for run in "${RUNS[@]}"; do
  IFS='|' read -r name design extra <<< "$run"
  for seed in 0 1; do
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 python3 benchmarks/synthetic_cam_vs_l2g.py $COMMON $extra --seeds "$seed" \
      --design "$design" --data-dir "/tmp/sweep_data_$name" \
      --out "$OUT/sweep_${name}_seed${seed}.json" > "$OUT/sweep_${name}_seed${seed}.log" 2>&1 &
    pids+=($!)
  done
done
wait "${pids[@]}"
for f in "$OUT"/sweep_*.log; do echo "== $f"; grep -E "^\|" "$f" | tail -3; done
