"""The three stages as one path: the end-to-end demo and the synthetic benchmark."""

from .checkpoints import cam_to_l2g_init
from .stages import StageRunner

__all__ = ["StageRunner", "cam_to_l2g_init"]
