"""Train an L2G classifier or a segmenter from a config (mmseg's tools/train.py flags)."""

import argparse
import logging
import os
import os.path as osp
import pickle
import re
import tempfile
from pathlib import Path
from typing import Union

import torch
from mmengine.config import Config, DictAction
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import print_log
from mmengine.runner import Runner, find_latest_checkpoint

from mmseg_l2g.engine.cpu_distributed import configure_cpu_distributed, start_cpu_process_group

# A checkpoint's temp file left by a killed run (see AtomicLocalBackend.put).
_STALE_CHECKPOINT_TEMP = re.compile(r"^\.(iter|epoch)_\d+\.pth\..*\.tmp$")


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend, writing atomically and naming the file on failure.

    Checkpoints go to a temp file in the same folder, then ``os.replace``: a
    run killed or out of disk space mid-write leaves no partial ``iter_N.pth``,
    and the error names the file (a failed ``write`` alone does not).
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Writes ``obj`` to ``filepath`` atomically."""
        path = str(filepath)
        folder = osp.dirname(osp.abspath(path))
        tmp_path = None
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp_path = tempfile.mkstemp(
                dir=folder, prefix="." + osp.basename(path) + ".", suffix=".tmp"
            )
            with os.fdopen(fd, "wb") as f:
                f.write(obj)
            os.replace(tmp_path, path)
        except OSError as exc:
            if tmp_path is not None and osp.exists(tmp_path):
                os.remove(tmp_path)
            raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = "utf-8") -> None:
        """Writes the text ``obj`` to ``filepath`` atomically."""
        self.put(obj.encode(encoding), filepath)


def check_resume_checkpoint(work_dir: str) -> None:
    """Fails clearly, naming the file, when the checkpoint to resume from is unreadable.

    MMEngine's own error for a truncated or corrupt file names no file.
    """
    path = find_latest_checkpoint(work_dir) if osp.isdir(work_dir) else None
    if not path:
        return  # nothing to resume: MMEngine starts from scratch (and says so)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"--resume: {osp.join(work_dir, 'last_checkpoint')} names {path}, which does not exist"
        )
    check_checkpoint_readable(
        path,
        f"--resume: cannot load {path}, the checkpoint named by "
        f"{osp.join(work_dir, 'last_checkpoint')}",
        "write an earlier checkpoint's path into that file, or train without --resume",
    )


def check_checkpoint_readable(path: str, what: str, advice: str) -> None:
    """Loads ``path`` weights-only (allow-listed types, nothing runs); fails naming it.

    Args:
        path: a local checkpoint file.
        what: the start of the error message (names the file and its role).
        advice: what to do about it, ending the message.
    """
    from mmseg_l2g.engine.checkpoint_globals import register_checkpoint_globals

    register_checkpoint_globals()
    try:  # mmap: reads the structure, not the tensors
        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{what} ({exc}); {advice}") from exc


def remove_stale_checkpoint_temps(work_dir: str) -> None:
    """Deletes the checkpoint temp files a killed run left in ``work_dir`` (rank 0 only)."""
    if int(os.environ.get("RANK", "0")) != 0 or not osp.isdir(work_dir):
        return
    for name in os.listdir(work_dir):
        if _STALE_CHECKPOINT_TEMP.match(name):
            os.remove(osp.join(work_dir, name))
            print_log(f"removed {name}, left in {work_dir} by an interrupted run", "current")


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
        configure_cpu_distributed(cfg, args.launcher)
    return cfg


def main() -> None:
    """Builds the Runner from the config and trains."""
    args = parse_args()
    register_backend("local", AtomicLocalBackend, force=True, prefixes="")
    cfg = build_config(args)
    if args.resume:
        remove_stale_checkpoint_temps(cfg.work_dir)
        check_resume_checkpoint(cfg.work_dir)
    if cfg.get("load_from") and osp.isfile(cfg.load_from):
        what = f"load_from: cannot load {cfg.load_from}"
        check_checkpoint_readable(cfg.load_from, what, "give a trusted MMEngine checkpoint")
    start_cpu_process_group(args.launcher)
    try:
        runner = Runner.from_cfg(cfg) if "runner_type" not in cfg else None
        if runner is None:
            from mmengine.registry import RUNNERS

            runner = RUNNERS.build(cfg)
        runner.train()
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
