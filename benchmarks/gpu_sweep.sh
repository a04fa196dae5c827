#!/usr/bin/env bash
# The synthetic CAM-vs-L2G benchmark for several designs and seeds at once on a
# GPU machine (each run is one process; they share the GPU and the CPU cores).
# Usage: bash benchmarks/gpu_sweep.sh OUT_DIR [RUNS_FILE]
# RUNS_FILE (default benchmarks/sweeps/designs_2026-11-27.txt): one run per line,
# "name|design JSON|extra options"; lines starting with '#' are comments. Extra options
# are synthetic_cam_vs_l2g.py's (e.g. "--cfg-options model.loss_transfer.loss_weight=1");
# the 2026-11-27 file's --crop-size / --num-views belong to the earlier script.
# One process per design runs the seeds ($SEEDS) one after another, sharing its pretraining.
set -uo pipefail
OUT="${1:-/tmp/gpu_sweep}"
RUNS_FILE="${2:-benchmarks/sweeps/designs_2026-11-27.txt}"
mkdir -p "$OUT"
COMMON="--iters ${ITERS:-1000} --quiet"
SEEDS="${SEEDS:-0 1 2 3 4}"
pids=()
while IFS='|' read -r name design extra; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 python3 benchmarks/synthetic_cam_vs_l2g.py $COMMON $extra --seeds $SEEDS \
    --design "$design" --work-dir "$OUT/work_$name" \
    --out "$OUT/sweep_${name}.json" > "$OUT/sweep_${name}.log" 2>&1 &
  pids+=($!)
done < "$RUNS_FILE"
wait "${pids[@]}"
for f in "$OUT"/sweep_*.log; do echo "== $f"; grep -E "^\|" "$f" | tail -8; done
