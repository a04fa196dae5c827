"""The one L2G drawing and the mask of one image (mmseg's init_model + inference_model).

Usage (mmseg's ``demo/image_demo.py`` flags, plus ``--out-dir`` and ``--labels``):
    python3 demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out-file FILE] [--out-dir DIR]
        [--device cpu] [--opacity 0.5] [--with-labels | --no-with-labels] [--title NAME]
        [--labels CLASS [CLASS ...]]

The drawing is ``L2GLocalVisualizer``'s one layout: image | CAM | mask, each
under a title, the mask's classes in a legend below it. ``--out-file`` writes
it to FILE; ``--out-dir`` writes ``DIR/<image name>_cam.jpg`` (unless
``--out-file``) and ``DIR/<image name>_mask.png`` (palette PNG: 0 =
background, c = class c); with neither, as mmseg's demo, the drawing is shown
in a window named ``--title``. With ``--labels`` the
CAMs are read for those classes (the image-level labels, as in stage 2);
without, for the classes the classifier predicts. An error ends in one line
and exit status 1 (``--debug``: the traceback).
"""

import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmseg.apis import inference_model, init_model
from mmseg.structures import SegDataSample

from mmseg_l2g.io import save_palette_png
from mmseg_l2g.utils.cli import add_debug_arg, check_folder_arg, run_main
from mmseg_l2g.visualization import L2GLocalVisualizer
from mmseg_l2g.visualization.layout_file import write_jpeg, write_picture


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments (mmseg's image_demo flags and ours)."""
    parser = argparse.ArgumentParser(description="The L2G drawing and mask of one image")
    parser.add_argument("image", help="image file")
    parser.add_argument("config", help="L2G config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--out-file", help="file for the drawing (its extension: the format)")
    parser.add_argument("--out-dir", help="folder for the drawing and the mask")
    parser.add_argument(
        "--device", default="cuda:0" if torch.cuda.is_available() else "cpu", help="device"
    )
    parser.add_argument(
        "--opacity", type=float, default=0.5, help="opacity of the mask colours, in (0, 1]"
    )
    parser.add_argument(
        "--with-labels",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the class legend under the mask (default: on)",
    )
    parser.add_argument(
        "--title", default="result", help="the window's name (without --out-file / --out-dir)"
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


def output_paths(args: argparse.Namespace) -> Tuple[Optional[str], Optional[str]]:
    """(drawing, mask): where ``--out-file`` / ``--out-dir`` put them (None: not written).

    Raises:
        ValueError: an output that would overwrite an input.
    """
    if not args.out_file and not args.out_dir:
        return None, None
    check_folder_arg(args.out_dir, "--out-dir")
    if args.out_file:
        check_folder_arg(osp.dirname(args.out_file), "--out-file")
    stem = osp.splitext(osp.basename(args.image))[0]
    mask_file = osp.join(args.out_dir, stem + "_mask.png") if args.out_dir else None
    drawing = args.out_file or osp.join(args.out_dir, stem + "_cam.jpg")
    outputs = [path for path in (drawing, mask_file) if path]
    for flag, path in (
        ("image", args.image),
        ("config", args.config),
        ("checkpoint", args.checkpoint),
    ):
        for out in outputs:
            if osp.abspath(path) == osp.abspath(out):
                raise ValueError(f"the output {out} would overwrite the {flag} {path}")
    return drawing, mask_file


def load_model(args: argparse.Namespace) -> torch.nn.Module:
    """mmseg's ``init_model``; its errors name the checkpoint."""
    try:
        return init_model(args.config, args.checkpoint, device=args.device)
    except KeyError as exc:  # mmseg's init_model reads checkpoint['meta']
        raise ValueError(
            f"checkpoint {args.checkpoint}: no {exc.args[0]!r} entry (mmseg's init_model reads "
            "the classes from meta.dataset_meta, as MMEngine's Runner saves them)"
        ) from exc
    except ValueError as exc:  # e.g. heads of another class count: name the file
        if args.checkpoint in str(exc):
            raise
        raise ValueError(f"checkpoint {args.checkpoint}: {exc}") from exc


def draw(
    visualizer: L2GLocalVisualizer, model: torch.nn.Module, result: SegDataSample, args
) -> np.ndarray:
    """``L2GLocalVisualizer``'s one layout of the prediction (no ground truth), RGB."""
    return visualizer.draw_layout(
        mmcv.imread(args.image, channel_order="rgb"),
        result,
        draw_gt=False,
        with_labels=args.with_labels,
        classes=model.dataset_meta["classes"],
        palette=model.dataset_meta["palette"],
    )


def run(args: argparse.Namespace) -> List[str]:
    """Writes the drawing (and with ``--out-dir`` the mask) or shows it; returns the files."""
    for flag, path in (("image", args.image), ("config", args.config)):
        if not osp.isfile(path):
            raise FileNotFoundError(f"{flag} not found: {path}")
    if not 0 < args.opacity <= 1:
        raise ValueError(f"--opacity must be in (0, 1], got {args.opacity}")
    drawing_file, mask_file = output_paths(args)
    model = load_model(args)
    classes, palette = model.dataset_meta["classes"], model.dataset_meta["palette"]
    if args.labels:
        result = predict_with_labels(model, args.image, label_vector(args.labels, classes))
    else:
        result = inference_model(model, args.image)
    visualizer = L2GLocalVisualizer(name="image_demo", vis_backends=[], alpha=args.opacity)
    drawing = draw(visualizer, model, result, args)
    mask = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
    found = [classes[c] for c in np.unique(mask) if 0 < c < len(classes)]
    if drawing_file is None:
        print(f"classes in the mask: {found or 'none'}")
        visualizer.show(drawing, win_name=args.title)
        return []
    for path in filter(None, (drawing_file, mask_file)):
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if drawing_file.lower().endswith((".jpg", ".jpeg")):
        write_jpeg(drawing_file, drawing)
    else:
        write_picture(drawing_file, drawing)
    written = [drawing_file]
    if mask_file:
        save_palette_png(mask_file, mask, palette)
        written.append(mask_file)
    print(f"wrote {' and '.join(written)}; classes in the mask: {found or 'none'}")
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: an error ends in one line, exit status 1."""
    args = parse_args(argv)
    return run_main("image_demo.py", lambda: run(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
