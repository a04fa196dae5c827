#!/usr/bin/env bash
# The srun call shared by slurm_train.sh and slurm_test.sh: one task per GPU.
# Usage: [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#   bash tools/slurm_launch.sh PARTITION JOB_NAME TOOL.py [tool arguments]
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
read -r -a EXTRA_SRUN_ARGS <<< "${SRUN_ARGS:-}"
TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  "${EXTRA_SRUN_ARGS[@]}" \
  python -u "$TOOLS/$TOOL" "${@:4}" --launcher=slurm
