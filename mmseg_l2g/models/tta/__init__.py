"""Test-time augmentation models (``tools/test.py --tta``)."""

from .l2g_tta_model import L2GTTAModel

__all__ = ["L2GTTAModel"]
