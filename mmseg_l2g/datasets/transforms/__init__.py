from .formatting import PackL2GInputs  # noqa: F401
from .geometric import RandomFlipWithSaliency, ResizeWithSaliency  # noqa: F401
from .loading import LoadSaliencyMap, LoadWSSSAnnotations, LoadWSSSImage  # noqa: F401
from .local_crop import LocalCropTransform  # noqa: F401
