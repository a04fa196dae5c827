"""The three stages as one path: the end-to-end demo and the synthetic benchmark."""

from .checkpoints import cam_to_l2g_init, latest_checkpoint
from .experiment import ExperimentPlan, run_experiment
from .stages import StageRunner

__all__ = [
    "ExperimentPlan",
    "StageRunner",
    "cam_to_l2g_init",
    "latest_checkpoint",
    "run_experiment",
]
