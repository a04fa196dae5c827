"""mmseg_l2g: L2G (CVPR 2022) weakly supervised segmentation for OpenMMLab.

Importing this package registers every component in mmseg's registries, so a
config reaches them with ``custom_imports = dict(imports=['mmseg_l2g'])`` and
``default_scope = 'mmseg'``.
"""

from . import apis, datasets, engine, evaluation, models, stage2, visualization  # noqa: F401
from .engine import hooks  # noqa: F401  (after stage2, which the hook uses)
from .version import __version__

__all__ = ["__version__"]
