"""Probe: where L2G's local targets are right and wrong, on objects and on background.

Reads trained runs of the synthetic benchmark (``synthetic_cam_vs_l2g.py``: a
seed's run folder holds ``l2g/`` and ``l2g_sal/``, each with its config and
checkpoint). For each run: the run's own training pipeline (the config's, with
the ground-truth mask loaded beside the image so it follows the same geometry)
draws the global view and its local views on ``--images`` training images,
``--passes`` times; the checkpoint's local network gives the targets exactly
as the losses build them (``local_attention_target``; for the shape loss
``B = T > tau`` times the view's saliency), and the global network its
RoI-aligned softmax. Each is compared, pixel by pixel of the local maps, with
the ground truth sampled at the map cells' centres.

Reported per run (fractions of the pixels of each kind, in %):

- objects: the target's winner is the object's class / another class /
  background / nothing (every channel <= tau: an all-zero target);
- background: the winner is background / a class / nothing;
- the same under the background rules that lost and left the losses
  (``'complement'``, a constant 0.25; see ``target_under_rule``), from the
  same local logits;
- the local network's max-normalised background score, mean over background
  and over object pixels (does the untrained channel tell them apart?);
- the global network's RoI softmax argmax over the image's classes and
  background: objects called their class, background called background;
- every object share also split by where the pixel lies: within ``NEAR_RADIUS``
  (15 px) of its own mark's centre, or beyond (the premise's near / far);
- with saliency (``l2g_sal``): the mean target of the object's class over
  object pixels, of background over background pixels, and the share of
  background pixels whose target is all zero.

The networks run in eval mode (BatchNorm's running statistics), which the
training step does not; the views and targets are otherwise the loss's.

    python benchmarks/probe_transfer_targets.py RUN_DIR [RUN_DIR ...]
"""

import argparse
import glob
import os
import os.path as osp
import random
import sys
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS, MODELS

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.synthetic import read_marks
from mmseg_l2g.engine.checkpointing import load_weights_strict
from mmseg_l2g.experiments.premise import NEAR_RADIUS, near_mark
from mmseg_l2g.experiments.provenance import provenance
from mmseg_l2g.io import atomic_write_json
from mmseg_l2g.models.losses.transfer_target import (
    normalised_local_scores,
    present_class_scores,
    resize_saliency,
    roi_global_prediction,
    shape_target,
    winner_take_all,
)
from mmseg_l2g.utils.cli import add_debug_arg, run_main

METHODS = ("l2g", "l2g_sal")
# The release's background rule and the two variants it beat (see target_under_rule).
RULES = ("network", "complement", 0.25)


def target_under_rule(
    local_logits: torch.Tensor, labels: torch.Tensor, num_views: int, rule: Union[str, float]
) -> torch.Tensor:
    """The local attention target with its background channel taken by ``rule``.

    ``'network'`` is the release's target (the losses' ``local_attention_target``).
    The variants, which lost on the benchmark and left the losses, replace the
    background channel before the winner-take-all: ``'complement'`` by ``1 -
    max`` of the image's class channels, a number by that constant score.

    Args:
        local_logits: (B*N, K, h, w) local logits, background last.
        labels: (B, C) multi-hot image labels.
        num_views: N, the views per image.
        rule: ``'network'``, ``'complement'`` or a constant in (0, 1).

    Returns:
        (B*N, K, h, w) target.
    """
    scores = present_class_scores(local_logits, labels, num_views)
    if rule == "complement":
        background = 1.0 - scores[:, :-1].amax(dim=1, keepdim=True)
    elif isinstance(rule, float) and 0.0 < rule < 1.0:
        background = torch.full_like(scores[:, -1:], rule)
    elif rule == "network":
        background = scores[:, -1:]
    else:
        raise ValueError(f"unknown background rule {rule!r}: one of {RULES}")
    return winner_take_all(torch.cat([scores[:, :-1], background], dim=1))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dirs", nargs="+", help="seed run folders of the synthetic benchmark")
    p.add_argument("--images", type=int, default=96, help="training images probed per run")
    p.add_argument("--passes", type=int, default=2, help="draws of the views per image")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="seed of the views' draws")
    p.add_argument("--out", default="benchmarks/results/probe_transfer_targets.json")
    add_debug_arg(p)
    return p.parse_args(argv)


def load_run(method_dir: str):
    """The run's config (pipeline with the mask loaded) and its trained model, eval mode."""
    configs = sorted(glob.glob(osp.join(method_dir, "*.py")))
    checkpoints = sorted(glob.glob(osp.join(method_dir, "iter_*.pth")), key=osp.getmtime)
    if not configs or not checkpoints:
        raise FileNotFoundError(f"{method_dir}: expected the run's config (*.py) and iter_*.pth")
    cfg = Config.fromfile(configs[0])
    checkpoint = checkpoints[-1]
    dataset_cfg = cfg.train_dataloader.dataset
    pipeline = list(dataset_cfg.pipeline)
    pipeline.insert(1, dict(type="LoadWSSSAnnotations"))
    dataset_cfg.pipeline = pipeline
    dataset = DATASETS.build(dataset_cfg)
    model = MODELS.build(cfg.model)
    load_weights_strict(model, checkpoint, configs[0])  # every key and shape, or an error
    model.eval()
    threshold = cfg.model.get("loss_shape", {}).get("threshold", 0.001)
    return dataset, model, threshold, checkpoint


def truth_at_cells(gt: torch.Tensor, boxes: torch.Tensor, size: tuple) -> torch.Tensor:
    """(N, h, w) ground truth of each view sampled at the local map cells' centres."""
    h, w = size
    out = []
    for x1, y1, x2, y2 in boxes.tolist():
        ys = (y1 + (torch.arange(h) + 0.5) * (y2 - y1) / h).long().clamp(0, gt.shape[0] - 1)
        xs = (x1 + (torch.arange(w) + 0.5) * (x2 - x1) / w).long().clamp(0, gt.shape[1] - 1)
        out.append(gt[ys][:, xs])
    return torch.stack(out)


class Tally:
    """Counts of pixels per (kind, outcome)."""

    def __init__(self) -> None:
        self.counts: Dict[str, Dict[str, float]] = {}

    def add(self, kind: str, outcome: str, value: float) -> None:
        """Adds ``value`` to the (kind, outcome) count."""
        self.counts.setdefault(kind, {}).setdefault(outcome, 0.0)
        self.counts[kind][outcome] += float(value)

    def shares(self) -> Dict[str, Dict[str, float]]:
        """Each kind's outcomes in % of its pixels ('mean_*' outcomes: means, not shares)."""
        out = {}
        for kind, counts in self.counts.items():
            total = counts.get("pixels", 0.0)
            out[kind] = {
                k: round(100.0 * v / max(total, 1.0), 2) if not k.startswith("mean_") else
                round(v / max(total, 1.0), 4)
                for k, v in counts.items() if k != "pixels"
            }  # fmt: skip
            out[kind]["pixels"] = int(total)
        return out


def pixel_kinds(truth: torch.Tensor, near: Optional[torch.Tensor] = None) -> tuple:
    """(name, mask) of the object pixels and of the background pixels (255 is neither).

    With ``near`` (object pixels within ``NEAR_RADIUS`` of their mark's centre), the
    object pixels near and far from the mark follow as two more kinds.
    """
    objects = (truth > 0) & (truth < 255)
    kinds = (("objects", objects), ("background", truth == 0))
    if near is None:
        return kinds
    return kinds + (("objects near mark", objects & near), ("objects far", objects & ~near))


def near_at_cells(sample, marks: Dict[str, list], size: tuple) -> torch.Tensor:
    """(views, h, w) bool: the local map cells on object pixels near their mark (r px).

    The marks are recorded in the image's own coordinates; the pipeline's geometry
    here is an identity resize and a horizontal flip, which the marks follow.

    Raises:
        ValueError: the pipeline rescaled the image (marks would need rescaling).
    """
    gt = sample.gt_sem_seg.data[0]
    if tuple(gt.shape) != tuple(sample.ori_shape):
        raise ValueError(
            f"{sample.img_path}: the view probe's near / far split needs images at the "
            f"pipeline's size ({tuple(sample.ori_shape)} -> {tuple(gt.shape)})"
        )
    img_id = osp.splitext(osp.basename(sample.img_path))[0]
    width = gt.shape[1]
    placed = []
    for mark in marks[img_id]:
        y0, x0, y1, x1 = mark["box"]
        if sample.metainfo.get("flip", False):
            x0, x1 = width - x1, width - x0
        placed.append(dict(mark, box=[y0, x0, y1, x1]))
    near = torch.from_numpy(near_mark(gt.numpy(), placed, NEAR_RADIUS)).long()
    return truth_at_cells(near, sample.local_boxes, size).bool()


def winner_outcomes(
    target: torch.Tensor,
    truth: torch.Tensor,
    tau: float,
    tally: Tally,
    rule: str,
    near: Optional[torch.Tensor] = None,
) -> None:
    """Tallies the target's per-pixel winner against the truth (objects / background)."""
    background = target.shape[1] - 1
    peak, winner = target.max(dim=1)
    empty = peak <= tau
    for kind, where in pixel_kinds(truth, near):
        key = f"{kind}/{rule}"
        tally.add(key, "pixels", where.sum())
        tally.add(key, "nothing", (where & empty).sum())
        own = winner == (truth - 1).clamp(min=0)
        is_bg = winner == background
        tally.add(key, "background", (where & ~empty & is_bg).sum())
        if kind.startswith("objects"):
            tally.add(key, "own class", (where & ~empty & own & ~is_bg).sum())
            tally.add(key, "other class", (where & ~empty & ~own & ~is_bg).sum())
        else:
            tally.add(key, "a class", (where & ~empty & ~is_bg).sum())


@torch.no_grad()
def probe_run(method_dir: str, args: argparse.Namespace) -> dict:
    """All the tallies of one trained run."""
    dataset, model, tau, checkpoint = load_run(method_dir)
    marks = read_marks(dataset.data_root, "train")
    tally = Tally()
    count = min(args.images, len(dataset))
    indices = [i for _ in range(args.passes) for i in range(count)]
    for start in range(0, len(indices), args.batch_size):
        batch = pseudo_collate([dataset[i] for i in indices[start : start + args.batch_size]])
        data = model.data_preprocessor(batch, training=True)
        samples = data["data_samples"]
        labels = torch.stack([s.gt_label for s in samples])
        global_logits = model.extract_cam_logits(data["inputs"])
        local_logits = model.extract_local_logits(data["local_inputs"])
        num_views = local_logits.shape[0] // len(samples)
        size = tuple(local_logits.shape[2:])
        boxes = torch.cat([s.local_boxes for s in samples])
        truth = torch.cat(
            [truth_at_cells(s.gt_sem_seg.data[0], s.local_boxes, size) for s in samples]
        )
        near = torch.cat([near_at_cells(s, marks, size) for s in samples])
        for rule in RULES:
            target = target_under_rule(local_logits, labels, num_views, rule)
            winner_outcomes(target, truth, tau, tally, str(rule), near)
        # The untrained background channel, max-normalised as the target does.
        scores = normalised_local_scores(local_logits)
        for kind, where in pixel_kinds(truth):
            key = f"{kind}/local background score"
            tally.add(key, "pixels", where.sum())
            tally.add(key, "mean_score", scores[:, -1][where].sum())
        # The global network's RoI softmax, argmax over the image's classes + background.
        stride = model.loss_transfer.feat_stride
        prediction = roi_global_prediction(global_logits, boxes, num_views, size, stride)
        kept = torch.cat([labels, torch.ones(len(samples), 1)], dim=1) > 0
        kept = kept.repeat_interleave(num_views, dim=0)[:, :, None, None]
        called = prediction.masked_fill(~kept, -1.0).argmax(dim=1)
        winner_outcomes(torch.nn.functional.one_hot(called, prediction.shape[1]).permute(
            0, 3, 1, 2).float(), truth, 0.5, tally, "global softmax", near)  # fmt: skip
        if hasattr(samples[0], "local_saliency"):
            saliency = torch.cat([s.local_saliency for s in samples])
            saliency = resize_saliency(saliency.float(), size)[:, 0]
            attention = target_under_rule(local_logits, labels, num_views, "network")
            target = shape_target(attention, saliency[:, None], tau)
            own = (truth - 1).clamp(min=0, max=target.shape[1] - 2)
            (_, obj), (_, bg) = pixel_kinds(truth)
            own_target = target.gather(1, own[:, None])[:, 0]
            bg_target = target[:, -1]
            total = target.sum(1)
            tally.add("objects/shape target", "pixels", obj.sum())
            tally.add("objects/shape target", "mean_own_class", own_target[obj].sum())
            tally.add("objects/shape target", "mean_saliency", saliency[obj].sum())
            tally.add("background/shape target", "pixels", bg.sum())
            tally.add("background/shape target", "mean_background", bg_target[bg].sum())
            tally.add("background/shape target", "mean_saliency", saliency[bg].sum())
            tally.add("background/shape target", "all zero", (bg & (total < 0.05)).sum())
    return dict(run=method_dir, checkpoint=checkpoint, views=len(indices) * num_views,
                tallies=tally.shares())  # fmt: skip


def print_run(result: dict) -> None:
    """One run's tallies as aligned lines."""
    print(f"\n{result['run']} ({result['views']} views)")
    for key, shares in result["tallies"].items():
        cells = ", ".join(f"{k} {v}" for k, v in shares.items() if k != "pixels")
        print(f"  {key:34s} {cells}  [{shares['pixels']} px]")


SUMMARY = (
    ("objects/network", "own class", "obj: own"),
    ("objects near mark/network", "own class", "near: own"),
    ("objects far/network", "own class", "far: own"),
    ("background/network", "background", "bg: bg"),
    ("background/network", "a class", "bg: class"),
    ("background/network", "nothing", "bg: none"),
    ("objects/complement", "own class", "obj: own (compl.)"),
    ("background/complement", "background", "bg: bg (compl.)"),
    ("objects/0.25", "own class", "obj: own (0.25)"),
    ("background/0.25", "background", "bg: bg (0.25)"),
    ("objects/global softmax", "own class", "global obj: own"),
    ("objects near mark/global softmax", "own class", "global near: own"),
    ("objects far/global softmax", "own class", "global far: own"),
    ("background/global softmax", "background", "global bg: bg"),
    ("background/shape target", "all zero", "shape bg: all 0"),
)


def summary_table(results: List[dict]) -> str:
    """Markdown: one row per run, the main shares (%), and the mean per method."""
    head = "| run | " + " | ".join(name for _, _, name in SUMMARY) + " |"
    lines = [head, "|" + " --- |" + " ---: |" * len(SUMMARY)]
    by_method: Dict[str, List[List[float]]] = {}
    for result in results:
        values = [result["tallies"].get(k, {}).get(o, float("nan")) for k, o, _ in SUMMARY]
        run = osp.relpath(result["run"], osp.dirname(osp.dirname(result["run"])))
        lines.append(f"| {run} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
        by_method.setdefault(osp.basename(result["run"]), []).append(values)
    for method, rows in by_method.items():
        means = [sum(column) / len(column) for column in zip(*rows)]
        lines.append(
            f"| mean {method} ({len(rows)}) | " + " | ".join(f"{v:.1f}" for v in means) + " |"
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: an error ends in one line, exit status 1."""
    args = parse_args(argv)
    return run_main("probe_transfer_targets.py", lambda: probe(args), debug=args.debug)


def probe(args: argparse.Namespace) -> List[dict]:
    """Probes every run folder's L2G runs, prints, writes the JSON (atomically).

    Raises:
        FileNotFoundError: a run folder that does not exist.
        ValueError: no L2G run (``l2g/`` or ``l2g_sal/`` with a checkpoint) in any folder.
    """
    DefaultScope.get_instance("probe_transfer_targets", scope_name="mmseg")
    results = []
    for run_dir in args.run_dirs:
        if not osp.isdir(run_dir):
            raise FileNotFoundError(f"run folder not found: {run_dir}")
        for method in METHODS:
            method_dir = osp.join(run_dir, method)
            if not glob.glob(osp.join(method_dir, "iter_*.pth")):
                continue
            random.seed(args.seed)
            np.random.seed(args.seed)
            torch.manual_seed(args.seed)
            result = probe_run(method_dir, args)
            print_run(result)
            results.append(result)
    if not results:
        raise ValueError(
            f"no L2G run in {', '.join(args.run_dirs)}: expected {' or '.join(METHODS)}/ "
            "with iter_*.pth in a seed's run folder of synthetic_cam_vs_l2g.py"
        )
    table = summary_table(results)
    print("\nTargets and predictions on the local maps' pixels, % of each kind\n" + table)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    doc = dict(provenance(vars(args), __file__), runs=results, table=table)
    atomic_write_json(args.out, doc)
    return results


if __name__ == "__main__":
    sys.exit(main())
