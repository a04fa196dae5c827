"""Train an L2G classifier or a segmenter from a config (mmseg's tools/train.py flags)."""

import argparse
import logging
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner


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
    parser.add_argument(
        "--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none", help="launcher"
    )
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
        cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    return cfg


def main() -> None:
    """Builds the Runner from the config and trains."""
    args = parse_args()
    cfg = build_config(args)
    runner = Runner.from_cfg(cfg) if "runner_type" not in cfg else None
    if runner is None:
        from mmengine.registry import RUNNERS

        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == "__main__":
    main()
