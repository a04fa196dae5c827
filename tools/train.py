"""Train an L2G classifier or a segmenter from a config (mmseg's tools/train.py flags)."""

import argparse
import logging
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.fileio import register_backend
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_l2g.engine.checkpointing import (
    AtomicLocalBackend,
    check_resumable,
    load_checkpoint_file,
)
from mmseg_l2g.engine.distributed import (
    LAUNCHERS,
    configure_cpu_distributed,
    destroy_process_group,
    init_process_group,
)
from mmseg_l2g.io import remove_stale_temp_files


def parse_args() -> argparse.Namespace:
    """Command-line arguments, the same as mmseg's tools/train.py."""
    parser = argparse.ArgumentParser(description="Train an mmseg_l2g / mmseg model")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--work-dir", help="the dir to save logs and models")
    parser.add_argument(
        "--resume",
        action="store_true",
        default=False,
        help="resume from the latest checkpoint in the work_dir automatically",
    )
    parser.add_argument(
        "--amp", action="store_true", default=False, help="enable automatic-mixed-precision"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override settings in the config, key=value (xxx=yyy format)",
    )
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none", help="launcher")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args()
    if "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(args.local_rank)
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Loads the config and applies the command-line overrides."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f"config file not found: {args.config}")
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir", None) is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if cfg.optim_wrapper.get("type", "OptimWrapper") == "AmpOptimWrapper":
            print_log("AMP training is already enabled in your config.", "current", logging.WARNING)
        else:
            cfg.optim_wrapper.type = "AmpOptimWrapper"
            cfg.optim_wrapper.loss_scale = "dynamic"
    cfg.resume = args.resume
    if args.launcher != "none" and not torch.cuda.is_available():
        configure_cpu_distributed(cfg, args.launcher)
    return cfg


def main() -> None:
    """Builds the Runner from the config and trains."""
    args = parse_args()
    register_backend("local", AtomicLocalBackend, force=True, prefixes="")
    cfg = build_config(args)
    if args.resume:
        if int(os.environ.get("RANK", "0")) == 0:
            removed = remove_stale_temp_files(cfg.work_dir)
            if removed:
                print_log(f"removed {removed} temp files an interrupted run left", "current")
        check_resumable(cfg.work_dir)
    if cfg.get("load_from") and osp.isfile(cfg.load_from):
        try:  # allow-listed types only: a hostile file runs nothing and is named
            load_checkpoint_file(cfg.load_from, mmap=True)
        except ValueError as exc:
            raise ValueError(
                f"load_from: cannot load {cfg.load_from} ({exc.__cause__ or exc}); "
                "give a trusted MMEngine checkpoint"
            ) from exc
    init_process_group(args.launcher, start_cuda=False)
    try:
        runner = Runner.from_cfg(cfg) if "runner_type" not in cfg else None
        if runner is None:
            from mmengine.registry import RUNNERS

            runner = RUNNERS.build(cfg)
        runner.train()
    finally:
        destroy_process_group()


if __name__ == "__main__":
    main()
