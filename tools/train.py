"""Train an L2G classifier or a segmenter from a config (mmseg's tools/train.py flags)."""

import argparse
import logging
import os
import os.path as osp
import sys
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.fileio import register_backend
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_l2g.engine.checkpointing import (
    AtomicLocalBackend,
    CheckpointMismatchError,
    check_resumable,
    load_checkpoint_file,
)
from mmseg_l2g.engine.distributed import destroy_process_group, init_process_group
from mmseg_l2g.engine.runner_config import add_runner_args, load_runner_config, parse_runner_args
from mmseg_l2g.io import remove_stale_temp_files
from mmseg_l2g.utils.cli import run_main


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments, the same as mmseg's tools/train.py."""
    parser = argparse.ArgumentParser(description="Train an mmseg_l2g / mmseg model")
    parser.add_argument("config", help="train config file path")
    parser.add_argument(
        "--resume",
        action="store_true",
        default=False,
        help="resume from the latest checkpoint in the work_dir automatically",
    )
    parser.add_argument(
        "--amp", action="store_true", default=False, help="enable automatic-mixed-precision"
    )
    add_runner_args(parser, "the dir to save logs and models")
    return parse_runner_args(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """Loads the config and applies the command-line overrides."""
    cfg = load_runner_config(args)
    if args.amp:
        if cfg.optim_wrapper.get("type", "OptimWrapper") == "AmpOptimWrapper":
            print_log("AMP training is already enabled in your config.", "current", logging.WARNING)
        else:
            cfg.optim_wrapper.type = "AmpOptimWrapper"
            cfg.optim_wrapper.loss_scale = "dynamic"
    cfg.resume = args.resume
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Trains; a user error ends in one line (``--debug``: the traceback) and exit 1."""
    args = parse_args(argv)
    return run_main("train.py", lambda: train(args), debug=args.debug)


def train(args: argparse.Namespace) -> None:
    """Builds the Runner from the config and trains."""
    register_backend("local", AtomicLocalBackend, force=True, prefixes="")
    cfg = build_config(args)
    source = f"load_from {cfg.load_from}" if cfg.get("load_from") else None
    if args.resume:
        if int(os.environ.get("RANK", "0")) == 0:
            removed = remove_stale_temp_files(cfg.work_dir)
            if removed:
                print_log(f"removed {removed} temp files an interrupted run left", "current")
        resumed = check_resumable(cfg.work_dir)
        source = f"--resume: {resumed}" if resumed else source
    if cfg.get("load_from") and osp.isfile(cfg.load_from):
        try:  # allow-listed types only: a hostile file runs nothing and is named
            load_checkpoint_file(cfg.load_from, mmap=True)
        except ValueError as exc:
            raise ValueError(
                f"load_from: cannot load {cfg.load_from} ({exc}); "
                "give a trusted MMEngine checkpoint"
            ) from exc
    init_process_group(args.launcher, start_cuda=False)
    try:
        runner = Runner.from_cfg(cfg) if "runner_type" not in cfg else None
        if runner is None:
            from mmengine.registry import RUNNERS

            runner = RUNNERS.build(cfg)
        runner.train()
    except CheckpointMismatchError as exc:  # name the file (the model's hook cannot)
        raise CheckpointMismatchError(f"{source}: {exc}" if source else str(exc)) from exc
    finally:
        destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
