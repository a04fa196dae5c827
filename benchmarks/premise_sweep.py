"""Does L2G's premise hold on the synthetic data? A dose-response study over the local view size.

L2G's premise: (1) a whole-image classifier lights the most discriminative part
(here the mark) and misses the rest of the object; (2) a local view showing part
of an object without its mark forces the local network onto the rest, and the
transfer widens the global maps. The share of mark-less views is the dose: it
falls as the local view size S grows, and is 0 at S = the image side.

Per seed, through the shipped tools (the benchmark's own ``run_seed``): the
benchmark's run (plain CAM, L2G and L2G + saliency at the configs' S = 90,
every column also fused, thresholds chosen on train and reported on val,
the premise's metrics), then L2G alone at every other S of ``--view-sizes``
(``train_dataloader.dataset.pipeline.3.crop_size``: same number of views,
corners mode, all else fixed), each paired with the seed's plain CAM. For
every run, on val: recall of object pixels near / far from the mark, and the
transfer step measured on views of S: how often the networks recognise the
object (sigmoid of its pooled class score > 0.5) in views with and without its
mark (:func:`view_recognition`).

    python benchmarks/premise_sweep.py --seeds 0 1 2 3 4 --iters 500
    python benchmarks/premise_sweep.py --view-sizes 90 --methods cam l2g \
        --design '{"texture_contrast": 0.3}'   # another premise variable, S = 90 only
"""

import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import numpy as np
import torch

from mmseg_l2g.datasets.synthetic import read_marks
from mmseg_l2g.datasets.transforms.local_crop import LocalCropTransform
from mmseg_l2g.experiments.experiment import (
    COLUMN_NAMES,
)
from mmseg_l2g.experiments.premise import read_gt_mask
from mmseg_l2g.experiments.provenance import provenance
from mmseg_l2g.experiments.statistics import mean_std
from mmseg_l2g.io import atomic_write_json

BASE_VIEW_SIZE = 90  # the synthetic configs' crop_size (the release's 320 / 448 ratio)
CROP_SIZE_KEY = "train_dataloader.dataset.pipeline.3.crop_size"  # L2G's LocalCropTransform
MIN_COVER = 0.10  # an object counts in a view when it covers this share of the view
NUM_VIEWS = 6


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options (the benchmark's, plus the view sizes)."""
    import synthetic_cam_vs_l2g as bench

    extra = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    extra.add_argument("--view-sizes", type=int, nargs="+", default=[48, 64, 90, 110, 128])
    extra.add_argument("--probe-images", type=int, default=100, help="val images of the view probe")
    known, rest = extra.parse_known_args(argv)
    args = bench.parse_args(rest)
    args.view_sizes, args.probe_images = known.view_sizes, known.probe_images
    if args.out == "benchmarks/results/synthetic_cam_vs_l2g.json":
        args.out = "benchmarks/results/premise_sweep.json"
    return args


def view_objects(gt: np.ndarray, marks: Sequence[dict], box: Sequence[float]) -> List[tuple]:
    """The objects a view shows: ``(class, has_mark)`` for each covering >= ``MIN_COVER``.

    Args:
        gt: (H, W) mask of the image (c = class c - 1, 255 ignored).
        marks: the image's marks (``read_marks``).
        box: the view's (x1, y1, x2, y2).
    """
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    window = gt[y1:y2, x1:x2]
    area = window.size
    shown = []
    for cls in sorted({m["class"] for m in marks}):
        if (window == cls + 1).sum() < MIN_COVER * area:
            continue
        has_mark = any(
            m["class"] == cls
            and m["box"][0] >= y1 and m["box"][1] >= x1 and m["box"][2] <= y2 and m["box"][3] <= x2
            for m in marks
        )  # fmt: skip
        shown.append((cls, has_mark))
    return shown


def draw_views(size: int, view_size: int, count: int, seed: int = 0) -> List[np.ndarray]:
    """``count`` draws of the training pipeline's views (corners mode) on ``size`` px images."""
    transform = LocalCropTransform(num_views=NUM_VIEWS, crop_size=view_size, mode="corners")
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        return [transform.sample_boxes(size, size) for _ in range(count)]
    finally:
        np.random.set_state(state)


def markless_share(data_root: str, split: str, view_size: int) -> Dict[str, float]:
    """Share of (view, object) pairs without the object's mark, over a split's images."""
    marks = read_marks(data_root, split)
    ids = sorted(marks)
    size = None
    pairs = markless = 0
    for img_id, boxes in zip(ids, draw_views_for(data_root, ids, view_size)):
        gt = read_gt_mask(data_root, img_id)
        size = gt.shape[0]
        for box in boxes:
            for _, has_mark in view_objects(gt, marks[img_id], box):
                pairs += 1
                markless += not has_mark
    return dict(view_size=view_size, image_size=size, pairs=pairs,
                markless_pct=round(100.0 * markless / max(pairs, 1), 2))  # fmt: skip


def draw_views_for(data_root: str, ids: Sequence[str], view_size: int) -> List[np.ndarray]:
    """One draw of views per image (the first image's size for all: the data is square)."""
    size = read_gt_mask(data_root, ids[0]).shape[0]
    return draw_views(size, view_size, len(ids))


@torch.no_grad()
def view_recognition(
    config: str, checkpoint: str, data_root: str, view_size: int, images: int
) -> Dict[str, dict]:
    """How often a run's networks recognise an object in views with and without its mark.

    Args:
        config: the run's dumped config (its work dir's ``*.py``).
        checkpoint: the run's checkpoint.
        data_root: the dataset (val images, masks, marks).
        view_size: side of the views (corners mode, ``NUM_VIEWS`` per image).
        images: val images probed (the first ones).

    Returns:
        ``{network: {'mark': {...}, 'no_mark': {...}}}`` for ``global`` (and ``local``
        when the model has a local network): ``n``, ``mean_score`` (sigmoid of the
        object's pooled class logit) and ``recognised_pct`` (score > 0.5).
    """
    from mmseg_l2g.apis import init_l2g_model
    from mmseg_l2g.datasets.transforms.loading import read_bgr_image
    from mmseg_l2g.models.heads.cam_head import CAMHead

    model = init_l2g_model(config, checkpoint)
    networks = {"global": model.extract_cam_logits}
    if model.with_local:
        networks["local"] = model.extract_local_logits
    marks = read_marks(data_root, "val")
    ids = sorted(marks)[:images]
    scores: Dict[str, Dict[str, List[float]]] = {n: {"mark": [], "no_mark": []} for n in networks}
    for img_id, boxes in zip(ids, draw_views_for(data_root, ids, view_size)):
        gt = read_gt_mask(data_root, img_id)
        image = read_bgr_image(osp.join(data_root, "JPEGImages", img_id + ".jpg"))
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
        normalised = model.data_preprocessor.normalize(tensor)
        for box in boxes:
            shown = view_objects(gt, marks[img_id], box)
            if not shown:
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            view = normalised[:, :, y1:y2, x1:x2]
            for name, network in networks.items():
                pooled = CAMHead.class_scores(network(view), model.num_classes)[0].sigmoid()
                for cls, has_mark in shown:
                    scores[name]["mark" if has_mark else "no_mark"].append(float(pooled[cls]))
    out: Dict[str, dict] = {}
    for name, kinds in scores.items():
        out[name] = {}
        for kind, values in kinds.items():
            array = np.asarray(values, dtype=float)
            out[name][kind] = dict(
                n=int(array.size),
                mean_score=round(float(array.mean()), 3) if array.size else float("nan"),
                recognised_pct=round(100.0 * float((array > 0.5).mean()), 1)
                if array.size
                else float("nan"),
            )
    return out


def run_dir_files(checkpoint: str) -> tuple:
    """A training run's dumped config and checkpoint (the checkpoint's folder holds both)."""
    folder = osp.dirname(checkpoint)
    configs = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
    if not configs:
        raise FileNotFoundError(f"{folder}: no dumped config (*.py) beside {checkpoint}")
    return osp.join(folder, configs[0]), checkpoint


def sweep_seed(seed: int, args: argparse.Namespace, bench) -> dict:
    """One seed: the benchmark's run at S = 90, then L2G at every other S, and the probes."""
    methods = tuple(m for m in bench.METHODS if m in args.methods)  # the sweep pairs l2g with cam
    if not {"cam", "l2g"} <= set(methods):
        raise ValueError(f"--methods {' '.join(args.methods)}: the sweep needs cam and l2g")
    base_plan = bench.build_plan(args, methods=methods, splits=("val", "train"))
    base = bench.run_seed(seed, args, base_plan)
    data_root = base["data_root"]
    runs: Dict[int, dict] = {}
    for view_size in args.view_sizes:
        if view_size == BASE_VIEW_SIZE:
            row = base
        else:
            plan = bench.build_plan(
                args, methods=("l2g",), splits=("val", "train"), extra={CROP_SIZE_KEY: view_size}
            )
            row = bench.run_seed(seed, args, plan)
        config, checkpoint = run_dir_files(row["checkpoints"]["l2g"])
        runs[view_size] = dict(
            scores={c: row["scores"][c] for c in ("l2g", "l2g_fused")},
            premise={c: row["premise"][c] for c in ("l2g", "l2g_fused")},
            views=view_recognition(config, checkpoint, data_root, view_size, args.probe_images),
            markless=markless_share(data_root, "val", view_size),
            checkpoint=checkpoint,
        )
    cam_config, cam_checkpoint = run_dir_files(base["checkpoints"]["cam"])
    cam_views = {
        s: view_recognition(cam_config, cam_checkpoint, data_root, s, args.probe_images)
        for s in args.view_sizes
    }
    return dict(seed=seed, base=base, l2g_by_view_size=runs, cam_views=cam_views)


def sweep_table(rows: List[dict], view_sizes: Sequence[int]) -> str:
    """The dose-response table: S, mark-less share, near / far recall, paired difference."""
    lines = [
        "| S | mark-less (view, object) pairs % | plain CAM near / far recall | "
        "L2G near / far recall | L2G - plain CAM (paired) | L2G fused - plain CAM fused | "
        "L2G local net: views w/ / w/o mark recognised % | L2G global net: w/ / w/o | "
        "plain CAM net: w/ / w/o | n |",
        "| ---: | ---: | --- | --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for s in view_sizes:
        runs = [r["l2g_by_view_size"][s] for r in rows]
        bases = [r["base"] for r in rows]

        def pair(method: str, base_key: str, runs: List[dict] = runs) -> str:
            diffs = [
                run["scores"][method]["val"]["miou"] - base["scores"][base_key]["val"]["miou"]
                for run, base in zip(runs, [r["base"] for r in rows])
            ]
            mean, std = mean_std(diffs)
            return f"{mean:+.1f} +- {std:.1f}"

        def recall(premises: List[dict]) -> str:
            near = mean_std([p["near_recall"] for p in premises])[0]
            far = mean_std([p["far_recall"] for p in premises])[0]
            return f"{near:.1f} / {far:.1f}"

        def recognised(views: List[dict], net: str) -> str:
            w = mean_std([v[net]["mark"]["recognised_pct"] for v in views])[0]
            wo = mean_std([v[net]["no_mark"]["recognised_pct"] for v in views])[0]
            return f"{w:.1f} / {wo:.1f}"

        markless = mean_std([run["markless"]["markless_pct"] for run in runs])[0]
        lines.append(
            f"| {s} | {markless:.1f} | {recall([b['premise']['cam'] for b in bases])} | "
            f"{recall([run['premise']['l2g'] for run in runs])} | {pair('l2g', 'cam')} | "
            f"{pair('l2g_fused', 'cam_fused')} | "
            f"{recognised([run['views'] for run in runs], 'local')} | "
            f"{recognised([run['views'] for run in runs], 'global')} | "
            f"{recognised([r['cam_views'][s] for r in rows], 'global')} | {len(rows)} |"
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> List[dict]:
    """Runs every seed, prints the sweep table and the benchmark's, writes the JSON."""
    import synthetic_cam_vs_l2g as bench

    args = parse_args(argv if argv is not None else sys.argv[1:])
    rows: List[dict] = []
    for seed in args.seeds:  # the file is rewritten after each seed: a partial run keeps its seeds
        rows.append(sweep_seed(seed, args, bench))
        write_results(args, rows, bench)
    return rows


def write_results(args: argparse.Namespace, rows: List[dict], bench) -> None:
    """Prints the tables of the seeds done and writes the results file (atomically)."""
    from mmseg_l2g.experiments.experiment import COLUMNS, results_table
    from mmseg_l2g.experiments.premise import premise_table

    bases = [r["base"] for r in rows]
    tables = dict(
        sweep=sweep_table(rows, args.view_sizes),
        val=results_table(bases, "val"),
        premise=premise_table(bases, COLUMNS, COLUMN_NAMES),
    )
    for name, text in tables.items():
        print(f"\n{name}\n{text}", flush=True)
    doc = dict(provenance(vars(args), __file__), rows=rows, tables=tables,
               summary=bench.aggregate(bases))  # fmt: skip
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, doc)


if __name__ == "__main__":
    main()
