"""Issue 3's benchmark: pseudo-mask mIoU of plain CAM vs L2G on the synthetic data.

For each seed: generate the data, train the plain-CAM classifier for
``--cam-iters``; L2G (and L2G + saliency) start from the CAM network at
``cam_iters - l2g_iters`` (both of its networks, as the release starts both from
one ImageNet classifier), so every global network gets ``--cam-iters``
iterations. Each is scored on the val and train splits at its best background
threshold. Training runs in-process with the project's configs (model, data
pipeline, loss) and MMEngine's optimiser wrapper; only the loop is inlined.

    python benchmarks/synthetic_cam_vs_l2g.py --seeds 0 1 --fused
    python benchmarks/synthetic_cam_vs_l2g.py --device cuda --seeds 0 1 --cam-iters 2000
"""

import argparse
import contextlib
import copy
import hashlib
import json
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

import mmseg_l2g  # noqa: E402,F401
from mmseg_l2g.datasets.synthetic import make_synthetic  # noqa: E402
from mmseg_l2g.evaluation import threshold_range  # noqa: E402
from mmseg_l2g.io import atomic_write_json  # noqa: E402
from mmseg_l2g.stage2 import (  # noqa: E402
    build_stage2_dataset,
    dataset_config,
    generate_pseudo_masks,
)

# 0.01..0.04 too: L2G's maps are peaky and its best threshold can lie below 0.05.
SWEEP = tuple(threshold_range(0.01, 0.04, 0.01)) + tuple(threshold_range(0.05, 0.95, 0.05))
CONFIGS = dict(
    cam="configs/l2g/cam_plaincnn_1xb8-600it_synthetic-128.py",
    l2g="configs/l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py",
    l2g_sal="configs/l2g/l2g-sal_plaincnn_1xb8-600it_synthetic-128.py",
)


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--variants", nargs="+", default=["l2g", "l2g_sal"], choices=["l2g", "l2g_sal"])
    p.add_argument("--cam-iters", type=int, default=1000)
    p.add_argument("--l2g-iters", type=int, default=500)
    p.add_argument("--lr", type=float, default=0.05, help="CAM learning rate (poly decay)")
    p.add_argument("--l2g-lr", type=float, default=0.02, help="L2G learning rate (poly decay)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--num-train", type=int, default=400)
    p.add_argument("--num-val", type=int, default=100)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--backbone", default="config", help="'config' or PlainCNN channels 16,32,64,64")
    p.add_argument("--design", default="{}", help="JSON of generator design overrides")
    p.add_argument("--lambda", dest="lam", type=float, default=10.0)
    p.add_argument("--crop-size", type=int, default=None, help="local view side (config: 90)")
    p.add_argument("--num-views", type=int, default=None, help="local views N (config: 6)")
    p.add_argument(
        "--readout",
        choices=["logits", "softmax"],
        default="logits",
        help="CAMs from the raw logits (the release's) or from their softmax over C+1 channels",
    )
    p.add_argument(
        "--fused",
        action="store_true",
        help="also score the plain CAM's saliency-fused masks (what saliency alone adds)",
    )
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 1.5])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--data-dir", default="work_dirs/synthetic_bench")
    p.add_argument("--out", default="benchmarks/results/synthetic_cam_vs_l2g.json")
    return p.parse_args(argv)


def build(name: str, args: argparse.Namespace, data_root: str, seed: int):
    """Model and an iterator over the infinite train loader of one method."""
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[name]))
    if args.backbone != "config":
        channels = tuple(int(c) for c in args.backbone.split(","))
        cfg.model.backbone = dict(type="PlainCNN", channels=channels)
        cfg.model.head.in_channels = channels[-1]
    if name != "cam":
        cfg.model.loss_transfer.loss_weight = args.lam
        cfg.model.loss_shape.loss_weight = args.lam
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    for step in loader_cfg.dataset.pipeline:
        if step["type"] == "LocalCropTransform":
            if args.crop_size is not None:
                step["crop_size"] = args.crop_size
            if args.num_views is not None:
                step["num_views"] = args.num_views
    loader_cfg.dataset.data_root = data_root
    loader_cfg.batch_size = args.batch_size
    loader_cfg.num_workers = args.workers
    loader_cfg.persistent_workers = args.workers > 0
    model = MODELS.build(cfg.model).to(args.device)
    model.init_weights()
    # One iterator per loader: a second iter() of an infinite, persistent-worker
    # loader stops at once.
    return cfg, model, iter(Runner.build_dataloader(loader_cfg, seed=seed))


def train(
    model,
    batches,
    iters: int,
    lr: float,
    tag: str,
    callback: Optional[Callable[[int], None]] = None,
) -> float:
    """SGD (momentum 0.9, poly decay) for ``iters`` steps; returns seconds.

    ``callback(step)`` runs before each step and once after the last (``iters``).
    """
    optim = build_optim_wrapper(
        model,
        dict(
            type="OptimWrapper", optimizer=dict(type="SGD", lr=lr, momentum=0.9, weight_decay=1e-4)
        ),
    )
    sched = torch.optim.lr_scheduler.PolynomialLR(optim.optimizer, total_iters=iters, power=0.9)
    model.train()
    start = time.time()
    for step in range(iters):
        if callback is not None:
            callback(step)
        losses = model.train_step(next(batches), optim)
        sched.step()
        if (step + 1) % max(1, iters // 4) == 0:
            terms = " ".join(f"{k}={v.item():.4f}" for k, v in losses.items())
            print(f"  {tag} {step + 1}/{iters} {terms} ({time.time() - start:.0f} s)", flush=True)
    if callback is not None:
        callback(iters)
    return time.time() - start


def l2g_state_from_cam(cam_state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """An L2G state dict whose global and local networks both copy the CAM network."""
    state = {k: v for k, v in cam_state.items() if k.startswith("global_")}
    state.update({"local_" + k[len("global_") :]: v for k, v in state.items()})
    return state


class SoftmaxReadout:
    """While active, the classifier's CAM logits are replaced by their channel softmax."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def __enter__(self) -> torch.nn.Module:
        logits = type(self.model).extract_cam_logits
        self.model.extract_cam_logits = lambda x: logits(self.model, x).softmax(dim=1)
        return self.model

    def __exit__(self, *exc: object) -> None:
        del self.model.extract_cam_logits


def score(
    model,
    cfg,
    data_root: str,
    split: str,
    scales: List[float],
    readout: str = "logits",
    saliency: Optional[str] = None,
) -> Dict[str, float]:
    """Best-threshold pseudo-mask mIoU (%) of ``model`` on a split.

    ``saliency='dataset'`` scores the saliency-fused masks (saliency decides
    background, the CAMs the class; the threshold is the CAM support needed).
    """
    readout_context = SoftmaxReadout(model) if readout == "softmax" else contextlib.nullcontext()
    ds_cfg = dataset_config(cfg, split)
    ds_cfg.data_root = data_root
    dataset = build_stage2_dataset(ds_cfg)
    settings = dict(
        readout=dict(scales=tuple(scales), flip=True),
        sweep=SWEEP,
        saliency=saliency,
        num_vis=0,
    )
    with readout_context:
        result = generate_pseudo_masks(model, dataset, None, settings, progress=False)
    return dict(miou=round(result.metrics["best_miou"], 2), thr=result.metrics["best_thr"])


def run_seed(seed: int, args: argparse.Namespace) -> dict:
    """All methods on one seed's data."""
    design = json.loads(args.design)
    tag = hashlib.md5(json.dumps(design, sort_keys=True).encode()).hexdigest()[:8]
    data_root = osp.join(args.data_dir, f"seed{seed}_{args.size}_{args.num_train}_{tag}")
    make_synthetic(
        data_root, args.num_train, args.num_val, seed=seed, size=args.size, progress=False,
        **design,
    )  # fmt: skip
    torch.manual_seed(seed)
    row: dict = dict(seed=seed)
    cfg, cam, loader = build("cam", args, data_root, seed)
    init_at = max(args.cam_iters - args.l2g_iters, 0)
    row["seconds_cam"] = train(cam, loader, init_at, args.lr, "cam")
    init = {k: v.detach().clone() for k, v in cam.state_dict().items()}
    row["seconds_cam"] += train(cam, loader, args.cam_iters - init_at, args.l2g_lr, "cam (tail)")
    for split in ("val", "train"):
        row[f"cam_{split}"] = score(cam, cfg, data_root, split, args.scales, args.readout)
        if args.fused:
            row[f"cam_fused_{split}"] = score(
                cam, cfg, data_root, split, args.scales, args.readout, saliency="dataset"
            )
    for name in args.variants:
        cfg, model, loader = build(name, args, data_root, seed)
        missing, unexpected = model.load_state_dict(l2g_state_from_cam(init), strict=False)
        assert not unexpected and all(k.startswith("data_preprocessor") for k in missing)
        row[f"seconds_{name}"] = train(model, loader, args.l2g_iters, args.l2g_lr, name)
        for split in ("val", "train"):
            row[f"{name}_{split}"] = score(model, cfg, data_root, split, args.scales, args.readout)
    print(json.dumps(row), flush=True)
    return row


def table(rows: List[dict], variants: List[str]) -> str:
    """Markdown table: val / train mIoU (best threshold) per seed and method.

    The gain is the best L2G variant's over the plain CAM's threshold masks.
    """
    names = dict(cam="plain CAM", cam_fused="plain CAM + saliency (fused)")
    methods = ["cam"] + (["cam_fused"] if rows and "cam_fused_val" in rows[0] else []) + variants
    head = "| seed | split | " + " | ".join(names.get(m, m) for m in methods) + " | L2G gain |"
    lines = [head, "|" + " --- |" * (3 + len(methods))]
    for row in rows:
        for split in ("val", "train"):
            cells = [row[f"{m}_{split}"] for m in methods]
            text = " | ".join(f"{c['miou']:.1f} (thr {c['thr']:.2f})" for c in cells)
            gain = max(row[f"{v}_{split}"]["miou"] for v in variants) - cells[0]["miou"]
            lines.append(f"| {row['seed']} | {split} | {text} | {gain:+.1f} |")
    return "\n".join(lines)


def main(argv=None) -> List[dict]:
    """Runs every seed, prints the table, writes the JSON."""
    args = parse_args(argv)
    DefaultScope.get_instance(f"bench{os.getpid()}", scope_name="mmseg")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = [run_seed(seed, args) for seed in args.seeds]
    text = table(rows, args.variants)
    print(text, flush=True)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    doc = dict(args=vars(args), rows=rows, table=text, torch=torch.__version__)
    atomic_write_json(args.out, doc)
    return rows


if __name__ == "__main__":
    main()
