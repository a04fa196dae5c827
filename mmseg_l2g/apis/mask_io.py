"""Atomic, byte-deterministic writers and readers for stage-2 outputs.

Every writer puts the bytes into a temporary file in the target's directory
and renames it over the target (``os.replace``), so a file that exists is
complete: an interrupted run never leaves a half-written PNG or npz. The
outputs hold no timestamps, so the same content always gives the same bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Sequence, Tuple

import numpy as np
from PIL import Image

from ..utils.atomic_io import atomic_write_bytes

# Fixed zip entry time, so that an npz's bytes depend only on its arrays.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def atomic_write_json(path: str, obj: Any) -> None:
    """Writes ``obj`` as indented JSON (NaN written as ``null``), atomically.

    Args:
        path: the target file.
        obj: a JSON-serialisable object; float NaN becomes ``null``.
    """
    text = json.dumps(_nan_to_none(obj), indent=2, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def _nan_to_none(obj: Any) -> Any:
    """Replaces float NaN by ``None`` everywhere in a nested structure."""
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {key: _nan_to_none(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(value) for value in obj]
    return obj


def encode_palette_png(mask: np.ndarray, palette: Sequence[Sequence[int]]) -> bytes:
    """Encodes a class-index mask as a palette ("P" mode) PNG.

    Args:
        mask: uint8 (H, W) class indices (255 = ignore).
        palette: RGB triples, index i coloured by ``palette[i]``; entries
            beyond it (255 included) are white.

    Returns:
        The PNG file bytes.
    """
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D (H, W), got shape {mask.shape}")
    flat = np.full((256, 3), 255, dtype=np.uint8)
    colors = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256]
    flat[: len(colors)] = colors
    image = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="P")
    image.putpalette(flat.reshape(-1).tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_palette_png(path: str, mask: np.ndarray, palette: Sequence[Sequence[int]]) -> None:
    """Writes a class-index mask as a palette PNG, atomically.

    Args:
        path: the target ``.png`` file.
        mask: uint8 (H, W) class indices (255 = ignore).
        palette: RGB triples of the classes (dataset ``metainfo['palette']``).
    """
    atomic_write_bytes(path, encode_palette_png(mask, palette))


def save_cams_npz(path: str, cams: np.ndarray, labels: np.ndarray) -> None:
    """Writes CAMs as a compressed float16 npz (keys ``cams``, ``labels``), atomically.

    The zip entries carry a fixed date, so equal arrays give equal bytes.

    Args:
        path: the target ``.npz`` file.
        cams: (n, H, W) maps of the image's classes, stored as float16.
        labels: (n,) 0-based foreground class indices of the maps (mask
            value = label + 1).
    """
    arrays = dict(
        cams=np.ascontiguousarray(cams, dtype=np.float16),
        labels=np.ascontiguousarray(labels, dtype=np.int64),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())


def load_cams_npz(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Reads CAMs written by :func:`save_cams_npz`.

    Args:
        path: the ``.npz`` file.

    Returns:
        ``(cams, labels)``: float16 (n, H, W) and int64 (n,).

    Raises:
        ValueError: the file is unreadable or lacks the keys.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files if key in ("cams", "labels")}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"CAM file {path}: cannot read ({exc})") from exc
    if set(arrays) != {"cams", "labels"}:
        raise ValueError(f"CAM file {path}: expected keys 'cams' and 'labels'")
    cams, labels = arrays["cams"], arrays["labels"]
    if cams.ndim != 3 or labels.shape != (cams.shape[0],):
        raise ValueError(
            f"CAM file {path}: cams must be (n, H, W) with n labels, got "
            f"cams {cams.shape} and labels {labels.shape}"
        )
    return cams, labels
