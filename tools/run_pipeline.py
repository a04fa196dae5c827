"""The end-to-end demo: python tools/run_pipeline.py (synthetic data or yours; three stages)."""

import argparse
import sys
from typing import Optional, Sequence

from mmseg_l2g.experiments.demo import BUDGETS, run_demo
from mmseg_l2g.utils.cli import add_debug_arg, check_folder_arg, positive_int, run_main


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments (all optional)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work-dir", default="work_dirs/demo", help="output folder")
    parser.add_argument(
        "--data-root",
        default=None,
        help="your VOC-layout dataset: JPEGImages/, SegmentationClass/, "
        "ImageSets/Segmentation/{train,val}.txt (+ {train,val}_cls.txt), a saliency folder, "
        "classes.txt (default: generated synthetic data)",
    )
    parser.add_argument(
        "--classes",
        default=None,
        help="class-name file, one foreground class a line in label-index order "
        "(default: DATA_ROOT/classes.txt or the synthetic meta.json)",
    )
    parser.add_argument(
        "--saliency-dir",
        default=None,
        help="saliency folder of grey PNGs, relative to the data root (default: Saliency)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the training")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="default", help="how much")
    parser.add_argument(
        "--batch-size", type=positive_int, default=None, help="override the batch size"
    )
    parser.add_argument("--quiet", action="store_true", help="tools' logs to pipeline.log only")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="reuse a --work-dir made with other settings: the trainings made with other "
        "settings run again, stage 2 is rebuilt (default: such a rerun is refused)",
    )
    add_debug_arg(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the demo; an error (a stage's own, naming it) ends in one line, exit status 1."""
    args = parse_args(argv)
    return run_main("run_pipeline.py", lambda: demo(args), debug=args.debug)


def demo(args: argparse.Namespace) -> None:
    """Runs the demo."""
    check_folder_arg(args.work_dir, "--work-dir")
    run_demo(
        work_dir=args.work_dir,
        data_root=args.data_root,
        seed=args.seed,
        budget=args.budget,
        batch_size=args.batch_size,
        quiet=args.quiet,
        classes_file=args.classes,
        saliency_dir=args.saliency_dir,
        overwrite=args.overwrite,
    )


if __name__ == "__main__":
    sys.exit(main())
