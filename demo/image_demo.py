"""CAM overlay and mask of one image with an L2G checkpoint (mmseg's init_model + inference_model).

Usage:
    python3 demo/image_demo.py IMAGE CONFIG CHECKPOINT --out-dir DIR [--device cpu]
        [--labels CLASS [CLASS ...]]

Writes ``DIR/<image name>_cam.jpg`` (image | CAM heat map | mask) and
``DIR/<image name>_mask.png`` (palette PNG: 0 = background, c = class c).
With ``--labels`` the CAMs are read for those classes (the image-level labels,
as in stage 2); without, for the classes the classifier predicts. An error
ends in one line and exit status 1 (``--debug``: the traceback).
"""

import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmseg.apis import inference_model, init_model
from mmseg.structures import SegDataSample

from mmseg_l2g.io import save_palette_png
from mmseg_l2g.utils.cli import add_debug_arg, check_folder_arg, run_main
from mmseg_l2g.visualization.cam_overlay import render_cam_panel, save_cam_panel


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description="CAM overlay and mask of one image")
    parser.add_argument("image", help="image file")
    parser.add_argument("config", help="L2G config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--out-dir", required=True, help="folder for the overlay and the mask")
    parser.add_argument(
        "--device", default="cuda:0" if torch.cuda.is_available() else "cpu", help="device"
    )
    parser.add_argument(
        "--labels",
        nargs="+",
        metavar="CLASS",
        help="the image's classes (names); default: predicted",
    )
    add_debug_arg(parser)
    return parser.parse_args(argv)


def label_vector(names: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Multi-hot (C,) vector of class ``names``; ``classes`` starts with background.

    Raises:
        ValueError: a name that is not a foreground class, listing the valid ones.
    """
    foreground = list(classes[1:])
    unknown = [name for name in names if name not in foreground]
    if unknown:
        raise ValueError(f"unknown class(es) {unknown}; the classes are {foreground}")
    vector = np.zeros(len(foreground), np.float32)
    vector[[foreground.index(name) for name in names]] = 1
    return vector


@torch.no_grad()
def predict_with_labels(model: torch.nn.Module, image: str, labels: np.ndarray) -> SegDataSample:
    """The model's test pipeline and ``test_step`` on one image with its image-level labels."""
    data = Compose(model.cfg.test_pipeline)(dict(img_path=image, gt_label=labels))
    return model.test_step(pseudo_collate([data]))[0]


def run(args: argparse.Namespace) -> List[str]:
    """Writes the overlay and the mask; returns their paths."""
    for flag, path in (("image", args.image), ("config", args.config)):
        if not osp.isfile(path):
            raise FileNotFoundError(f"{flag} not found: {path}")
    check_folder_arg(args.out_dir, "--out-dir")
    stem = osp.splitext(osp.basename(args.image))[0]
    overlay, mask_file = (
        osp.join(args.out_dir, stem + suffix) for suffix in ("_cam.jpg", "_mask.png")
    )
    for flag, path in (
        ("image", args.image),
        ("config", args.config),
        ("checkpoint", args.checkpoint),
    ):
        if osp.abspath(path) in (osp.abspath(overlay), osp.abspath(mask_file)):
            raise ValueError(
                f"--out-dir {args.out_dir}: the output would overwrite the {flag} {path}"
            )
    try:
        model = init_model(args.config, args.checkpoint, device=args.device)
    except KeyError as exc:  # mmseg's init_model reads checkpoint['meta']
        raise ValueError(
            f"checkpoint {args.checkpoint}: no {exc.args[0]!r} entry (mmseg's init_model reads "
            "the classes from meta.dataset_meta, as MMEngine's Runner saves them)"
        ) from exc
    except ValueError as exc:  # e.g. heads of another class count: name the file
        if args.checkpoint in str(exc):
            raise
        raise ValueError(f"checkpoint {args.checkpoint}: {exc}") from exc
    classes, palette = model.dataset_meta["classes"], model.dataset_meta["palette"]
    if args.labels:
        result = predict_with_labels(model, args.image, label_vector(args.labels, classes))
    else:
        result = inference_model(model, args.image)
    cams = result.pred_cam.data.float().cpu().numpy()
    mask = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
    shown = cams[cams.reshape(len(cams), -1).max(axis=1) > 0]
    panel = render_cam_panel(mmcv.imread(args.image), shown, mask, palette)
    os.makedirs(args.out_dir, exist_ok=True)
    save_cam_panel(overlay, panel)
    save_palette_png(mask_file, mask, palette)
    found = [classes[c] for c in np.unique(mask) if 0 < c < len(classes)]
    print(f"wrote {overlay} and {mask_file}; classes in the mask: {found or 'none'}")
    return [overlay, mask_file]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: an error ends in one line, exit status 1."""
    args = parse_args(argv)
    return run_main("image_demo.py", lambda: run(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
