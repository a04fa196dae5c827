"""Classifiers: L2GClassifier (global + local CAM networks)."""

from .l2g_classifier import L2GClassifier

__all__ = ["L2GClassifier"]
