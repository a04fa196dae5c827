"""The synthetic benchmark: pseudo-mask mIoU of plain CAM vs L2G, release protocol.

Per seed, through the shipped tools (the experiment driver of the demo,
``mmseg_l2g.experiments.experiment``): a backbone pretrained by classification on
a separate synthetic corpus of other classes (``--pretrain-classes same``: the
target classes; once per corpus, cached), then the plain-CAM baseline, L2G and
L2G + saliency, each from that backbone with fresh heads and the same
iterations, as the configs say; stage 2 on the val and train splits, swept over
background thresholds; every method also fused with the saliency maps (one
rule). Each column's threshold is chosen on the train split and reported on
val (and the release's 0.25), mean and standard deviation over seeds, with the
premise's metrics (object recall near / far from the mark, background
precision). Anything varied goes through ``--cfg-options`` (e.g.
``model.loss_transfer.loss_weight=1``).

    python benchmarks/synthetic_cam_vs_l2g.py --seeds 0 1 2 3 4
    python benchmarks/synthetic_cam_vs_l2g.py --seeds 0 1 --iters 2000 \
        --cfg-options model.loss_transfer.loss_weight=1
"""

import argparse
import hashlib
import json
import os
import os.path as osp
import time
from dataclasses import asdict
from typing import List, Optional

from mmengine.config import DictAction

from mmseg_l2g.experiments.experiment import (
    BACKBONES,
    COLUMN_NAMES,
    COLUMNS,
    METHODS,
    PRETRAIN_CLASSES,
    ExperimentPlan,
    design_tag,
    results_table,
    run_experiment,
)
from mmseg_l2g.experiments.premise import premise_table
from mmseg_l2g.experiments.provenance import provenance
from mmseg_l2g.experiments.stages import StageRunner
from mmseg_l2g.experiments.statistics import mean_std
from mmseg_l2g.io import atomic_write_json


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--iters", type=int, default=1000, help="iterations of each method")
    p.add_argument("--pretrain-iters", type=int, default=1000)
    p.add_argument("--pretrain-images", type=int, default=1000)
    p.add_argument("--pretrain-seed", type=int, default=1000, help="seed of the pretraining corpus")
    p.add_argument(
        "--pretrain-classes", default="other", choices=PRETRAIN_CLASSES,
        help="the pretraining corpus's classes: other than the targets (default) or the same",
    )  # fmt: skip
    p.add_argument(
        "--backbone", default="plaincnn", choices=BACKBONES,
        help="whose synthetic configs run (and are pretrained): PlainCNN or the tiny ViT",
    )  # fmt: skip
    p.add_argument("--num-train", type=int, default=400)
    p.add_argument("--num-val", type=int, default=200)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=None, help="default: the configs' (8)")
    p.add_argument("--design", default="{}", help="JSON of SyntheticDesign overrides")
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 1.5])
    p.add_argument("--splits", nargs="+", default=["val", "train"], choices=["val", "train"])
    p.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=list(METHODS),
        help="methods trained (a variant of L2G alone: --methods l2g l2g_sal)",
    )  # fmt: skip
    p.add_argument(
        "--cfg-options", nargs="+", action=DictAction, default={},
        help="config overrides of every method's training and stage 2, key=value",
    )  # fmt: skip
    p.add_argument("--work-dir", default="work_dirs/synthetic_bench")
    p.add_argument("--out", default="benchmarks/results/synthetic_cam_vs_l2g.json")
    p.add_argument("--quiet", action="store_true", help="tools' logs to pipeline.log only")
    return p.parse_args(argv)


def run_seed(seed: int, args: argparse.Namespace, plan: ExperimentPlan) -> dict:
    """Generates one seed's data and runs every method on it."""
    from mmseg_l2g.datasets.synthetic import make_synthetic

    tag = design_tag(plan.design)
    data_root = osp.abspath(
        osp.join(args.work_dir, "data", f"seed{seed}_{args.size}_{args.num_train}_{tag}")
    )
    make_synthetic(
        data_root, args.num_train, args.num_val, seed=seed, size=args.size, progress=False,
        **plan.design,
    )  # fmt: skip
    # A finished stage is reused only by a run of the same plan and data.
    plan_text = json.dumps([asdict(plan), args.num_train, args.num_val], sort_keys=True)
    plan_tag = hashlib.md5(plan_text.encode()).hexdigest()[:8]
    run_dir = osp.join(args.work_dir, f"seed{seed}_{args.iters}it_{plan_tag}")
    stages = StageRunner(run_dir, quiet=args.quiet)
    start = time.time()
    row = run_experiment(stages, plan, data_root, seed, cache_dir=args.work_dir)
    row["seconds"] = round(time.time() - start, 1)
    row["stage_seconds"] = {k: round(v, 1) for k, v in stages.timings.items()}
    return row


def aggregate(rows: List[dict]) -> dict:
    """Mean and standard deviation over seeds of every column, split and reading."""
    out: dict = {}
    for column in COLUMNS:
        if not rows or column not in rows[0]["scores"]:
            continue
        for split in rows[0]["scores"][column]:
            for key in ("miou", "best_miou", "fixed_miou"):
                mean, std = mean_std([r["scores"][column][split][key] for r in rows])
                out.setdefault(column, {}).setdefault(split, {})[key] = dict(
                    mean=round(mean, 2), std=round(std, 2)
                )
    return out


def build_plan(
    args: argparse.Namespace,
    methods: Optional[tuple] = None,
    splits: Optional[tuple] = None,
    extra: Optional[dict] = None,
) -> ExperimentPlan:
    """The plan of the parsed options (``methods`` / ``splits`` / ``extra`` options override)."""
    return ExperimentPlan(
        iters=args.iters,
        pretrain_iters=args.pretrain_iters,
        pretrain_images=args.pretrain_images,
        pretrain_seed=args.pretrain_seed,
        pretrain_classes=args.pretrain_classes,
        size=args.size,
        design=json.loads(args.design),
        batch_size=args.batch_size,
        scales=tuple(args.scales),
        splits=tuple(splits or args.splits),
        methods=tuple(methods or args.methods),
        options=dict(args.cfg_options or {}, **(extra or {})),
        backbone=args.backbone,
    )


def main(argv: Optional[List[str]] = None) -> List[dict]:
    """Runs every seed, prints the tables, writes the JSON (atomically)."""
    args = parse_args(argv)
    plan = build_plan(args)
    rows = [run_seed(seed, args, plan) for seed in args.seeds]
    tables = {split: results_table(rows, split) for split in args.splits}
    tables["premise"] = premise_table(rows, COLUMNS, COLUMN_NAMES)
    for split, text in tables.items():
        print(f"\n{split}: pseudo-mask mIoU (%) at the threshold chosen on train / at 0.25")
        print(text, flush=True)
    doc = dict(provenance(vars(args), __file__), rows=rows, summary=aggregate(rows), tables=tables)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, doc)
    return rows


if __name__ == "__main__":
    main()
