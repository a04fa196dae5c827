"""Benchmark: what validation during training costs per image (issue 22).

Runs the shipped path, the model's ``val_step`` (what MMEngine's ``ValLoop``
calls) on the config's val dataloader, over a synthetic dataset made for the
run, with the config's model at random weights; and, for comparison, the
``--tta`` readout (``L2GTTAModel.test_step``, the stage-2 readout of
``test_cfg``) on the same batches. Counts the network's forward passes
(calls of ``extract_cam_logits`` and the images they carry) and times each
path (median of ``--repeats`` passes over the batches, the paths in turn,
loading excluded).

Example::

    nice -n 10 python benchmarks/bench_validation.py --threads 1
    python benchmarks/bench_validation.py --num-images 20 --cfg-options model.test_cfg.bg_thr=0.3
"""

from __future__ import annotations

import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

if __package__ in (None, ""):
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch
from mmengine.config import DictAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(description="Validation cost per image (val_step vs --tta).")
    p.add_argument("--config", default=CONFIG, help="an L2G config (default: the synthetic one)")
    p.add_argument("--num-images", type=int, default=20, help="validation images")
    p.add_argument("--size", type=int, default=128, help="image size (px)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes over the batches")
    p.add_argument("--no-tta", action="store_true", help="time val_step only")
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (0: torch's default; 1 is steadier on a shared machine)",
    )
    p.add_argument("--cfg-options", nargs="+", action=DictAction, help="key=value overrides")
    return p.parse_args(argv)


class ForwardCounter:
    """Counts the calls of a model's ``extract_cam_logits`` and the images they carry."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.calls = 0
        self.images = 0
        original = model.extract_cam_logits

        def counted(inputs: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            self.images += int(inputs.shape[0])
            return original(inputs)

        model.extract_cam_logits = counted

    def reset(self) -> None:
        """Zeroes both counts."""
        self.calls = self.images = 0


def time_paths(
    paths: Dict[str, Callable[[Any], Any]], batches: List[Any], repeats: int
) -> Dict[str, float]:
    """Median seconds of one pass of each path over every batch, the paths taken in turn.

    Round robin (path A, path B, A, B, ...) so that a shared machine's load
    falls on every path alike.
    """
    seconds: Dict[str, List[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, step in paths.items():
            start = time.perf_counter()
            for batch in batches:
                step(batch)
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in seconds.items()}


def run(args: argparse.Namespace) -> List[Dict[str, Any]]:
    """Measures each path; returns one row per path."""
    from mmengine.runner import Runner
    from mmseg.registry import MODELS

    import mmseg_l2g  # noqa: F401  (registers the plugin)
    from mmseg_l2g.apis import load_config
    from mmseg_l2g.datasets.synthetic import make_synthetic

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="l2g_bench_val_") as root:
        make_synthetic(root, 1, args.num_images, seed=0, size=args.size, progress=False)
        cfg = load_config(args.config, args.cfg_options)
        loader_cfg = cfg.val_dataloader
        loader_cfg.dataset.data_root = root
        loader_cfg.num_workers = 0
        loader_cfg.persistent_workers = False
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).eval()
        batches = list(Runner.build_dataloader(loader_cfg, seed=0))
        count = sum(len(batch["data_samples"]) for batch in batches)
        counter = ForwardCounter(model)
        paths: Dict[str, Callable[[Any], Any]] = {"val_step (predict)": model.val_step}
        if not args.no_tta:
            tta = MODELS.build(dict(cfg.tta_model, module=model))
            paths["--tta (L2GTTAModel)"] = tta.test_step
        readout = model.test_cfg
        with torch.no_grad():
            counts = {}
            for name, step in paths.items():
                step(batches[0])  # warm-up
                counter.reset()
                for batch in batches:
                    step(batch)
                counts[name] = (counter.calls, counter.images)
            seconds = time_paths(paths, batches, args.repeats)
        for name, (calls, images) in counts.items():
            rows.append(
                dict(
                    path=name,
                    images=count,
                    forward_calls_per_image=calls / count,
                    forward_images_per_image=images / count,
                    ms_per_image=1000.0 * seconds[name] / count,
                )
            )
    print(
        f"config {osp.relpath(args.config, REPO)}, {count} images of {args.size} px, random "
        f"weights; test_cfg scales {tuple(readout.scales)}, flip {readout.flip}; "
        f"{torch.get_num_threads()} threads"
    )
    return rows


def format_table(rows: List[Dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| path | images | forward calls / image | images through the network / image "
        "| ms / image |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['path']} | {row['images']} | {row['forward_calls_per_image']:.3f} "
            f"| {row['forward_images_per_image']:.2f} | {row['ms_per_image']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: prints the table."""
    print(format_table(run(parse_args(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
