"""GPU check of the paper's setting: L2G ResNet-38 training and stage-2 speed (issue 7).

One process, on generated VOC-layout data (a temporary folder):

1. ``make_synthetic`` images (``--size`` pixels, default 500 like VOC) laid out
   as ``VOCdevkit/VOC2012`` (``JPEGImages``, ``SegmentationClassAug``,
   ``saliency_maps``, ``ImageSets/Segmentation/{train_aug,val}[_cls].txt``).
2. ``configs/l2g/l2g_resnet38_1xb3-10e_voc12aug-448.py`` (``--saliency``: the
   ``l2g-sal`` variant) at its full resolution (448 global view, 6 local views
   of 320, batch 3), random initialisation (the pretrained ``init_cfg`` is
   dropped), the config's optimiser with its parameter-wise settings; per
   mode, ``--warmup`` untimed then ``--iters`` timed ``model.train_step``
   calls on batches of the config's training dataloader (``InfiniteSampler``,
   ``--num-workers`` workers): iterations/s (data loading included), the
   median step time, the time spent waiting for data, peak GPU memory
   (``torch.cuda.max_memory_allocated`` since the model was built, reset per
   mode).
3. Stage 2 with the model just trained: ``generate_pseudo_masks`` over the
   first ``--stage2-images`` training images (scales 0.5/1/1.5/2 + flip,
   scored against the masks, nothing written), after one untimed batch:
   images/s and peak GPU memory.

Modes (``--modes``, both by default):

- ``fp32``: ``OptimWrapper``; stage 2 with ``fp16=False``.
- ``amp``: on CUDA, ``AmpOptimWrapper`` (float16, dynamic loss scale); stage 2
  with ``fp16=True``. On CPU (the test) float16 autocast is not available to
  these APIs (``AmpOptimWrapper`` needs CUDA, the stage-2 ``fp16`` flag is
  ignored on CPU), so ``amp`` runs bfloat16 CPU autocast around the training
  step (plain ``OptimWrapper``; bfloat16 needs no loss scaling) and around
  stage 2: it exercises the mixed-precision path of the model, its figures
  say nothing about GPU AMP.

Prints progress lines, a markdown table, and writes the JSON (atomically) to
``--out``. A phase that fails (e.g. out of memory) is recorded with its error,
the other phases still run, and the exit status is 1.

Run from the repository root (no install needed; the root is put on
``sys.path``)::

    python3 benchmarks/gpu_resnet38_check.py                 # CUDA; meant for < 4 min on an H100
    python3 benchmarks/gpu_resnet38_check.py --saliency      # the l2g-sal config
    python3 benchmarks/gpu_resnet38_check.py --tiny --device cpu   # the test's size
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import gc
import logging
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch

# The plugin is imported from the checkout (no install needed); its imports are lazy.
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from benchmarks.common import quiet_logs  # noqa: E402

NAME = "gpu_resnet38_check"
CONFIG = osp.join(REPO_ROOT, "configs", "l2g", "l2g_resnet38_1xb3-10e_voc12aug-448.py")
CONFIG_SAL = osp.join(REPO_ROOT, "configs", "l2g", "l2g-sal_resnet38_1xb3-10e_voc12aug-448.py")
DEFAULT_OUT = osp.join(REPO_ROOT, "benchmarks", "results", f"{NAME}.json")
MODES = ("fp32", "amp")
GIB = 1024**3
TRAIN_IDS = "ImageSets/Segmentation/train_aug.txt"

# Values of the options left unset: the full check, and the CPU test's (--tiny).
FULL = dict(
    size=500,
    num_train=60,
    iters=20,
    warmup=3,
    stage2_images=50,
    scales=[0.5, 1.0, 1.5, 2.0],
    num_workers=4,
)
TINY = dict(size=64, num_train=6, iters=2, warmup=1, stage2_images=2, scales=[1.0], num_workers=0)
TINY_GLOBAL, TINY_CROP, TINY_BASE_CHANNELS = 64, 48, 4

_START = time.perf_counter()


def log(message: str) -> None:
    """A progress line with the seconds since start (flushed at once)."""
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", flush=True)


# ----------------------------------------------------------------------------- options


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options; unset ones take the full (or ``--tiny``) values."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help="cuda, cuda:K or cpu")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--saliency", action="store_true", help="the l2g-sal config")
    parser.add_argument("--tiny", action="store_true", help="CPU-test size (64 px, 1/16 width)")
    parser.add_argument("--size", type=int, default=None, help="generated image side (500)")
    parser.add_argument("--num-train", type=int, default=None, help="generated images (60)")
    parser.add_argument("--iters", type=int, default=None, help="timed iterations (20)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed iterations (3)")
    parser.add_argument("--stage2-images", type=int, default=None, help="stage-2 images (50)")
    parser.add_argument("--stage2-batch-size", type=int, default=4, help="stage-2 batch")
    parser.add_argument("--scales", type=float, nargs="+", default=None, help="stage-2 scales")
    parser.add_argument("--num-workers", type=int, default=None, help="loader workers (4)")
    parser.add_argument(
        "--cudnn-benchmark", action="store_true", help="override the config's cudnn_benchmark"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=DEFAULT_OUT, help="JSON output path")
    args = parser.parse_args(argv)
    for key, value in (TINY if args.tiny else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, copy.deepcopy(value))
    if args.size < 32 or args.num_train < 1 or args.iters < 1 or args.warmup < 0:
        parser.error("--size must be >= 32, --num-train and --iters >= 1, --warmup >= 0")
    if args.stage2_images < 1 or args.stage2_batch_size < 1 or args.num_workers < 0:
        parser.error("--stage2-images and --stage2-batch-size must be >= 1, --num-workers >= 0")
    if not all(scale > 0 for scale in args.scales):
        parser.error(f"--scales must be positive, got {args.scales}")
    device = torch.device(args.device)
    if device.type not in ("cpu", "cuda"):
        parser.error(f"--device must be cpu or cuda[:K], got {args.device}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine")
    args.modes = list(dict.fromkeys(args.modes))
    return args


# ----------------------------------------------------------------------------- data


def make_voc_layout(root: str, num_train: int, size: int, seed: int) -> Dict[str, Any]:
    """Generates synthetic images under ``root`` and renames them into the VOC 2012 layout.

    Returns:
        What was made (counts, size, seconds).
    """
    from mmseg_l2g.datasets.synthetic import make_synthetic

    start = time.perf_counter()
    num_val = 2
    make_synthetic(root, num_train, num_val, seed, size=size, progress=False)
    renames = {
        "SegmentationClass": "SegmentationClassAug",
        "Saliency": "saliency_maps",
        "ImageSets/Segmentation/train.txt": TRAIN_IDS,
        "ImageSets/Segmentation/train_cls.txt": "ImageSets/Segmentation/train_aug_cls.txt",
    }
    for src, dst in renames.items():
        os.replace(osp.join(root, src), osp.join(root, dst))
    for name in ("JPEGImages", "SegmentationClassAug", "saliency_maps"):
        found = len(os.listdir(osp.join(root, name)))
        if found != num_train + num_val:
            raise RuntimeError(f"{osp.join(root, name)}: {found} files, {num_train + num_val} made")
    return dict(
        num_train=num_train,
        num_val=num_val,
        size=size,
        seconds=round(time.perf_counter() - start, 2),
    )


# ----------------------------------------------------------------------------- config


def load_check_config(args: argparse.Namespace, data_root: str) -> Any:
    """The ResNet-38 L2G config pointed at ``data_root``, random init, timing-ready loaders."""
    from mmseg_l2g.apis import load_config

    cfg = load_config(CONFIG_SAL if args.saliency else CONFIG)
    cfg.model.backbone.pop("init_cfg", None)  # no ImageNet weights here: random init
    workers = args.num_workers
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg[key]
        loader.dataset.data_root = data_root
        loader.num_workers = workers
        loader.persistent_workers = workers > 0
    # Endless batches: the timed iterations never wait on an epoch boundary.
    cfg.train_dataloader.sampler = dict(type="InfiniteSampler", shuffle=True)
    if args.tiny:
        shrink_for_cpu(cfg)
    return cfg


def shrink_for_cpu(cfg: Any) -> None:
    """The CPU test's size: 64 px global / 48 px local views, ResNet-38 at 1/16 width."""
    from mmseg_l2g.datasets.view_sizes import set_view_sizes

    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        set_view_sizes(cfg[key].dataset.pipeline, TINY_GLOBAL, TINY_CROP)
    cfg.model.backbone.base_channels = TINY_BASE_CHANNELS  # conv4 32, conv5 64, conv6 256
    cfg.model.head.in_channels = 256
    if cfg.model.head.get("pcm"):
        cfg.model.head.pcm.in_channels = (32, 64)


def pipeline_sizes(cfg: Any) -> Dict[str, Any]:
    """Global view side, local view side and count of the training pipeline."""
    sizes: Dict[str, Any] = {}
    for step in cfg.train_dataloader.dataset.pipeline:
        if step["type"] == "RandomCrop":  # the global view is a crop of the resized image
            sizes["global_size"] = list(step["crop_size"])
        if step["type"] == "LocalCropTransform":
            sizes["crop_size"] = step["crop_size"]
            sizes["num_views"] = step["num_views"]
    return sizes


# ----------------------------------------------------------------------------- modes


@dataclass(frozen=True)
class Mode:
    """How one mode trains and runs stage 2 on a device."""

    name: str
    device: torch.device

    @property
    def amp(self) -> bool:
        return self.name == "amp"

    @property
    def cuda_amp(self) -> bool:
        """float16 through ``AmpOptimWrapper`` and the stage-2 ``fp16`` flag."""
        return self.amp and self.device.type == "cuda"

    @property
    def cpu_bf16(self) -> bool:
        """The CPU stand-in for AMP: bfloat16 CPU autocast."""
        return self.amp and self.device.type == "cpu"

    @property
    def autocast_dtype(self) -> Optional[str]:
        """The autocast dtype of the mode's forward passes (``None``: fp32)."""
        return "float16" if self.cuda_amp else "bfloat16" if self.cpu_bf16 else None

    @property
    def precision(self) -> str:
        if self.cuda_amp:
            return "float16 autocast (AmpOptimWrapper, dynamic loss scale)"
        if self.cpu_bf16:
            return "bfloat16 CPU autocast (stand-in: no float16 AMP on CPU)"
        if self.device.type == "cuda":
            return f"fp32 (cuDNN TF32 {_flag(lambda: torch.backends.cudnn.allow_tf32)})"
        return "fp32"

    def optim_wrapper_cfg(self, cfg: Any) -> Dict[str, Any]:
        """The config's optimiser wrapper, made ``AmpOptimWrapper`` for CUDA AMP."""
        wrapper = copy.deepcopy(cfg.optim_wrapper.to_dict())
        if self.cuda_amp:
            wrapper.update(type="AmpOptimWrapper", dtype="float16", loss_scale="dynamic")
        return wrapper

    def autocast(self) -> contextlib.AbstractContextManager:
        """The outer autocast of the CPU stand-in (the CUDA modes need none)."""
        if self.cpu_bf16:
            return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def _flag(read: Any) -> Optional[bool]:
    """A backend flag, ``None`` where this torch refuses the legacy getter."""
    try:
        return bool(read())
    except Exception:  # noqa: BLE001  (newer torch: fp32_precision API)
        return None


def synchronize(device: torch.device) -> None:
    """Waits for the device's queued work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Frees cached blocks and restarts the peak counters (CUDA only)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> Dict[str, Optional[float]]:
    """Peak allocated / reserved GiB since the last reset (``None`` on CPU)."""
    if device.type != "cuda":
        return dict(peak_allocated_gib=None, peak_reserved_gib=None)
    return dict(
        peak_allocated_gib=round(torch.cuda.max_memory_allocated(device) / GIB, 3),
        peak_reserved_gib=round(torch.cuda.max_memory_reserved(device) / GIB, 3),
    )


def build_model(cfg: Any, device: torch.device, seed: int) -> torch.nn.Module:
    """The config's model, randomly initialised, in train mode.

    Every random generator is seeded first, so each mode starts from the same
    weights and (with the loader's seeded workers) sees the same batches.
    """
    from mmengine.runner import set_random_seed
    from mmseg.registry import MODELS

    set_random_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    return model.to(device).train()


def count_parameters(model: torch.nn.Module) -> Dict[str, int]:
    """All and trainable parameters."""
    params = list(model.parameters())
    return dict(
        total=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in params if p.requires_grad),
    )


@contextlib.contextmanager
def train_batches(cfg: Any, seed: int) -> Iterator[Iterator[dict]]:
    """Endless training batches from the config's dataloader; its workers stop on exit."""
    from mmengine.runner import Runner

    loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader), seed=seed)
    batches = iter(loader)
    try:
        yield batches
    finally:
        shutdown = getattr(batches, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        del batches, loader
        gc.collect()


def time_training(
    model: torch.nn.Module, cfg: Any, mode: Mode, args: argparse.Namespace
) -> Dict[str, Any]:
    """Times ``--iters`` training steps after ``--warmup`` (device synchronised per step)."""
    from mmengine.optim import build_optim_wrapper

    device = mode.device
    with quiet_logs(logging.ERROR):  # one warning per frozen parameter otherwise
        optim_wrapper = build_optim_wrapper(model, mode.optim_wrapper_cfg(cfg))
    batch_size = cfg.train_dataloader.batch_size
    step_s: List[float] = []
    wait_s: List[float] = []
    losses: List[float] = []
    first_loss: Optional[float] = None
    with train_batches(cfg, args.seed) as batches:
        for i in range(args.warmup + args.iters):
            timed = i >= args.warmup
            synchronize(device)
            start = time.perf_counter()
            data = next(batches)
            loaded = time.perf_counter()
            with mode.autocast():
                log_vars = model.train_step(data, optim_wrapper)
            synchronize(device)
            end = time.perf_counter()
            loss = float(torch.as_tensor(log_vars["loss"]).detach())
            first_loss = loss if first_loss is None else first_loss
            if timed:
                step_s.append(end - loaded)
                wait_s.append(loaded - start)
                losses.append(round(loss, 5))
            phase = f"timed {i - args.warmup + 1}/{args.iters}" if timed else "warm-up"
            log(
                f"  {mode.name} train {phase}: "
                f"step {1e3 * (end - loaded):.0f} ms, data wait {1e3 * (loaded - start):.0f} ms, "
                f"loss {loss:.4f}"
            )
    total = sum(step_s) + sum(wait_s)
    result: Dict[str, Any] = dict(
        warmup=args.warmup,
        iterations=args.iters,
        batch_size=batch_size,
        seconds=round(total, 4),
        iters_per_s=args.iters / total,
        images_per_s=args.iters * batch_size / total,
        compute_iters_per_s=args.iters / sum(step_s),
        step_ms_median=1e3 * statistics.median(step_s),
        step_ms=[round(1e3 * s, 2) for s in step_s],
        data_wait_s=round(sum(wait_s), 4),
        first_loss=first_loss,
        losses=losses,
        final_loss_scale=None,
    )
    scaler = getattr(optim_wrapper, "loss_scaler", None)
    if scaler is not None:
        result["final_loss_scale"] = float(scaler.get_scale())
    result.update(peak_memory(device))
    del optim_wrapper
    return result


def time_stage2(
    model: torch.nn.Module, dataset: Any, mode: Mode, args: argparse.Namespace
) -> Dict[str, Any]:
    """Times ``generate_pseudo_masks`` (scored, nothing written) after one untimed batch."""
    from mmseg_l2g.stage2 import generate_pseudo_masks

    device = mode.device
    # Stage 2's readout is the model's test_cfg.
    readout = dict(scales=tuple(args.scales), flip=True, fp16=mode.cuda_amp)
    model.test_cfg = dataclasses.replace(model.test_cfg, **readout)
    settings = dict(
        saliency="dataset" if args.saliency else None,
        batch_size=args.stage2_batch_size,
        num_workers=args.num_workers,
        num_vis=0,
    )
    count = min(args.stage2_images, len(dataset))
    indices = list(range(count))

    def run(chosen: List[int]) -> Any:
        with mode.autocast():
            result = generate_pseudo_masks(
                model, dataset, out_dir=None, settings=settings, indices=chosen, progress=False
            )
        if result.failures:
            raise RuntimeError(
                f"stage 2 failed on {len(result.failures)} images: {result.failures}"
            )
        return result

    run(indices[: args.stage2_batch_size])  # warm-up: one batch
    reset_peak_memory(device)
    synchronize(device)
    start = time.perf_counter()
    result = run(indices)
    synchronize(device)
    seconds = time.perf_counter() - start
    log(f"  {mode.name} stage 2: {result.num_processed} images in {seconds:.2f} s")
    out: Dict[str, Any] = dict(
        images=result.num_processed,
        seconds=round(seconds, 4),
        images_per_s=result.num_processed / seconds,
        scales=list(readout["scales"]),
        flip=readout["flip"],
        fp16=readout["fp16"],
        batch_size=settings["batch_size"],
        saliency=settings["saliency"],
        scored_images=result.sweep.num_images if result.sweep is not None else 0,
    )
    out.update(peak_memory(device))
    return out


def run_mode(
    cfg: Any, dataset: Any, mode: Mode, args: argparse.Namespace, errors: List[str]
) -> Dict[str, Any]:
    """Builds a fresh model, trains it for the timed iterations, then times stage 2."""
    entry: Dict[str, Any] = dict(
        precision=mode.precision, autocast_dtype=mode.autocast_dtype, train=None, stage2=None
    )
    reset_peak_memory(mode.device)
    try:
        model = build_model(cfg, mode.device, args.seed)
    except Exception:  # noqa: BLE001  (recorded; the other modes still run)
        entry["error"] = _record(errors, f"{mode.name} model build")
        return entry
    entry["parameters"] = count_parameters(model)
    log(f"{mode.name}: model built ({entry['parameters']['total'] / 1e6:.1f} M parameters)")
    for phase, timer, arg in (("train", time_training, cfg), ("stage2", time_stage2, dataset)):
        try:
            entry[phase] = timer(model, arg, mode, args)
        except Exception:  # noqa: BLE001  (recorded; the other phases still run)
            entry[phase] = dict(error=_record(errors, f"{mode.name} {phase}"))
        model.zero_grad(set_to_none=True)  # a failed step may leave gradients behind
        reset_peak_memory(mode.device)
    del model
    reset_peak_memory(mode.device)
    return entry


def _record(errors: List[str], where: str) -> str:
    """Prints the current exception and adds it to ``errors``; returns its text."""
    text = traceback.format_exc()
    log(f"ERROR in {where}:\n{text}")
    errors.append(f"{where}: {text.strip().splitlines()[-1]}")
    return text


# ----------------------------------------------------------------------------- report


def _version(module: str) -> Optional[str]:
    """``module.__version__``, ``None`` where it cannot be imported."""
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001  (reported as unknown)
        return None


def environment(device: torch.device) -> Dict[str, Any]:
    """Library versions and the device."""
    cuda = device.type == "cuda"
    return dict(
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version() if cuda else None,
        device=str(device),
        device_name=torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu",
        device_memory_gib=(
            round(torch.cuda.get_device_properties(device).total_memory / GIB, 2) if cuda else None
        ),
        cudnn_benchmark=torch.backends.cudnn.benchmark,
        cudnn_allow_tf32=_flag(lambda: torch.backends.cudnn.allow_tf32),
        matmul_allow_tf32=_flag(lambda: torch.backends.cuda.matmul.allow_tf32),
        mmengine=_version("mmengine"),
        mmcv=_version("mmcv"),
        mmseg=_version("mmseg"),
        cpu_count=os.cpu_count(),
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    )


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def markdown_table(doc: Dict[str, Any]) -> str:
    """One row per mode: training speed and memory, stage-2 speed and memory."""
    headers = [
        "mode",
        "precision",
        "train it/s",
        "train img/s",
        "step ms (median)",
        "data wait s",
        "train peak GiB",
        "stage-2 img/s",
        "stage-2 peak GiB",
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for name, entry in doc["modes"].items():
        train = entry.get("train") or {}
        stage2 = entry.get("stage2") or {}
        row = [
            name,
            entry["precision"],
            "ERROR" if "error" in train else _fmt(train.get("iters_per_s")),
            _fmt(train.get("images_per_s")),
            _fmt(train.get("step_ms_median"), 4),
            _fmt(train.get("data_wait_s")),
            _fmt(train.get("peak_allocated_gib")),
            "ERROR" if "error" in stage2 else _fmt(stage2.get("images_per_s")),
            _fmt(stage2.get("peak_allocated_gib")),
        ]
        lines.append("| " + " | ".join(row) + " |")
    env = doc["environment"]
    sizes = doc["settings"]
    caption = (
        f"{env['device_name']} ({env['device']}), torch {env['torch']}, CUDA {env['cuda']}; "
        f"{osp.basename(doc['config'])}, global {sizes['global_size']}, "
        f"{sizes['num_views']} x {sizes['crop_size']} local, batch {sizes['batch_size']}, "
        f"{sizes['iters']} timed iterations after {sizes['warmup']}; stage 2: "
        f"{sizes['stage2_images']} images of {doc['dataset']['size']} px, "
        f"scales {sizes['scales']} + flip"
    )
    return caption + "\n\n" + "\n".join(lines)


def run_check(args: argparse.Namespace) -> Dict[str, Any]:
    """Generates the data, runs every mode, returns the JSON document."""
    from mmengine.logging import MMLogger
    from mmengine.utils.dl_utils import set_multi_processing

    from mmseg_l2g.datasets.builders import build_stage2_dataset, dataset_config

    device = torch.device(args.device)
    MMLogger.get_instance(NAME, log_level="WARNING")  # keeps MMEngine's INFO reports quiet
    errors: List[str] = []
    with tempfile.TemporaryDirectory(prefix="l2g_gpu_check_") as root:
        log(f"generating {args.num_train} training images of {args.size} px in {root}")
        dataset_info = make_voc_layout(root, args.num_train, args.size, args.seed)
        log(f"data ready ({dataset_info['seconds']} s)")
        cfg = load_check_config(args, root)
        env_cfg = cfg.get("env_cfg", {})
        mp_cfg = env_cfg.get("mp_cfg", {})
        set_multi_processing(
            mp_cfg.get("mp_start_method", "fork"), mp_cfg.get("opencv_num_threads", 0)
        )
        torch.backends.cudnn.benchmark = args.cudnn_benchmark or env_cfg.get(
            "cudnn_benchmark", False
        )
        stage2_dataset = build_stage2_dataset(dataset_config(cfg, "train"))
        settings = dict(
            pipeline_sizes(cfg),
            batch_size=cfg.train_dataloader.batch_size,
            iters=args.iters,
            warmup=args.warmup,
            num_workers=args.num_workers,
            stage2_images=min(args.stage2_images, len(stage2_dataset)),
            stage2_batch_size=args.stage2_batch_size,
            scales=list(args.scales),
            modes=args.modes,
            tiny=args.tiny,
            seed=args.seed,
        )
        log(f"config {osp.basename(cfg.filename)}: {settings}")
        modes: Dict[str, Any] = {}
        for name in args.modes:
            mode = Mode(name, device)
            log(f"mode {name}: {mode.precision}")
            modes[name] = run_mode(cfg, stage2_dataset, mode, args, errors)
    return dict(
        benchmark=NAME,
        config=osp.relpath(cfg.filename, REPO_ROOT),
        environment=environment(device),
        settings=settings,
        dataset=dataset_info,
        modes=modes,
        errors=errors,
        total_seconds=round(time.perf_counter() - _START, 2),
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the check, prints the table, writes the JSON; 1 when any phase failed."""
    from mmseg_l2g.io import atomic_write_json

    args = parse_args(argv)
    log(f"{NAME}: device {args.device}, modes {args.modes}, tiny={args.tiny}")
    doc = run_check(args)
    print("\n" + markdown_table(doc) + "\n", flush=True)
    out = osp.abspath(args.out)
    os.makedirs(osp.dirname(out), exist_ok=True)
    atomic_write_json(out, doc)
    log(f"wrote {args.out} (total {doc['total_seconds']} s)")
    if doc["errors"]:
        print("FAILED phases:\n  " + "\n  ".join(doc["errors"]), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
