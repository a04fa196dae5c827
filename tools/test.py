"""Test (evaluate) a checkpoint from a config (mmseg's tools/test.py flags)."""

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg_l2g.engine.checkpointing import load_weights_strict
from mmseg_l2g.engine.distributed import (
    LAUNCHERS,
    configure_cpu_distributed,
    destroy_process_group,
    init_process_group,
)


def parse_args() -> argparse.Namespace:
    """Command-line arguments, as mmseg's tools/test.py."""
    parser = argparse.ArgumentParser(description="Test (and evaluate) a model")
    parser.add_argument("config", help="test config file path")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--work-dir", help="the directory to save the evaluation metrics")
    parser.add_argument("--out", help="directory to save the predicted masks as PNG")
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
    """Loads the config, applies overrides and points it at the checkpoint."""
    for path, what in ((args.config, "config"), (args.checkpoint, "checkpoint")):
        if not osp.isfile(path):
            raise FileNotFoundError(f"{what} file not found: {path}")
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir", None) is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator["output_dir"] = args.out
        cfg.test_evaluator["keep_results"] = True
    if args.launcher != "none" and not torch.cuda.is_available():
        configure_cpu_distributed(cfg, args.launcher)
    return cfg


def check_checkpoint_fits(runner: Runner, checkpoint: str, config: str) -> None:
    """Refuses a checkpoint that is unreadable or does not fit the config's model.

    MMEngine loads ``load_from`` with ``strict=False``: missing or unexpected
    keys are only logged, and a partly random model would be scored. The
    errors name the checkpoint (and the mismatched keys).
    """
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    load_weights_strict(model, checkpoint, config)


def main() -> None:
    """Builds the Runner and runs the test loop."""
    args = parse_args()
    cfg = build_config(args)
    init_process_group(args.launcher, start_cuda=False)
    try:
        runner = Runner.from_cfg(cfg)
        check_checkpoint_fits(runner, args.checkpoint, args.config)
        runner.test()
    finally:
        destroy_process_group()


if __name__ == "__main__":
    main()
