"""Reading the pickled object of a ``.npy`` file without running code from it.

The common ``cls_labels.npy`` is a dict saved with ``np.save`` (a pickle
inside a ``.npy``). ``np.load(allow_pickle=True)`` would run whatever a
crafted file asks for; here the pickle is read by an unpickler that builds
numpy arrays and plain containers only and refuses any other global, naming
the file.
"""

from __future__ import annotations

import pickle

import numpy as np

_NUMPY_CORE = getattr(np, "_core", None) or np.core
# The only globals a numpy-saved dict of numeric arrays references (numpy 1
# pickles name ``numpy.core``, numpy 2 ``numpy._core``).
_SAFE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{
        (module, name): getattr(_NUMPY_CORE.multiarray, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    },
}


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside the allow-list."""


class _LabelUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only: no other global is built."""

    def find_class(self, module: str, name: str) -> object:
        """Returns an allowed numpy constructor; refuses anything else."""
        if (module, name) in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[(module, name)]
        raise _RefusedGlobal(f"refused to load the global {module}.{name}")


def read_npy_pickle(path: str) -> object:
    """Reads the pickled object of a ``.npy`` file without running code from it.

    An object array (what ``np.save`` writes for a dict) is unpickled by
    :class:`_LabelUnpickler`; any other array is refused from its header,
    without reading its data.

    Raises:
        ValueError: not a ``.npy`` file, not an object array, or the pickle
            asks for a global that is not a numpy array constructor (the file
            and the global are named).
    """
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = read_header(f)
        except Exception as exc:  # numpy raises several types for a bad header
            raise ValueError(f"{path}: cannot read as a .npy file ({exc})") from exc
        if not dtype.hasobject:
            raise ValueError(
                f"{path}: expected a pickled dict img_id -> multi-hot array, got a {dtype} "
                f"array of shape {shape}"
            )
        try:
            return _LabelUnpickler(f, encoding="latin1").load()
        except _RefusedGlobal as exc:
            raise ValueError(
                f"{path}: {exc}; a label .npy may hold only a dict of image id -> "
                "numeric array (nothing else is unpickled, so no code in the file runs)"
            ) from exc
        except Exception as exc:  # a truncated or corrupt pickle raises several types
            raise ValueError(f"{path}: cannot read the pickled dict ({exc})") from exc
