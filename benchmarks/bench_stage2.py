"""Benchmark: stage-2 pseudo-mask generation against the network's forward time (item 3).

Times, round robin over the same images (a synthetic dataset made for the run,
or ``--data-root``) and the same randomly initialised global network:

- ``generation``: ``mmseg_l2g.stage2.generate_pseudo_masks`` with ``--batch-size``
  images per batch: image loading, multi-scale + flipped inference,
  upsampling, normalisation, pseudo masks, PNG writing (``--evaluate`` adds
  the threshold-sweep scoring);
- ``generation_single``: the same with one image per batch;
- ``forward`` / ``forward_single``: only ``extract_cam_logits`` on the inputs
  those runs feed the network (every scale, image and its flip stacked, in
  batches of ``--batch-size`` or one image, split into passes of the
  readout's ``forward_pixels`` as the readout splits them), prepared beforehand;
- ``release_loop``: the same images, model and readout written the release's
  way, one image, one scale and one flip per forward pass, a PNG per class map
  (and the mask, so both sides write a mask): :func:`release_loop`.

Ratios: ``generation_over_forward`` = generation / forward, goal <= 1.25;
the same one image at a time; ``batched_speedup`` = generation_single /
generation (and the forward-only speed-up); ``over_release_loop`` =
release_loop / generation, goal >= 1.5 on a CPU, >= 3 on a GPU.

Example::

    python benchmarks/bench_stage2.py
    python benchmarks/bench_stage2.py --backbone resnet50 --image-size 448 \\
        --num-images 32 --batch-size 8 --device cuda --amp
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np
import torch

from benchmarks.common import (
    Ratio,
    add_common_args,
    build_model,
    check_common_args,
    cprofile_top,
    default_out,
    finish,
    init_registries,
    profile_top_ops,
    quiet_logs,
    result_document,
    synthetic_data_root,
    time_interleaved,
    timing_ratio,
)

NAME = "stage2"
RATIO_KEYS = (
    "generation_over_forward",
    "generation_over_forward_single",
    "batched_speedup",
    "forward_batched_speedup",
    "over_release_loop",
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    from mmseg_l2g.models.classifiers.cam_readout import DEFAULT_SCALES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(parser, batch_size=4)
    parser.set_defaults(warmup=1, repeats=7)
    parser.add_argument("--num-images", type=int, default=16, help="images per run")
    parser.add_argument(
        "--image-size", type=int, default=None, help="synthetic image side (default: global size)"
    )
    parser.add_argument("--scales", type=float, nargs="+", default=list(DEFAULT_SCALES))
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument(
        "--forward-pixels",
        type=int,
        default=None,
        help="input pixels per forward pass (model.test_cfg.forward_pixels; default: by device)",
    )
    parser.add_argument("--workers", type=int, default=0, help="image-loading worker processes")
    parser.add_argument(
        "--prefetch-batches",
        type=int,
        default=None,
        help="batches loaded ahead on a thread (default: the library's, 2 on CUDA, 0 on CPU)",
    )
    parser.add_argument(
        "--writer-threads",
        type=int,
        default=None,
        help="output-writing threads (default: the library's, 2 on CUDA, 0 on CPU)",
    )
    parser.add_argument("--evaluate", action="store_true", help="also score against the masks")
    parser.add_argument("--data-root", default=None, help="an existing synthetic dataset")
    parser.add_argument(
        "--profile", action="store_true", help="also profile one generation run (torch + cProfile)"
    )
    args = parser.parse_args(argv)
    counts = [
        n for n in (args.workers, args.prefetch_batches, args.writer_threads) if n is not None
    ]
    if args.num_images < 1 or min(counts) < 0 or not all(s > 0 for s in args.scales):
        parser.error(
            "--num-images must be >= 1, --workers, --prefetch-batches and --writer-threads >= 0, "
            "--scales positive"
        )
    return args


def forward_inputs(
    model: torch.nn.Module, imgs: List[np.ndarray], batch_size: int
) -> List[torch.Tensor]:
    """The forward passes' inputs of the model's CAM readout, for batches of ``batch_size``
    images: every scale (with its flips), split as the readout splits it."""
    from mmseg_l2g.models.classifiers.cam_readout import forward_passes, scaled_inputs

    cfg = model.test_cfg
    device = next(model.parameters()).device
    inputs: List[torch.Tensor] = []
    for start in range(0, len(imgs), batch_size):
        batch = torch.from_numpy(np.stack(imgs[start : start + batch_size])).permute(0, 3, 1, 2)
        normed = model.data_preprocessor(dict(inputs=batch.to(device)), False)["inputs"]
        for scale in cfg.scales:
            scaled = scaled_inputs(normed, scale)
            per_pass = cfg.images_per_pass(*scaled.shape[-2:], device)
            inputs.extend(forward_passes(scaled, cfg.flip, per_pass))
    return inputs


def release_loop(
    model: torch.nn.Module, infos: List[Dict[str, Any]], out_dir: str
) -> Callable[[], None]:
    """Stage 2 written the release's way, as the side-by-side baseline.

    Per image: read it, normalise it, then one forward pass per scale and flip
    (a single image each), each pass's class maps upsampled (the readout's
    ``interp``) to the image and summed, ReLU, each map divided by its
    maximum; a grey PNG per class map and the mask (the readout's ``bg_thr``,
    the shipped mask rule) written with OpenCV. Same model, images and readout
    as ``generation``; only the loop differs.
    """
    import cv2
    import torch.nn.functional as F

    from mmseg_l2g.models.classifiers.cam_readout import (
        normalise_cams,
        present_classes,
        scaled_inputs,
    )
    from mmseg_l2g.models.postprocess.pseudo_mask import make_mask

    cfg = model.test_cfg
    device = next(model.parameters()).device

    def run() -> None:
        for info in infos:
            image = cv2.imread(info["img_path"], cv2.IMREAD_COLOR)
            batch = torch.from_numpy(image).permute(2, 0, 1)[None].to(device)
            normed = model.data_preprocessor(dict(inputs=batch), False)["inputs"]
            classes = present_classes(info["gt_label"])
            total = torch.zeros((len(classes), *image.shape[:2]), device=device)
            with torch.no_grad():
                for scale in cfg.scales:
                    for flip in (False, True) if cfg.flip else (False,):
                        x = scaled_inputs(normed, scale)
                        x = x.flip(-1) if flip else x
                        maps = model.extract_cam_logits(x)[:, classes.to(device)].float()
                        maps = maps.flip(-1) if flip else maps
                        total += F.interpolate(
                            maps, size=image.shape[:2], mode=cfg.interp, align_corners=False
                        )[0]
            cams = normalise_cams(total / cfg.num_maps)
            name = osp.splitext(osp.basename(info["img_path"]))[0]
            for index, cam in zip(classes.tolist(), cams):
                grey = (cam * 255).round().byte().cpu().numpy()
                cv2.imwrite(osp.join(out_dir, f"{name}_{index}.png"), grey)
            mask, _, _ = make_mask(cams.half(), classes, cfg.bg_thr)
            cv2.imwrite(osp.join(out_dir, f"{name}.png"), mask.cpu().numpy())

    return run


def _forward_all(model: torch.nn.Module, inputs: List[torch.Tensor], amp: bool) -> Callable:
    device_type = inputs[0].device.type

    def run() -> None:
        with torch.no_grad(), torch.autocast(device_type, torch.float16, enabled=amp):
            for x in inputs:
                model.extract_cam_logits(x)

    return run


def run(args: argparse.Namespace) -> Tuple[Dict[str, Any], List[Ratio]]:
    """Runs the benchmark; returns the JSON document and its ratios."""
    from mmseg.registry import DATASETS

    from mmseg_l2g.datasets.transforms.loading import read_bgr_image
    from mmseg_l2g.models.classifiers.cam_readout import CAMReadoutConfig
    from mmseg_l2g.stage2 import PseudoMaskSettings, generate_pseudo_masks

    device = check_common_args(args)
    init_registries()
    image_size = args.image_size or args.global_size
    flip = not args.no_flip
    cam_cfg = CAMReadoutConfig(
        scales=tuple(args.scales), flip=flip, fp16=args.amp, forward_pixels=args.forward_pixels
    )
    io_settings = PseudoMaskSettings(
        prefetch_batches=args.prefetch_batches, writer_threads=args.writer_threads
    )
    profile: Dict[str, Any] = {}
    with (
        synthetic_data_root(args.data_root, args.num_images, image_size, args.seed) as root,
        quiet_logs(),
    ):
        dataset = DATASETS.build(
            dict(
                type="SyntheticWSSSDataset",
                data_root=root,
                ann_file="ImageSets/Segmentation/train.txt",
                pipeline=[],
            )
        )
        indices = list(range(min(args.num_images, len(dataset))))
        imgs = [read_bgr_image(dataset.get_data_info(i)["img_path"]) for i in indices]
        if len({img.shape for img in imgs}) > 1:
            raise SystemExit("bench_stage2 needs images of one size (the forward baseline batches)")
        model = build_model(args.backbone, True, device).eval()
        model.test_cfg = cam_cfg  # stage 2's readout is the model's test_cfg
        out_dir = tempfile.mkdtemp(prefix="l2g_bench_stage2_", dir=root)
        release_dir = tempfile.mkdtemp(prefix="l2g_bench_release_", dir=root)
        infos = [dataset.get_data_info(i) for i in indices]

        def generation(batch_size: int) -> Callable[[], Any]:
            settings = PseudoMaskSettings(
                sweep=(0.25,),
                num_vis=0,
                batch_size=batch_size,
                num_workers=args.workers,
                prefetch_batches=args.prefetch_batches,
                writer_threads=args.writer_threads,
                overwrite=True,
            )
            return lambda: generate_pseudo_masks(
                model, dataset, out_dir, settings, indices, evaluate=args.evaluate, progress=False
            )

        fns = dict(
            generation=generation(args.batch_size),
            generation_single=generation(1),
            forward=_forward_all(model, forward_inputs(model, imgs, args.batch_size), args.amp),
            forward_single=_forward_all(model, forward_inputs(model, imgs, 1), args.amp),
            release_loop=release_loop(model, infos, release_dir),
        )
        timings = time_interleaved(fns, device, args.warmup, args.repeats)
        if args.profile:
            profile["torch"] = profile_top_ops(fns["generation"], device, steps=1)
            print(profile["torch"].pop("table"))
            profile["python"] = cprofile_top(fns["generation"])
            print(profile["python"])
    t = {name: timing.median for name, timing in timings.items()}
    num = len(indices)
    ratios = [
        Ratio(
            "generation_over_forward",
            f"pseudo-mask generation / network forward (batch {args.batch_size})",
            **timing_ratio(timings, lambda x: x["generation"] / x["forward"]),
            goal=("<=", 1.25),
        ),
        Ratio(
            "generation_over_forward_single",
            "pseudo-mask generation / network forward (one image at a time)",
            **timing_ratio(timings, lambda x: x["generation_single"] / x["forward_single"]),
        ),
        Ratio(
            "batched_speedup",
            f"generation speed-up, batch {args.batch_size} over one image at a time",
            **timing_ratio(timings, lambda x: x["generation_single"] / x["generation"]),
        ),
        Ratio(
            "forward_batched_speedup",
            f"forward-only speed-up, batch {args.batch_size} over one image at a time",
            **timing_ratio(timings, lambda x: x["forward_single"] / x["forward"]),
        ),
        Ratio(
            "over_release_loop",
            "speed-up over the release's per-image loop (one image, scale, flip per pass)",
            **timing_ratio(timings, lambda x: x["release_loop"] / x["generation"]),
            goal=(">=", 3.0 if device.type == "cuda" else 1.5),
        ),
    ]
    measurements = dict(
        times_ms={name: timing.summary_ms() for name, timing in timings.items()},
        ms_per_image={name: value * 1e3 / num for name, value in t.items()},
        images_per_s=num / t["generation"],
        num_images=num,
        image_size=image_size,
        maps_per_image=cam_cfg.num_maps,
        images_per_pass_at_scale_1=cam_cfg.images_per_pass(image_size, image_size, device),
        loader_workers=args.workers,
        prefetch_batches=io_settings.prefetch_for(device),
        writer_threads=io_settings.writer_threads_for(device),
    )
    if profile:
        measurements["profile_generation"] = profile
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    return result_document(NAME, settings, ratios, measurements, device), ratios


def print_measurements(doc: Dict[str, Any]) -> None:
    """Prints per-image times."""
    m = doc["measurements"]
    for name, value in m["ms_per_image"].items():
        print(f"  {name:20s} {value:9.2f} ms/image")
    print(
        f"  generation {m['images_per_s']:.1f} images/s ({m['loader_workers']} loading "
        f"workers, {m['prefetch_batches']} batches prefetched, "
        f"{m['writer_threads']} writer threads)"
    )


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Entry point; returns the JSON document."""
    args = parse_args(argv)
    doc, ratios = run(args)
    print_measurements(doc)
    finish(doc, ratios, default_out(NAME, args))
    return doc


if __name__ == "__main__":
    main()
