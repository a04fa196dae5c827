"""Stage 2: CAMs of a trained L2G classifier -> pseudo masks (+ CAMs, overlays, mIoU).

Writes OUT/masks/<img_id>.png, OUT/cams/<img_id>.npz (--save-cams), OUT/vis/ overlays,
OUT/metrics.json (the threshold sweep, % as mmseg logs), OUT/failed.json (exit status 1),
OUT/gen_pseudo.log. Resumable (see mmseg_l2g.stage2). The readout is the config's
model.test_cfg; the readout flags below are merged into it before the model is built.

    python tools/gen_pseudo.py CONFIG CKPT --out-dir work_dirs/pseudo
    torchrun --nproc_per_node 4 tools/gen_pseudo.py CONFIG CKPT --out-dir DIR --launcher pytorch
    python tools/gen_pseudo.py CONFIG --from-cams --out-dir DIR --sweep 0.1:0.4:0.02
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import os.path as osp
import sys
import uuid
from typing import Any, Callable, Optional, Sequence

import torch
from mmengine import dist
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger

import mmseg_l2g  # noqa: F401  (registers the plugin's modules)
from mmseg_l2g.apis import (
    build_cam_model,
    cams_source_identity,
    checkpoint_identity,
    load_config,
    merge_readout,
)
from mmseg_l2g.datasets.builders import build_stage2_dataset, dataset_config
from mmseg_l2g.engine.distributed import destroy_process_group, init_process_group
from mmseg_l2g.evaluation import parse_thresholds
from mmseg_l2g.models.classifiers.cam_readout import INTERP_MODES, MAX_SCALE, CAMReadoutConfig
from mmseg_l2g.stage2 import (
    GenerationResult,
    PseudoMaskSettings,
    check_out_dir,
    generate_pseudo_masks,
)
from mmseg_l2g.utils.cli import add_debug_arg, check_folder_arg, log_traceback, run_main


def number(low: float, high: float, low_open: bool) -> Callable[[str], float]:
    """argparse type: a finite float in (low, high] (``low_open``) or [low, high]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            what = "must be positive" if low_open else "must be"
            raise argparse.ArgumentTypeError(
                f"{what} in {'(' if low_open else '['}{low:g}, {high:g}], got {text}"
            )
        return value

    return parse


def count(low: int) -> Callable[[str], int]:
    """argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text}")
        return value

    return parse


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(description="L2G stage 2: CAMs -> pseudo masks, scored.")
    p.add_argument("config", help="the L2G training config")
    p.add_argument("checkpoint", nargs="?", help="trained weights (not with --from-cams)")
    p.add_argument("--out-dir", required=True, help="output folder")
    p.add_argument("--split", default="train", choices=["train", "val", "test"])
    p.add_argument("--scales", type=number(0, MAX_SCALE, True), nargs="+", help="image scales")
    p.add_argument("--no-flip", action="store_true", help="no flipped passes")
    p.add_argument("--interp", choices=INTERP_MODES, help="upsampling of the maps")
    p.add_argument("--fp16", action="store_true", help="float16 autocast (CUDA)")
    p.add_argument("--bg-thr", type=number(0, 1, False), help="background score of the masks")
    p.add_argument("--sweep", nargs="+", metavar="THR", help="START:STOP:STEP or a list")
    p.add_argument("--save-cams", action="store_true", help="write OUT/cams/<img_id>.npz")
    p.add_argument("--crf", action="store_true", help="dense-CRF refinement (pydensecrf2)")
    p.add_argument("--crf-iters", type=count(1), default=10, help="CRF iterations (default 10)")
    p.add_argument("--from-cams", nargs="?", const="", default=None, metavar="CAMS_DIR")
    p.add_argument("--saliency-dir", default=None, help="fused mode: a folder, or 'dataset'")
    p.add_argument("--sal-thr", type=number(0, 1, False), default=0.5, help="fused mode")
    p.add_argument("--num-vis", type=count(0), default=8, help="overlay images (default 8)")
    p.add_argument("--batch-size", type=count(1), default=4, help="images per batch")
    p.add_argument("--num-workers", type=count(0), default=0, help="image-loading processes")
    p.add_argument("--prefetch-batches", type=count(0), default=None, help="default: 2 on CUDA")
    p.add_argument("--writer-threads", type=count(0), default=None, help="default: 2 on CUDA")
    p.add_argument("--limit", type=count(1), default=None, help="only the first N images")
    p.add_argument("--overwrite", action="store_true", help="rebuild every output")
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--cfg-options", nargs="+", action=DictAction, help="key=value overrides")
    p.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    p.add_argument("--local_rank", "--local-rank", type=int, default=0)
    add_debug_arg(p)
    args = p.parse_args(argv)
    if args.from_cams is None and args.checkpoint is None:
        p.error("a CHECKPOINT is needed (or --from-cams)")
    return args


def run(args: argparse.Namespace) -> int:
    """Generates the pseudo masks; returns the exit status.

    The inputs are built and the output folder checked (not over the inputs,
    stage 2's own) before anything is written there, the log included.
    """
    check_folder_arg(args.out_dir, "--out-dir")
    sweep = dict(sweep=parse_thresholds(args.sweep)) if args.sweep else {}  # refused up front
    device = init_process_group(args.launcher, args.device)
    name = f"gen_pseudo_{uuid.uuid4().hex}"  # fresh loggers (and file) per run
    MMLogger.get_instance(f"{name}_setup")  # console only until the folder is checked
    cfg = load_config(args.config, args.cfg_options)
    readout = merge_readout_flags(args, cfg)
    settings = stage2_settings(args, sweep)
    dataset = build_stage2_dataset(dataset_config(cfg, args.split))
    count = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    inputs = dict(checkpoint=[args.checkpoint]) if args.from_cams is None else {}
    check_out_dir(args.out_dir, dataset, range(count), PseudoMaskSettings.build(settings), inputs)
    if dist.is_main_process():
        os.makedirs(args.out_dir, exist_ok=True)
    log_file = osp.join(args.out_dir, "gen_pseudo.log")
    logger = MMLogger.get_instance(name, log_file=log_file, file_mode="a")
    try:
        return generate(args, cfg, readout, settings, dataset, count, device, logger)
    except Exception as exc:
        log_traceback(exc, logger)  # the console gets one line (main)
        raise
    finally:
        for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
            handler.close()
            logger.removeHandler(handler)


def merge_readout_flags(args: argparse.Namespace, cfg: Config) -> CAMReadoutConfig:
    """Merges the readout flags given into ``cfg.model.test_cfg``; returns the readout."""
    return merge_readout(
        cfg, scales=args.scales, interp=args.interp, bg_thr=args.bg_thr,
        flip=False if args.no_flip else None, fp16=True if args.fp16 else None,
        crf=dict(iters=args.crf_iters) if args.crf else None,
    )  # fmt: skip


def stage2_settings(args: argparse.Namespace, sweep: dict) -> dict:
    """The stage-2 settings of the command line (a ``PseudoMaskSettings`` dict)."""
    settings = dict(
        saliency=args.saliency_dir, sal_thr=args.sal_thr,
        save_cams=args.save_cams, num_vis=args.num_vis, batch_size=args.batch_size,
        num_workers=args.num_workers, prefetch_batches=args.prefetch_batches,
        writer_threads=args.writer_threads, overwrite=args.overwrite, **sweep,
    )  # fmt: skip
    if args.from_cams is not None:
        settings["cams_dir"] = args.from_cams or osp.join(args.out_dir, "cams")
        if not osp.isdir(settings["cams_dir"]):
            raise FileNotFoundError(f"--from-cams: CAM folder not found: {settings['cams_dir']}")
    return settings


def generate(
    args: argparse.Namespace,
    cfg: Config,
    readout: CAMReadoutConfig,
    settings: dict,
    dataset: Any,
    count: int,
    device: torch.device,
    logger: MMLogger,
) -> int:
    """Builds the model and runs stage 2 (the process group started, the log open).

    The model reads ``cfg.model.test_cfg`` (the flags merged); without a model
    (``--from-cams``) ``readout`` is the same ``test_cfg``, parsed.
    """
    model = None
    if args.from_cams is not None:
        identity = cams_source_identity(settings["cams_dir"])
    else:
        model = build_cam_model(cfg, args.checkpoint, device)
        identity = dict(checkpoint=checkpoint_identity(args.checkpoint))
    source = settings.get("cams_dir") or args.checkpoint
    logger.info(f"stage 2: {count} {args.split} images, {dist.get_world_size()} process(es), "
                f"{device}, CAMs from {source} -> {args.out_dir}")  # fmt: skip
    inputs = dict(checkpoint=[args.checkpoint]) if model is not None else {}
    result = generate_pseudo_masks(
        model, dataset, args.out_dir, settings, range(count), signature_extra=identity,
        inputs=inputs, readout=readout if model is None else None,
    )  # fmt: skip
    logger.info(summary(result, args.out_dir))
    if result.failures:
        img_id, reason = result.failures[0]
        logger.error(f"{len(result.failures)} images failed (failed.json); {img_id}: {reason}")
    return 1 if result.failures else 0


def summary(result: GenerationResult, out_dir: str) -> str:
    """One line: true counts (written, already complete, failed) and the mIoU (%)."""
    text = (
        f"{result.num_written} images written, {result.num_complete} already complete, "
        f"{len(result.failures)} failed, of {result.num_images} in {out_dir}"
    )
    if len(result.processed_per_rank) > 1:
        text += f"; processed per rank: {result.processed_per_rank}"
    if result.metrics is not None:
        m = result.metrics
        text += (
            f"; mIoU {m['chosen']['miou']:.2f}% at bg_thr {m['chosen_thr']}, "
            f"best {m['best_miou']:.2f}% at {m['best_thr']} (metrics.json)"
        )
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: parses arguments, runs; an error in one line, exit 2 (``--debug``: raised)."""
    args = parse_args(argv)
    try:
        return run_main("gen_pseudo.py", lambda: run(args), debug=args.debug, status=2)
    finally:
        destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
