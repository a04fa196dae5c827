"""Stage 2 over a dataset: CAMs -> pseudo masks, CAM files, overlays and scores.

:func:`generate_pseudo_masks` is the one implementation behind
``tools/gen_pseudo.py`` and :class:`~mmseg_l2g.engine.hooks.CAMGenerationHook`.

Output folder (when ``out_dir`` is given)::

    masks/<img_id>.png   palette PNG, 0 = background, c = class c, 255 = ignore
    cams/<img_id>.npz    float16 CAMs of the image's classes (``save_cams``)
    vis/<img_id>.jpg     overlays of the first ``num_vis`` images
    metrics.json         the threshold sweep (when ground truth exists)
    failed.json          images that could not be processed (only when any)
    settings.json        what made the outputs (checked when resuming)

Every file is written to a temporary name and renamed, so an existing file is
complete. A rerun skips the outputs that exist and rebuilds the rest. The
scores are always complete: for an image whose outputs exist they are
recomputed from its CAM file when there is one (``save_cams``), else the
image goes through the network again (nothing is rewritten). CAMs are
rounded to float16 before any mask is made, so masks from a CAM file equal
those made straight from the network, and a resumed run writes the same
bytes as an uninterrupted one.

Beside a GPU, loading and writing overlap the forward passes: the next batches
are loaded on a background thread (``prefetch_batches``) and the files are
encoded and written by an :class:`~mmseg_l2g.apis.async_writer.AsyncWriter`
(``writer_threads``), in order per folder; the device results reach the host
in one non-blocking copy per batch. A failed write is raised, naming the
file, once every pending write has finished.

Distributed (``mmengine.dist`` initialised): rank r takes the images at
positions ``p % world_size == r``; confusion matrices, counts and failures
are gathered, and rank 0 writes ``metrics.json`` / ``failed.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine import dist
from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ..datasets.label_io import read_index_mask
from ..datasets.transforms.loading import read_bgr_image, read_saliency
from ..evaluation import ThresholdSweep, confusion_matrix, threshold_range
from ..utils.atomic_io import is_temp_file
from .async_writer import AsyncWriter
from .cam_inference import CAMInferenceConfig, infer_cams, model_device, present_classes
from .cam_overlay import render_cam_panel, save_cam_panel
from .mask_io import atomic_write_json, load_cams_npz, save_cams_npz, save_palette_png
from .prefetch import BackgroundIterator
from .pseudo_mask import (
    IGNORE_INDEX,
    cam_peaks,
    saliency_fused_mask,
    sweep_masks,
    threshold_mask,
)

DEFAULT_SWEEP: Tuple[float, ...] = tuple(threshold_range(0.05, 0.50, 0.05))
# Beside a GPU, loading and writing overlap the forward passes; on CPU they would
# compete with the network for the cores (measured: slower on 2 cores).
CUDA_PREFETCH_BATCHES = 2  # batches loaded ahead on a background thread
CUDA_WRITER_THREADS = 2  # PNG / npz / JPEG encoding and writing
SALIENCY_FROM_DATASET = "dataset"
SETTINGS_FILE = "settings.json"


@dataclass
class PseudoMaskSettings:
    """What stage 2 makes and how.

    Args:
        cam: scales, flip, upsampling and autocast of the CAM inference.
        bg_thr: background score of the written masks (fused mode: the CAM
            value a salient pixel needs, else it is ignored).
        sweep: thresholds scored against the ground truth (``bg_thr`` is
            always added).
        saliency: ``None`` for the threshold mode; for the saliency-fused
            mode a folder of ``<img_id>.png`` grey maps, or ``'dataset'`` for
            each item's ``sal_path``.
        sal_thr: saliency below this is background (fused mode).
        save_masks: write ``masks/<img_id>.png``.
        save_cams: write ``cams/<img_id>.npz``.
        num_vis: overlays written for the first this many images.
        batch_size: images loaded together (those of equal size share
            forward passes).
        num_workers: image-loading worker processes.
        prefetch_batches: batches loaded ahead on a background thread
            (:class:`~mmseg_l2g.apis.prefetch.BackgroundIterator`), beside
            the network; ``None``: 2 when the model is on CUDA, else 0.
        writer_threads: threads that encode and write the output files
            (:class:`~mmseg_l2g.apis.async_writer.AsyncWriter`); 0 writes in
            the main thread; ``None``: 2 when the model is on CUDA, else 0.
        cams_dir: read every image's CAMs from ``<cams_dir>/<img_id>.npz``
            instead of running the network.
        overwrite: rebuild every output even where it exists.
        crf: dense-CRF settings (``dense_crf`` keywords, e.g. ``dict(iters=10)``)
            refining each written mask from its image; ``None``: no CRF. The
            sweep scores the masks before the CRF.
    """

    cam: CAMInferenceConfig = field(default_factory=CAMInferenceConfig)
    bg_thr: float = 0.25
    sweep: Sequence[float] = DEFAULT_SWEEP
    saliency: Optional[str] = None
    sal_thr: float = 0.5
    save_masks: bool = True
    save_cams: bool = False
    num_vis: int = 8
    batch_size: int = 4
    num_workers: int = 0
    prefetch_batches: Optional[int] = None
    writer_threads: Optional[int] = None
    cams_dir: Optional[str] = None
    overwrite: bool = False
    crf: Optional[Dict[str, Any]] = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.bg_thr <= 1.0:
            raise ValueError(f"bg_thr must be in [0, 1] (CAMs are normalised), got {self.bg_thr}")
        if not 0.0 <= self.sal_thr <= 1.0:
            raise ValueError(f"sal_thr must be in [0, 1], got {self.sal_thr}")
        if (
            self.batch_size < 1
            or self.num_vis < 0
            or self.num_workers < 0
            or (self.prefetch_batches is not None and self.prefetch_batches < 0)
            or (self.writer_threads is not None and self.writer_threads < 0)
        ):
            raise ValueError(
                "batch_size must be >= 1, num_vis, num_workers, prefetch_batches and "
                f"writer_threads >= 0, got {self.batch_size}, {self.num_vis}, "
                f"{self.num_workers}, {self.prefetch_batches}, {self.writer_threads}"
            )
        if self.saliency not in (None, SALIENCY_FROM_DATASET) and not osp.isdir(self.saliency):
            raise FileNotFoundError(f"saliency folder not found: {self.saliency}")
        if self.cams_dir is not None and not osp.isdir(self.cams_dir):
            raise FileNotFoundError(f"CAM folder not found: {self.cams_dir}")

    def prefetch_for(self, device: torch.device) -> int:
        """``prefetch_batches``, or its default for a model on ``device``."""
        if self.prefetch_batches is not None:
            return self.prefetch_batches
        return CUDA_PREFETCH_BATCHES if device.type == "cuda" else 0

    def writer_threads_for(self, device: torch.device) -> int:
        """``writer_threads``, or its default for a model on ``device``."""
        if self.writer_threads is not None:
            return self.writer_threads
        return CUDA_WRITER_THREADS if device.type == "cuda" else 0

    @property
    def thresholds(self) -> List[float]:
        """The scored thresholds: the sweep and ``bg_thr``, sorted."""
        return sorted({round(float(t), 6) for t in list(self.sweep) + [self.bg_thr]})

    def signature(self) -> Dict[str, Any]:
        """The settings that decide the written files' content (for resuming).

        With ``cams_dir`` the CAM settings are unknown here (``'from <dir>'``);
        a caller that knows them passes them as ``signature_extra``.
        """
        cam: Any = asdict(self.cam)
        if self.cams_dir is not None:
            cam = f"from {osp.abspath(self.cams_dir)}"
        saliency = self.saliency
        if saliency not in (None, SALIENCY_FROM_DATASET):
            saliency = osp.abspath(saliency)
        return dict(
            cam=cam,
            bg_thr=round(float(self.bg_thr), 6),
            saliency=saliency,
            sal_thr=round(float(self.sal_thr), 6) if self.saliency else None,
            crf=dict(self.crf) if self.crf is not None else None,
        )


@dataclass
class GenerationResult:
    """What a run did, summed over all ranks.

    Attributes:
        sweep: the scores (``None`` when no processed image had ground truth).
        num_images: images in the run.
        num_processed: images whose CAMs were computed or read.
        num_skipped: images left alone (outputs complete, nothing to score).
        failures: ``(img_id, reason)`` of images that failed, in dataset order.
        processed_per_rank: ``num_processed`` of each rank.
        metrics: the ``metrics.json`` content (``None`` without scores).
    """

    sweep: Optional[ThresholdSweep]
    num_images: int
    num_processed: int
    num_skipped: int
    failures: List[Tuple[str, str]]
    processed_per_rank: List[int] = field(default_factory=list)
    metrics: Optional[dict] = None


@dataclass
class _Job:
    """One image's work: where its CAMs come from and which files it writes."""

    position: int
    info: dict
    cams_path: Optional[str]  # read CAMs from this file, else run the network
    mask_out: Optional[str]
    cams_out: Optional[str]
    vis_out: Optional[str]
    evaluate: bool
    crf: bool = False

    @property
    def img_id(self) -> str:
        return self.info["img_id"]

    @property
    def needs_image(self) -> bool:
        return (
            self.cams_path is None
            or self.vis_out is not None
            or (self.crf and self.mask_out is not None)
        )


class _JobLoader(Dataset):
    """Loads what each job needs; a load error is returned, not raised."""

    def __init__(self, jobs: List[_Job], settings: PseudoMaskSettings, num_classes: int) -> None:
        self.jobs = jobs
        self.settings = settings
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, i: int) -> dict:
        job = self.jobs[i]
        item: Dict[str, Any] = dict(job=job, img=None, cams=None, labels=None, gt=None, sal=None)
        try:
            self._load(job, item)
        except (OSError, ValueError) as exc:
            item["error"] = f"{type(exc).__name__}: {exc}"
        return item

    def _load(self, job: _Job, item: dict) -> None:
        info = job.info
        if job.cams_path is not None:
            if not osp.isfile(job.cams_path):
                raise FileNotFoundError(f"CAM file not found: {job.cams_path}")
            item["cams"], item["labels"] = load_cams_npz(job.cams_path)
        if job.needs_image:
            item["img"] = read_bgr_image(info["img_path"])
        shape = item["img"].shape[:2] if item["img"] is not None else item["cams"].shape[1:]
        if item["cams"] is not None and tuple(item["cams"].shape[1:]) != tuple(shape):
            raise ValueError(
                f"CAM file {job.cams_path} is {item['cams'].shape[1:]} but the image "
                f"{info['img_path']} is {shape} (HxW)"
            )
        seg_path = info.get("seg_map_path")
        if seg_path is not None and (job.evaluate or job.vis_out is not None):
            gt = read_index_mask(seg_path)
            if gt.shape != tuple(shape):
                raise ValueError(
                    f"ground-truth mask {seg_path} is {gt.shape} but the image "
                    f"{info['img_path']} is {tuple(shape)} (HxW)"
                )
            valid = (gt < self.num_classes) | (gt == IGNORE_INDEX)
            if not valid.all():
                bad = np.unique(gt[~valid]).tolist()[:5]
                raise ValueError(
                    f"ground-truth mask {seg_path} holds values {bad} outside "
                    f"0..{self.num_classes - 1} and {IGNORE_INDEX}"
                )
            item["gt"] = gt
        if self.settings.saliency is not None:
            item["sal"] = self._saliency(info, tuple(shape))

    def _saliency(self, info: dict, shape: Tuple[int, int]) -> np.ndarray:
        if self.settings.saliency == SALIENCY_FROM_DATASET:
            path = info.get("sal_path")
            if path is None:
                raise FileNotFoundError(
                    f"image {info['img_id']} has no saliency map in the dataset "
                    "(saliency-fused mode needs one per image)"
                )
        else:
            path = osp.join(self.settings.saliency, info["img_id"] + ".png")
        saliency = read_saliency(path)
        if saliency.shape != shape:
            resized = Image.fromarray(saliency).resize(shape[::-1], Image.BILINEAR)
            saliency = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        return saliency


def _collate_items(batch: List[dict]) -> List[dict]:
    """Keeps a loaded batch as a list (images differ in size)."""
    return batch


def prepare_out_dir(out_dir: str, signature: Dict[str, Any], overwrite: bool) -> None:
    """Creates the output folders and checks a resumed folder's settings.

    Every rank reads ``settings.json`` before rank 0 rewrites it, so all
    ranks raise together on a mismatch.

    Args:
        out_dir: the output folder.
        signature: settings that decide the outputs (``settings.json``).
        overwrite: accept any previous settings (every output is rebuilt).

    Raises:
        NotADirectoryError: ``out_dir`` (or a subfolder) is a file.
        ValueError: the folder holds outputs made with other settings.
    """
    for path in [out_dir] + [osp.join(out_dir, sub) for sub in ("masks", "cams", "vis")]:
        if osp.exists(path) and not osp.isdir(path):
            raise NotADirectoryError(f"output folder {path} exists and is a file, not a folder")
    settings_path = osp.join(out_dir, SETTINGS_FILE)
    signature = json.loads(json.dumps(signature))  # tuples -> lists, as read back
    if not overwrite and osp.isfile(settings_path):
        with open(settings_path, encoding="utf-8") as f:
            previous = json.load(f)
        differ = sorted(
            key for key in set(previous) | set(signature) if previous.get(key) != signature.get(key)
        )
        if differ:
            raise ValueError(
                f"{out_dir} holds outputs made with other settings ({', '.join(differ)}: "
                f"{ {k: previous.get(k) for k in differ} } there, "
                f"{ {k: signature.get(k) for k in differ} } now); use another --out-dir "
                "or --overwrite"
            )
    dist.barrier()
    if dist.is_main_process():
        for sub in ("masks", "cams", "vis"):
            os.makedirs(osp.join(out_dir, sub), exist_ok=True)
        remove_stale_temp_files(out_dir)
        atomic_write_json(settings_path, signature)
    dist.barrier()


def remove_stale_temp_files(out_dir: str) -> int:
    """Deletes the temp files a killed run left; returns how many.

    Such a file never counts as an output (outputs appear only by rename), so
    removing it loses nothing.
    """
    removed = 0
    for folder in [out_dir] + [osp.join(out_dir, sub) for sub in ("masks", "cams", "vis")]:
        if not osp.isdir(folder):
            continue
        for name in os.listdir(folder):
            if is_temp_file(name):
                os.remove(osp.join(folder, name))
                removed += 1
    if removed:
        MMLogger.get_current_instance().info(
            f"removed {removed} temp files left by an interrupted run in {out_dir}"
        )
    return removed


def _missing_output(
    out_dir: Optional[str], sub: str, name: str, wanted: bool, settings: PseudoMaskSettings
) -> Optional[str]:
    """The path of an output still to write (``None``: not wanted or already there)."""
    if out_dir is None or not wanted:
        return None
    path = osp.join(out_dir, sub, name)
    return None if osp.exists(path) and not settings.overwrite else path


def _plan_jobs(
    dataset: Any,
    indices: Sequence[int],
    out_dir: Optional[str],
    settings: PseudoMaskSettings,
    evaluate: bool,
) -> Tuple[List[_Job], int]:
    """This rank's jobs, and how many of its images need nothing."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    jobs, skipped = [], 0
    for position in range(rank, len(indices), world_size):
        info = dataset.get_data_info(indices[position])
        img_id = info["img_id"]
        mask_out = _missing_output(out_dir, "masks", img_id + ".png", settings.save_masks, settings)
        cams_out = _missing_output(out_dir, "cams", img_id + ".npz", settings.save_cams, settings)
        vis_out = _missing_output(
            out_dir, "vis", img_id + ".jpg", position < settings.num_vis, settings
        )
        score = evaluate and info.get("seg_map_path") is not None
        if mask_out is None and cams_out is None and vis_out is None and not score:
            skipped += 1
            continue
        cams_path = None
        if settings.cams_dir is not None:
            cams_path = osp.join(settings.cams_dir, img_id + ".npz")
        elif out_dir is not None and not settings.overwrite:
            existing = osp.join(out_dir, "cams", img_id + ".npz")
            cams_path = existing if osp.isfile(existing) else None
        jobs.append(
            _Job(position, info, cams_path, mask_out, cams_out, vis_out, score,
                 crf=settings.crf is not None)
        )  # fmt: skip
    return jobs, skipped


def _to_host(
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
    copied.record(torch.cuda.current_stream(device))  # the stream the copies went to

    def wait() -> None:
        with torch.cuda.device(device):  # no context on GPU 0 from a writer thread
            copied.synchronize()

    return copies, wait


@dataclass
class _Prepared:
    """One image's results on the device, before its files are written and scores counted."""

    item: dict
    labels: torch.Tensor  # CPU long (n,)
    cams16: torch.Tensor  # float16 (n, H, W), the reference CAMs
    score: torch.Tensor  # (H, W) strongest class map
    value: torch.Tensor  # (H, W) mask value of that class
    sal: Optional[torch.Tensor]
    mask: Union[torch.Tensor, np.ndarray, None]  # uint8 (H, W); a host array after a CRF

    @property
    def job(self) -> _Job:
        return self.item["job"]


class _Runner:
    """Processes loaded items: CAMs, masks, files and confusion matrices.

    Per batch the device work of every image is queued first, then one
    asynchronous copy to the host, then the file writes go to ``writer`` (its
    threads wait for the copy), and last the scores (which read the device).
    """

    def __init__(
        self,
        model: Optional[torch.nn.Module],
        settings: PseudoMaskSettings,
        sweep: ThresholdSweep,
        palette: Sequence[Sequence[int]],
        writer: AsyncWriter,
    ) -> None:
        self.model = model
        self.settings = settings
        self.sweep = sweep
        self.palette = palette
        self.writer = writer
        self.device = model_device(model) if model is not None else torch.device("cpu")
        self.failures: List[Tuple[int, str, str]] = []
        self.num_processed = 0

    def process(self, batch: List[dict]) -> None:
        ok = []
        for item in batch:
            if "error" in item:
                self._fail(item["job"], item["error"])
            else:
                ok.append(item)
        network = [item for item in ok if item["cams"] is None]
        if network:
            if self.model is None:
                raise RuntimeError("CAMs must be computed but no model was given")
            labels = [present_classes(item["job"].info["gt_label"]) for item in network]
            cams = infer_cams(
                self.model, [item["img"] for item in network], labels, self.settings.cam
            )
            for item, cam, label in zip(network, cams, labels):
                item["cams"], item["labels"] = cam.half(), label
        prepared = [result for result in map(self._prepare, ok) if result is not None]
        # What the files need, copied to the host in one go: the mask (unless a
        # CRF made it there already) and the CAMs when a file holds them.
        needed: List[Optional[torch.Tensor]] = []
        for result in prepared:
            files_cams = result.job.cams_out is not None or result.job.vis_out is not None
            needed.append(result.mask if isinstance(result.mask, torch.Tensor) else None)
            needed.append(result.cams16 if files_cams else None)
        host, wait = _to_host(needed)
        for index, result in enumerate(prepared):
            mask, cams16 = host[2 * index], host[2 * index + 1]
            self._submit_writes(result, result.mask if mask is None else mask, cams16, wait)
        for result in prepared:
            if result.job.evaluate:
                self._score(result)
        self.num_processed += len(prepared)

    def _crf(self, img_bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The mask refined by a dense CRF on its image (ignored pixels stay ignored)."""
        from ..models.postprocess.dense_crf import crf_refine_labels

        rgb = np.ascontiguousarray(img_bgr[:, :, ::-1])
        num_classes = self.sweep.num_classes
        return crf_refine_labels(rgb, mask, num_classes, keep_ignore=True, **self.settings.crf)

    def _fail(self, job: _Job, reason: str) -> None:
        self.failures.append((job.position, job.img_id, reason))

    def _prepare(self, item: dict) -> Optional[_Prepared]:
        """Queues an image's device work (peaks, mask); ``None`` when it failed."""
        job = item["job"]
        labels = torch.as_tensor(item["labels"], dtype=torch.long).cpu()
        expected = present_classes(job.info["gt_label"])
        if not torch.equal(labels, expected):
            self._fail(
                job,
                f"CAM file {job.cams_path} holds classes {labels.tolist()} but the dataset "
                f"labels the image with {expected.tolist()}",
            )
            return None
        # float16 CAMs are the reference: masks from a CAM file equal fresh ones.
        cams16 = torch.as_tensor(item["cams"]).to(self.device, non_blocking=True)
        sal = None
        if item["sal"] is not None:
            sal = torch.from_numpy(item["sal"]).to(self.device, non_blocking=True)
        score, value = cam_peaks(cams16.float(), labels.to(self.device, non_blocking=True))
        mask = None
        if job.mask_out is not None or job.vis_out is not None:
            if sal is None:
                mask = threshold_mask(score, value, self.settings.bg_thr)
            else:
                mask = saliency_fused_mask(
                    score, value, sal, self.settings.sal_thr, self.settings.bg_thr
                )
            if self.settings.crf is not None:
                mask = self._crf(item["img"], mask.cpu().numpy())
        return _Prepared(item, labels, cams16, score, value, sal, mask)

    def _submit_writes(
        self,
        result: _Prepared,
        mask: Union[torch.Tensor, np.ndarray, None],
        cams16: Optional[torch.Tensor],
        wait: Callable[[], None],
    ) -> None:
        """Hands an image's files to the writer; each write first waits for the host copy."""
        job, item, palette = result.job, result.item, self.palette
        labels = result.labels.numpy()

        def mask_array() -> np.ndarray:
            wait()
            return mask.numpy() if isinstance(mask, torch.Tensor) else mask

        if job.mask_out is not None:
            path = job.mask_out
            self.writer.submit(path, lambda: save_palette_png(path, mask_array(), palette))
        if job.cams_out is not None:

            def write_cams(path: str = job.cams_out) -> None:
                wait()
                save_cams_npz(path, cams16.numpy(), labels)

            self.writer.submit(job.cams_out, write_cams)
        if job.vis_out is not None:

            def write_vis(path: str = job.vis_out) -> None:
                wait()
                cams = cams16.numpy().astype(np.float32)
                panel = render_cam_panel(item["img"], cams, mask_array(), palette, item["gt"])
                save_cam_panel(path, panel)

            self.writer.submit(job.vis_out, write_vis)

    def _score(self, result: _Prepared) -> None:
        """Adds the confusion matrices of the swept thresholds (reads the device)."""
        preds = sweep_masks(
            result.score, result.value, self.sweep.thresholds, result.sal, self.settings.sal_thr
        )
        gt = torch.from_numpy(result.item["gt"]).to(self.device, non_blocking=True)
        self.sweep.update(confusion_matrix(preds, gt, self.sweep.num_classes))


def generate_pseudo_masks(
    model: Optional[torch.nn.Module],
    dataset: Any,
    out_dir: Optional[str] = None,
    settings: Optional[PseudoMaskSettings] = None,
    indices: Optional[Sequence[int]] = None,
    evaluate: bool = True,
    signature_extra: Optional[Dict[str, Any]] = None,
    progress: bool = True,
) -> GenerationResult:
    """Runs stage 2 over (part of) a dataset, resumably and shard-parallel.

    Args:
        model: the classifier (``data_preprocessor.normalize`` and
            ``extract_cam_logits``); ``None`` when ``settings.cams_dir`` gives
            every CAM.
        dataset: a WSSS dataset (``get_data_info`` with ``img_path``,
            ``img_id``, ``gt_label``, ``seg_map_path``, ``sal_path``;
            ``metainfo`` with ``classes`` and ``palette``).
        out_dir: output folder; ``None`` scores only and writes nothing.
        settings: what to make; defaults to :class:`PseudoMaskSettings`.
        indices: dataset indices to run, in order; all by default.
        evaluate: score the masks of images that have ground truth.
        signature_extra: more settings to record in ``settings.json`` (e.g.
            the checkpoint), checked when resuming.
        progress: show a progress bar (rank 0).

    Returns:
        The summed result; on rank 0, with ``out_dir``, ``metrics.json`` and
        (when images failed) ``failed.json`` are written.
    """
    settings = settings or PseudoMaskSettings()
    logger = MMLogger.get_current_instance()
    classes = list(dataset.metainfo["classes"])
    palette = dataset.metainfo.get("palette") or []
    indices = list(range(len(dataset))) if indices is None else list(indices)
    if out_dir is not None:
        signature = dict(settings.signature(), **(signature_extra or {}))
        prepare_out_dir(out_dir, signature, settings.overwrite)

    jobs, skipped = _plan_jobs(dataset, indices, out_dir, settings, evaluate)
    if skipped:
        logger.info(f"rank {dist.get_rank()}: {skipped} images have all their outputs; skipped")
    sweep = ThresholdSweep(settings.thresholds, classes)
    device = model_device(model) if model is not None else torch.device("cpu")
    was_training = model.training if model is not None else False
    if model is not None:
        model.eval()
    try:
        loader = DataLoader(
            _JobLoader(jobs, settings, len(classes)),
            batch_size=settings.batch_size,
            shuffle=False,
            num_workers=settings.num_workers if jobs else 0,
            collate_fn=_collate_items,
        )
        batches: Iterator[List[dict]] = iter(loader)  # workers fork before any thread starts
        depth = settings.prefetch_for(device)
        loading = BackgroundIterator(batches, depth) if depth else contextlib.nullcontext(batches)
        bar = ProgressBar(len(jobs)) if progress and dist.is_main_process() and jobs else None
        # Leaving the block waits for every write (a failed one is raised here),
        # then stops the loading thread.
        with loading as batches, AsyncWriter(settings.writer_threads_for(device)) as writer:
            runner = _Runner(model, settings, sweep, palette, writer)
            for batch in batches:
                runner.process(batch)
                if bar is not None:
                    bar.update(len(batch))
        if bar is not None:
            bar.file.write("\n")
    finally:
        if model is not None:
            model.train(was_training)

    sweep.all_reduce()
    per_rank = dist.all_gather_object((runner.num_processed, skipped))
    failures = sorted(f for part in dist.all_gather_object(runner.failures) for f in part)
    result = GenerationResult(
        sweep=sweep if sweep.num_images else None,
        num_images=len(indices),
        num_processed=sum(done for done, _ in per_rank),
        num_skipped=sum(left for _, left in per_rank),
        processed_per_rank=[done for done, _ in per_rank],
        failures=[(img_id, reason) for _, img_id, reason in failures],
    )
    if result.sweep is not None:
        result.metrics = dict(
            result.sweep.summary(settings.bg_thr),
            mode="threshold" if settings.saliency is None else "saliency_fused",
            num_failed=len(failures),
        )
        logger.info("\n" + result.sweep.format_table(settings.bg_thr))
    if out_dir is not None and dist.is_main_process():
        _write_reports(out_dir, result)
    return result


def _write_reports(out_dir: str, result: GenerationResult) -> None:
    """Writes ``metrics.json`` and ``failed.json`` (removes a stale one)."""
    if result.metrics is not None:
        atomic_write_json(osp.join(out_dir, "metrics.json"), result.metrics)
    failed_path = osp.join(out_dir, "failed.json")
    if result.failures:
        atomic_write_json(
            failed_path, [dict(img_id=img_id, reason=reason) for img_id, reason in result.failures]
        )
    elif osp.isfile(failed_path):
        os.remove(failed_path)
