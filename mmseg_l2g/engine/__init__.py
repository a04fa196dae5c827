"""Training-loop extensions (hooks) and checkpoint loading under torch >= 2.6."""

from . import hooks  # noqa: F401
from .checkpoint_globals import register_checkpoint_globals

register_checkpoint_globals()

__all__ = ["register_checkpoint_globals"]
