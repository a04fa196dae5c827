"""Training-loop extensions: hooks, checkpointing (allow-listed loading), process groups.

``mmseg_l2g`` imports :mod:`.hooks` (which uses :mod:`mmseg_l2g.stage2`) after
the rest of the package, so this package's own import stays free of cycles.
"""

from .checkpoint_globals import register_checkpoint_globals
from .checkpointing import register_safe_checkpoint_loaders

register_checkpoint_globals()
register_safe_checkpoint_loaders()

__all__ = ["register_checkpoint_globals", "register_safe_checkpoint_loaders"]
