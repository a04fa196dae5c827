"""Atomic file writes: a temp file in the target's folder, then ``os.replace``.

A reader (or a resumed run) never sees a half-written output: a file either
exists complete or not at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Any, Iterator

import numpy as np
from PIL import Image

TEMP_PREFIX = ".tmp_"


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
    it replaces, or that of a new file under the process umask (not
    ``mkstemp``'s owner-only 0600).

    Args:
        path: the final output path.

    Yields:
        The temp path to write to (same folder and suffix as ``path``).
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp_path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
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


def is_temp_file(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_output`'s temp names."""
    return name.startswith(TEMP_PREFIX)


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path`` atomically."""
    import torch

    with atomic_output(path) as tmp_path:
        torch.save(obj, tmp_path)


def atomic_write_text(text: str, path: str) -> None:
    """Writes UTF-8 text to ``path`` atomically."""
    with atomic_output(path) as tmp_path, open(tmp_path, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_copy(src: str, path: str) -> None:
    """Copies ``src`` to ``path`` atomically (contents only)."""
    with atomic_output(path) as tmp_path:
        shutil.copyfile(src, tmp_path)


def atomic_save_index_png(mask: np.ndarray, path: str, palette: list) -> None:
    """Saves an (H, W) uint8 class-index mask as a palette PNG atomically.

    Args:
        mask: class indices (0 background, 255 ignore).
        path: the output ``.png``.
        palette: up to 256 RGB triples (index -> colour).
    """
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise ValueError(f"{path}: expected an (H, W) uint8 mask, got {mask.dtype} {mask.shape}")
    image = Image.fromarray(mask)  # mode 'L'; putpalette makes it 'P'
    image.putpalette([value for color in palette for value in color])
    with atomic_output(path) as tmp_path:
        image.save(tmp_path, format="PNG")
