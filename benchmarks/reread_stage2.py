"""Re-reads a synthetic benchmark run's checkpoints with other stage-2 settings.

Settings that change only the readout (``model.test_cfg``: e.g. ``score=softmax``)
do not change training, so instead of training again this re-runs each seed's
stage 2 with extra ``--cfg-options``, writing to ``<stage-2 folder>_<suffix>``,
and reports the same scores as ``synthetic_cam_vs_l2g.py`` (rows and the table):
on val and train by default, each method's threshold chosen on train and read on
val, with the premise's metrics (near / far recall) when the data records its
marks. Results files of ``premise_sweep.py`` are read too (each row's ``base`` run).

The commands are rebuilt from the results file's structured fields (method,
checkpoint, data root, seed, scales, the run's ``--cfg-options``), each checked
first, and run through :class:`StageRunner` (an argument list, no shell); no
command text is read from ``pipeline.log`` or the results file.

    python benchmarks/reread_stage2.py benchmarks/results/synthetic_cam_vs_l2g.json \\
        --cfg-options model.test_cfg.score=softmax --suffix softmax --out OUT.json
"""

import argparse
import json
import math
import os
import os.path as osp
import re
import sys
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import DictAction

from mmseg_l2g.experiments.experiment import (
    CONFIGS,
    FIXED_THR,
    METHODS,
    SWEEP,
    choose_threshold,
    column_premise,
    data_options,
    design_tag,
    results_table,
    summarise,
)
from mmseg_l2g.experiments.provenance import provenance
from mmseg_l2g.experiments.stages import StageRunner
from mmseg_l2g.io import atomic_write_json
from mmseg_l2g.models.classifiers.cam_readout import MAX_SCALE
from mmseg_l2g.utils.cli import add_debug_arg, run_main

# A dotted config key (no custom_imports, no type: a results file may not choose code).
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_REFUSED_KEY = re.compile(r"(^|\.)(custom_imports|[A-Za-z0-9_]*type)(\.|$)")
_PLAIN_TEXT = re.compile(r"^[A-Za-z0-9_.+\-/ ]*$")
_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_CHECKPOINT = re.compile(r"^iter_[0-9]+\.pth$")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", help="a results JSON of synthetic_cam_vs_l2g.py")
    p.add_argument(
        "--cfg-options", nargs="+", action=DictAction, required=True,
        help="extra key=value overrides",
    )  # fmt: skip
    p.add_argument("--suffix", required=True, help="appended to each stage-2 folder")
    p.add_argument(
        "--splits", nargs="+", default=["val", "train"], choices=["val", "train"],
        help="splits re-read (thresholds are chosen on train when it is among them)",
    )  # fmt: skip
    p.add_argument("--out", required=True)
    add_debug_arg(p)
    return p.parse_args(argv)


def check_options(options: Any, where: str) -> Dict[str, Any]:
    """``--cfg-options`` of a results file, refused unless plain config values.

    Keys: dotted names, none under ``custom_imports`` nor a ``type`` (which
    would name code to build); values: numbers, booleans, None or plain text.

    Raises:
        ValueError: naming ``where`` and the entry.
    """
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError(f"{where}: expected a dict of config overrides, got {options!r}")
    for key, value in options.items():
        if not isinstance(key, str) or not _KEY.match(key) or _REFUSED_KEY.search(key):
            raise ValueError(f"{where}: refused config key {key!r} (only plain settings)")
        plain = value is None or isinstance(value, (bool, int, float))
        if isinstance(value, str):
            plain = bool(_PLAIN_TEXT.match(value))
        if not plain:
            raise ValueError(f"{where}: refused value {value!r} of {key} (only plain values)")
    return dict(options)


def check_scales(scales: Any, where: str) -> List[float]:
    """The run's stage-2 scales: finite numbers in (0, MAX_SCALE]."""
    if not isinstance(scales, list) or not scales:
        raise ValueError(f"{where}: expected a list of scales, got {scales!r}")
    for scale in scales:
        ok = isinstance(scale, (int, float)) and not isinstance(scale, bool)
        if not ok or not math.isfinite(scale) or not 0 < scale <= MAX_SCALE:
            raise ValueError(f"{where}: scale {scale!r} is not a number in (0, {MAX_SCALE}]")
    return [float(s) for s in scales]


def row_runs(
    row: Any, index: int, run_args: dict, path: str
) -> Tuple[int, str, List[Tuple[str, str]], Dict[str, Any]]:
    """One row's checked fields: seed, run folder, (method, checkpoint) and data options.

    Raises:
        ValueError: a field missing or of the wrong kind (naming the results file and row).
    """
    where = f"{path}: rows[{index}]"
    if not isinstance(row, dict):
        raise ValueError(f"{where}: not an object")
    if isinstance(row.get("base"), dict):  # a premise_sweep.py row: its benchmark run
        row, where = row["base"], f"{where}.base"
    seed = row.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"{where}: seed {seed!r} is not an integer >= 0")
    checkpoints = row.get("checkpoints")
    if not isinstance(checkpoints, dict) or not checkpoints:
        raise ValueError(
            f"{where}: no checkpoints (results of an older synthetic_cam_vs_l2g.py, or of a "
            "run that trained nothing); nothing to re-read"
        )
    runs, run_dirs = [], set()
    for method, checkpoint in checkpoints.items():
        if method not in METHODS:
            raise ValueError(f"{where}: unknown method {method!r}; known: {list(METHODS)}")
        if not isinstance(checkpoint, str) or not osp.isabs(checkpoint):
            raise ValueError(f"{where}: checkpoint of {method} is not an absolute path")
        name, folder = osp.basename(checkpoint), osp.basename(osp.dirname(checkpoint))
        if not _CHECKPOINT.match(name) or folder != method:
            raise ValueError(
                f"{where}: checkpoint {checkpoint} is not <run>/{method}/iter_N.pth as the "
                "benchmark writes it"
            )
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f"{where}: checkpoint not found: {checkpoint}")
        runs.append((method, checkpoint))
        run_dirs.add(osp.dirname(osp.dirname(checkpoint)))
    if len(run_dirs) != 1:
        raise ValueError(f"{where}: the checkpoints lie in {len(run_dirs)} run folders, not one")
    data_root = row.get("data_root") or benchmark_data_root(run_args, seed, where)
    if not isinstance(data_root, str) or not osp.isdir(osp.join(data_root, "JPEGImages")):
        raise FileNotFoundError(f"{where}: data root {data_root!r} is not a dataset folder")
    options = dict(data_options(osp.abspath(data_root)), **{"randomness.seed": seed})
    options.update(check_options(run_args.get("cfg_options"), f"{path}: args.cfg_options"))
    return seed, run_dirs.pop(), runs, options


def benchmark_data_root(run_args: dict, seed: int, where: str) -> str:
    """The data root ``synthetic_cam_vs_l2g.py`` made for ``seed`` (older rows do not record it)."""
    try:
        design = json.loads(run_args.get("design", "{}"))
        size, num_train = int(run_args["size"]), int(run_args["num_train"])
        work_dir = str(run_args["work_dir"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: no data_root, and the file's args do not give it") from exc
    return osp.abspath(
        osp.join(work_dir, "data", f"seed{seed}_{size}_{num_train}_{design_tag(design)}")
    )


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: an error ends in one line, exit status 1."""
    args = parse_args(argv)
    return run_main("reread_stage2.py", lambda: reread(args), debug=args.debug)


def reread(args: argparse.Namespace) -> List[dict]:
    """Re-runs every seed's stage 2 with the overrides; prints and writes the scores."""
    if not _SUFFIX.match(args.suffix):
        raise ValueError(f"--suffix {args.suffix!r}: letters, digits, '_', '.', '-' only")
    try:
        with open(args.results, encoding="utf-8") as f:
            source = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{args.results}: not JSON ({exc})") from exc
    rows_in = source.get("rows") if isinstance(source, dict) else None
    if not isinstance(rows_in, list) or not rows_in:
        raise ValueError(f"{args.results}: no rows (not a results file of synthetic_cam_vs_l2g.py)")
    run_args = source.get("args") if isinstance(source.get("args"), dict) else {}
    scales = check_scales(run_args.get("scales"), f"{args.results}: args.scales")
    sweep = ["--sweep", *SWEEP, "--bg-thr", f"{FIXED_THR}", "--num-vis", "0"]
    read = ["--save-cams", "--scales", *map(str, scales), *sweep]
    checked = [row_runs(r, i, run_args, args.results) for i, r in enumerate(rows_in)]
    rows = []
    for seed, run_dir, runs, options in checked:
        stages = StageRunner(run_dir, quiet=True)
        scores: Dict[str, Dict[str, dict]] = {}
        cams: Dict[str, Dict[str, str]] = {}
        for method, checkpoint in runs:
            for split in args.splits:
                name = f"pseudo_{method}_{split}_{args.suffix}"
                metrics = stages.gen_pseudo(
                    name, CONFIGS[method], checkpoint, ["--split", split, *read],
                    dict(options, **args.cfg_options),
                )  # fmt: skip
                scores.setdefault(method, {})[split] = summarise(metrics)
                cams.setdefault(method, {})[split] = osp.join(run_dir, name, "cams")
            choose_threshold(scores[method])
        data_root = options["val_dataloader.dataset.data_root"]
        premise = column_premise(data_root, cams, scores, osp.join(data_root, "Saliency"))
        rows.append(dict(seed=seed, scores=scores, premise=premise, checkpoints=dict(runs)))
        print(f"seed {seed}: {scores}", flush=True)
    tables = {split: results_table(rows, split) for split in args.splits}
    for text in tables.values():
        print(text)
    doc = dict(provenance(vars(args), __file__), rows=rows, tables=tables)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_json(args.out, doc)
    return rows


if __name__ == "__main__":
    sys.exit(main())
