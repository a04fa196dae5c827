"""Reading and writing image-level label lists and split lists.

Three label sources give the same result, a dict ``img_id -> float32 (C,)``
multi-hot array over the C foreground classes (``label[i] == 1`` means mask
value ``i + 1`` is present):

- a text list, one image a line: ``<img_id> <cls> <cls> ...``, where each
  ``<cls>`` is a 0-based foreground class index (aeroplane = 0 on VOC, as in
  the L2G release's ``train_cls.txt``) or a foreground class name (spaces in
  a name written as ``_``, e.g. ``traffic_light``);
- the common ``cls_labels.npy``: a pickled dict ``img_id -> multi-hot (C,)``,
  read with a restricted unpickler that builds numpy arrays and plain
  containers only (a crafted file cannot run code: any other global is
  refused, naming the file);
- a ground-truth mask PNG (class indices): the classes present among 1..C,
  ignoring 0 (background) and 255 (ignore).

Every error names the file, the line number where there is one, and the
problem.
"""

from __future__ import annotations

import codecs
import os
import re
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

from ..io import IGNORE_INDEX, atomic_write_text
from .safe_npy import read_npy_pickle

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

_INT_TOKEN = re.compile(r"^[+-]?\d+$")
_NUMBER_LIKE = re.compile(r"^[+-]?[\d.]")

LabelDict = Dict[str, np.ndarray]

# Longest first: the UTF-32 little-endian mark starts with the UTF-16 one.
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _normalise_name(name: str) -> str:
    """Lower-cases a class name and writes spaces and ``_`` alike."""
    return name.strip().lower().replace("_", " ")


def _read_lines(path: str) -> List[str]:
    """Reads a UTF-8 text file (a leading byte-order mark is dropped).

    A decode error names the file and line; a UTF-16 / UTF-32 file is named
    as such.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"list file not found: {path}")
    with open(path, "rb") as f:
        content = f.read()
    for bom, encoding in _FOREIGN_BOMS:
        if content.startswith(bom):
            raise ValueError(f"{path}: the file is {encoding} text; save it as UTF-8")
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    raw_lines = content.splitlines()
    lines = []
    for lineno, raw in enumerate(raw_lines, start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: malformed line, not UTF-8 text ({exc})") from exc
    return lines


def image_id_from_token(token: str) -> str:
    """Returns the image id named by a split-list token.

    ``2007_000032`` stays as it is; a path such as ``/JPEGImages/2007_000032.jpg``
    gives its file stem.

    Args:
        token: the first token of a split-list line.

    Returns:
        The image id.
    """
    name = token.replace("\\", "/").rsplit("/", 1)[-1]
    stem, ext = os.path.splitext(name)
    return stem if ext.lower() in IMAGE_EXTENSIONS else name


def read_split_ids(path: str) -> List[str]:
    """Reads a split list: one image a line, as an id or VOC-aug style paths.

    Lines such as ``/JPEGImages/x.jpg /SegmentationClassAug/x.png`` give ``x``
    (the stem of the first token). Blank lines and lines starting with ``#``
    are skipped.

    Args:
        path: the split list.

    Returns:
        The image ids, in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: an id appears twice (both line numbers are named).
    """
    return [img_id for _, img_id, _ in _id_lines(path)]


def _id_lines(path: str) -> Iterator[Tuple[int, str, List[str]]]:
    """The lines of a list file that name an image: ``(line number, image id, tokens)``.

    Blank lines and lines starting with ``#`` are skipped.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line without an image id, or an id a second time (both
            line numbers are named).
    """
    first_line: Dict[str, int] = {}
    for lineno, line in enumerate(_read_lines(path), start=1):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        img_id = image_id_from_token(tokens[0])
        if not img_id:
            raise ValueError(f"{path}:{lineno}: malformed line, no image id in {line!r}")
        if img_id in first_line:
            raise ValueError(
                f"{path}:{lineno}: duplicate image id {img_id!r} (first on line "
                f"{first_line[img_id]})"
            )
        first_line[img_id] = lineno
        yield lineno, img_id, tokens


def parse_label_list(path: str, class_names: Sequence[str]) -> LabelDict:
    """Parses a text label list ``<img_id> <cls> <cls> ...``.

    Args:
        path: the text file.
        class_names: the C foreground class names (background excluded), in
            label order.

    Returns:
        ``img_id -> float32 (C,)`` multi-hot labels. A line with an id only
        gives an all-zero label (the caller decides what to do with it).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a malformed line or token, an unknown class name, an index
            out of range or a duplicate id; the message names the file and
            the line.
    """
    num_classes = len(class_names)
    name_to_index = {_normalise_name(n): i for i, n in enumerate(class_names)}
    labels: LabelDict = {}
    for lineno, img_id, tokens in _id_lines(path):
        label = np.zeros(num_classes, dtype=np.float32)
        for token in tokens[1:]:
            label[_class_index(token, name_to_index, num_classes, path, lineno)] = 1.0
        labels[img_id] = label
    return labels


def _class_index(
    token: str, name_to_index: Mapping[str, int], num_classes: int, path: str, lineno: int
) -> int:
    """Turns one label token (index or name) into a 0-based class index."""
    if _INT_TOKEN.match(token):
        index = int(token)
        if not 0 <= index < num_classes:
            raise ValueError(
                f"{path}:{lineno}: class index {index} out of range 0..{num_classes - 1} "
                "(indices are 0-based over the foreground classes, background excluded)"
            )
        return index
    if _NUMBER_LIKE.match(token):
        raise ValueError(
            f"{path}:{lineno}: malformed label token {token!r}: expected an integer "
            "class index or a class name"
        )
    key = _normalise_name(token)
    if key not in name_to_index:
        hint = " (background is not a foreground class)" if key == "background" else ""
        raise ValueError(f"{path}:{lineno}: unknown class name {token!r}{hint}")
    return name_to_index[key]


def _numeric_label(value: object) -> Optional[np.ndarray]:
    """The value as a float32 vector if it is a numeric array or list, else None."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float32).reshape(-1) if value.dtype.kind in "biuf" else None
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float, np.number)) for v in value
    ):
        return np.asarray(value, dtype=np.float32)
    return None


def load_cls_labels_npy(path: str, num_classes: int) -> LabelDict:
    """Loads the common ``cls_labels.npy`` dict ``img_id -> multi-hot (C,)``.

    The pickle inside is read by a restricted unpickler: numpy arrays, dicts,
    lists, strings and numbers only, so a crafted file cannot run code.

    Args:
        path: the ``.npy`` file (a dict saved with ``np.save``).
        num_classes: C, the number of foreground classes.

    Returns:
        ``img_id -> float32 (C,)`` multi-hot labels.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file asks for anything but numpy arrays (refused
            without running it), holds no dict of str -> numeric array, or
            an entry has the wrong length or values other than 0 and 1 (the
            entry's id is named).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"label file not found: {path}")
    content = read_npy_pickle(path)
    if isinstance(content, np.ndarray) and content.dtype == object and content.ndim == 0:
        content = content.item()
    if not isinstance(content, dict):
        what = type(content).__name__
        if isinstance(content, np.ndarray):
            what = f"a {content.dtype} array of shape {content.shape}"
        raise ValueError(f"{path}: expected a pickled dict img_id -> multi-hot array, got {what}")
    labels: LabelDict = {}
    for key, value in content.items():
        if not isinstance(key, (str, bytes)):
            raise ValueError(f"{path}: key {key!r} is not an image id (str)")
        img_id = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        label = _numeric_label(value)
        if label is None:
            raise ValueError(
                f"{path}: entry {img_id!r} is a {type(value).__name__}, not a numeric array"
            )
        if label.shape[0] != num_classes:
            raise ValueError(
                f"{path}: entry {img_id!r} has {label.shape[0]} values, expected "
                f"{num_classes} (one per foreground class)"
            )
        if not np.isin(label, (0.0, 1.0)).all():
            raise ValueError(f"{path}: entry {img_id!r} is not multi-hot (values other than 0/1)")
        labels[img_id] = label
    return labels


def load_label_file(path: str, class_names: Sequence[str]) -> LabelDict:
    """Loads a label file: ``.npy`` dict or text list, chosen by the suffix.

    Args:
        path: the label file.
        class_names: the C foreground class names, in label order.

    Returns:
        ``img_id -> float32 (C,)`` multi-hot labels.
    """
    if path.lower().endswith(".npy"):
        return load_cls_labels_npy(path, len(class_names))
    return parse_label_list(path, class_names)


def read_index_mask(path: str) -> np.ndarray:
    """Reads a class-index mask PNG (palette or grey) into an integer array.

    Palette PNGs give their indices, not their colours.

    Args:
        path: the mask file.

    Returns:
        (H, W) uint8 array (int64 for 16/32-bit masks).

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file cannot be decoded (unreadable or truncated).
        ValueError: the mask is a colour image, not class indices.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"mask not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in ("P", "L"):
                return np.array(image, dtype=np.uint8)
            if mode in ("I", "I;16", "I;16B", "I;16L"):
                return np.array(image).astype(np.int64)
    except OSError as exc:
        raise OSError(f"{path}: cannot read mask ({exc})") from exc
    raise ValueError(
        f"{path}: mask has image mode {mode!r}; expected class indices in a palette ('P') "
        "or grey ('L') PNG, not colours"
    )


def labels_from_mask(mask: Union[str, np.ndarray], num_classes: int) -> np.ndarray:
    """Derives the multi-hot label from a ground-truth mask.

    Args:
        mask: a mask file path or an (H, W) class-index array.
        num_classes: C; values 1..C are foreground, 0 and 255 are ignored.

    Returns:
        float32 (C,) multi-hot label.

    Raises:
        ValueError: the mask holds values outside 0..C and 255 (named with the
            file when a path was given).
    """
    where = mask if isinstance(mask, str) else "mask"
    values = np.unique(read_index_mask(mask) if isinstance(mask, str) else np.asarray(mask))
    bad = values[(values > num_classes) & (values != IGNORE_INDEX)]
    if bad.size or (values < 0).any():
        bad = np.concatenate([values[values < 0], bad])
        raise ValueError(
            f"{where}: mask values {bad.tolist()} out of range: expected 0 (background), "
            f"1..{num_classes} (classes) or {IGNORE_INDEX} (ignore)"
        )
    label = np.zeros(num_classes, dtype=np.float32)
    present = values[(values >= 1) & (values <= num_classes)]
    label[present.astype(np.int64) - 1] = 1.0
    return label


def format_label_line(
    img_id: str, label: np.ndarray, class_names: Optional[Sequence[str]] = None
) -> str:
    """Formats one text-list line: ``<img_id>`` then indices (or names).

    Args:
        img_id: the image id (no whitespace).
        label: (C,) multi-hot label.
        class_names: when given, writes names (spaces as ``_``) instead of
            0-based indices.

    Returns:
        The line, without a newline.
    """
    if not img_id or any(ch.isspace() for ch in img_id):
        raise ValueError(f"image id {img_id!r} is empty or holds whitespace")
    indices = np.flatnonzero(np.asarray(label) > 0.5).tolist()
    if class_names is None:
        tokens = [str(i) for i in indices]
    else:
        tokens = [class_names[i].replace(" ", "_") for i in indices]
    return " ".join([img_id, *tokens])


def write_label_list(
    path: str,
    labels: Union[Mapping[str, np.ndarray], Iterable[tuple]],
    class_names: Optional[Sequence[str]] = None,
) -> None:
    """Writes a text label list atomically (temp file + ``os.replace``).

    Args:
        path: the output file; its folder is created when missing.
        labels: ``img_id -> (C,) multi-hot`` mapping (or ``(id, label)``
            pairs), written in the given order.
        class_names: when given, writes class names instead of indices.

    Raises:
        OSError: the file cannot be written (read-only folder, full disk);
            the message names ``path`` and ``path`` is left as it was.
    """
    items = labels.items() if isinstance(labels, Mapping) else labels
    lines = [format_label_line(img_id, label, class_names) for img_id, label in items]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
