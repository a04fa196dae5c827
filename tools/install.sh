#!/usr/bin/env bash
# Brings this machine to the pinned development / CI environment, idempotently.
#
# Exact versions on purpose: CI must be reproducible, and mmcv's ops (built here or
# taken from a wheel) must match the torch they were built against, so a torch other
# than 2.9.1 is replaced. To add the plugin to your own working MMSegmentation
# environment use `pip install -e .` instead (version ranges; docs/installation.md).
#
# Order (see README "Installation"): torch + torchvision, then mmcv 2.1.0 with
# ops (from a wheel directory when one is given, built from source otherwise),
# then the OpenMMLab packages and test tools, then this package (editable).
# A second run only checks versions and returns in seconds.
#
# Usage: bash tools/install.sh [--wheels DIR]
#   --wheels DIR   a directory holding a prebuilt mmcv wheel (also PIP_FIND_LINKS)
set -euo pipefail

PY="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHEELS="${PIP_FIND_LINKS:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --wheels) WHEELS="$2"; shift 2 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
PIP=("$PY" -m pip install --disable-pip-version-check -q)
FIND_LINKS=()
if [[ -n "$WHEELS" ]]; then
  for d in $WHEELS; do [[ -d "$d" ]] && FIND_LINKS+=(--find-links "$d"); done
fi

has() { "$PY" -c "$1" >/dev/null 2>&1; }
say() { echo "[install] $*"; }

if has "import torch, torchvision; assert torch.__version__.startswith('2.9.1') and torchvision.__version__.startswith('0.24.1')"; then
  say "torch 2.9.1 / torchvision 0.24.1 present"
else
  if has "import torch"; then
    say "replacing torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null) by the pinned 2.9.1 (for your own environment use: pip install -e .)"
  fi
  say "installing torch 2.9.1 + torchvision 0.24.1 (a few minutes)"
  "${PIP[@]}" torch==2.9.1 torchvision==0.24.1
fi

if has "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'"; then
  say "mmcv 2.1.0 (with ops) present"
else
  say "installing mmcv 2.1.0 with ops (from ${WHEELS:-source: about 10 minutes})"
  "${PIP[@]}" 'setuptools<70' wheel ninja
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}" "${PIP[@]}" --no-build-isolation \
    "${FIND_LINKS[@]}" mmcv==2.1.0
fi

if has "import mmengine, mmseg, mmpretrain, ftfy, regex, cv2, pytest, scipy, ruff, pycocotools; \
assert mmengine.__version__ == '0.10.7' and mmseg.__version__ == '1.2.2' \
and mmpretrain.__version__ == '1.2.0'"; then
  say "mmengine / mmsegmentation / mmpretrain / test tools present"
else
  say "installing mmengine, mmsegmentation, mmpretrain and test tools"
  "${PIP[@]}" mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0 ftfy regex \
    opencv-python-headless scipy pytest ruff pycocotools 'setuptools<70'
fi

if has "import pydensecrf.densecrf"; then
  say "pydensecrf2 (dense CRF) present"
else
  say "installing pydensecrf2 (dense CRF; built from source, a few minutes)"
  "${PIP[@]}" pydensecrf2
fi

if (cd / && "$PY" -c "import mmseg_l2g, os, sys; \
sys.exit(0 if os.path.realpath(os.path.dirname(mmseg_l2g.__file__)) == os.path.realpath('$ROOT/mmseg_l2g') else 1)") \
  >/dev/null 2>&1; then
  say "mmseg_l2g (editable, $ROOT) present"
else
  say "installing mmseg_l2g (editable) from $ROOT"
  (cd "$ROOT" && "${PIP[@]}" --no-deps --no-build-isolation -e .)
fi
say "environment ready"
