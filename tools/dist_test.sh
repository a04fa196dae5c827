#!/usr/bin/env bash
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
exec bash "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" "$3" test.py "$1" "$2" "${@:4}"
