"""Visualisation: the one L2G layout, drawn by ``L2GLocalVisualizer`` (a SegLocalVisualizer)."""

from .cam_overlay import heat_overlay
from .l2g_local_visualizer import L2GLocalVisualizer, saliency_panel
from .layout_file import draw_cam_layout

__all__ = ["L2GLocalVisualizer", "draw_cam_layout", "heat_overlay", "saliency_panel"]
