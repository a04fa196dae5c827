"""The experiment driver shared by the demo and the synthetic benchmark.

One seed's experiment, through the shipped tools only (``tools/train.py``,
``tools/gen_pseudo.py`` as subprocesses, see :class:`StageRunner`):

1. a backbone pretrained by classification on a separate synthetic corpus
   (``configs/pretrain/``; its own seed, once per corpus, cached);
2. the plain-CAM baseline, L2G and L2G + saliency, each from that backbone
   with fresh heads (``init_cfg=dict(type='Pretrained', prefix='global_backbone.')``),
   each for the same number of iterations, as the configs say;
3. stage 2 of each on the val and train splits, swept over background
   thresholds, plus each method fused with the saliency maps
   (``gen_pseudo.py --saliency-dir``, from the saved CAMs, one rule for all);
4. each column's threshold chosen on the train split and reported on val,
   with the premise's metrics (:mod:`.premise`) on val when the data records
   its marks.

What varies goes through ``--cfg-options``; nothing else is trained here.
"""

import hashlib
import json
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

from ..evaluation import threshold_range
from .stages import StageRunner
from .statistics import mean_std


def synthetic_configs(backbone: str) -> Dict[str, str]:
    """The synthetic configs of a backbone: each method's and the pretraining's."""
    configs = {
        method: f"configs/l2g/{prefix}_{backbone}_1xb8-600it_synthetic-128.py"
        for method, prefix in (("cam", "cam"), ("l2g", "l2g"), ("l2g_sal", "l2g-sal"))
    }
    configs["pretrain"] = f"configs/pretrain/{backbone}_1xb8-1000it_synthetic-pretrain-128.py"
    return configs


# The backbones with synthetic configs: PlainCNN (the default) and the tiny ViT.
BACKBONES: Tuple[str, ...] = ("plaincnn", "tinyvit")
CONFIGS = synthetic_configs("plaincnn")
PRETRAIN_CONFIG = CONFIGS["pretrain"]
METHODS: Tuple[str, ...] = ("cam", "l2g", "l2g_sal")
# Column order of the reports: each method, then the same CAMs fused with the saliency maps.
COLUMNS: Tuple[str, ...] = ("cam", "cam_fused", "l2g", "l2g_fused", "l2g_sal", "l2g_sal_fused")
COLUMN_NAMES = dict(
    cam="plain CAM", cam_fused="plain CAM, fused", l2g="L2G", l2g_fused="L2G, fused",
    l2g_sal="L2G + saliency", l2g_sal_fused="L2G + saliency, fused",
)  # fmt: skip
# The pretraining corpus: other classes (the release pretrains on ImageNet's, not the
# target's) or the target classes themselves; see ``SyntheticDesign.class_offset``.
PRETRAIN_CLASSES: Tuple[str, ...] = ("other", "same")
OTHER_CLASS_OFFSET = 4
# Background thresholds scored in stage 2: from 0 (the fused rule's best was 0.01, the old edge).
SWEEP: Tuple[str, ...] = tuple(
    f"{t:.2f}" for t in threshold_range(0.0, 0.04, 0.01) + threshold_range(0.05, 0.95, 0.05)
)
FIXED_THR = 0.25  # the release's background threshold
SPLITS: Tuple[str, ...] = ("val", "train")
PRETRAIN_PREFIX = "global_backbone."


@dataclass(frozen=True)
class ExperimentPlan:
    """What one seed's experiment spends and varies.

    Attributes:
        iters: training iterations of each method (plain CAM, L2G, L2G + saliency).
        pretrain_iters: iterations of the backbone's classification pretraining.
        pretrain_images: images of the separate pretraining corpus.
        pretrain_seed: seed of that corpus (one pretraining per corpus seed).
        pretrain_classes: ``'other'`` (the corpus wears 4 classes disjoint from the
            targets: own mark colours, stripe angles and periods) or ``'same'``.
        size: image side of the generated data.
        design: ``SyntheticDesign`` overrides of every generated corpus.
        batch_size: override of the configs' batch size (None: the configs').
        scales: stage-2 CAM scales.
        methods: which of ``METHODS`` to train.
        splits: which splits stage 2 scores.
        options: extra ``--cfg-options`` of every method's training and stage 2.
        backbone: one of ``BACKBONES``: whose synthetic configs (and pretraining) run.
    """

    iters: int
    pretrain_iters: int
    pretrain_images: int
    pretrain_seed: int = 1000
    pretrain_classes: str = "other"
    size: int = 128
    design: Dict[str, object] = field(default_factory=dict)
    batch_size: Optional[int] = None
    scales: Tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
    methods: Tuple[str, ...] = METHODS
    splits: Tuple[str, ...] = SPLITS
    options: Dict[str, object] = field(default_factory=dict)
    backbone: str = "plaincnn"

    @property
    def configs(self) -> Dict[str, str]:
        """The configs of the plan's backbone (see :func:`synthetic_configs`)."""
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        return synthetic_configs(self.backbone)


def loop_options(iters: int, batch_size: Optional[int]) -> Dict[str, object]:
    """``--cfg-options`` of an iteration-based run of ``iters`` iterations."""
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


def data_options(data_root: str, dataset: Optional[Dict[str, object]] = None) -> Dict[str, object]:
    """``--cfg-options`` pointing every split of a config at ``data_root``.

    Args:
        data_root: the dataset root.
        dataset: further dataset arguments for every split (e.g. ``class_names_file``).
    """
    options: Dict[str, object] = {}
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options[f"{loader}.dataset.data_root"] = data_root
        for key, value in (dataset or {}).items():
            options[f"{loader}.dataset.{key}"] = value
    return options


def pretrained_backbone_options(checkpoint: str) -> Dict[str, object]:
    """``--cfg-options`` that start the backbone (global and local) from a checkpoint."""
    return {
        "model.backbone.init_cfg.type": "Pretrained",
        "model.backbone.init_cfg.checkpoint": osp.abspath(checkpoint),
        "model.backbone.init_cfg.prefix": PRETRAIN_PREFIX,
    }


def design_tag(design: Dict[str, object]) -> str:
    """A short hash naming an image design (its ``SyntheticDesign`` overrides)."""
    return hashlib.md5(json.dumps(design, sort_keys=True).encode()).hexdigest()[:8]


def pretrain_backbone(stages: StageRunner, plan: ExperimentPlan, cache_dir: str) -> str:
    """Generates the pretraining corpus and trains the classifier once (cached).

    Args:
        stages: the runner of the tools.
        plan: the plan (corpus seed, size, images, design, iterations).
        cache_dir: folder shared by every seed of a run (corpus and checkpoint).

    Returns:
        The pretrained checkpoint.
    """
    from ..datasets.synthetic import make_synthetic

    if plan.pretrain_classes not in PRETRAIN_CLASSES:
        raise ValueError(
            f"pretrain_classes must be one of {PRETRAIN_CLASSES}, got {plan.pretrain_classes!r}"
        )
    tag = f"pretrain_seed{plan.pretrain_seed}_{plan.size}px_{plan.pretrain_images}img"
    if plan.backbone != "plaincnn":  # PlainCNN's cache keeps its earlier name
        tag = f"{plan.backbone}_{tag}"
    if plan.design:  # a corpus of another image design is another corpus
        tag += f"_design{design_tag(plan.design)}"
    design = dict(plan.design)
    if plan.pretrain_classes == "other":
        tag += "_otherclasses"
        design["class_offset"] = OTHER_CLASS_OFFSET
    corpus = osp.join(cache_dir, f"{tag}_data")
    make_synthetic(
        corpus, plan.pretrain_images, 0, seed=plan.pretrain_seed, size=plan.size,
        progress=False, **design,
    )  # fmt: skip
    options = {"train_dataloader.dataset.data_root": corpus, "randomness.seed": plan.pretrain_seed}
    options.update(loop_options(plan.pretrain_iters, plan.batch_size))
    out_dir = osp.join(cache_dir, f"{tag}_{plan.pretrain_iters}it")
    return stages.train("pretrain", plan.configs["pretrain"], options, out_dir=out_dir)


def run_experiment(
    stages: StageRunner,
    plan: ExperimentPlan,
    data_root: str,
    seed: int,
    cache_dir: str,
    dataset: Optional[Dict[str, object]] = None,
    saliency_dir: str = "dataset",
    fuse: bool = True,
) -> dict:
    """Pretrained backbone -> each method -> stage 2 on val and train, swept.

    Args:
        stages: the runner of the tools (its ``work_dir`` holds this seed's runs).
        plan: the plan.
        data_root: the dataset (VOC layout).
        seed: seed of every training (``randomness.seed``).
        cache_dir: where the pretraining corpus and checkpoint are cached.
        dataset: further dataset arguments of every split (see :func:`data_options`).
        saliency_dir: saliency maps of the fused columns (``'dataset'``: the dataset's).
        fuse: make the fused columns (False: a dataset without saliency maps).

    Returns:
        ``{'seed', 'data_root', 'pretrained', 'checkpoints': {method: path}, 'cams':
        {method: {split: dir}}, 'scores': {column: {split: {'thr', 'thr_split', 'miou',
        'best_thr', 'best_miou', 'fixed_miou', 'curve'}}}, 'premise': {column: ...}}``,
        mIoU in %; ``miou`` is at ``thr``, chosen on train (see :func:`choose_threshold`),
        ``premise`` the val metrics of :mod:`.premise` (empty without recorded marks).
    """
    pretrained = pretrain_backbone(stages, plan, cache_dir)
    data = dict(data_options(data_root, dataset), **{"randomness.seed": seed})
    data.update(plan.options)
    checkpoints = {}
    for name in plan.methods:
        options = dict(data, **loop_options(plan.iters, plan.batch_size))
        options.update(pretrained_backbone_options(pretrained))
        checkpoints[name] = stages.train(name, plan.configs[name], options)
    scales = [str(s) for s in plan.scales]
    sweep = ["--sweep", *SWEEP, "--bg-thr", f"{FIXED_THR}", "--num-vis", "0"]
    cams: Dict[str, Dict[str, str]] = {}
    scores: Dict[str, Dict[str, dict]] = {}
    for name, checkpoint in checkpoints.items():
        for split in plan.splits:
            out = f"pseudo_{name}_{split}"
            metrics = stages.gen_pseudo(
                out, plan.configs[name], checkpoint,
                ["--split", split, "--save-cams", "--scales", *scales, *sweep], data,
            )  # fmt: skip
            cams.setdefault(name, {})[split] = osp.join(stages.work_dir, out, "cams")
            scores.setdefault(name, {})[split] = summarise(metrics)
        for split in plan.splits if fuse else ():  # the same fuse rule for every method
            metrics = stages.gen_pseudo(
                f"pseudo_{name}_fused_{split}", plan.configs[name], None,
                ["--split", split, "--from-cams", cams[name][split],
                 "--saliency-dir", saliency_dir, *sweep], data,
            )  # fmt: skip
            scores.setdefault(f"{name}_fused", {})[split] = summarise(metrics)
    for column in scores.values():
        choose_threshold(column)
    row = dict(seed=seed, data_root=data_root, pretrained=pretrained, checkpoints=checkpoints,
               cams=cams, scores=scores)  # fmt: skip
    sal_folder = saliency_dir
    if saliency_dir == "dataset":  # the fused columns read the dataset's own saliency folder
        sal_folder = str((dataset or {}).get("data_prefix.sal_path", "Saliency"))
        sal_folder = osp.join(data_root, sal_folder)
    row["premise"] = column_premise(data_root, cams, scores, sal_folder)
    return row


def column_premise(
    data_root: str, cams: Dict[str, Dict[str, str]], scores: Dict[str, dict], saliency_dir: str
) -> Dict[str, dict]:
    """The premise's metrics of every column on val, at its chosen threshold (none without marks).

    Args:
        data_root: the dataset (a synthetic one records its marks).
        cams: method -> split -> CAM folder.
        scores: column -> split -> scores (with the chosen ``thr``).
        saliency_dir: the fused columns' saliency folder.
    """
    from .premise import premise_metrics

    if not osp.isfile(osp.join(data_root, "ImageSets", "Segmentation", "val_marks.json")):
        return {}
    out: Dict[str, dict] = {}
    for column, by_split in scores.items():
        method = column[: -len("_fused")] if column.endswith("_fused") else column
        if "val" not in by_split or "val" not in cams.get(method, {}):
            continue
        thr = by_split["val"]["thr"]
        fused = saliency_dir if column.endswith("_fused") else None
        out[column] = premise_metrics(data_root, "val", cams[method]["val"], thr, fused)
    return out


def summarise(metrics: dict) -> dict:
    """One split's scores from ``metrics.json`` (mIoU in %).

    Returns:
        ``best_thr`` / ``best_miou`` (that split's own best: optimistic when
        reported on it), ``fixed_miou`` (at ``FIXED_THR``) and ``curve``
        (threshold -> mIoU).
    """
    if not metrics:
        return dict(best_thr=math.nan, best_miou=math.nan, fixed_miou=math.nan, curve={})
    curve = {f"{e['thr']:.2f}": round(float(e["miou"]), 2) for e in metrics.get("sweep", [])}
    return dict(
        best_thr=float(metrics["best_thr"]),
        best_miou=round(float(metrics["best_miou"]), 2),
        fixed_miou=curve.get(f"{FIXED_THR:.2f}", math.nan),
        curve=curve,
    )


def choose_threshold(by_split: Dict[str, dict]) -> None:
    """Adds ``thr`` (chosen on train, else on the split itself: ``thr_split``) and its ``miou``.

    Args:
        by_split: split -> :func:`summarise` scores of one column; changed in place.
    """
    source = "train" if "train" in by_split and by_split["train"]["curve"] else None
    for split, score in by_split.items():
        chooser = source or split
        thr = by_split[chooser]["best_thr"]
        score.update(thr=thr, thr_split=chooser, miou=score["curve"].get(f"{thr:.2f}", math.nan))


def results_table(rows: Sequence[dict], split: str = "val") -> str:
    """Markdown: each column's mIoU per seed at the threshold chosen on train, and at 0.25.

    Args:
        rows: :func:`run_experiment` results.
        split: which split's scores.
    """
    columns = [c for c in COLUMNS if rows and c in rows[0]["scores"]]
    head = "| seed | " + " | ".join(f"{COLUMN_NAMES[c]}: chosen thr / at 0.25" for c in columns)
    lines = [head + " |", "|" + " ---: |" * (1 + len(columns))]
    for row in rows:
        cells = []
        for column in columns:
            score = row["scores"][column][split]
            cells.append(f"{score['miou']:.1f} ({score['thr']:.2f}) / {score['fixed_miou']:.1f}")
        lines.append(f"| {row['seed']} | " + " | ".join(cells) + " |")
    cells = []
    for column in columns:
        chosen = mean_std([r["scores"][column][split]["miou"] for r in rows])
        fixed = mean_std([r["scores"][column][split]["fixed_miou"] for r in rows])
        cells.append(f"{chosen[0]:.1f} +- {chosen[1]:.1f} / {fixed[0]:.1f} +- {fixed[1]:.1f}")
    lines.append("| mean +- std | " + " | ".join(cells) + " |")
    return "\n".join(lines)
