"""Generates the built-in synthetic WSSS dataset (VOC layout) and a preview grid.

Example:
    python tools/make_synthetic.py --out data/synthetic --num-train 800 --num-val 200 --seed 0
"""

import argparse
import json
import os
import sys
import time
from typing import Any, Optional, Sequence

from mmseg_l2g.datasets.synthetic import make_synthetic


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="dataset root to write")
    parser.add_argument("--num-train", type=int, required=True, help="training images")
    parser.add_argument("--num-val", type=int, required=True, help="validation images")
    parser.add_argument("--seed", type=int, required=True, help="seed of the dataset")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--num-classes", type=int, default=4, help="foreground classes (1..12)")
    parser.add_argument(
        "--preview", default=None, help="preview grid PNG to write (default: <out>/preview.png)"
    )
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument(
        "--overwrite", action="store_true", help="regenerate a dataset made with other arguments"
    )
    parser.add_argument(
        "--design",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="SyntheticDesign overrides, values in JSON (e.g. body_texture_reliability=0.6 "
        "body_size_range=[0.25,0.5])",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def parse_design(pairs: Sequence[str]) -> dict[str, Any]:
    """Turns ``KEY=VALUE`` strings (JSON values) into keyword arguments."""
    design = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--design: expected KEY=VALUE, got {pair!r}")
        try:
            design[key] = json.loads(value)
        except json.JSONDecodeError as error:
            raise SystemExit(f"--design {key}: value {value!r} is not JSON ({error})") from error
    return design


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Runs the generator and prints where the dataset is."""
    args = parse_args(argv)
    preview = args.preview if args.preview is not None else os.path.join(args.out, "preview.png")
    start = time.perf_counter()
    try:
        meta = make_synthetic(
            args.out,
            num_train=args.num_train,
            num_val=args.num_val,
            seed=args.seed,
            size=args.size,
            num_classes=args.num_classes,
            num_workers=args.workers,
            progress=not args.no_progress,
            overwrite=args.overwrite,
            preview_path=preview,
            **parse_design(args.design),
        )
    except (ValueError, TypeError) as error:
        print(f"make_synthetic: error: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    elapsed = time.perf_counter() - start
    total = meta["num_train"] + meta["num_val"]
    print(
        f"\n{total} images ({meta['num_train']} train, {meta['num_val']} val) of "
        f"{meta['size']}x{meta['size']}, classes {meta['classes'][1:]}, in {args.out} "
        f"({elapsed:.1f} s); preview: {preview}"
    )


if __name__ == "__main__":
    main()
