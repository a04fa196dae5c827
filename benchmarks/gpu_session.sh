#!/usr/bin/env bash
# One GPU session on a CUDA machine with torch but no OpenMMLab packages and no
# package index (see ../shared/gpu-kit/README.md): install the kit, then run the
# GPU checks of issues 7 and 8 and the synthetic CAM-vs-L2G sweep, each bounded
# in time; results in OUT/gpu_session.tar.gz.
# Usage: KIT=.gpukit OUT=results_dir [PARTS='stage2 sweep'] bash benchmarks/gpu_session.sh
set -uo pipefail
KIT="${KIT:-.gpukit}"
FINAL_OUT="${OUT:-/tmp/gpu_out}"
OUT=/tmp/gpu_session_work  # everything lands here, then one archive in $FINAL_OUT
mkdir -p "$OUT" "$FINAL_OUT"
trap 'tar czf "$FINAL_OUT/gpu_session.tar.gz" -C "$OUT" . 2>/dev/null' EXIT
export PYTHONUNBUFFERED=1
SITE="$PWD/.site"
T0=$(date +%s)
stamp() { echo "[gpu_session +$(( $(date +%s) - T0 ))s] $*"; }

stamp "installing the kit"
python3 -m pip install -q --no-index --no-deps --target "$SITE" \
  $(ls "$KIT"/*.whl | grep -v importlib_metadata) || exit 1
# The kit's importlib_metadata needs a package it lacks; the standard library's
# importlib.metadata serves mmpretrain's two imports.
mkdir -p "$SITE/importlib_metadata"
echo "from importlib.metadata import *  # noqa: F401,F403" > "$SITE/importlib_metadata/__init__.py"
export PYTHONPATH="$SITE:$PWD"
# The plugin calls no mmcv.ops; mmseg only imports them. When BUILD_MMCV_OPS=1 the
# CPU ops are compiled (~2-4 min); otherwise a pure-Python mmcv plus an import stub
# for mmcv._ext (any op call raises) saves that time on a short GPU lease.
install_mmcv_stub() {
  MMCV_WITH_OPS=0 python3 -m pip install -q --no-index --no-deps --no-build-isolation \
    --target "$SITE" "$KIT"/mmcv-2.1.0.tar.gz >> "$OUT/mmcv_build.log" 2>&1 || exit 1
  cat > "$SITE/mmcv/_ext.py" <<'PY'
"""Import stub: this mmcv was built without ops; calling one raises."""


def __getattr__(name):
    def _missing(*args, **kwargs):
        raise NotImplementedError(f"mmcv op {name} is not built on this machine")

    return _missing
PY
}
if [[ "${BUILD_MMCV_OPS:-0}" == 1 ]]; then
  stamp "building mmcv 2.1.0 with CPU ops"
  CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 MAX_JOBS=16 timeout 240 python3 -m pip install -q \
    --no-index --no-deps --no-build-isolation --target "$SITE" "$KIT"/mmcv-2.1.0.tar.gz \
    > "$OUT/mmcv_build.log" 2>&1 || { stamp "ops build failed; stub"; install_mmcv_stub; }
else
  stamp "pure-Python mmcv 2.1.0 + _ext import stub"
  install_mmcv_stub
fi
python3 -c "import mmcv.ops, mmseg.models, mmpretrain.models, mmseg_l2g, torch; \
print('imports ok', torch.__version__, torch.cuda.get_device_name(0))" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv"

# PARTS picks what runs (default: all): r38 (issue 7), bench (issue 8, every
# benchmark), stage2 (issue 8, only the stage-2 benchmark), sweep (issue 3).
PARTS="${PARTS:-r38 bench sweep}"
want() { [[ " $PARTS " == *" $1 "* ]]; }
if want r38; then
  stamp "issue 7: ResNet-38 L2G at full resolution, fp32 and AMP; stage 2"
  timeout 130 python3 benchmarks/gpu_resnet38_check.py --out "$OUT/gpu_resnet38_check.json" \
    --num-workers 8 2>&1 | tail -40
fi
if want bench; then
  stamp "issue 8: benchmarks on CUDA, ResNet-50, 448/320, with and without AMP"
  timeout 100 python3 benchmarks/run_all.py --device cuda --backbone resnet50 --global-size 448 \
    --crop-size 320 --amp --results-dir "$OUT" --name cuda_resnet50_448-320 2>&1 | tail -40
fi
if want stage2; then
  stamp "issue 8: stage-2 benchmark on CUDA, ResNet-50, 448 px, fp32 and AMP"
  for amp in "" "--amp"; do
    timeout 120 python3 benchmarks/bench_stage2.py --device cuda --backbone resnet50 \
      --image-size 448 --num-images 32 --batch-size 4 --workers "${STAGE2_WORKERS:-2}" $amp \
      --out "$OUT/stage2_cuda_resnet50${amp:+_amp}.json" 2>&1 | tail -25
  done
fi
if want sweep; then
  stamp "issue 3: synthetic CAM vs L2G sweep"
  timeout "${SWEEP_SECONDS:-150}" bash benchmarks/gpu_sweep.sh "$OUT" 2>&1 | tail -60
fi
stamp "done"
