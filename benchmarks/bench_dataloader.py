"""Benchmark: data pipeline headroom (issue 8, item 2).

Builds the training dataloader as the Runner does (``Runner.build_dataloader``:
``InfiniteSampler``, ``pseudo_collate``, persistent workers) over the real
synthetic training pipeline of ``configs/l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py``
(load JPEG, resize to the global size, flip, ``LocalCropTransform`` (the 4 corner
views + random ones; all random below 4 views), pack), on a
synthetic dataset made for the run (or ``--data-root``). Measures:

- loader samples/s: ``--workers`` workers, after ``--warmup`` batches (worker
  start-up), over ``--batches`` batches;
- training samples/s: batch size / median ``train_step`` time of the L2G
  model on a batch of the same pipeline (the consumer).

Ratio ``loader_over_training`` = loader samples/s / training samples/s, goal
>= 3. Both are measured alone, one after the other; on a machine with few
cores the workers and the training step share the cores in a real run.

Example::

    python benchmarks/bench_dataloader.py
    python benchmarks/bench_dataloader.py --backbone resnet50 --global-size 448 \\
        --crop-size 320 --image-size 500 --device cuda
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch

from benchmarks import common

NAME = "dataloader"
RATIO_KEYS = ("loader_over_training",)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.add_argument("--workers", type=int, default=2, help="dataloader workers")
    parser.add_argument("--batches", type=int, default=16, help="timed loader batches")
    parser.add_argument("--num-images", type=int, default=64, help="synthetic images made")
    parser.add_argument(
        "--image-size", type=int, default=None, help="synthetic image side (default: global size)"
    )
    parser.add_argument("--data-root", default=None, help="an existing synthetic dataset")
    args = parser.parse_args(argv)
    if args.workers < 0 or args.batches < 1 or args.num_images < 1:
        parser.error("--workers must be >= 0, --batches and --num-images >= 1")
    return args


def train_pipeline(global_size: int, crop_size: int, num_views: int) -> List[dict]:
    """The synthetic L2G config's training pipeline at the given sizes."""
    from mmengine.config import Config

    pipeline = Config.fromfile(common.TRAIN_CONFIG).train_dataloader.dataset.pipeline
    out = []
    for step in pipeline:
        step = step.to_dict()
        if step["type"] == "ResizeWithSaliency":
            step["scale"] = (global_size, global_size)
        elif step["type"] == "LocalCropTransform":
            # The config's 'corners' mode needs N >= 4; fewer views are drawn at random.
            mode = step["mode"] if num_views >= 4 else "random"
            step.update(crop_size=crop_size, num_views=num_views, mode=mode)
        out.append(step)
    return out


def build_loader(args: argparse.Namespace, data_root: str) -> torch.utils.data.DataLoader:
    """The training dataloader, built by MMEngine's Runner from a config dict."""
    from mmengine.runner import Runner

    cfg = dict(
        batch_size=args.batch_size,
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
        sampler=dict(type="InfiniteSampler", shuffle=True),
        dataset=dict(
            type="SyntheticWSSSDataset",
            data_root=data_root,
            ann_file="ImageSets/Segmentation/train.txt",
            pipeline=train_pipeline(args.global_size, args.crop_size, args.num_views),
        ),
    )
    return Runner.build_dataloader(cfg, seed=args.seed)


def time_loader(loader: torch.utils.data.DataLoader, warmup: int, batches: int) -> common.Timing:
    """Seconds per batch over ``batches`` batches, after ``warmup`` untimed ones."""
    iterator = iter(loader)
    for _ in range(warmup):
        next(iterator)
    timing = common.Timing()
    for _ in range(batches):
        start = time.perf_counter()
        next(iterator)
        timing.samples.append(time.perf_counter() - start)
    del iterator
    return timing


def time_pipeline(dataset: Any, count: int) -> float:
    """Seconds per sample of the pipeline in this process (no workers)."""
    dataset[0]
    start = time.perf_counter()
    for i in range(count):
        dataset[i % len(dataset)]
    return (time.perf_counter() - start) / count


def run(args: argparse.Namespace) -> Tuple[Dict[str, Any], List[common.Ratio]]:
    """Runs the benchmark; returns the JSON document and its ratios."""
    device = common.check_common_args(args)
    common.init_registries()
    image_size = args.image_size or args.global_size
    with common.synthetic_data_root(args.data_root, args.num_images, image_size, args.seed) as root:
        with common.quiet_logs():
            loader = build_loader(args, root)
        dataset = loader.dataset
        loader_timing = time_loader(loader, args.warmup, args.batches)
        del loader  # stops the persistent workers before the training is timed
        pipeline_s = time_pipeline(dataset, min(len(dataset), 2 * args.batch_size))
        from mmengine.dataset import pseudo_collate

        data = pseudo_collate([dataset[i % len(dataset)] for i in range(args.batch_size)])
        model = common.build_model(args.backbone, True, device)
        wrapper = common.build_optim_wrapper(model, args.amp)
        train = common.time_interleaved(
            dict(l2g_step=lambda: model.train_step(data, wrapper)),
            device,
            args.warmup,
            args.repeats,
        )["l2g_step"]
    loader_sps = args.batch_size * len(loader_timing.samples) / sum(loader_timing.samples)
    train_sps = args.batch_size / train.median
    ratios = [
        common.Ratio(
            "loader_over_training",
            f"dataloader samples/s ({args.workers} worker{'s' * (args.workers != 1)}) "
            "/ training samples/s",
            loader_sps / train_sps,
            (">=", 3.0),
        )
    ]
    measurements = dict(
        loader_samples_per_s=loader_sps,
        training_samples_per_s=train_sps,
        pipeline_ms_per_sample_in_process=pipeline_s * 1e3,
        loader_batch_ms=loader_timing.summary_ms(),
        train_step_ms=train.summary_ms(),
        num_images=len(dataset),
        image_size=image_size,
    )
    doc = common.result_document(NAME, common.settings_of(args), ratios, measurements, device)
    return doc, ratios


def print_measurements(doc: Dict[str, Any]) -> None:
    """Prints the absolute rates."""
    m = doc["measurements"]
    print(
        f"  loader {m['loader_samples_per_s']:.1f} samples/s; training "
        f"{m['training_samples_per_s']:.1f} samples/s; pipeline in one process "
        f"{m['pipeline_ms_per_sample_in_process']:.2f} ms/sample"
    )


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Entry point; returns the JSON document."""
    return common.bench_main(NAME, parse_args, run, print_measurements, argv)


if __name__ == "__main__":
    main()
