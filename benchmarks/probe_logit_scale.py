"""Probe: the scale of the global network's class logits over objects during training.

Trains the plain CAM and an L2G variant through ``tools/train.py`` as the
benchmark does (``synthetic_cam_vs_l2g.py``: both from the backbone pretrained
on a separate synthetic corpus, fresh heads, the configs' schedule), keeping a
checkpoint every ``--every`` iterations, then reads each checkpoint: over the
val objects, the mean of each object's peak class logit and of its mean class
logit (the logit of the object's class at the stride-8 pixels inside it), and
their ratio. It shows how L2G's softmax-only training changes the raw logits
the CAM is read from.

    python benchmarks/probe_logit_scale.py --seed 1
"""

import argparse
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS
from PIL import Image

import mmseg_l2g  # noqa: F401
from mmseg_l2g.datasets.synthetic import make_synthetic
from mmseg_l2g.experiments.experiment import (
    CONFIGS,
    ExperimentPlan,
    data_options,
    loop_options,
    pretrain_backbone,
    pretrained_backbone_options,
)
from mmseg_l2g.experiments.stages import StageRunner
from mmseg_l2g.io import atomic_write_json

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--variant", default="l2g", choices=["l2g", "l2g_sal"])
    p.add_argument("--iters", type=int, default=1000, help="iterations of each method")
    p.add_argument("--pretrain-iters", type=int, default=1000)
    p.add_argument("--pretrain-images", type=int, default=1000)
    p.add_argument("--every", type=int, default=100, help="iterations between probes")
    p.add_argument("--num-train", type=int, default=400)
    p.add_argument("--num-val", type=int, default=200)
    p.add_argument("--probe-images", type=int, default=30, help="val images probed")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--work-dir", default="work_dirs/probe_logit_scale")
    p.add_argument("--out", default="benchmarks/results/probe_logit_scale.json")
    return p.parse_args(argv)


class LogitProbe:
    """Peak and mean class logit over the objects of some val images."""

    def __init__(self, data_root: str, count: int, stride: int = 8) -> None:
        with open(osp.join(data_root, "ImageSets/Segmentation/val.txt")) as f:
            names = f.read().split()
        self.images, self.masks = [], []
        for name in names[:count]:
            rgb = np.asarray(Image.open(osp.join(data_root, "JPEGImages", name + ".jpg")))
            self.images.append(torch.from_numpy(rgb[:, :, ::-1].copy()).permute(2, 0, 1))
            mask = np.array(Image.open(osp.join(data_root, "SegmentationClass", name + ".png")))
            # The mask value at the centre of each stride-8 cell of the logit map.
            self.masks.append(torch.from_numpy(mask[stride // 2 :: stride, stride // 2 :: stride]))

    @torch.no_grad()
    def __call__(self, model) -> Dict[str, float]:
        was_training = model.training
        model.eval()
        peaks: List[float] = []
        means: List[float] = []
        device = next(model.parameters()).device
        for image, mask in zip(self.images, self.masks):
            inputs = model.data_preprocessor.normalize(image[None].to(device))
            logits = model.extract_cam_logits(inputs)[0].cpu()
            for value in mask.unique().tolist():
                inside = mask == value
                if not 0 < value < 255 or int(inside.sum()) < 3:
                    continue
                class_logits = logits[value - 1][inside[: logits.shape[1], : logits.shape[2]]]
                peaks.append(float(class_logits.max()))
                means.append(float(class_logits.mean()))
        model.train(was_training)
        peak, mean = float(np.mean(peaks)), float(np.mean(means))
        return dict(peak=round(peak, 3), mean=round(mean, 3), ratio=round(mean / peak, 3))


def probe_run(
    name: str, options: Dict[str, object], work_dir: str, every: int, probe: "LogitProbe"
) -> List[dict]:
    """Probes the fresh model (iteration 0) and every checkpoint of a finished run."""
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[name]))
    cfg.merge_from_dict(options)
    model = MODELS.build(cfg.model)
    model.init_weights()
    rows = [dict(stage=name, iteration=0, **probe(model))]
    iteration = every
    while osp.isfile(osp.join(work_dir, f"iter_{iteration}.pth")):
        load_checkpoint(model, osp.join(work_dir, f"iter_{iteration}.pth"), map_location="cpu")
        rows.append(dict(stage=name, iteration=iteration, **probe(model)))
        iteration += every
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def main(argv=None) -> List[dict]:
    """Runs the probe; prints one JSON line per probe and writes them all."""
    args = parse_args(argv)
    DefaultScope.get_instance(f"probe{os.getpid()}", scope_name="mmseg")
    data_root = osp.abspath(
        osp.join(args.work_dir, f"data_seed{args.seed}_{args.size}_{args.num_train}")
    )
    make_synthetic(
        data_root, args.num_train, args.num_val, seed=args.seed, size=args.size, progress=False
    )
    plan = ExperimentPlan(
        iters=args.iters,
        pretrain_iters=args.pretrain_iters,
        pretrain_images=args.pretrain_images,
        size=args.size,
    )
    stages = StageRunner(osp.join(args.work_dir, f"seed{args.seed}"), quiet=True)
    pretrained = pretrain_backbone(stages, plan, args.work_dir)
    probe = LogitProbe(data_root, args.probe_images)
    rows: List[dict] = []
    for name in ("cam", args.variant):
        options = dict(data_options(data_root), **{"randomness.seed": args.seed})
        options.update(pretrained_backbone_options(pretrained))
        train_options = dict(options, **loop_options(args.iters, None))
        train_options["default_hooks.checkpoint.interval"] = args.every
        train_options["default_hooks.checkpoint.max_keep_ckpts"] = -1
        stages.train(name, CONFIGS[name], train_options)
        rows += probe_run(name, options, osp.join(stages.work_dir, name), args.every, probe)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, dict(args=vars(args), rows=rows))
    return rows


if __name__ == "__main__":
    main()
