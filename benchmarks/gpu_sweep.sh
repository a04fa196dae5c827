#!/usr/bin/env bash
# The synthetic CAM-vs-L2G benchmark for several designs and seeds at once on a
# GPU machine (each run is one process; they share the GPU and the CPU cores).
# Usage: bash benchmarks/gpu_sweep.sh OUT_DIR   (runs listed in RUNS below)
set -uo pipefail
OUT="${1:-/tmp/gpu_sweep}"
mkdir -p "$OUT"
COMMON="--device cuda --workers 3 --backbone ${BACKBONE:-16,32,64,64} --cam-iters ${CAM_ITERS:-1000} --l2g-iters ${L2G_ITERS:-400}"
# name|design JSON
RUNS=(
  "default|{}"
  "subtle|{\"texture_contrast\": 0.2, \"body_texture_reliability\": 0.9}"
  "subtle_marks|{\"texture_contrast\": 0.2, \"body_texture_reliability\": 0.9, \"mark_size_ratio\": 0.05}"
)
pids=()
for run in "${RUNS[@]}"; do
  name="${run%%|*}"; design="${run#*|}"
  for seed in 0 1; do
    OMP_NUM_THREADS=2 python3 benchmarks/synthetic_cam_vs_l2g.py $COMMON --seeds "$seed" \
      --design "$design" --data-dir "/tmp/sweep_data_$name" \
      --out "$OUT/sweep_${name}_seed${seed}.json" > "$OUT/sweep_${name}_seed${seed}.log" 2>&1 &
    pids+=($!)
  done
done
wait "${pids[@]}"
for f in "$OUT"/sweep_*.log; do echo "== $f"; grep -E "^\|" "$f" | tail -3; done
