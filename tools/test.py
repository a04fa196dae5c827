"""Test (evaluate) a checkpoint from a config (mmseg's tools/test.py flags)."""

import argparse
import logging
import os.path as osp
import sys
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import Runner

from mmseg_l2g.engine.checkpointing import load_weights_strict
from mmseg_l2g.engine.distributed import destroy_process_group, init_process_group
from mmseg_l2g.engine.runner_config import add_runner_args, load_runner_config, parse_runner_args
from mmseg_l2g.utils.cli import check_folder_arg, positive_int, run_main


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments, as mmseg's tools/test.py."""
    parser = argparse.ArgumentParser(description="Test (and evaluate) a model")
    parser.add_argument("config", help="test config file path")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("--out", help="directory to save the predicted masks as PNG")
    parser.add_argument("--show", action="store_true", help="show the predictions in a window")
    parser.add_argument(
        "--show-dir",
        help="directory for the drawn predictions (the visualizer's save_dir: the images "
        "land in SHOW_DIR/vis_data/vis_image/)",
    )
    parser.add_argument(
        "--show-interval",
        type=positive_int,
        default=1,
        help="with --show / --show-dir: draw every N-th test batch (default 1: every image; "
        "mmseg's hook draws every 50th)",
    )
    parser.add_argument(
        "--wait-time", type=float, default=2, help="seconds each shown image stays (--show)"
    )
    parser.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation: the config's tta_pipeline and tta_model",
    )
    add_runner_args(parser, "the directory to save the evaluation metrics")
    return parse_runner_args(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """Loads the config, applies overrides and points it at the checkpoint."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f"checkpoint file not found: {args.checkpoint}")
    check_folder_arg(args.out, "--out")
    check_folder_arg(args.show_dir, "--show-dir")
    cfg = load_runner_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time, args.show_interval)
    if args.tta:
        use_tta(cfg, args.config)
    if args.out is not None:
        cfg.test_evaluator["output_dir"] = args.out
        cfg.test_evaluator["keep_results"] = True
    return cfg


def enable_visualization(
    cfg: Config, show: bool, show_dir: Optional[str], wait_time: float, interval: int = 1
) -> None:
    """Turns the config's ``SegVisualizationHook`` on, as mmseg's ``--show`` / ``--show-dir``.

    Args:
        cfg: the test config; needs ``default_hooks.visualization``.
        show: show each drawn image in a window for ``wait_time`` seconds.
        show_dir: the visualizer's ``save_dir`` (None: the run's log folder).
        wait_time: seconds per shown image.
        interval: draw every ``interval``-th batch (the hook's ``interval``).

    Raises:
        RuntimeError: the config has no visualization hook.
    """
    hook = cfg.get("default_hooks", {}).get("visualization")
    if hook is None:
        raise RuntimeError(
            "--show / --show-dir need a visualization hook in the config: "
            "default_hooks = dict(visualization=dict(type='SegVisualizationHook'))"
        )
    hook["draw"] = True
    hook["interval"] = interval
    if show:
        hook["show"] = True
        hook["wait_time"] = wait_time
    if show_dir:
        cfg.visualizer["save_dir"] = show_dir


def use_tta(cfg: Config, config_file: str) -> None:
    """Wraps the model in the config's ``tta_model`` and tests on its ``tta_pipeline``.

    Raises:
        KeyError: the config has no ``tta_model`` or no ``tta_pipeline``, naming it.
    """
    missing = [key for key in ("tta_model", "tta_pipeline") if key not in cfg]
    if missing:
        raise KeyError(f"--tta: config {config_file} has no {' and no '.join(missing)}")
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def drawing_message(
    num_images: int,
    num_batches: int,
    batch_size: int,
    interval: int,
    world_size: int,
    show: bool,
    show_dir: Optional[str],
) -> str:
    """What ``--show`` / ``--show-dir`` will draw and where, in one line.

    Args:
        num_images: the test set's images.
        num_batches: the batches of this process's loader.
        batch_size: images per batch.
        interval: the hook draws every ``interval``-th batch.
        world_size: processes; mmseg's hook draws on the main one only.
        show: the pictures go to a window.
        show_dir: the visualizer's ``save_dir``.
    """
    if show:
        where = "in a window"
    else:
        where = f"into {osp.join(show_dir, 'vis_data', 'vis_image')}"
    drawn_batches = num_batches // interval
    if interval == 1 and world_size == 1:
        return f"drawing all {num_images} test images {where}"
    share = " of the main process (mmseg's hook draws there only)" if world_size > 1 else ""
    hints = ["--show-interval 1 draws every batch"] if interval > 1 else []
    if world_size > 1:
        hints.append("one process (--launcher none) draws every image")
    return (
        f"drawing one batch in {interval}{share}: {drawn_batches} of {num_batches} batches, "
        f"at most {drawn_batches * batch_size} of {num_images} test images, {where}; "
        + "; ".join(hints)
    )


def announce_drawing(runner: Runner, args: argparse.Namespace) -> None:
    """Logs how many test images ``--show`` / ``--show-dir`` will draw, and where."""
    loader = runner.test_loop.dataloader
    message = drawing_message(
        len(loader.dataset),
        len(loader),
        loader.batch_size or 1,
        args.show_interval,
        get_world_size(),
        args.show,
        args.show_dir,
    )
    complete = args.show_interval == 1 and get_world_size() == 1
    print_log(message, logger=runner.logger, level=logging.INFO if complete else logging.WARNING)


def check_checkpoint_fits(runner: Runner, checkpoint: str, config: str) -> None:
    """Refuses a checkpoint that is unreadable or does not fit the config's model.

    MMEngine loads ``load_from`` with ``strict=False``: missing or unexpected
    keys are only logged, and a partly random model would be scored. The
    errors name the checkpoint (and the mismatched keys).
    """
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if isinstance(model, BaseTTAModel):  # --tta: the checkpoint is the wrapped model's
        model = model.module
    load_weights_strict(model, checkpoint, config)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Tests; a user error ends in one line (``--debug``: the traceback) and exit 1."""
    args = parse_args(argv)
    return run_main("test.py", lambda: run_test(args), debug=args.debug)


def run_test(args: argparse.Namespace) -> None:
    """Builds the Runner and runs the test loop."""
    cfg = build_config(args)
    init_process_group(args.launcher, start_cuda=False)
    try:
        runner = Runner.from_cfg(cfg)
        check_checkpoint_fits(runner, args.checkpoint, args.config)
        if args.show or args.show_dir:
            announce_drawing(runner, args)
        runner.test()
    finally:
        destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
