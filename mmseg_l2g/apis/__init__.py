"""The user-facing facade, as mmseg's ``apis``: init a model, infer one image.

Stage 2 over a dataset is :mod:`mmseg_l2g.stage2`; the I/O layer :mod:`mmseg_l2g.io`.
"""

from .inference import inference_l2g, init_l2g_model

__all__ = ["inference_l2g", "init_l2g_model"]
