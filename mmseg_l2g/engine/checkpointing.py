"""The one checkpoint layer: allow-listed loading, atomic saving, the latest, identity.

Loading runs ``torch.load(weights_only=True)`` with the trusted MMEngine types
of :mod:`.checkpoint_globals` allow-listed, so a hostile pickle is refused;
every error names the file. :func:`register_safe_checkpoint_loaders` (run when
``mmseg_l2g`` is imported) makes MMEngine's own loading (``load_checkpoint``,
``init_cfg=dict(type='Pretrained')``, ``--resume``, mmseg's ``init_model``) do
the same, whatever ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` or the torch version
says. Saving writes a temp file and renames it (:mod:`mmseg_l2g.io`), also for
MMEngine's own checkpoints (:class:`AtomicLocalBackend`).
"""

from __future__ import annotations

import functools
import hashlib
import os.path as osp
import pickle
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import torch
from mmengine.fileio import LocalBackend
from mmengine.runner import CheckpointLoader, find_latest_checkpoint

from ..io import atomic_output, atomic_write_bytes
from ..utils.errors import CheckpointMismatchError  # noqa: F401  (part of this module's API)
from .checkpoint_globals import register_checkpoint_globals

_SHOWN_KEYS = 5


_LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError)


def load_checkpoint_file(path: str, mmap: bool = False, map_location: Any = "cpu") -> Any:
    """``torch.load`` of a checkpoint with only the trusted types allowed.

    Args:
        path: the ``.pth`` file.
        mmap: map the file instead of reading the tensors (a structure check).
        map_location: as ``torch.load``'s.

    Returns:
        What the file holds.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is unreadable or holds other types (naming the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    register_checkpoint_globals()
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except _LOAD_ERRORS as exc:
        raise ValueError(f"checkpoint {path}: cannot load ({_first_line(exc)})") from exc


# Lines of torch's weights-only error that do not say what was refused.
_TORCH_BOILERPLATE = ("Check the doc", "Please file an issue", "(1)", "(2)", "Weights only")


def _first_line(exc: BaseException) -> str:
    """The line of a load error that says what is wrong (torch's run to a page).

    A weights-only refusal is reduced to the refused global or operation.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if lines and lines[0].startswith("Weights only load failed"):
        cause = [line for line in lines[1:] if not line.startswith(_TORCH_BOILERPLATE)]
        reason = cause[0] if cause else lines[0]
        return f"refused by weights-only loading: {reason.replace('WeightsUnpickler error: ', '')}"
    return lines[0] if lines else type(exc).__name__


# Counts, per thread, the wrapped MMEngine loaders running: their torch.load loads weights only.
_WEIGHTS_ONLY = threading.local()
_SAFE_MARK = "_l2g_weights_only"
_TORCH_LOAD = torch.load


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """MMEngine's local-file checkpoint loader, weights only (see :func:`load_checkpoint_file`).

    Registered for every path without a scheme, so ``mmengine.runner.load_checkpoint``,
    ``Pretrained`` initialisation and mmseg's ``init_model`` refuse a hostile pickle.
    """
    return load_checkpoint_file(osp.expanduser(str(filename)), map_location=map_location)


setattr(load_from_local, _SAFE_MARK, True)


def _weights_only_torch_load(*args: Any, **kwargs: Any) -> Any:
    """``torch.load``, forcing ``weights_only=True`` while a wrapped MMEngine loader runs."""
    if not getattr(_WEIGHTS_ONLY, "depth", 0):
        return _TORCH_LOAD(*args, **kwargs)
    kwargs.pop("pickle_module", None)
    kwargs["weights_only"] = True
    register_checkpoint_globals()
    try:
        return _TORCH_LOAD(*args, **kwargs)
    except _LOAD_ERRORS as exc:
        raise ValueError(f"cannot load ({_first_line(exc)})") from exc


def _weights_only_loader(loader: Callable) -> Callable:
    """Wraps one of MMEngine's scheme loaders (http, open-mmlab, ...) so it loads weights only.

    ``torch.load`` is replaced once by :func:`_weights_only_torch_load`, which
    passes every call through unchanged unless a wrapped loader runs in its thread.
    """

    @functools.wraps(loader)
    def load(filename: str, map_location: Any = None) -> Any:
        torch.load = _weights_only_torch_load
        _WEIGHTS_ONLY.depth = getattr(_WEIGHTS_ONLY, "depth", 0) + 1
        try:
            return loader(filename, map_location)
        except ValueError as exc:
            raise ValueError(f"checkpoint {filename}: {exc}") from exc
        finally:
            _WEIGHTS_ONLY.depth -= 1

    setattr(load, _SAFE_MARK, True)
    return load


def register_safe_checkpoint_loaders() -> None:
    """Makes every MMEngine checkpoint load ``weights_only=True`` (idempotent).

    Local files go through :func:`load_from_local`; the other schemes MMEngine
    registered (``http://``, ``torchvision://``, ``open-mmlab://``, ...) keep
    their download and cache but their ``torch.load`` loads weights only.
    ``torch.load`` passes an explicit ``weights_only`` over
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``, so the environment cannot turn it off.
    """
    register_checkpoint_globals()
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if getattr(loader, _SAFE_MARK, False):
            continue
        safe = load_from_local if prefix == "" else _weights_only_loader(loader)
        CheckpointLoader.register_scheme(prefix, safe, force=True)


def load_state_dict(path: str, require_finite: bool = False) -> Dict[str, torch.Tensor]:
    """Reads the model weights of an MMEngine checkpoint (or a bare state dict).

    Args:
        path: the ``.pth`` file.
        require_finite: refuse weights holding NaN or infinite values.

    Returns:
        The state dict (a leading ``module.`` of DDP-saved keys removed).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not a readable checkpoint, or non-finite weights (naming
            the file and the first such tensor).
    """
    loaded = load_checkpoint_file(path)
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(
            f"checkpoint {path}: expected a dict with a 'state_dict' of tensors (as MMEngine saves)"
        )
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    if require_finite:
        for key, value in state.items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise ValueError(
                    f"checkpoint {path}: weights {key} hold NaN or infinite values (training "
                    "diverged?); use an earlier checkpoint"
                )
    return state


def load_weights_strict(
    model: torch.nn.Module, path: str, config_name: str = "", require_finite: bool = False
) -> None:
    """Loads a checkpoint into a model; every key and shape must match.

    Args:
        model: the built model.
        path: the ``.pth`` file.
        config_name: the config the model came from, named in the error.
        require_finite: refuse non-finite weights.

    Raises:
        ValueError: the checkpoint does not fit, naming it and the mismatched
            keys (missing, unexpected, wrong shape).
    """
    state = load_state_dict(path, require_finite)
    missing, unexpected, shapes = compare_state_dicts(state, model.state_dict())
    if missing or unexpected or shapes:
        parts = []
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
            if keys:
                shown = ", ".join(keys[:_SHOWN_KEYS]) + (" ..." if len(keys) > _SHOWN_KEYS else "")
                parts.append(f"{len(keys)} {what} keys ({shown})")
        source = f" of config {config_name}" if config_name else ""
        raise ValueError(f"checkpoint {path} does not fit the model{source}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


def compare_state_dicts(
    state_dict: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]
) -> Tuple[List[str], List[str], List[str]]:
    """The keys of ``state_dict`` that do not fit a model's own state dict.

    Args:
        state_dict: the weights to load (a checkpoint's, a converter's output).
        own: ``model.state_dict()`` of the model they are meant for.

    Returns:
        Missing keys, unexpected keys (both sorted) and shape mismatches
        (``"key: checkpoint (..) vs model (..)"``, in the model's key order);
        all three empty means a strict load succeeds.
    """
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    mismatched = [
        f"{key}: checkpoint {tuple(state_dict[key].shape)} vs model {tuple(value.shape)}"
        for key, value in own.items()
        if key in state_dict and state_dict[key].shape != value.shape
    ]
    return missing, unexpected, mismatched


def key_check_lines(missing: List[str], unexpected: List[str], mismatched: List[str]) -> List[str]:
    """One ``check: N <kind> key(s): ...`` line per kind of :func:`compare_state_dicts`."""
    kinds = (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched))
    return [
        f"check: {len(keys)} {title} key(s)" + (": " + ", ".join(keys) if keys else "")
        for title, keys in kinds
    ]


def report_key_check(check: Tuple[List[str], List[str], List[str]], model_name: str) -> None:
    """Prints :func:`key_check_lines` of a :func:`compare_state_dicts` result.

    Raises:
        ValueError: any key is missing, unexpected or of another shape.
    """
    print("\n".join(key_check_lines(*check)))
    if any(check):
        raise ValueError(f"the weights do not fit {model_name}; nothing written")


def save_checkpoint(obj: Any, path: str) -> None:
    """``torch.save`` to ``path`` atomically (an error names the file)."""
    with atomic_output(path) as tmp_path:
        torch.save(obj, tmp_path)


def latest_checkpoint(work_dir: str) -> str:
    """The checkpoint MMEngine's ``last_checkpoint`` file in ``work_dir`` names.

    Raises:
        FileNotFoundError: no ``last_checkpoint``, or it names a missing file.
    """
    path = find_latest_checkpoint(work_dir) if osp.isdir(work_dir) else None
    if not path:
        raise FileNotFoundError(f"no checkpoint in {work_dir} (no last_checkpoint file)")
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"{osp.join(work_dir, 'last_checkpoint')} names {path}, which does not exist"
        )
    return path


def file_sha256(path: str, chunk_size: int = 1 << 20) -> str:
    """The SHA-256 hex digest of a file's content (identifies a checkpoint)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend, writing atomically and naming the file on failure.

    Registered by ``tools/train.py``: a run killed or out of disk space while
    saving leaves no partial ``iter_N.pth``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Writes ``obj`` to ``filepath`` atomically."""
        atomic_write_bytes(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = "utf-8") -> None:
        """Writes the text ``obj`` to ``filepath`` atomically."""
        self.put(obj.encode(encoding), filepath)


def check_resumable(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` will load, checked readable; ``None`` when there is none.

    Raises:
        FileNotFoundError: ``last_checkpoint`` names a missing file.
        ValueError: the checkpoint cannot be loaded (naming it).
    """
    if not osp.isfile(osp.join(work_dir, "last_checkpoint")):
        return None
    path = latest_checkpoint(work_dir)
    try:
        load_checkpoint_file(path, mmap=True)
    except ValueError as exc:
        marker = osp.join(work_dir, "last_checkpoint")
        raise ValueError(
            f"--resume: cannot load {path}, the checkpoint named by {marker} "
            f"({exc.__cause__ or exc}); write an earlier checkpoint's path into that file, "
            "or train without --resume"
        ) from exc
    return path
