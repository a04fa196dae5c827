from .formatting import PackL2GInputs  # noqa: F401
from .geometric import PadWithSaliency, ResizeWithSaliency  # noqa: F401
from .loading import LoadSaliencyMap, LoadWSSSAnnotations, LoadWSSSImage  # noqa: F401
from .local_crop import LocalCropTransform  # noqa: F401
from .photometric import PILColorJitter  # noqa: F401
from .saliency import NormalizeSaliency  # noqa: F401
