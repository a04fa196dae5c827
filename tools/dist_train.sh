#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG GPUS [train.py options]
exec bash "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" "$2" train.py "$1" "${@:3}"
