"""mmseg_l2g: L2G (CVPR 2022) weakly supervised segmentation for OpenMMLab.

Importing this package registers every component in mmseg's registries, so a
config reaches them with ``custom_imports = dict(imports=['mmseg_l2g'])`` and
``default_scope = 'mmseg'``.
"""

from . import apis, datasets, engine, evaluation, models, stage2, visualization  # noqa: F401
from .engine import hooks  # noqa: F401  (after stage2, which the hook uses)
from .utils.package_files import register_config_scope
from .version import __version__

register_config_scope()  # _base_ = 'mmseg_l2g::...' in a user's config

__all__ = ["__version__"]
