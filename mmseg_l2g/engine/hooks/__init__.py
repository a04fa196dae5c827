"""Hooks of the L2G training runs (registered in mmseg's HOOKS)."""

from .cam_generation_hook import CAMGenerationHook
from .finite_training_hook import FiniteTrainingHook

__all__ = ["CAMGenerationHook", "FiniteTrainingHook"]
