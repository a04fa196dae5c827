"""Hooks of the L2G training runs (registered in mmseg's HOOKS)."""

from .cam_generation_hook import CAMGenerationHook

__all__ = ["CAMGenerationHook"]
