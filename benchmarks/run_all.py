"""Runs every benchmark, prints one combined table and writes the results.

Writes ``<results-dir>/<name>.json`` (every benchmark's document, the machine
and the command) and ``<results-dir>/latest.md`` (the tables for the README's
Performance section), both atomically. With ``--amp`` (CUDA) the training-step
and stage-2 benchmarks run twice, without and with float16 autocast.

Example::

    python benchmarks/run_all.py
    python benchmarks/run_all.py --device cuda --amp --backbone resnet50 \\
        --global-size 448 --crop-size 320 --stage2-args "--image-size 448 --batch-size 8"
"""

from __future__ import annotations

import argparse
import os.path as osp
import shlex
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch

from benchmarks import bench_dataloader, bench_stage2, bench_train_step, common

BENCHMARKS = dict(train_step=bench_train_step, dataloader=bench_dataloader, stage2=bench_stage2)
AMP_BENCHMARKS = ("train_step", "stage2")
QUANTITY_HEADERS = ["benchmark", "quantity", "value"]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_shared_args(parser)
    parser.add_argument("--amp", action="store_true", help="also run with AMP (CUDA)")
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS), help="subset"
    )
    for name in BENCHMARKS:
        parser.add_argument(
            f"--{name.replace('_', '-')}-args",
            default="",
            help=f"extra options of bench_{name}.py, one quoted string",
        )
    parser.add_argument("--name", default=None, help="results file stem (default: from options)")
    parser.add_argument("--results-dir", default=common.RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.amp and not args.device.startswith("cuda"):
        parser.error("--amp needs --device cuda")
    return args


def default_name(args: argparse.Namespace) -> str:
    """``<device>_<backbone>_<global>-<crop>``."""
    device = torch.device(args.device).type
    return f"{device}_{args.backbone}_{args.global_size}-{args.crop_size}"


def bench_argv(args: argparse.Namespace, name: str, amp: bool) -> List[str]:
    """The options passed on to one benchmark."""
    argv = common.shared_argv(args)
    if amp:
        argv.append("--amp")
    return argv + shlex.split(getattr(args, f"{name}_args"))


# Per benchmark, the absolute measurements worth a row: (row, keys into
# "measurements", format).
QUANTITIES: Dict[str, Tuple[Tuple[str, Tuple[str, ...], str], ...]] = {
    "train_step": (
        ("L2G train_step (ms)", ("times_ms", "l2g_step", "median"), ".1f"),
        ("global + local fwd+bwd + optimiser step (ms)", ("parts_sum_ms",), ".1f"),
        ("plain-CAM train_step (ms)", ("times_ms", "cam_step", "median"), ".1f"),
        ("L2G iterations/s", ("l2g_iters_per_s",), ".2f"),
        ("L2G images/s", ("l2g_images_per_s",), ".1f"),
        ("plain-CAM images/s", ("cam_images_per_s",), ".1f"),
    ),
    "dataloader": (
        ("dataloader samples/s", ("loader_samples_per_s",), ".1f"),
        ("training samples/s", ("training_samples_per_s",), ".1f"),
    ),
    "stage2": (
        ("generation (ms/image)", ("ms_per_image", "generation"), ".1f"),
        ("network forward (ms/image)", ("ms_per_image", "forward"), ".1f"),
        (
            "generation, one image at a time (ms/image)",
            ("ms_per_image", "generation_single"),
            ".1f",
        ),
        ("generation images/s", ("images_per_s",), ".1f"),
    ),
}


def quantity_rows(label: str, doc: Dict[str, Any]) -> List[List[str]]:
    """Absolute measurements worth a row in the results table."""
    measurements = doc["measurements"]
    rows: List[List[str]] = []
    for name, keys, spec in QUANTITIES.get(doc["benchmark"], ()):
        value = measurements
        for key in keys:
            value = value[key]
        rows.append([label, name, format(value, spec)])
    for key, mib in measurements.get("peak_step_memory_mib", {}).items():
        rows.append([label, f"peak step memory {key} (MiB)", f"{mib:.1f}"])
    return rows


def machine_line(info: Dict[str, Any]) -> str:
    """One line naming the machine."""
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU used"
    return (
        f"{info['cpu']} ({info['cpu_cores']} cores, {info['cpu_cores_usable']} usable, "
        f"torch threads {info['torch_threads']}, load average {info['load_average'][0]})"
        f"{gpu}; Python {info['python']}, torch {info['torch']}, mmengine {info['mmengine']}, "
        f"mmseg {info['mmseg']}"
    )


def run(args: argparse.Namespace, argv: Sequence[str]) -> Dict[str, Any]:
    """Runs the benchmarks; returns the combined document."""
    results: Dict[str, Any] = {}
    ratio_table: List[List[str]] = []
    quantity_table: List[List[str]] = []
    start = time.time()
    for name in args.only:
        module = BENCHMARKS[name]
        for amp in (False, True) if args.amp and name in AMP_BENCHMARKS else (False,):
            label = name + (" (amp)" if amp else "")
            print(f"=== {label}", flush=True)
            bench_args = module.parse_args(bench_argv(args, name, amp))
            doc, ratios = module.run(bench_args)
            module.print_measurements(doc)
            results[label] = doc
            ratio_table += common.ratio_rows(label, ratios)
            quantity_table += quantity_rows(label, doc)
    device = torch.device(args.device)
    command = "python benchmarks/run_all.py " + " ".join(shlex.quote(a) for a in argv)
    combined = dict(
        name=args.name or default_name(args),
        command=command.strip(),
        machine=common.machine_info(device),
        wall_s=time.time() - start,
        ratios={label: doc["ratios"] for label, doc in results.items()},
        results=results,
    )
    print()
    print(common.text_table(ratio_table))
    print()
    print(common.text_table(quantity_table, QUANTITY_HEADERS))
    print(f"\nmachine: {machine_line(combined['machine'])}")
    json_path = osp.join(args.results_dir, combined["name"] + ".json")
    common.write_json_atomic(json_path, combined)
    md_path = osp.join(args.results_dir, "latest.md")
    common.write_text_atomic(md_path, markdown_report(combined, ratio_table, quantity_table))
    print(f"wrote {json_path} and {md_path}")
    return combined


def markdown_report(
    combined: Dict[str, Any], ratio_table: List[List[str]], quantity_table: List[List[str]]
) -> str:
    """The markdown the README's Performance section shows."""
    info = combined["machine"]
    lines = [
        f"Results `{combined['name']}` ({info['date']}, commit {info['git_commit']}).",
        "",
        f"Command: `{combined['command']}`",
        "",
        f"Machine: {machine_line(info)}.",
        "",
        common.markdown_table(ratio_table),
        "",
        common.markdown_table(quantity_table, QUANTITY_HEADERS),
        "",
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Entry point; returns the combined document."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return run(parse_args(argv), argv)


if __name__ == "__main__":
    main()
