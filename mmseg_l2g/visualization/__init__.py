"""Visualisation: mmseg's SegLocalVisualizer extended with L2G's fields."""

from .l2g_local_visualizer import L2GLocalVisualizer, saliency_panel

__all__ = ["L2GLocalVisualizer", "saliency_panel"]
