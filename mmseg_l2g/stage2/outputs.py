"""Stage 2's files: host copies without waiting, the per-image writes, the run's reports."""

from __future__ import annotations

import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..io import atomic_write_json, save_cams_npz, save_palette_png
from ..visualization.layout_file import draw_cam_layout, write_jpeg
from .async_writer import AsyncWriter
from .image_result import ImageResult

Palette = Sequence[Sequence[int]]


def to_host(
    tensors: Sequence[Optional[torch.Tensor]],
) -> Tuple[List[Optional[torch.Tensor]], Callable[[], None]]:
    """Copies tensors to the host without waiting; returns the copies and a ``wait``.

    CUDA tensors are copied into pinned memory asynchronously, after the work
    already queued; read a copy only after calling ``wait`` (one event for
    all). Host tensors and ``None`` are returned as they are.
    """
    devices = {t.device for t in tensors if t is not None and t.is_cuda}
    if not devices:
        return list(tensors), lambda: None
    copies = [t.to("cpu", non_blocking=True) if t is not None and t.is_cuda else t for t in tensors]
    (device,) = devices
    copied = torch.cuda.Event()
    copied.record(torch.cuda.current_stream(device))

    def wait() -> None:
        with torch.cuda.device(device):  # no context on GPU 0 from a writer thread
            copied.synchronize()

    return copies, wait


def submit_writes(
    writer: AsyncWriter,
    result: ImageResult,
    mask: Union[torch.Tensor, np.ndarray, None],
    cams16: Optional[torch.Tensor],
    wait: Callable[[], None],
    palette: Palette,
    classes: Optional[Sequence[str]] = None,
) -> None:
    """Hands an image's files to the writer; each write first waits for the host copy.

    Args:
        writer: the run's writer.
        result: the image (its plan's ``mask_out`` / ``cams_out`` / ``vis_out``,
            its classes, image and ground truth).
        mask: its uint8 (H, W) mask on the host (a tensor or an array).
        cams16: its float16 (n, H, W) CAMs on the host (for the CAM file and overlay).
        wait: waits for the host copies.
        palette: the class colours.
        classes: the class names, for the overlay's legend (default ``class i``).
    """
    plan, labels = result.plan, result.classes.numpy()

    def mask_array() -> np.ndarray:
        wait()
        return mask.numpy() if isinstance(mask, torch.Tensor) else mask

    if plan.mask_out is not None:
        path = plan.mask_out
        writer.submit(path, lambda: save_palette_png(path, mask_array(), palette))
    if plan.cams_out is not None:

        def write_cams(path: str = plan.cams_out) -> None:
            wait()
            save_cams_npz(path, cams16.numpy(), labels)

        writer.submit(plan.cams_out, write_cams)
    if plan.vis_out is not None:
        img, gt = result.img, result.gt

        def write_vis(path: str = plan.vis_out) -> None:
            wait()
            cams = cams16.numpy().astype(np.float32)
            drawn = draw_cam_layout(img, cams, mask_array(), palette, gt, classes)
            write_jpeg(path, drawn)

        writer.submit(plan.vis_out, write_vis)


def write_reports(
    out_dir: str, metrics: Optional[dict], failures: Sequence[Tuple[str, str]]
) -> None:
    """Writes ``metrics.json`` and ``failed.json`` (removes a stale failure list)."""
    if metrics is not None:
        atomic_write_json(osp.join(out_dir, "metrics.json"), metrics)
    failed_path = osp.join(out_dir, "failed.json")
    if failures:
        entries = [dict(img_id=img_id, reason=reason) for img_id, reason in failures]
        atomic_write_json(failed_path, entries)
    elif osp.isfile(failed_path):
        os.remove(failed_path)
