"""Stage 2 over a dataset across ranks: CAMs -> pseudo masks, CAM files, overlays, scores.

:func:`generate_pseudo_masks` is the one implementation behind
``tools/gen_pseudo.py`` and the engine's ``CAMGenerationHook``.

Output folder (when ``out_dir`` is given)::

    masks/<img_id>.png   palette PNG, 0 = background, c = class c, 255 = ignore
    cams/<img_id>.npz    float16 CAMs of the image's classes (``save_cams``)
    vis/<img_id>.jpg     overlays of the first ``num_vis`` images
    metrics.json         the threshold sweep (when ground truth exists)
    failed.json          images that could not be processed (only when any)
    settings.json        what made the outputs (checked when resuming)

Resumable and byte-identical: a rerun skips the outputs that exist and
rebuilds the rest; scores are always complete (an image whose outputs exist
is scored from its CAM file, or through the network again). CAMs are rounded
to float16 before any mask is made. Beside a GPU the next batches load on a
thread and the files are written by an :class:`AsyncWriter`. Distributed
(``mmengine.dist`` initialised): rank r takes the batches ``b % world_size
== r``, so each image is read in the batch of a one-process run; the sweep
is gathered by mmengine's metric, and rank 0 writes ``metrics.json`` /
``failed.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine import dist
from mmengine.logging import MMLogger
from torch.utils.data import DataLoader

from ..evaluation import ThresholdSweep, ThresholdSweepMetric
from ..models.classifiers.cam_readout import CAMReadoutConfig
from ..utils.progress import Progress
from .async_writer import AsyncWriter
from .loading import ImageLoader, LoadedImage, collate_images
from .outputs import write_reports
from .planning import (
    ImagePlan,
    check_out_dir_inputs,
    check_own_folder,
    dataset_identity,
    input_paths,
    plan_images,
    prepare_out_dir,
)
from .prefetch import BackgroundIterator
from .processing import BatchProcessor, model_device
from .settings import SALIENCY_FROM_DATASET, PseudoMaskSettings


@dataclass
class GenerationResult:
    """What a run did, summed over all ranks.

    Attributes:
        metrics: the ``metrics.json`` content (``None`` when no image was scored).
        num_images: images in the run.
        num_processed: images whose CAMs were computed or read.
        num_written: images that had at least one file to write.
        num_complete: images whose outputs were all there already.
        failures: ``(img_id, reason)`` of images that failed, in run order.
        processed_per_rank: ``num_processed`` of each rank.
        sweep: the summed sweep (rank 0; ``None`` elsewhere or without scores).
    """

    metrics: Optional[dict]
    num_images: int
    num_processed: int
    num_written: int
    num_complete: int
    failures: List[Tuple[str, str]]
    processed_per_rank: List[int] = field(default_factory=list)
    sweep: Optional[ThresholdSweep] = None


def generate_pseudo_masks(
    model: Optional[torch.nn.Module],
    dataset: Any,
    out_dir: Optional[str] = None,
    settings: Union[None, dict, PseudoMaskSettings] = None,
    indices: Optional[Sequence[int]] = None,
    evaluate: bool = True,
    signature_extra: Optional[Dict[str, Any]] = None,
    progress: bool = True,
    inputs: Optional[Dict[str, Sequence[str]]] = None,
    readout: Optional[CAMReadoutConfig] = None,
) -> GenerationResult:
    """Runs stage 2 over (part of) a dataset, resumably and shard-parallel.

    Args:
        model: an ``L2GClassifier``, whose ``test_cfg`` is the readout;
            ``None`` when ``settings.cams_dir`` gives every CAM.
        dataset: a WSSS dataset (``get_data_info`` with ``img_path``, ``img_id``,
            ``gt_label``, ``seg_map_path``, ``sal_path``; ``metainfo`` with
            ``classes`` and ``palette``).
        out_dir: output folder; ``None`` scores only and writes nothing.
        settings: a :class:`PseudoMaskSettings` or a dict of its fields.
        indices: dataset indices to run, in order; all by default.
        evaluate: score the masks of images that have ground truth.
        signature_extra: more of what decides the outputs (e.g. the
            checkpoint's hash), recorded in ``settings.json`` and checked.
        progress: report progress on rank 0 (a bar on a terminal, else log lines).
        inputs: more files the run reads (kind -> paths, e.g. the checkpoint);
            ``out_dir`` may not hold or lie in them, nor the dataset's folders.
        readout: only without a model (every CAM from a file): the readout
            whose ``bg_thr`` and ``crf`` make the masks (default
            ``CAMReadoutConfig()``); with a model its ``test_cfg`` is the
            readout and giving one raises.

    Returns:
        The summed result; on rank 0, with ``out_dir``, ``metrics.json`` and
        (when images failed) ``failed.json`` are written.
    """
    settings = PseudoMaskSettings.build(settings).with_readout(run_readout(model, readout))
    classes = list(dataset.metainfo["classes"])
    palette = dataset.metainfo.get("palette") or []
    indices = list(range(len(dataset))) if indices is None else list(indices)
    if out_dir is not None:
        check_out_dir(out_dir, dataset, indices, settings, inputs)
        signature = dict(settings.signature(), dataset=dataset_identity(dataset, indices))
        prepare_out_dir(out_dir, dict(signature, **(signature_extra or {})), settings)
    plans, skipped = plan_images(dataset, indices, out_dir, settings, evaluate)
    metric = ThresholdSweepMetric(settings.thresholds, classes, settings.readout.bg_thr)
    device = model_device(model)
    was_training = model.training if model is not None else False
    if model is not None:
        model.eval()
    try:
        processor = _run_batches(model, plans, settings, metric, palette, device, progress)
    finally:
        if model is not None:
            model.train(was_training)
    return _summarise(processor, metric, settings, indices, skipped, plans, out_dir)


def run_readout(
    model: Optional[torch.nn.Module], readout: Optional[CAMReadoutConfig] = None
) -> CAMReadoutConfig:
    """The run's readout: the model's ``test_cfg``, or without a model ``readout``.

    What is recorded is what runs: float16 autocast is CUDA's only, so on another
    device the readout says ``fp16=False`` (the model's ``test_cfg`` is left as it is).

    Raises:
        ValueError: both a model and a readout given.
        TypeError: the model's ``test_cfg`` is not a ``CAMReadoutConfig``.
    """
    if model is None:
        return readout if readout is not None else CAMReadoutConfig()
    if readout is not None:
        raise ValueError(
            "stage 2 reads the model's test_cfg; a readout is only given without a model "
            "(CAMs from files)"
        )
    test_cfg = getattr(model, "test_cfg", None)
    if not isinstance(test_cfg, CAMReadoutConfig):
        raise TypeError(
            f"stage 2 needs an L2G classifier, whose test_cfg is a CAMReadoutConfig; "
            f"{type(model).__name__}.test_cfg is {type(test_cfg).__name__}"
        )
    if test_cfg.fp16 and model_device(model).type != "cuda":
        MMLogger.get_current_instance().warning(
            f"fp16 asked for on {model_device(model)}: float16 autocast is CUDA's only; "
            "running (and recording) float32"
        )
        return dataclasses.replace(test_cfg, fp16=False)
    return test_cfg


def check_out_dir(
    out_dir: str,
    dataset: Any,
    indices: Sequence[int],
    settings: PseudoMaskSettings,
    inputs: Optional[Dict[str, Sequence[str]]] = None,
) -> None:
    """Refuses an output folder over the run's inputs, or one that is not stage 2's own.

    Args:
        out_dir: the output folder.
        dataset: the run's dataset (its images, ground truth and saliency folders).
        indices: the dataset indices of the run.
        settings: the settings (a CAM folder read, a saliency folder).
        inputs: more files the run reads (kind -> paths, e.g. the checkpoint).

    Raises:
        ValueError: naming the folder and the input (see
            :func:`~.planning.check_out_dir_inputs`, :func:`~.planning.check_own_folder`).
    """
    read = dict(input_paths(dataset, indices), **(inputs or {}))
    if settings.cams_dir is not None and not _same(settings.cams_dir, osp.join(out_dir, "cams")):
        read["CAM folder"] = [settings.cams_dir]
    if settings.saliency not in (None, SALIENCY_FROM_DATASET):
        read["saliency"] = [*read.get("saliency", []), settings.saliency]
    check_out_dir_inputs(out_dir, read)
    check_own_folder(out_dir)


def _same(a: str, b: str) -> bool:
    """Whether two paths name the same place."""
    return osp.realpath(a) == osp.realpath(b)


def _run_batches(
    model: Optional[torch.nn.Module],
    plans: List[ImagePlan],
    settings: PseudoMaskSettings,
    metric: ThresholdSweepMetric,
    palette: Sequence[Sequence[int]],
    device: torch.device,
    progress: bool,
) -> BatchProcessor:
    """Loads and processes this rank's images; returns the processor (counts, failures)."""
    loader = DataLoader(
        ImageLoader(plans, settings, len(metric.class_names)),
        batch_size=settings.batch_size,
        shuffle=False,
        num_workers=settings.num_workers if plans else 0,
        collate_fn=collate_images,
    )
    batches: Iterator[List[LoadedImage]] = iter(loader)  # workers fork before any thread
    depth = settings.prefetch_for(device)
    loading = BackgroundIterator(batches, depth) if depth else contextlib.nullcontext(batches)
    bar = Progress(len(plans), "stage 2") if progress and dist.is_main_process() else None
    # Leaving the block waits for every write (a failed one is raised here),
    # then stops the loading thread.
    with loading as batches, AsyncWriter(settings.writer_threads_for(device)) as writer:
        processor = BatchProcessor(model, settings, metric, palette, writer)
        for batch in batches:
            processor.process(batch)
            if bar is not None:
                bar.update(len(batch))
    if bar is not None:
        bar.finish()
    return processor


def _summarise(
    processor: BatchProcessor,
    metric: ThresholdSweepMetric,
    settings: PseudoMaskSettings,
    indices: List[int],
    skipped: int,
    plans: List[ImagePlan],
    out_dir: Optional[str],
) -> GenerationResult:
    """Gathers the ranks' counts, failures and sweep; writes the reports on rank 0."""
    metrics = metric.evaluate_ranks() or None
    rank_counts = (processor.num_processed, processor.num_written, skipped, len(plans))
    per_rank = dist.all_gather_object(rank_counts)
    failures = sorted(f for part in dist.all_gather_object(processor.failures) for f in part)
    result = GenerationResult(
        metrics=None,
        num_images=len(indices),
        num_processed=sum(done for done, *_ in per_rank),
        num_written=sum(written for _, written, *_ in per_rank),
        num_complete=sum(left + done - written for done, written, left, _ in per_rank),
        failures=[(img_id, reason) for _, img_id, reason in failures],
        processed_per_rank=[done for done, *_ in per_rank],
        sweep=metric.sweep,
    )
    if metrics is not None:
        result.metrics = dict(
            metrics,
            mode="threshold" if settings.saliency is None else "saliency_fused",
            num_failed=len(failures),
        )
        if metric.sweep is not None:
            MMLogger.get_current_instance().info(
                "\n" + metric.sweep.format_table(settings.readout.bg_thr)
            )
    if out_dir is not None and dist.is_main_process():
        write_reports(out_dir, result.metrics, result.failures)
    return result
