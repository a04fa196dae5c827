"""Stage 2: CAMs of a trained L2G classifier -> pseudo masks (+ CAMs, overlays, mIoU).

Writes ``OUT/masks/<img_id>.png`` (palette PNG, 0 = background, c = class c,
255 = ignore), optionally ``OUT/cams/<img_id>.npz`` (``--save-cams``),
``OUT/vis/<img_id>.jpg`` overlays of the first images, ``OUT/metrics.json``
(threshold sweep; when ground-truth masks exist) and ``OUT/failed.json``
(images that failed; the exit status is then 1).

Resumable: a rerun skips the outputs that exist (every file is written to a
temporary name and renamed, so an existing file is complete) and still
writes complete metrics: images already done are scored from their CAM files
when ``--save-cams`` kept them, else they go through the network again
(nothing is rewritten). A rerun with other settings is refused unless
``--overwrite``.

Examples::

    python tools/gen_pseudo.py CONFIG CKPT --out-dir work_dirs/pseudo
    torchrun --nproc_per_node 4 tools/gen_pseudo.py CONFIG CKPT --out-dir DIR \\
        --launcher pytorch
    python tools/gen_pseudo.py CONFIG --from-cams --out-dir DIR --sweep 0.1:0.4:0.02
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import torch
from mmengine import dist
from mmengine.config import DictAction
from mmengine.logging import MMLogger

import mmseg_l2g  # noqa: F401  (registers the plugin's modules)
from mmseg_l2g.apis import (
    DEFAULT_SCALES,
    DEFAULT_SWEEP,
    CAMInferenceConfig,
    PseudoMaskSettings,
    build_cam_model,
    build_stage2_dataset,
    dataset_config,
    generate_pseudo_masks,
    load_config,
)
from mmseg_l2g.apis.cam_inference import INTERP_MODES
from mmseg_l2g.evaluation import threshold_range


class UsageError(Exception):
    """A bad argument or input, reported without a traceback."""


def positive_float(text: str) -> float:
    """argparse type: a float > 0."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def unit_float(text: str) -> float:
    """argparse type: a float in [0, 1]."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def parse_sweep(tokens: Optional[Sequence[str]]) -> List[float]:
    """``START:STOP:STEP`` (stop included) or a list of thresholds in [0, 1]."""
    if not tokens:
        return list(DEFAULT_SWEEP)
    if len(tokens) == 1 and ":" in tokens[0]:
        parts = tokens[0].split(":")
        if len(parts) != 3:
            raise UsageError(f"--sweep range must be START:STOP:STEP, got {tokens[0]!r}")
        try:
            start, stop, step = (float(p) for p in parts)
            values = threshold_range(start, stop, step)
        except ValueError as exc:
            raise UsageError(f"--sweep {tokens[0]}: {exc}") from exc
    else:
        try:
            values = [float(t) for t in tokens]
        except ValueError as exc:
            raise UsageError(f"--sweep values must be numbers, got {list(tokens)}") from exc
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad:
        raise UsageError(f"--sweep thresholds must be in [0, 1], got {bad}")
    return values


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description="L2G stage 2: CAMs of the global network -> pseudo masks, scored when "
        "ground truth exists."
    )
    parser.add_argument("config", help="the L2G training config")
    parser.add_argument("checkpoint", nargs="?", help="trained weights (not with --from-cams)")
    parser.add_argument("--out-dir", required=True, help="output folder")
    parser.add_argument(
        "--split",
        default="train",
        choices=["train", "val", "test"],
        help="which dataloader's dataset of the config (default: train)",
    )
    parser.add_argument(
        "--scales",
        type=positive_float,
        nargs="+",
        default=list(DEFAULT_SCALES),
        help="image scales (default: 0.5 1.0 1.5 2.0)",
    )
    parser.add_argument("--no-flip", action="store_true", help="no flipped passes")
    parser.add_argument(
        "--interp",
        choices=INTERP_MODES,
        default="bicubic",
        help="upsampling of the maps (default: bicubic)",
    )
    parser.add_argument("--fp16", action="store_true", help="float16 autocast (CUDA)")
    parser.add_argument(
        "--bg-thr",
        type=unit_float,
        default=0.25,
        help="background score of the written masks (default: 0.25); in the "
        "saliency-fused mode the CAM value a salient pixel needs",
    )
    parser.add_argument(
        "--sweep",
        nargs="+",
        metavar="THR",
        help="scored thresholds: START:STOP:STEP or a list (default: 0.05:0.5:0.05)",
    )
    parser.add_argument("--save-cams", action="store_true", help="write OUT/cams/<img_id>.npz")
    parser.add_argument(
        "--crf",
        action="store_true",
        help="refine each written mask with a dense CRF on its image (needs pydensecrf2; "
        "metrics.json scores the masks before the CRF)",
    )
    parser.add_argument("--crf-iters", type=int, default=10, help="CRF iterations (default 10)")
    parser.add_argument(
        "--from-cams",
        nargs="?",
        const="",
        default=None,
        metavar="CAMS_DIR",
        help="take CAMs from CAMS_DIR (default OUT/cams) instead of the network",
    )
    parser.add_argument(
        "--saliency-dir",
        default=None,
        help="saliency-fused mode: folder of <img_id>.png grey maps, or "
        "'dataset' for the dataset's own maps",
    )
    parser.add_argument(
        "--sal-thr",
        type=unit_float,
        default=0.5,
        help="saliency below this is background (fused mode; default 0.5)",
    )
    parser.add_argument("--num-vis", type=int, default=8, help="overlay images (default 8)")
    parser.add_argument("--batch-size", type=int, default=4, help="images per batch")
    parser.add_argument(
        "--num-workers", type=int, default=0, help="image-loading worker processes (default 0)"
    )
    parser.add_argument(
        "--prefetch-batches",
        type=int,
        default=None,
        help="batches loaded ahead on a background thread (default: 2 on CUDA, 0 on CPU)",
    )
    parser.add_argument(
        "--writer-threads",
        type=int,
        default=None,
        help="threads that encode and write the output files (default: 2 on CUDA, 0 on CPU: "
        "in the main process)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument(
        "--overwrite", action="store_true", help="rebuild every output, even where it exists"
    )
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument(
        "--cfg-options", nargs="+", action=DictAction, help="override config settings, key=value"
    )
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be positive, got {args.limit}")
    for flag in ("num_workers", "prefetch_batches", "writer_threads"):
        value = getattr(args, flag)
        if value is not None and value < 0:
            parser.error(f"--{flag.replace('_', '-')} must be >= 0, got {value}")
    if args.from_cams is None and args.checkpoint is None:
        parser.error("a CHECKPOINT is needed (or --from-cams)")
    return args


def init_distributed(launcher: str, device: Optional[str]) -> torch.device:
    """Starts the process group (NCCL on CUDA, gloo on CPU); returns this rank's device."""
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    if launcher == "none":
        return torch.device(device or ("cuda" if use_cuda else "cpu"))
    if "LOCAL_RANK" not in os.environ:
        raise UsageError("--launcher pytorch needs torchrun (no LOCAL_RANK in the environment)")
    if use_cuda:
        dist.init_dist("pytorch", backend="nccl")
        return torch.device("cuda", torch.cuda.current_device())
    torch.distributed.init_process_group(backend="gloo")
    return torch.device("cpu")


def checkpoint_signature(checkpoint: Optional[str]) -> Optional[dict]:
    """Identifies a checkpoint for resuming checks (absolute path and size)."""
    if checkpoint is None:
        return None
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    return dict(path=osp.abspath(checkpoint), size=osp.getsize(checkpoint))


def source_signature(cams_dir: str) -> dict:
    """What made the CAMs of ``cams_dir``: its run's ``settings.json`` when there is one."""
    settings_path = osp.join(osp.dirname(osp.abspath(cams_dir)), "settings.json")
    if osp.isfile(settings_path):
        with open(settings_path, encoding="utf-8") as f:
            source = json.load(f)
        if source.get("cam") is not None:
            return dict(cam=source["cam"], checkpoint=source.get("checkpoint"))
    return dict(cam=f"from {osp.abspath(cams_dir)}", checkpoint=None)


def run(args: argparse.Namespace) -> int:
    """Generates the pseudo masks; returns the exit status."""
    if osp.exists(args.out_dir) and not osp.isdir(args.out_dir):
        raise UsageError(f"--out-dir {args.out_dir} is a file, not a folder")
    device = init_distributed(args.launcher, args.device)
    logger = MMLogger.get_instance("gen_pseudo", log_level="INFO")
    cfg = load_config(args.config, args.cfg_options)

    cams_dir = None
    if args.from_cams is not None:
        cams_dir = args.from_cams or osp.join(args.out_dir, "cams")
        if not osp.isdir(cams_dir):
            raise UsageError(f"--from-cams: CAM folder not found: {cams_dir}")
        signature_extra = source_signature(cams_dir)
        model = None
    else:
        signature_extra = dict(checkpoint=checkpoint_signature(args.checkpoint))
        model = build_cam_model(cfg, args.checkpoint, device)
    settings = PseudoMaskSettings(
        cam=CAMInferenceConfig(tuple(args.scales), not args.no_flip, args.interp, args.fp16),
        bg_thr=args.bg_thr,
        sweep=parse_sweep(args.sweep),
        saliency=args.saliency_dir,
        sal_thr=args.sal_thr,
        save_cams=args.save_cams,
        num_vis=args.num_vis,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        prefetch_batches=args.prefetch_batches,
        writer_threads=args.writer_threads,
        cams_dir=cams_dir,
        overwrite=args.overwrite,
        crf=dict(iters=args.crf_iters) if args.crf else None,
    )
    dataset = build_stage2_dataset(dataset_config(cfg, args.split))
    count = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    logger.info(
        f"stage 2 on {count} images of the {args.split} split, {dist.get_world_size()} "
        f"process(es), device {device}, CAMs from "
        f"{cams_dir or args.checkpoint} -> {args.out_dir}"
    )
    result = generate_pseudo_masks(
        model,
        dataset,
        args.out_dir,
        settings,
        indices=range(count),
        signature_extra=signature_extra,
    )
    if dist.is_main_process():
        summary = (
            f"processed {result.num_processed} of {result.num_images} images "
            f"({result.num_skipped} already complete) into {args.out_dir}"
        )
        if len(result.processed_per_rank) > 1:
            summary += f"; processed per rank: {result.processed_per_rank}"
        if result.metrics is not None:
            summary += (
                f"; mIoU {100 * result.metrics['chosen']['miou']:.2f} at bg_thr {args.bg_thr}, "
                f"best {100 * result.metrics['best_miou']:.2f} at bg_thr "
                f"{result.metrics['best_thr']} (metrics.json)"
            )
        logger.info(summary)
        if result.failures:
            logger.error(
                f"{len(result.failures)} images failed (listed in "
                f"{osp.join(args.out_dir, 'failed.json')}); first: {result.failures[0][0]}: "
                f"{result.failures[0][1]}"
            )
    return 1 if result.failures else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: parses arguments, runs, reports bad input without a traceback."""
    args = parse_args(argv)
    try:
        status = run(args)
    except (UsageError, FileNotFoundError, NotADirectoryError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"gen_pseudo.py: error: {message}", file=sys.stderr)
        status = 2
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return status


if __name__ == "__main__":
    sys.exit(main())
