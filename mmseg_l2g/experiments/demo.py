"""The end-to-end demo: synthetic data -> CAM / L2G / L2G+saliency -> pseudo masks -> DeepLab."""

import json
import math
import os.path as osp
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

from ..io import atomic_write_json
from .checkpoints import cam_to_l2g_init
from .figure import write_comparison_figure
from .stages import StageRunner

L2G_CONFIGS = dict(
    cam="configs/l2g/cam_plaincnn_1xb8-600it_synthetic-128.py",
    l2g="configs/l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py",
    l2g_sal="configs/l2g/l2g-sal_plaincnn_1xb8-600it_synthetic-128.py",
)
# Background thresholds scored in stage 2; from 0.01, as L2G's maps are peaky.
SWEEP = ["0.01", "0.02", "0.03", "0.04"] + [f"{0.05 * i:.2f}" for i in range(1, 20)]
SEG_CONFIG = "configs/deeplab/deeplabv2_r18tiny_1xb8-300it_synthetic-128_l2g-pseudo.py"


@dataclass(frozen=True)
class Budget:
    """How much data and training the demo spends.

    Attributes:
        num_train: synthetic training images (pseudo masks are made for these).
        num_val: synthetic validation images (the segmenter is scored on these).
        size: image side in pixels.
        cam_iters: plain-CAM iterations; L2G starts from the CAM network at
            ``cam_iters - l2g_iters`` so both global networks get ``cam_iters``.
        l2g_iters: iterations of each L2G run.
        seg_iters: segmenter iterations.
        scales: CAM inference scales.
    """

    num_train: int
    num_val: int
    size: int
    cam_iters: int
    l2g_iters: int
    seg_iters: int
    scales: tuple = (0.5, 1.0, 1.5, 2.0)


BUDGETS: Dict[str, Budget] = dict(
    tiny=Budget(
        num_train=16, num_val=8, size=128, cam_iters=4, l2g_iters=2, seg_iters=2, scales=(1.0,)
    ),
    default=Budget(
        num_train=400, num_val=100, size=128, cam_iters=600, l2g_iters=200, seg_iters=300
    ),
    long=Budget(
        num_train=800, num_val=200, size=128, cam_iters=2000, l2g_iters=1000, seg_iters=1000
    ),
)


def _loop_options(iters: int, batch_size: Optional[int]) -> Dict[str, object]:
    options: Dict[str, object] = {
        "train_cfg.max_iters": iters,
        "train_cfg.val_interval": max(iters, 1),
        "param_scheduler.0.end": iters,
        "default_hooks.checkpoint.interval": max(iters, 1),
        "default_hooks.logger.interval": max(1, min(50, iters // 4)),
    }
    if batch_size is not None:
        options["train_dataloader.batch_size"] = batch_size
    return options


def run_demo(
    work_dir: str = "work_dirs/demo",
    data_root: Optional[str] = None,
    seed: int = 0,
    budget: str = "default",
    batch_size: Optional[int] = None,
    quiet: bool = False,
) -> dict:
    """Runs the three stages on the synthetic data; writes ``summary.json`` and a figure.

    Args:
        work_dir: output folder (stages already complete there are reused).
        data_root: a VOC-layout dataset; generated (seed ``seed``) when missing.
        seed: seed of the data and of every training.
        budget: a key of ``BUDGETS``.
        batch_size: override the configs' batch size.
        quiet: keep the tools' logs in ``<work_dir>/pipeline.log`` only.

    Returns:
        The summary dict (also ``<work_dir>/summary.json``).
    """
    from ..datasets.synthetic import make_synthetic

    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose from {sorted(BUDGETS)}")
    plan = BUDGETS[budget]
    start = time.time()
    data_root = data_root or osp.join(work_dir, f"data_seed{seed}")
    check_work_dir(work_dir, dict(seed=seed, budget=budget, batch_size=batch_size,
                                  data_root=osp.abspath(data_root)))  # fmt: skip
    stages = StageRunner(work_dir, quiet=quiet)
    if not osp.isfile(osp.join(data_root, "meta.json")):
        print(f"[pipeline] generating synthetic data in {data_root}", flush=True)
        make_synthetic(data_root, plan.num_train, plan.num_val, seed=seed, size=plan.size)
    data = {
        "train_dataloader.dataset.data_root": data_root,
        "val_dataloader.dataset.data_root": data_root,
        "test_dataloader.dataset.data_root": data_root,
        "randomness.seed": seed,
    }

    # Stage 1: the plain-CAM baseline, then L2G (with and without saliency)
    # starting from the CAM network, so every global network gets cam_iters.
    init_iter = max(plan.cam_iters - plan.l2g_iters, 1)
    cam_opts = dict(data, **_loop_options(plan.cam_iters, batch_size))
    cam_opts["default_hooks.checkpoint.interval"] = init_iter
    cam_ckpt = stages.train("cam", L2G_CONFIGS["cam"], cam_opts)
    init = cam_to_l2g_init(
        osp.join(work_dir, "cam", f"iter_{init_iter}.pth"), osp.join(work_dir, "l2g_init.pth")
    )
    ckpts = {"cam": cam_ckpt}
    for name in ("l2g", "l2g_sal"):
        opts = dict(data, load_from=init, **_loop_options(plan.l2g_iters, batch_size))
        ckpts[name] = stages.train(name, L2G_CONFIGS[name], opts)

    # Stage 2: CAMs of the train split, swept over background thresholds.
    scales = [str(s) for s in plan.scales]
    scores: Dict[str, dict] = {}
    for name, ckpt in ckpts.items():
        scores[name] = stages.gen_pseudo(
            f"pseudo_{name}",
            L2G_CONFIGS[name],
            ckpt,
            ["--split", "train", "--save-cams", "--sweep", *SWEEP, "--scales", *scales],
            data,
        )
    best = max(("l2g", "l2g_sal"), key=lambda n: _best(scores[n])[1])
    best_thr = _best(scores[best])[0]
    stages.gen_pseudo(
        f"masks_{best}",
        L2G_CONFIGS[best],
        None,
        [
            "--split",
            "train",
            "--from-cams",
            osp.join(work_dir, f"pseudo_{best}", "cams"),
            "--bg-thr",
            f"{best_thr}",
        ],
        data,
    )
    mask_dir = osp.join(work_dir, f"masks_{best}", "masks")

    # Stage 3: the segmenter on the pseudo masks, scored on the real val masks.
    seg_opts = dict(data, **_loop_options(plan.seg_iters, batch_size))
    seg_opts["train_dataloader.dataset.data_prefix.seg_map_path"] = osp.abspath(mask_dir)
    seg_ckpt = stages.train("seg", SEG_CONFIG, seg_opts)
    seg_metrics = stages.test("seg_test", SEG_CONFIG, seg_ckpt, data)

    summary = dict(
        cam_miou=_best(scores["cam"])[1],
        l2g_miou=_best(scores["l2g"])[1],
        l2g_sal_miou=_best(scores["l2g_sal"])[1],
        cam_best_thr=_best(scores["cam"])[0],
        l2g_best_thr=_best(scores["l2g"])[0],
        l2g_sal_best_thr=_best(scores["l2g_sal"])[0],
        seg_trained_on=best,
        seg_miou=float(seg_metrics.get("mIoU", math.nan)),
        seconds=round(time.time() - start, 1),
        stage_seconds={k: round(v, 1) for k, v in stages.timings.items()},
        budget=dict(name=budget, **asdict(plan)),
        seed=seed,
        data_root=data_root,
    )
    figure = _figure(work_dir, data_root)
    summary["figure"] = figure
    atomic_write_json(osp.join(work_dir, "summary.json"), summary)
    print(format_summary(summary), flush=True)
    return summary


def check_work_dir(work_dir: str, identity: dict) -> None:
    """Records what a demo work dir is made with; refuses to reuse it for another run.

    Raises:
        ValueError: ``work_dir`` holds a demo of another seed, budget, batch
            size or data root (its stages would be reused as they are).
    """
    path = osp.join(work_dir, "demo.json")
    if osp.isfile(path):
        with open(path, encoding="utf-8") as f:
            previous = json.load(f)
        differ = {k: (previous.get(k), v) for k, v in identity.items() if previous.get(k) != v}
        if differ:
            raise ValueError(
                f"{work_dir} holds a demo made with other settings "
                f"({', '.join(f'{k}: {a!r} there, {b!r} now' for k, (a, b) in differ.items())}); "
                "use another --work-dir"
            )
    atomic_write_json(path, identity)


def _best(metrics: dict) -> tuple:
    """(best threshold, its mIoU in %) from a stage-2 ``metrics.json`` (scores in %)."""
    if not metrics:
        return (math.nan, math.nan)
    return (float(metrics["best_thr"]), round(float(metrics["best_miou"]), 2))


def _figure(work_dir: str, data_root: str, rows: int = 4) -> str:
    from ..datasets.synthetic_wsss_dataset import SyntheticWSSSDataset

    dataset = SyntheticWSSSDataset(
        data_root=data_root, ann_file="ImageSets/Segmentation/train.txt", lazy_init=False
    )
    items: List[dict] = [dataset.get_data_info(i) for i in range(min(rows, len(dataset)))]
    cam_dirs = {
        "plain CAM": osp.join(work_dir, "pseudo_cam", "cams"),
        "L2G": osp.join(work_dir, "pseudo_l2g", "cams"),
        "L2G + saliency": osp.join(work_dir, "pseudo_l2g_sal", "cams"),
    }
    return write_comparison_figure(
        osp.join(work_dir, "figure.png"), items, cam_dirs, dataset.metainfo["palette"]
    )


def format_summary(summary: dict) -> str:
    """The final table a person reads."""
    lines = [
        "",
        "| stage | what | mIoU (%) |",
        "| --- | --- | ---: |",
        f"| 2 | pseudo masks, plain CAM (train, thr {summary['cam_best_thr']:.2f}) "
        f"| {summary['cam_miou']:.1f} |",
        f"| 2 | pseudo masks, L2G (train, thr {summary['l2g_best_thr']:.2f}) "
        f"| {summary['l2g_miou']:.1f} |",
        f"| 2 | pseudo masks, L2G + saliency (train, thr {summary['l2g_sal_best_thr']:.2f}) "
        f"| {summary['l2g_sal_miou']:.1f} |",
        f"| 3 | DeepLab-v2 on the {summary['seg_trained_on']} masks (val) "
        f"| {summary['seg_miou']:.1f} |",
        "",
        f"total {summary['seconds']:.0f} s; figure: {summary['figure']}",
    ]
    return "\n".join(lines)
