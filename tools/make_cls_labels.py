"""Writes an image-level label list from ground-truth masks.

Each line of the output is ``<img_id> <cls> <cls> ...`` with 0-based
foreground class indices (mask value ``v`` in 1..C gives index ``v - 1``;
0 and 255 are ignored), the format :class:`mmseg_l2g.datasets.WSSSDataset`
reads as ``label_file``.

Example::

    python tools/make_cls_labels.py --mask-dir data/VOC2012/SegmentationClassAug \
        --split-file data/VOC2012/ImageSets/Segmentation/train_aug.txt \
        --out data/VOC2012/ImageSets/Segmentation/train_aug_cls.txt --num-classes 20
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmengine.utils import ProgressBar

from mmseg_l2g.datasets.label_io import labels_from_mask, read_split_ids, write_label_list


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mask-dir", required=True, help="folder of class-index mask PNGs")
    parser.add_argument("--split-file", required=True, help="split list, one image a line")
    parser.add_argument("--out", required=True, help="label list to write (atomically)")
    parser.add_argument(
        "--num-classes", type=int, required=True, help="C, foreground classes (20 VOC, 80 COCO)"
    )
    parser.add_argument("--mask-suffix", default=".png", help="mask file suffix")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the tool; returns the process exit code."""
    args = parse_args(argv)
    if args.num_classes < 1:
        raise SystemExit(f"--num-classes must be at least 1, got {args.num_classes}")
    if not osp.isdir(args.mask_dir):
        raise SystemExit(f"mask folder not found: {args.mask_dir}")
    ids = read_split_ids(args.split_file)
    if not ids:
        raise SystemExit(f"split list {args.split_file} holds no image ids")
    mask_paths = [osp.join(args.mask_dir, img_id + args.mask_suffix) for img_id in ids]
    missing = [path for path in mask_paths if not osp.isfile(path)]
    if missing:
        raise SystemExit(
            f"{len(missing)} of {len(ids)} masks of {args.split_file} not found "
            f"(first: {missing[0]})"
        )

    labels = {}
    progress = ProgressBar(len(ids), file=sys.stderr)
    for img_id, path in zip(ids, mask_paths):
        labels[img_id] = labels_from_mask(path, args.num_classes)
        progress.update()
    sys.stderr.write("\n")
    write_label_list(args.out, labels)

    empty = [img_id for img_id, label in labels.items() if not label.any()]
    print(f"wrote {len(labels)} labels to {args.out}")
    if empty:
        print(
            f"warning: {len(empty)} images have no foreground class (first: {empty[:3]}); "
            "the dataset drops them with a logged count"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
