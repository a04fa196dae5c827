"""Error types shared across the package's floors."""


class CheckpointMismatchError(ValueError):
    """Weights whose shapes do not fit the model (raised by the model's load hook)."""
