"""The end-to-end demo: data -> pretrained backbone -> CAM / L2G / L2G+saliency -> masks -> DeepLab.

Stages 1 and 2 are the experiment driver's (:mod:`.experiment`, shared with the
synthetic benchmark); the demo adds pseudo masks of the train split from the
better L2G run, a DeepLab-v2 trained on them, a figure and ``summary.json``.
"""

import json
import math
import os.path as osp
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

from ..io import atomic_write_json
from .experiment import (
    COLUMN_NAMES,
    COLUMNS,
    CONFIGS,
    FIXED_THR,
    METHODS,
    ExperimentPlan,
    loop_options,
    run_experiment,
)
from .figure import write_comparison_figure
from .provenance import provenance
from .stages import StageRunner

SEG_CONFIG = "configs/deeplab/deeplabv2_r18tiny_1xb8-300it_synthetic-128_l2g-pseudo.py"
SUMMARY_METHODS = COLUMNS  # the benchmark's columns, in its order


@dataclass(frozen=True)
class Budget:
    """How much data and training the demo spends.

    Attributes:
        num_train: synthetic training images (pseudo masks are made for these).
        num_val: synthetic validation images (stage 2 and the segmenter are scored on these).
        size: image side in pixels.
        iters: iterations of each classifier (plain CAM, L2G, L2G + saliency).
        pretrain_images: images of the separate pretraining corpus.
        pretrain_iters: iterations of the backbone's classification pretraining.
        seg_iters: segmenter iterations.
        scales: CAM inference scales.
    """

    num_train: int
    num_val: int
    size: int
    iters: int
    pretrain_images: int
    pretrain_iters: int
    seg_iters: int
    scales: tuple = (0.5, 1.0, 1.5, 2.0)


BUDGETS: Dict[str, Budget] = dict(
    tiny=Budget(
        num_train=16, num_val=8, size=128, iters=2, pretrain_images=16, pretrain_iters=2,
        seg_iters=2, scales=(1.0,),
    ),
    default=Budget(
        num_train=300, num_val=100, size=128, iters=200, pretrain_images=400,
        pretrain_iters=400, seg_iters=200, scales=(1.0, 1.5),
    ),
    long=Budget(
        num_train=800, num_val=200, size=128, iters=1000, pretrain_images=1000,
        pretrain_iters=1000, seg_iters=1000,
    ),
)  # fmt: skip


def run_demo(
    work_dir: str = "work_dirs/demo",
    data_root: Optional[str] = None,
    seed: int = 0,
    budget: str = "default",
    batch_size: Optional[int] = None,
    quiet: bool = False,
    classes_file: Optional[str] = None,
    saliency_dir: Optional[str] = None,
    overwrite: bool = False,
) -> dict:
    """Runs the three stages; writes ``summary.json`` and a figure.

    Args:
        work_dir: output folder (stages already complete there are reused).
        data_root: your own VOC-layout dataset (see :func:`dataset_arguments`); None
            generates the synthetic data (seed ``seed``) in ``work_dir``.
        seed: seed of the generated data and of every training.
        budget: a key of ``BUDGETS``.
        batch_size: override the configs' batch size.
        quiet: keep the tools' logs in ``<work_dir>/pipeline.log`` only.
        classes_file: class names, one foreground class a line (default: the
            dataset's ``meta.json`` or ``<data_root>/classes.txt``).
        saliency_dir: the saliency folder, relative to ``data_root`` (default ``Saliency``).
        overwrite: reuse a ``work_dir`` made with other settings, redoing what differs
            (else refused).

    Returns:
        The summary dict (also ``<work_dir>/summary.json``).
    """
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose from {sorted(BUDGETS)}")
    plan = BUDGETS[budget]
    start = time.time()
    identity = dict(seed=seed, budget=budget, batch_size=batch_size, classes_file=classes_file,
                    saliency_dir=saliency_dir,
                    data_root=osp.abspath(data_root) if data_root else None)  # fmt: skip
    check_work_dir(work_dir, identity, overwrite)
    stages = StageRunner(work_dir, quiet=quiet, overwrite=overwrite)
    if data_root is None:
        from ..datasets.synthetic import make_synthetic

        data_root = osp.abspath(osp.join(work_dir, f"data_seed{seed}"))
        print(f"[pipeline] synthetic data in {data_root}", flush=True)
        make_synthetic(data_root, plan.num_train, plan.num_val, seed=seed, size=plan.size)
    data_root = osp.abspath(data_root)
    dataset = dataset_arguments(data_root, classes_file, saliency_dir)
    names = class_names(data_root, classes_file)
    with_saliency = check_data(data_root, len(names) - 1, saliency_dir or "Saliency")
    methods = METHODS if with_saliency else tuple(m for m in METHODS if m != "l2g_sal")
    experiment = run_experiment(
        stages,
        ExperimentPlan(
            iters=plan.iters,
            pretrain_iters=plan.pretrain_iters,
            pretrain_images=plan.pretrain_images,
            size=plan.size,
            batch_size=batch_size,
            scales=tuple(plan.scales),
            methods=methods,
            options={"model.head.num_classes": len(names) - 1},
        ),
        data_root,
        seed,
        cache_dir=osp.join(work_dir, "pretrain"),
        dataset=dataset,
        fuse=with_saliency,
    )
    scores = experiment["scores"]

    # Pseudo masks of the train split from the better L2G run on train, at its train-best
    # threshold (val is only reported, never chosen on).
    candidates = [m for m in ("l2g", "l2g_sal") if m in scores]
    best = max(candidates, key=lambda n: _nan_low(scores[n]["train"]["best_miou"]))
    best_thr = scores[best]["train"]["best_thr"]
    data = {f"{k}.dataset.{a}": v for k in _LOADERS for a, v in dict(dataset).items()}
    data.update({f"{k}.dataset.data_root": data_root for k in _LOADERS})
    data["randomness.seed"] = seed
    stages.gen_pseudo(
        f"masks_{best}", CONFIGS[best], None,
        ["--split", "train", "--from-cams", experiment["cams"][best]["train"],
         "--bg-thr", f"{best_thr}"],
        data,
    )  # fmt: skip
    mask_dir = osp.join(work_dir, f"masks_{best}", "masks")

    # Stage 3: the segmenter on the pseudo masks, scored on the real val masks.
    seg_data = {f"{k}.dataset.data_root": data_root for k in _LOADERS}
    seg_data.update(segmenter_classes(data_root, classes_file))
    seg_opts = dict(seg_data, **loop_options(plan.seg_iters, batch_size))
    seg_opts["randomness.seed"] = seed
    seg_opts["train_dataloader.dataset.data_prefix.seg_map_path"] = osp.abspath(mask_dir)
    seg_ckpt = stages.train("seg", SEG_CONFIG, seg_opts)
    seg_metrics = stages.test("seg_test", SEG_CONFIG, seg_ckpt, seg_data)

    summary: dict = {}
    for name in SUMMARY_METHODS:  # val mIoU at the threshold chosen on train (and at 0.25)
        if name not in scores:  # a column that needs saliency maps the data lacks
            for key in ("miou", "best_thr", "fixed_miou", "val_best_miou"):
                summary[f"{name}_{key}"] = None
            continue
        val = scores[name]["val"]
        summary[f"{name}_miou"] = val["miou"]
        summary[f"{name}_best_thr"] = val["thr"]
        summary[f"{name}_fixed_miou"] = val["fixed_miou"]
        summary[f"{name}_val_best_miou"] = val["best_miou"]  # optimistic: chosen on val itself
    summary.update(
        seg_trained_on=best,
        seg_miou=float(seg_metrics.get("mIoU", math.nan)),
        scores=scores,
        premise=experiment["premise"],
        seconds=round(time.time() - start, 1),
        stage_seconds={k: round(v, 1) for k, v in stages.timings.items()},
        budget=dict(name=budget, **asdict(plan)),
        seed=seed,
        data_root=data_root,
        skipped=[c for c in SUMMARY_METHODS if c not in scores],
        provenance=provenance(identity, __file__),
    )
    summary["figure"] = _figure(work_dir, data_root, experiment["cams"], dataset)
    atomic_write_json(osp.join(work_dir, "summary.json"), summary)
    print(format_summary(summary), flush=True)
    return summary


def check_work_dir(work_dir: str, identity: dict, overwrite: bool = False) -> None:
    """Records what a demo work dir is made with; refuses to reuse it for another run.

    Raises:
        ValueError: ``work_dir`` holds a demo of another seed, budget, batch
            size or data root (its stages would be reused as they are), and
            ``overwrite`` is off.
    """
    path = osp.join(work_dir, "demo.json")
    if osp.isfile(path):
        with open(path, encoding="utf-8") as f:
            previous = json.load(f)
        differ = {k: (previous.get(k), v) for k, v in identity.items() if previous.get(k) != v}
        if differ and not overwrite:
            raise ValueError(
                f"{work_dir} holds a demo made with other settings "
                f"({', '.join(f'{k}: {a!r} there, {b!r} now' for k, (a, b) in differ.items())}); "
                "use another --work-dir, or --overwrite to redo what differs"
            )
    atomic_write_json(path, identity)


_LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def dataset_arguments(
    data_root: str, classes_file: Optional[str] = None, saliency_dir: Optional[str] = None
) -> Dict[str, object]:
    """The dataset arguments the configs need for a VOC-layout folder.

    Expected layout: ``JPEGImages/<id>.jpg``, ``SegmentationClass/<id>.png``
    (class indices, 255 ignored), ``ImageSets/Segmentation/{train,val}.txt``,
    optionally ``ImageSets/Segmentation/{train,val}_cls.txt`` (``<id> <0-based
    class index> ...``; else labels come from the masks) and a folder of grey
    saliency PNGs; class names from ``meta.json`` (the generator's),
    ``classes.txt`` in the root or ``classes_file``.

    Raises:
        FileNotFoundError: the root, its images, split lists or class names are missing.
    """
    for part in ("JPEGImages", "ImageSets/Segmentation/train.txt"):
        if not osp.exists(osp.join(data_root, part)):
            raise FileNotFoundError(f"{data_root}: not a VOC-layout dataset ({part} is missing)")
    arguments: Dict[str, object] = {}
    if classes_file is not None:
        if not osp.isfile(classes_file):
            raise FileNotFoundError(f"class-name file not found: {classes_file}")
        arguments["class_names_file"] = osp.abspath(classes_file)
    elif not any(osp.isfile(osp.join(data_root, n)) for n in ("meta.json", "classes.txt")):
        raise FileNotFoundError(
            f"{data_root}: no class names: add classes.txt (one foreground class name a line, "
            "in label-index order) or pass --classes FILE"
        )
    if saliency_dir is not None:
        folder = osp.join(data_root, saliency_dir)
        if not osp.isdir(folder):
            raise FileNotFoundError(f"saliency folder not found: {folder}")
        # The whole prefix: a partial one would drop the others' defaults.
        arguments["data_prefix.img_path"] = "JPEGImages"
        arguments["data_prefix.seg_map_path"] = "SegmentationClass"
        arguments["data_prefix.sal_path"] = saliency_dir
    return arguments


def check_data(data_root: str, num_classes: int, saliency_dir: str, shown: int = 20) -> bool:
    """Stops before any training when the folder would fail a stage (see ``check_voc_folder``).

    Returns:
        Whether the folder has saliency maps; without, the columns that need them
        (L2G + saliency, the fused ones) are skipped, and this says which.

    Raises:
        ValueError: the problems found (the first ``shown``, and how many more).
    """
    from ..datasets.folder_check import check_voc_folder

    start = time.time()
    problems = check_voc_folder(data_root, num_classes, saliency_dir)
    if problems:  # one line: the tools' error handler prints the first line of a message
        more = f"; ... and {len(problems) - shown} more" if len(problems) > shown else ""
        raise ValueError(
            f"{data_root}: {len(problems)} problem(s) found before training "
            f"({time.time() - start:.1f} s): " + "; ".join(problems[:shown]) + more
        )
    if osp.isdir(osp.join(data_root, saliency_dir)):
        return True
    skipped = ", ".join(COLUMN_NAMES[c] for c in COLUMNS if c == "l2g_sal" or c.endswith("_fused"))
    print(
        f"[pipeline] {osp.join(data_root, saliency_dir)}: no saliency folder; skipping the "
        f"columns that need one ({skipped}); add one grey PNG per image (0 background .. 255 "
        "salient) there, or name yours with --saliency-dir",
        flush=True,
    )
    return False


def class_names(data_root: str, classes_file: Optional[str]) -> tuple:
    """The C+1 class names the dataset will use (see ``SyntheticWSSSDataset``)."""
    from ..datasets.synthetic_wsss_dataset import (
        CLASS_NAMES_FILE,
        read_class_names,
        read_synthetic_meta,
    )

    if classes_file is None and osp.isfile(osp.join(data_root, "meta.json")):
        return tuple(read_synthetic_meta(data_root)["classes"])
    return read_class_names(classes_file or osp.join(data_root, CLASS_NAMES_FILE))


def segmenter_classes(data_root: str, classes_file: Optional[str]) -> Dict[str, object]:
    """``--cfg-options`` giving the segmenter config another dataset's classes (none for ours)."""
    from ..datasets.wsss_dataset import bit_colormap

    if classes_file is None and osp.isfile(osp.join(data_root, "meta.json")):
        return {}
    names = list(class_names(data_root, classes_file))
    options: Dict[str, object] = {"model.decode_head.num_classes": len(names)}
    for loader in _LOADERS:
        options[f"{loader}.dataset.metainfo.classes"] = "[" + ",".join(names) + "]"
        options[f"{loader}.dataset.metainfo.palette"] = str(bit_colormap(len(names))).replace(
            " ", ""
        )
    return options


def _nan_low(value: float) -> float:
    return -math.inf if math.isnan(value) else value


def _figure(
    work_dir: str, data_root: str, cams: Dict[str, Dict[str, str]], dataset: dict, rows: int = 4
) -> str:
    from ..datasets.synthetic_wsss_dataset import SyntheticWSSSDataset

    arguments: Dict[str, object] = {}
    for key, value in dataset.items():  # "data_prefix.sal_path" -> data_prefix=dict(...)
        if "." in key:
            outer, inner = key.split(".", 1)
            arguments.setdefault(outer, {})[inner] = value  # type: ignore[index]
        else:
            arguments[key] = value
    ds = SyntheticWSSSDataset(
        data_root=data_root, ann_file="ImageSets/Segmentation/train.txt", lazy_init=False,
        **arguments,
    )  # fmt: skip
    items: List[dict] = [ds.get_data_info(i) for i in range(min(rows, len(ds)))]
    cam_dirs = {COLUMN_NAMES[m]: cams[m]["train"] for m in ("cam", "l2g", "l2g_sal") if m in cams}
    return write_comparison_figure(
        osp.join(work_dir, "figure.png"), items, cam_dirs, ds.metainfo["palette"]
    )


def format_summary(summary: dict) -> str:
    """The final table a person reads."""
    lines = [
        "",
        f"| stage | what (val split) | mIoU (%), thr chosen on train | at {FIXED_THR} |",
        "| --- | --- | ---: | ---: |",
    ]
    for name in SUMMARY_METHODS:
        if summary[f"{name}_miou"] is None:
            continue
        lines.append(
            f"| 2 | pseudo masks, {COLUMN_NAMES[name]} (thr {summary[f'{name}_best_thr']:.2f}) "
            f"| {summary[f'{name}_miou']:.1f} | {summary[f'{name}_fixed_miou']:.1f} |"
        )
    lines += [
        f"| 3 | DeepLab-v2 on the {summary['seg_trained_on']} masks of the train split "
        f"| {summary['seg_miou']:.1f} | |",
        "",
        f"total {summary['seconds']:.0f} s; figure: {summary['figure']}",
    ]
    if summary.get("skipped"):
        names = ", ".join(COLUMN_NAMES[c] for c in summary["skipped"])
        lines.append(f"skipped (no saliency maps): {names}")
    return "\n".join(lines)
