"""Probe: the scale of the global network's class logits over objects during training.

Trains the plain CAM and then L2G from it (as ``synthetic_cam_vs_l2g.py`` does)
and every ``--every`` iterations prints, over the val objects, the mean of each
object's peak class logit and of its mean class logit (the logit of the
object's class at the stride-8 pixels inside it), and their ratio. It shows how
L2G's softmax-only training changes the raw logits the CAM is read from.

    python benchmarks/probe_logit_scale.py --seed 1
"""

import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks import synthetic_cam_vs_l2g as bench  # noqa: E402
from mmseg_l2g.datasets.synthetic import make_synthetic  # noqa: E402
from mmseg_l2g.io import atomic_write_json  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--variant", default="l2g", choices=["l2g", "l2g_sal"])
    p.add_argument("--cam-iters", type=int, default=1000)
    p.add_argument("--l2g-iters", type=int, default=500)
    p.add_argument("--every", type=int, default=100, help="iterations between probes")
    p.add_argument("--num-train", type=int, default=400)
    p.add_argument("--num-val", type=int, default=100)
    p.add_argument("--probe-images", type=int, default=30, help="val images probed")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--data-dir", default="work_dirs/synthetic_bench")
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


def train_and_probe(model, batches, iters: int, lr: float, probe: LogitProbe, every: int, tag: str):
    """The benchmark's training, probing every ``every`` iterations and at the end."""
    rows: List[dict] = []

    def record(step: int) -> None:
        if step % every == 0 or step == iters:
            rows.append(dict(stage=tag, iteration=step, **probe(model)))
            print(json.dumps(rows[-1]), flush=True)

    bench.train(model, batches, iters, lr, tag, callback=record)
    return rows


def main(argv=None) -> List[dict]:
    """Runs the probe; prints one JSON line per probe and writes them all."""
    args = parse_args(argv)
    DefaultScope.get_instance(f"probe{os.getpid()}", scope_name="mmseg")
    data_root = osp.join(args.data_dir, f"seed{args.seed}_{args.size}_{args.num_train}_probe")
    make_synthetic(
        data_root, args.num_train, args.num_val, seed=args.seed, size=args.size, progress=False
    )
    bench_args = bench.parse_args(["--device", args.device, "--workers", str(args.workers)])
    torch.manual_seed(args.seed)
    probe = LogitProbe(data_root, args.probe_images)
    _, cam, batches = bench.build("cam", bench_args, data_root, args.seed)
    init_at = max(args.cam_iters - args.l2g_iters, 0)
    rows = train_and_probe(cam, batches, init_at, bench_args.lr, probe, args.every, "cam")
    init = {k: v.detach().clone() for k, v in cam.state_dict().items()}
    rows += train_and_probe(
        cam, batches, args.cam_iters - init_at, bench_args.l2g_lr, probe, args.every, "cam tail"
    )
    _, model, batches = bench.build(args.variant, bench_args, data_root, args.seed)
    model.load_state_dict(bench.l2g_state_from_cam(init), strict=False)
    rows += train_and_probe(
        model, batches, args.l2g_iters, bench_args.l2g_lr, probe, args.every, args.variant
    )
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, dict(args=vars(args), rows=rows))
    return rows


if __name__ == "__main__":
    main()
