#!/usr/bin/env bash
# Trains on a Slurm cluster, one task per GPU (mmseg's script, same arguments).
# Usage: [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]" >&2
  exit 2
fi
exec bash "$(dirname "${BASH_SOURCE[0]}")/slurm_launch.sh" "$1" "$2" train.py "$3" \
  --work-dir="$4" "${@:5}"
