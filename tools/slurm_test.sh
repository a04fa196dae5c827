#!/usr/bin/env bash
# Tests a checkpoint on a Slurm cluster, one task per GPU (mmseg's script, same arguments).
# Usage: [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]" >&2
  exit 2
fi
exec bash "$(dirname "${BASH_SOURCE[0]}")/slurm_launch.sh" "$1" "$2" test.py "$3" "$4" "${@:5}"
