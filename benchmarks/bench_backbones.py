"""Benchmark: L2G per backbone, each model built from its shipped config (issue 20).

For every config (``init_cfg`` removed: random initialisation, nothing is
downloaded; the head set to the synthetic data's 4 classes, so one random
batch serves every model), in one run, round robin:

- ``step``: ``model.train_step`` with the config's own optimiser wrapper on a
  random batch of ``--batch-size`` images of ``--size`` px, with the config's
  number of local views at the config's view-to-image ratio (the plain-CAM
  configs: no views);
- ``global``: the global network's forward + backward alone on the same images
  (the network's own pass, the denominator of the ratio);
- ``readout``: ``model.inference`` (the stage-2 readout of the config's
  ``test_cfg``: its scales and flips) on ``--batch-size`` images.

Printed per backbone: parameters of the global network, the measured output
stride, ms per train step, ms per image of the readout, and the ratio train
step / global forward + backward (what the local network and the transfer
losses add; the plain CAM's is about 1).

Example::

    python benchmarks/bench_backbones.py --threads 2
    python benchmarks/bench_backbones.py --device cuda --size 448 --configs \\
        configs/l2g/l2g_r50_1xb3-10e_voc12aug-448.py
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

NAME = "backbones"
DEFAULT_CONFIGS = (
    "configs/l2g/cam_plaincnn_1xb8-600it_synthetic-128.py",
    "configs/l2g/l2g_plaincnn_1xb8-600it_synthetic-128.py",
    "configs/l2g/l2g_tinyvit_1xb8-600it_synthetic-128.py",
    "configs/l2g/l2g_r50_1xb3-10e_voc12aug-448.py",
    "configs/l2g/l2g_deit-s16_1xb3-10e_voc12aug-448.py",
    "configs/l2g/l2g_swin-t_1xb3-10e_voc12aug-448.py",
    "configs/l2g/l2g_convnext-t_1xb3-10e_voc12aug-448.py",
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--size", type=int, default=128, help="image side of every model")
    common.add_device_args(parser)
    common.add_timing_args(parser, batch_size=2, warmup=1, repeats=3)
    args = parser.parse_args(argv)
    if min(args.size, args.batch_size, args.repeats) < 1 or args.warmup < 0:
        parser.error("--size, --batch-size and --repeats must be >= 1, --warmup >= 0")
    return args


def _config_view(cfg: Any) -> Tuple[int, float]:
    """The config's local views per image and view side / image side (0, 0 without)."""
    for transform in cfg.train_dataloader.dataset.pipeline:
        if transform["type"] == "LocalCropTransform":
            return transform["num_views"], transform["crop_size"] / cfg.global_size
    return 0, 0.0


def build_from_config(path: str, device: torch.device) -> Tuple[Any, torch.nn.Module, Any]:
    """The config, its model (random init, 4 classes) and its optimiser wrapper."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS

    from mmseg_l2g.utils.package_files import resolve_config

    cfg = Config.fromfile(resolve_config(path))
    cfg.model.backbone.pop("init_cfg", None)
    cfg.model.head.num_classes = common.NUM_CLASSES
    with common.quiet_logs():
        model = MODELS.build(cfg.model)
        model.init_weights()
        model = model.to(device).train()
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return cfg, model, wrapper


def _clear_grads(model: torch.nn.Module) -> Callable[[], None]:
    return lambda: model.zero_grad(set_to_none=True)


def backbone_callables(
    path: str, args: argparse.Namespace, device: torch.device
) -> Tuple[Dict[str, Callable[[], Any]], Dict[str, Any]]:
    """One config's timed callables (``step``, ``global``, ``readout``) and its facts."""
    cfg, model, wrapper = build_from_config(path, device)
    num_views, ratio = _config_view(cfg)
    crop = max(8, round(args.size * ratio)) if num_views else args.size
    data = random_l2g_batch(
        args.batch_size, args.size, crop, num_views, common.NUM_CLASSES, seed=args.seed
    )
    with torch.no_grad():
        inputs = model.data_preprocessor(data, True)["inputs"]
    classes = [torch.arange(common.NUM_CLASSES)] * args.batch_size

    def global_pass() -> None:
        with wrapper.optim_context(model):
            logits = model.extract_cam_logits(inputs)
        wrapper.backward(logits.float().mean())

    def readout() -> None:
        model.eval()
        with torch.no_grad():
            model.inference(inputs, classes)
        model.train()

    fns = dict(step=lambda: model.train_step(data, wrapper), global_fwd_bwd=global_pass)
    fns["readout"] = readout
    params = sum(p.numel() for p in model.global_backbone.parameters())
    params += sum(p.numel() for p in model.global_head.parameters())
    facts = dict(
        config=path,
        global_params_m=params / 1e6,
        feat_stride=model.feat_stride,
        num_views=num_views,
        crop_size=crop if num_views else None,
        readout_maps=model.test_cfg.num_maps,
        zero_grad=_clear_grads(model),
    )
    return fns, facts


def run(args: argparse.Namespace) -> Tuple[Dict[str, Any], List[common.Ratio]]:
    """Runs the benchmark; returns the JSON document and its ratios."""
    device = common.setup_device(args)
    common.init_registries()
    fns: Dict[str, Callable[[], Any]] = {}
    setups: Dict[str, Callable[[], Any]] = {}
    rows: Dict[str, Dict[str, Any]] = {}
    for path in args.configs:
        name = osp.splitext(osp.basename(path))[0]
        callables, facts = backbone_callables(path, args, device)
        clear = facts.pop("zero_grad")
        for part, fn in callables.items():
            fns[f"{name}/{part}"] = fn
            setups[f"{name}/{part}"] = clear
        rows[name] = facts
    timings = common.time_interleaved(fns, device, args.warmup, args.repeats, setups)
    ratios = []
    for name, facts in rows.items():
        t = {part: timings[f"{name}/{part}"].median for part in ("step", "global_fwd_bwd")}
        facts["step_ms"] = t["step"] * 1e3
        facts["global_fwd_bwd_ms"] = t["global_fwd_bwd"] * 1e3
        facts["readout_ms_per_image"] = timings[f"{name}/readout"].median * 1e3 / args.batch_size
        ratios.append(
            common.Ratio(
                f"{name}/step_over_global",
                f"{name}: train step / global fwd+bwd",
                **common.timing_ratio(
                    {p: timings[f"{name}/{p}"] for p in ("step", "global_fwd_bwd")},
                    lambda x: x["step"] / x["global_fwd_bwd"],
                ),
            )
        )
    measurements = dict(
        backbones=rows,
        times_ms={name: timing.summary_ms() for name, timing in timings.items()},
    )
    doc = common.result_document(NAME, common.settings_of(args), ratios, measurements, device)
    return doc, ratios


def print_measurements(doc: Dict[str, Any]) -> None:
    """Prints the backbone table (markdown)."""
    size = doc["settings"]["size"]
    batch = doc["settings"]["batch_size"]
    print(
        f"| config | global params (M) | stride | views | ms / train step ({batch} x {size} px) "
        "| readout ms / image | step / global fwd+bwd |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in doc["measurements"]["backbones"].items():
        ratio = doc["ratios"][f"{name}/step_over_global"]
        print(
            f"| {name} | {row['global_params_m']:.2f} | {row['feat_stride']} | {row['num_views']} "
            f"| {row['step_ms']:.0f} | {row['readout_ms_per_image']:.0f} | {ratio:.2f} |"
        )


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Entry point; returns the JSON document."""
    args = parse_args(argv)
    doc, ratios = run(args)
    print_measurements(doc)
    out = args.out or osp.join(common.RESULTS_DIR, f"{NAME}_{torch.device(args.device).type}.json")
    common.finish(doc, ratios, out)
    return doc


if __name__ == "__main__":
    main()
