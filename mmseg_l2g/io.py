"""The package's one I/O layer: atomic writes, mask PNGs, CAM files, temp-file naming.

Every writer puts the bytes into a temp file in the target's folder and renames
it over the target (``os.replace``), so a file that exists is complete: an
interrupted run never leaves a half-written output. The outputs hold no
timestamps, so equal content gives equal bytes.

Temp files are named ``.tmp_l2g.<pid>.<random><suffix>``: the process id marks
whose they are, so :func:`remove_stale_temp_files` removes only this package's
temp files whose process has ended (left by a killed run), never a user's file
nor the temp file of a run still writing.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import zipfile
from typing import Any, Iterator, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

IGNORE_INDEX = 255
TEMP_PREFIX = ".tmp_l2g."
_TEMP_NAME = re.compile(r"^\.tmp_l2g\.(\d+)\.[A-Za-z0-9_]+(\.[A-Za-z0-9]+)?$")
# Fixed zip entry time, so that an npz's bytes depend only on its arrays.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
WHITE = (255, 255, 255)


def _process_umask() -> int:
    """The process umask (read once at import: ``os.umask`` can only read by setting)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp makes owner-only (0600) files; outputs get the mode ``open`` would give.
NEW_FILE_MODE = 0o666 & ~_process_umask()


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yields a temp path beside ``path``; renames it to ``path`` on success.

    The folder is created when missing; on an exception the temp file is
    removed and ``path`` is left untouched. The file gets the mode of the file
    it replaces, or that of a new file under the process umask.

    Args:
        path: the final output path.

    Yields:
        The temp path to write to (same folder and suffix as ``path``).
    """
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp_path = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{os.getpid()}.", suffix=suffix, dir=folder
        )
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        yield tmp_path
        mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else NEW_FILE_MODE
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically; an error names ``path``, leaves nothing."""
    with atomic_output(path) as tmp_path, open(tmp_path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str, text: str) -> None:
    """Writes UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str, obj: Any) -> None:
    """Writes ``obj`` as indented JSON (NaN and infinite floats as ``null``), atomically."""
    text = json.dumps(_finite_or_none(obj), indent=2, allow_nan=False)
    atomic_write_text(path, text + "\n")


def atomic_copy(src: str, path: str) -> None:
    """Copies ``src`` to ``path`` atomically (contents only)."""
    with atomic_output(path) as tmp_path:
        shutil.copyfile(src, tmp_path)


def _finite_or_none(obj: Any) -> Any:
    """Replaces NaN and infinite floats by ``None`` everywhere in a nested structure."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {key: _finite_or_none(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(value) for value in obj]
    return obj


def temp_file_owner(name: str) -> Optional[int]:
    """The process id in one of :func:`atomic_output`'s temp names; ``None`` for other names."""
    match = _TEMP_NAME.match(name)
    return int(match.group(1)) if match else None


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temp_files(folder: str) -> int:
    """Deletes this package's temp files in ``folder`` whose process has ended.

    A user's files (even ``.tmp_*`` ones) and the temp files of a live process
    are kept.

    Args:
        folder: the folder (not recursive; a missing folder removes nothing).

    Returns:
        How many files were removed.
    """
    if not os.path.isdir(folder):
        return 0
    removed = 0
    for name in os.listdir(folder):
        owner = temp_file_owner(name)
        if owner is not None and not _process_alive(owner):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))
                removed += 1
    return removed


def palette_table(
    palette: Sequence[Sequence[int]],
    fill: Sequence[int] = WHITE,
    ignore_colour: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """A (256, 3) uint8 colour table: ``palette`` first, ``fill`` after it.

    Args:
        palette: RGB triples of values 0..len-1.
        fill: colour of the values beyond ``palette``.
        ignore_colour: colour of :data:`IGNORE_INDEX` (default: as the rest).
    """
    table = np.empty((256, 3), dtype=np.uint8)
    table[:] = np.asarray(fill, dtype=np.uint8)
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256]
    table[: len(colours)] = colours
    if ignore_colour is not None:
        table[IGNORE_INDEX] = np.asarray(ignore_colour, dtype=np.uint8)
    return table


def colorize_mask(mask: np.ndarray, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """RGB (H, W, 3) colours of a class-index mask (values beyond the palette white)."""
    return palette_table(palette)[mask]


def encode_palette_png(
    mask: np.ndarray,
    palette: Sequence[Sequence[int]],
    fill: Sequence[int] = WHITE,
    ignore_colour: Optional[Sequence[int]] = None,
) -> bytes:
    """Encodes a class-index mask as a palette ("P" mode) PNG.

    Args:
        mask: uint8 (H, W) class indices (255 = ignore).
        palette: RGB triples, value i coloured ``palette[i]``.
        fill: colour of the values beyond ``palette``.
        ignore_colour: colour of 255 (default: ``fill``, or the palette's).

    Returns:
        The PNG file bytes.
    """
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D (H, W), got shape {mask.shape}")
    image = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="P")
    image.putpalette(palette_table(palette, fill, ignore_colour).tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def save_palette_png(path: str, mask: np.ndarray, palette: Sequence[Sequence[int]]) -> None:
    """Writes a class-index mask as a palette PNG, atomically."""
    atomic_write_bytes(path, encode_palette_png(mask, palette))


def save_cams_npz(path: str, cams: np.ndarray, labels: np.ndarray) -> None:
    """Writes CAMs as a compressed float16 npz (keys ``cams``, ``labels``), atomically.

    The zip entries carry a fixed date, so equal arrays give equal bytes.

    Args:
        path: the target ``.npz`` file.
        cams: (n, H, W) maps of the image's classes, stored as float16.
        labels: (n,) 0-based foreground class indices of the maps.
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
    """Reads CAMs written by :func:`save_cams_npz`, refusing values outside [0, 1].

    Args:
        path: the ``.npz`` file.

    Returns:
        ``(cams, labels)``: float16 (n, H, W) and int64 (n,).

    Raises:
        ValueError: naming the file: unreadable, keys or shapes wrong, or
            values NaN, infinite or outside [0, 1].
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
    if not np.issubdtype(cams.dtype, np.floating) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"CAM file {path}: cams must be float and labels integer, got "
            f"{cams.dtype} and {labels.dtype}"
        )
    if cams.size and not (np.isfinite(cams).all() and cams.min() >= 0 and cams.max() <= 1):
        raise ValueError(
            f"CAM file {path}: CAMs must be finite and in [0, 1] (normalised), got "
            f"NaN / infinite / out-of-range values"
        )
    return cams, labels
