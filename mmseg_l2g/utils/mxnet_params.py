"""Reads MXNet ``.params`` files (NDArray lists) without MXNet.

The layout (little-endian), as MXNet's ``NDArray::Save`` / ``NDArray::Load``
in ``src/ndarray/ndarray.cc`` write and read it::

    uint64 0x112 (kMXAPINDArrayListMagic), uint64 reserved (0)
    uint64 N, then N arrays
    uint64 M (0 or N), then M names: uint64 length + bytes ('arg:...', 'aux:...')

One array, in one of four versions told apart by its first uint32:

- legacy (before 0.9): that uint32 is ``ndim``, then ``ndim`` uint32 dims;
- V1 ``0xF993FAC8``: uint32 ``ndim``, then ``ndim`` int64 dims;
- V2 ``0xF993FAC9``: int32 storage type (0 dense, 1 row-sparse, 2 CSR), for
  sparse arrays the storage shape, then the shape as in V1;
- V3 ``0xF993FACA`` (NumPy shape semantics): as V2 with an int32 ``ndim``
  where -1 means "no array" and 0 a scalar.

Then (unless the array is empty: ``ndim`` 0, or -1 in V3) the context
(int32 device type, int32 device id), the int32 dtype flag, and the data in
C order. Only dense arrays are supported (parameter files hold no sparse ones).
"""

from __future__ import annotations

import math
import os
import struct
from collections import OrderedDict
from typing import BinaryIO, Dict, List, Optional, Tuple

import numpy as np

NDARRAY_LIST_MAGIC = 0x112
NDARRAY_V1_MAGIC = 0xF993FAC8
NDARRAY_V2_MAGIC = 0xF993FAC9
NDARRAY_V3_MAGIC = 0xF993FACA
# mshadow type flags -> numpy dtypes (little-endian).
MXNET_DTYPES: Dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
    7: np.dtype("?"),
    8: np.dtype("<i2"),
    9: np.dtype("<u2"),
    10: np.dtype("<u4"),
    11: np.dtype("<u8"),
}
_STORAGE_NAMES = {1: "row_sparse", 2: "csr"}
# A sanity bound: no real list holds more arrays, no real array more dims.
_MAX_ARRAYS = 1 << 24
_MAX_NDIM = 32


class _Reader:
    """Reads little-endian fields from a binary file, naming the file on errors."""

    def __init__(self, stream: BinaryIO, path: str) -> None:
        self.stream = stream
        self.path = path
        self.size = os.fstat(stream.fileno()).st_size

    def error(self, message: str) -> ValueError:
        """A ValueError naming the file and the current offset."""
        return ValueError(f"{self.path}: {message} (at byte {self.stream.tell()})")

    def read(self, size: int, what: str) -> bytes:
        """Reads exactly ``size`` bytes or raises naming ``what`` was cut short.

        A size beyond the end of the file is refused before anything is read
        (a corrupt header cannot make it allocate more than the file holds).
        """
        remaining = self.size - self.stream.tell()
        if size > remaining:
            raise self.error(
                f"file ends inside {what}: it declares {size} bytes, the file has only "
                f"{remaining} left"
            )
        data = self.stream.read(size)
        if len(data) != size:
            raise self.error(f"file ends inside {what}: expected {size} bytes, got {len(data)}")
        return data

    def unpack(self, fmt: str, what: str) -> Tuple:
        """Reads one ``struct`` format (little-endian)."""
        return struct.unpack("<" + fmt, self.read(struct.calcsize("<" + fmt), what))

    def u32(self, what: str) -> int:
        return self.unpack("I", what)[0]

    def i32(self, what: str) -> int:
        return self.unpack("i", what)[0]

    def u64(self, what: str) -> int:
        return self.unpack("Q", what)[0]


def _read_shape(reader: _Reader, ndim: int, dim_fmt: str, what: str) -> Tuple[int, ...]:
    """Reads ``ndim`` dims of ``dim_fmt`` ('I' or 'q') and checks them."""
    if not 0 <= ndim <= _MAX_NDIM:
        raise reader.error(f"{what}: implausible number of dimensions {ndim}")
    dims = reader.unpack(f"{ndim}{dim_fmt}", what) if ndim else ()
    if any(d < 0 for d in dims):
        raise reader.error(f"{what}: negative dimension in shape {dims}")
    return tuple(int(d) for d in dims)


def _read_payload(reader: _Reader, shape: Tuple[int, ...], what: str) -> np.ndarray:
    """Reads context, dtype flag and data of an array of ``shape``."""
    reader.unpack("ii", f"{what} context")
    type_flag = reader.i32(f"{what} dtype flag")
    if type_flag not in MXNET_DTYPES:
        raise reader.error(
            f"{what}: unsupported dtype flag {type_flag} (known: {sorted(MXNET_DTYPES)})"
        )
    dtype = MXNET_DTYPES[type_flag]
    count = math.prod(shape)  # Python integers: a huge shape cannot overflow to 0
    data = reader.read(count * dtype.itemsize, f"{what} data of shape {shape} ({count} elements)")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _read_ndarray(reader: _Reader, what: str) -> Optional[np.ndarray]:
    """Reads one array in any version; returns None for an empty (none) array."""
    magic = reader.u32(f"{what} header")
    if magic in (NDARRAY_V2_MAGIC, NDARRAY_V3_MAGIC):
        storage = reader.i32(f"{what} storage type")
        if storage != 0:
            name = _STORAGE_NAMES.get(storage, f"unknown ({storage})")
            raise reader.error(f"{what}: {name} storage is not supported, only dense arrays")
        ndim = reader.i32(f"{what} shape")
        if magic == NDARRAY_V3_MAGIC and ndim == -1:
            return None
        shape = _read_shape(reader, ndim, "q", f"{what} shape")
        if magic == NDARRAY_V2_MAGIC and ndim == 0:
            return None
    elif magic == NDARRAY_V1_MAGIC:
        shape = _read_shape(reader, reader.u32(f"{what} shape"), "q", f"{what} shape")
        if not shape:
            return None
    else:  # legacy: the first uint32 is ndim, dims are uint32
        shape = _read_shape(reader, magic, "I", f"{what} shape (legacy format)")
        if not shape:
            return None
    return _read_payload(reader, shape, what)


def read_ndarray_list(path: str) -> Tuple[List[Optional[np.ndarray]], List[str]]:
    """Reads an MXNet NDArray list file.

    Args:
        path: the ``.params`` (or ``nd.save``) file.

    Returns:
        The arrays (None for an empty array) and their names (empty when the
        list was saved without names).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not an NDArray list or is truncated or
            corrupt; the message names the file, the problem and the offset.
    """
    with open(path, "rb") as stream:
        reader = _Reader(stream, path)
        header = reader.u64("file header")
        if header != NDARRAY_LIST_MAGIC:
            raise reader.error(
                f"not an MXNet NDArray list: header {header:#x}, expected {NDARRAY_LIST_MAGIC:#x}"
            )
        reader.u64("reserved header field")
        count = reader.u64("array count")
        if count > _MAX_ARRAYS:
            raise reader.error(f"implausible array count {count}")
        arrays = [_read_ndarray(reader, f"array {i}") for i in range(count)]
        num_names = reader.u64("name count")
        if num_names not in (0, count):
            raise reader.error(f"{num_names} names for {count} arrays")
        names = []
        for i in range(num_names):
            length = reader.u64(f"name {i} length")
            raw = reader.read(length, f"name {i}")
            try:
                names.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise reader.error(f"name {i} is not UTF-8 text ({exc})") from exc
        if stream.read(1):
            raise reader.error("unexpected bytes after the name list")
    return arrays, names


def load_mxnet_params(path: str) -> Dict[str, np.ndarray]:
    """Reads a named MXNet parameter file into ``name -> array`` (file order).

    Args:
        path: the ``.params`` file.

    Returns:
        Ordered ``{'arg:conv1a_weight': array, 'aux:bn7_moving_mean': ...}``.

    Raises:
        ValueError: as :func:`read_ndarray_list`, or the file has no names,
            a duplicate name or an empty array.
    """
    arrays, names = read_ndarray_list(path)
    if arrays and not names:
        raise ValueError(f"{path}: the NDArray list has no names; parameter files always have")
    params: Dict[str, np.ndarray] = OrderedDict()
    for name, array in zip(names, arrays):
        if name in params:
            raise ValueError(f"{path}: duplicate parameter name {name!r}")
        if array is None:
            raise ValueError(f"{path}: parameter {name!r} is an empty (uninitialised) array")
        params[name] = array
    return params
