"""Benchmark: L2G training step overhead and memory (issue 8, items 1 and 4).

Times, round robin on the same model and tensors:

- ``l2g_step``: one full ``L2GClassifier.train_step`` (data preprocessor slicing
  the local views on the device, both networks, all losses, ``parse_losses``,
  backward, SGD step, ``zero_grad``);
- its network parts: ``global_fwd_bwd`` (global network forward + backward on
  the normalised global batch), ``local_fwd_bwd`` (local network forward +
  backward on the B*N local views), ``optim_step`` (the optimiser step);
- ``cam_step``: the plain-CAM baseline's ``train_step`` (global network alone,
  classification loss, no local views);
- ``l2g_step_materialised``: the L2G step with views cropped in the pipeline
  (``local_imgs`` cut by ``crop_views`` in ``mmseg_l2g.testing.random_l2g_batch``).

Ratios: ``step_over_parts`` = l2g_step / (global + local + optimiser), goal
<= 1.10; ``l2g_over_cam`` beside the theory 1 + N (S/G)^2; peak step memory
L2G / CAM and materialised / sliced (see ``benchmarks/common.py`` for how
memory is measured).

Example::

    python benchmarks/bench_train_step.py
    python benchmarks/bench_train_step.py --backbone resnet50 --global-size 448 \\
        --crop-size 320 --batch-size 8 --device cuda --amp
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch

from benchmarks import common
from mmseg_l2g.testing import random_l2g_batch

NAME = "train_step"
RATIO_KEYS = (
    "step_over_parts",
    "l2g_over_cam",
    "materialised_over_sliced_time",
    "memory_l2g_over_cam",
    "memory_materialised_over_sliced",
)
MIB = 1024.0**2


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.set_defaults(repeats=15)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the L2G step (torch.profiler)"
    )
    return parser.parse_args(argv)


def theoretical_l2g_over_cam(num_views: int, crop_size: int, global_size: int) -> float:
    """1 + N (S/G)^2: the local views' pixels relative to the global view's."""
    return 1.0 + num_views * (crop_size / global_size) ** 2


def _step_factory(
    args: argparse.Namespace, device: torch.device, with_local: bool, materialize: bool
) -> Callable[[], Callable[[], Any]]:
    """A builder of (model, optimiser, batch) returning the train-step callable."""

    def make() -> Callable[[], Any]:
        model = common.build_model(args.backbone, with_local, device)
        wrapper = common.build_optim_wrapper(model, args.amp)
        data = random_l2g_batch(
            args.batch_size,
            args.global_size,
            args.crop_size,
            args.num_views if with_local else 0,
            common.NUM_CLASSES,
            materialize=materialize,
            seed=args.seed,
        )
        return lambda: model.train_step(data, wrapper)

    return make


def measure_memory(args: argparse.Namespace, device: torch.device) -> Dict[str, Any]:
    """Peak step memory (bytes above the resident state) of the three configurations."""
    configs = dict(l2g_sliced=(True, False), l2g_materialised=(True, True), cam=(False, False))
    out: Dict[str, Any] = {}
    for name, (with_local, materialize) in configs.items():
        peak, method = common.measure_step_peak_memory(
            _step_factory(args, device, with_local, materialize), device
        )
        out[name] = peak
        out["method"] = method
    return out


def _clear_grads(module: torch.nn.Module) -> Callable[[], None]:
    params = list(module.parameters())

    def clear() -> None:
        for p in params:
            p.grad = None

    return clear


def build_timed(
    args: argparse.Namespace, device: torch.device
) -> Tuple[Dict[str, Callable[[], Any]], Dict[str, Callable[[], Any]], Dict[str, Any]]:
    """The timed callables, their untimed setups and facts about the batches."""
    l2g = common.build_model(args.backbone, True, device)
    l2g_wrapper = common.build_optim_wrapper(l2g, args.amp)
    cam = common.build_model(args.backbone, False, device)
    cam_wrapper = common.build_optim_wrapper(cam, args.amp)
    make = dict(
        batch_size=args.batch_size,
        size=args.global_size,
        crop=args.crop_size,
        num_classes=common.NUM_CLASSES,
        seed=args.seed,
    )
    data = random_l2g_batch(num_views=args.num_views, **make)
    data_mat = random_l2g_batch(num_views=args.num_views, materialize=True, **make)
    data_cam = random_l2g_batch(num_views=0, **make)
    with torch.no_grad():
        pre = l2g.data_preprocessor(data, True)
    inputs, local_inputs = pre["inputs"], pre["local_inputs"]

    def global_fwd_bwd() -> None:
        with l2g_wrapper.optim_context(l2g):
            logits = l2g.extract_cam_logits(inputs)
        l2g_wrapper.backward(logits.float().mean())

    def local_fwd_bwd() -> None:
        with l2g_wrapper.optim_context(l2g):
            logits = l2g.extract_local_logits(local_inputs)
        l2g_wrapper.backward(logits.float().mean())

    fns: Dict[str, Callable[[], Any]] = dict(
        l2g_step=lambda: l2g.train_step(data, l2g_wrapper),
        global_fwd_bwd=global_fwd_bwd,
        local_fwd_bwd=local_fwd_bwd,
        optim_step=l2g_wrapper.step,  # after the two parts: every gradient is set
        cam_step=lambda: cam.train_step(data_cam, cam_wrapper),
        l2g_step_materialised=lambda: l2g.train_step(data_mat, l2g_wrapper),
        preprocess=lambda: l2g.data_preprocessor(data, True),
    )
    setups = dict(
        global_fwd_bwd=_clear_net(l2g, "global"),
        local_fwd_bwd=_clear_net(l2g, "local"),
    )
    with torch.no_grad():
        global_shape = list(l2g.extract_cam_logits(inputs).shape[1:])
        local_shape = list(l2g.extract_local_logits(local_inputs).shape[1:])
    facts = dict(
        batch_bytes_sliced=common.batch_nbytes(data),
        batch_bytes_materialised=common.batch_nbytes(data_mat),
        local_inputs_shape=list(local_inputs.shape),
        global_logits_shape=global_shape,
        local_logits_shape=local_shape,
        params_per_network=sum(p.numel() for p in cam.parameters()),
    )
    l2g.zero_grad(set_to_none=True)
    return fns, setups, facts


def _clear_net(model: torch.nn.Module, which: str) -> Callable[[], None]:
    """Sets the gradients of the global (or local) backbone and head to None."""
    modules = [getattr(model, f"{which}_backbone"), getattr(model, f"{which}_head")]
    clears = [_clear_grads(m) for m in modules]

    def clear() -> None:
        for fn in clears:
            fn()

    return clear


def run(args: argparse.Namespace) -> Tuple[Dict[str, Any], List[common.Ratio]]:
    """Runs the benchmark; returns the JSON document and its ratios."""
    device = common.check_common_args(args)
    common.init_registries()
    # Memory first: on CPU it forks, best before this process has run parallel kernels.
    memory = None if args.no_memory else measure_memory(args, device)
    fns, setups, facts = build_timed(args, device)
    timings = common.time_interleaved(fns, device, args.warmup, args.repeats, setups)
    t = {name: timing.median for name, timing in timings.items()}
    parts = t["global_fwd_bwd"] + t["local_fwd_bwd"] + t["optim_step"]
    theory = theoretical_l2g_over_cam(args.num_views, args.crop_size, args.global_size)

    def step_over_parts(x: Dict[str, float]) -> float:
        return x["l2g_step"] / (x["global_fwd_bwd"] + x["local_fwd_bwd"] + x["optim_step"])

    ratios = [
        common.Ratio(
            "step_over_parts",
            "L2G train_step / (global fwd+bwd + local fwd+bwd + optimiser step)",
            **common.timing_ratio(timings, step_over_parts),
            goal=("<=", 1.10),
        ),
        common.Ratio(
            "l2g_over_cam",
            "L2G train_step / plain-CAM train_step",
            **common.timing_ratio(timings, lambda x: x["l2g_step"] / x["cam_step"]),
            note=f"theory 1 + N(S/G)^2 = {theory:.2f}",
        ),
        common.Ratio(
            "materialised_over_sliced_time",
            "L2G step, crops in pipeline / sliced on device (time)",
            **common.timing_ratio(timings, lambda x: x["l2g_step_materialised"] / x["l2g_step"]),
        ),
    ]
    measurements: Dict[str, Any] = dict(
        times_ms={name: timing.summary_ms() for name, timing in timings.items()},
        parts_sum_ms=parts * 1e3,
        overhead_ms=(t["l2g_step"] - parts) * 1e3,
        l2g_iters_per_s=1.0 / t["l2g_step"],
        l2g_images_per_s=args.batch_size / t["l2g_step"],
        cam_iters_per_s=1.0 / t["cam_step"],
        cam_images_per_s=args.batch_size / t["cam_step"],
        theory_l2g_over_cam=theory,
        **facts,
    )
    if memory is not None:
        ratios += [
            common.Ratio(
                "memory_l2g_over_cam",
                "peak step memory, L2G / plain CAM",
                memory["l2g_sliced"] / max(memory["cam"], 1),
            ),
            common.Ratio(
                "memory_materialised_over_sliced",
                "peak step memory, crops in pipeline / sliced on device",
                memory["l2g_materialised"] / max(memory["l2g_sliced"], 1),
            ),
        ]
        measurements["peak_step_memory_mib"] = {
            k: v / MIB for k, v in memory.items() if k != "method"
        }
        measurements["memory_method"] = memory["method"]
    if args.profile:
        prof = common.profile_top_ops(fns["l2g_step"], device)
        print(prof.pop("table"))
        prof["python"] = common.cprofile_top(fns["l2g_step"])
        print(prof["python"])
        measurements["profile_l2g_step"] = prof
    doc = common.result_document(NAME, common.settings_of(args), ratios, measurements, device)
    return doc, ratios


def print_measurements(doc: Dict[str, Any]) -> None:
    """Prints the absolute times and rates."""
    m = doc["measurements"]
    for name, times in m["times_ms"].items():
        print(f"  {name:24s} median {times['median']:9.2f} ms   min {times['min']:9.2f} ms")
    print(
        f"  L2G {m['l2g_iters_per_s']:.2f} it/s, {m['l2g_images_per_s']:.1f} img/s; "
        f"CAM {m['cam_iters_per_s']:.2f} it/s, {m['cam_images_per_s']:.1f} img/s"
    )
    if "peak_step_memory_mib" in m:
        peaks = ", ".join(f"{k} {v:.1f} MiB" for k, v in m["peak_step_memory_mib"].items())
        print(f"  peak step memory: {peaks} ({m['memory_method']})")


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Entry point; returns the JSON document."""
    return common.bench_main(NAME, parse_args, run, print_measurements, argv)


if __name__ == "__main__":
    main()
