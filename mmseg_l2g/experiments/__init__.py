"""The three stages as one path: the end-to-end demo and the synthetic benchmark."""

from .experiment import ExperimentPlan, run_experiment
from .stages import StageRunner

__all__ = ["ExperimentPlan", "StageRunner", "run_experiment"]
