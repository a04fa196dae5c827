"""The command line and config handling tools/train.py and tools/test.py share (mmseg's flags)."""

from __future__ import annotations

import argparse
import os
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction

from ..utils.cli import add_debug_arg, check_folder_arg
from ..utils.package_files import resolve_config
from .distributed import LAUNCHERS, configure_cpu_distributed


def add_runner_args(parser: argparse.ArgumentParser, work_dir_help: str) -> None:
    """Adds ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank`` and ``--debug``."""
    parser.add_argument("--work-dir", help=work_dir_help)
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override settings in the config, key=value (xxx=yyy format)",
    )
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none", help="launcher")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    add_debug_arg(parser)


def parse_runner_args(
    parser: argparse.ArgumentParser, argv: Optional[Sequence[str]] = None
) -> argparse.Namespace:
    """Parses the command line; sets ``LOCAL_RANK`` from ``--local-rank`` when unset."""
    args = parser.parse_args(argv)
    if "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(args.local_rank)
    return args


def load_runner_config(args: argparse.Namespace) -> Config:
    """The config with the launcher, ``--cfg-options`` and the work dir applied.

    Raises:
        FileNotFoundError: the config file does not exist.
        NotADirectoryError: ``--work-dir`` is, or lies under, a file.
    """
    args.config = resolve_config(args.config)  # a file, or mmseg_l2g::REL
    if not osp.isfile(args.config):
        raise FileNotFoundError(f"config file not found: {args.config}")
    check_folder_arg(args.work_dir, "--work-dir")
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir", None) is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    if args.launcher != "none" and not torch.cuda.is_available():
        configure_cpu_distributed(cfg, args.launcher)
    return cfg
