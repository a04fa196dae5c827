"""Test (evaluate) a checkpoint from a config (mmseg's tools/test.py flags)."""

import argparse
import os.path as osp

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg_l2g.engine.checkpointing import load_weights_strict
from mmseg_l2g.engine.distributed import destroy_process_group, init_process_group
from mmseg_l2g.engine.runner_config import add_runner_args, load_runner_config, parse_runner_args


def parse_args() -> argparse.Namespace:
    """Command-line arguments, as mmseg's tools/test.py."""
    parser = argparse.ArgumentParser(description="Test (and evaluate) a model")
    parser.add_argument("config", help="test config file path")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--out", help="directory to save the predicted masks as PNG")
    add_runner_args(parser, "the directory to save the evaluation metrics")
    return parse_runner_args(parser)


def build_config(args: argparse.Namespace) -> Config:
    """Loads the config, applies overrides and points it at the checkpoint."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f"checkpoint file not found: {args.checkpoint}")
    cfg = load_runner_config(args)
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cfg.test_evaluator["output_dir"] = args.out
        cfg.test_evaluator["keep_results"] = True
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
