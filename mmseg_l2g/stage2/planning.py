"""Stage 2's plan: one :class:`ImagePlan` per image, the output folder and the resume check.

A rerun skips the outputs that exist (every file appears by rename, so an
existing file is complete); ``settings.json`` records what decides the outputs
(the readout, the checkpoint's content, the dataset's identity) and a folder
made with other settings is refused unless ``overwrite``. A folder that is not
stage 2's own (files but no ``settings.json``, or a ``settings.json`` that is
not stage 2's), or one that holds or lies in an input (images, ground truth,
saliency, CAMs read, the checkpoint), is refused even with ``overwrite``.
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from mmengine import dist
from mmengine.logging import MMLogger

from ..io import atomic_write_json, remove_stale_temp_files
from .settings import PseudoMaskSettings

SETTINGS_FILE = "settings.json"
# What a stage-2 folder holds (``gen_pseudo.py`` adds its log before the run starts).
OWN_ENTRIES = ("masks", "cams", "vis", "metrics.json", "failed.json", SETTINGS_FILE,
               "gen_pseudo.log")  # fmt: skip
# The keys every settings.json stage 2 writes has (see PseudoMaskSettings.signature).
SIGNATURE_KEYS = ("cam", "bg_thr", "dataset")


@dataclass(frozen=True)
class ImagePlan:
    """One image's work, fixed when the run is planned.

    Args:
        position: the image's place in the run.
        info: the dataset item (``img_id``, ``img_path``, ``gt_label``, ...).
        cams_path: the CAM file its CAMs are read from (``None``: the network).
        mask_out: the mask file still to write (``None``: none).
        cams_out: the CAM file still to write.
        vis_out: the overlay still to write.
        evaluate: whether its masks are scored.
        crf: whether its masks are refined by a dense CRF.
    """

    position: int
    info: dict
    cams_path: Optional[str]
    mask_out: Optional[str]
    cams_out: Optional[str]
    vis_out: Optional[str]
    evaluate: bool
    crf: bool = False

    @property
    def img_id(self) -> str:
        """The image id."""
        return self.info["img_id"]

    @property
    def writes(self) -> bool:
        """Whether the image has a file still to write."""
        return any(path is not None for path in (self.mask_out, self.cams_out, self.vis_out))

    @property
    def needs_image(self) -> bool:
        """Whether the image must be read (network, overlay or CRF)."""
        return (
            self.cams_path is None
            or self.vis_out is not None
            or (self.crf and self.mask_out is not None)
        )


def output_folders(out_dir: str, settings: PseudoMaskSettings) -> List[str]:
    """The subfolders a run writes: ``masks``, ``cams`` and ``vis`` only when asked."""
    wanted = (
        ("masks", settings.save_masks),
        ("cams", settings.save_cams),
        ("vis", settings.num_vis > 0),
    )
    return [osp.join(out_dir, sub) for sub, on in wanted if on]


def dataset_identity(dataset: Any, indices: Sequence[int]) -> Dict[str, Any]:
    """What identifies the run's images: data root, list file, count and a hash of the ids."""
    ids = "\n".join(dataset.get_data_info(i)["img_id"] for i in indices)
    data_root = getattr(dataset, "data_root", None)
    ann_file = getattr(dataset, "ann_file", None)
    return dict(
        data_root=osp.abspath(data_root) if data_root else None,
        ann_file=osp.abspath(ann_file) if ann_file else None,
        num_images=len(indices),
        ids_sha256=hashlib.sha256(ids.encode("utf-8")).hexdigest(),
    )


def input_paths(dataset: Any, indices: Sequence[int]) -> Dict[str, List[str]]:
    """The folders the run reads its images, ground truth and saliency maps from."""
    found: Dict[str, set] = dict(images=set(), ground_truth=set(), saliency=set())
    keys = dict(images="img_path", ground_truth="seg_map_path", saliency="sal_path")
    for i in indices:
        info = dataset.get_data_info(i)
        for kind, key in keys.items():
            if info.get(key):
                found[kind].add(osp.dirname(osp.abspath(info[key])))
    return {kind: sorted(paths) for kind, paths in found.items()}


def _within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (links resolved)."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_out_dir_inputs(out_dir: str, inputs: Dict[str, Iterable[str]]) -> None:
    """Refuses an output folder that is, holds or lies in one of the inputs.

    Args:
        out_dir: the output folder.
        inputs: kind (named in the error) -> files or folders the run reads.

    Raises:
        ValueError: naming the folder, the input and its kind.
    """
    for kind, paths in inputs.items():
        for path in paths:
            if path and (_within(out_dir, path) or _within(path, out_dir)):
                relation = "holds" if not _within(out_dir, path) else "lies in"
                raise ValueError(
                    f"output folder {out_dir} {relation} the {kind.replace('_', ' ')} the run "
                    f"reads ({path}); choose a folder outside the inputs"
                )


def read_settings_file(path: str) -> Dict[str, Any]:
    """A stage-2 ``settings.json``.

    Raises:
        ValueError: not JSON, or not the settings stage 2 writes (naming the file).
    """
    try:
        with open(path, encoding="utf-8") as f:
            content = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path} is not stage 2's settings file (not JSON: {exc}); the folder is not a "
            "stage-2 output folder: use another --out-dir"
        ) from exc
    if not isinstance(content, dict) or not all(key in content for key in SIGNATURE_KEYS):
        raise ValueError(
            f"{path} is not stage 2's settings file (a {type(content).__name__} without "
            f"{', '.join(SIGNATURE_KEYS)}); the folder is not a stage-2 output folder: "
            "use another --out-dir"
        )
    return content


def check_own_folder(out_dir: str) -> None:
    """Refuses an existing folder that is not stage 2's (even with ``overwrite``).

    Stage 2's own: no ``settings.json`` and nothing but its log, its empty
    subfolders and its temp files (a run killed at its start), or a
    ``settings.json`` as stage 2 writes it.

    Raises:
        ValueError: naming the folder and the foreign file.
    """
    if not osp.isdir(out_dir):
        return
    settings_path = osp.join(out_dir, SETTINGS_FILE)
    if osp.lexists(settings_path):
        read_settings_file(settings_path)
        return
    for name in sorted(os.listdir(out_dir)):
        path = osp.join(out_dir, name)
        own = name in OWN_ENTRIES and (
            not osp.isdir(path) or all(n.startswith(".tmp_l2g.") for n in os.listdir(path))
        )
        if not (own or name.startswith(".tmp_l2g.")):
            raise ValueError(
                f"{out_dir} is not a stage-2 output folder (no {SETTINGS_FILE}, and it holds "
                f"{path}); stage 2 writes only into a new or empty folder or its own: "
                "use another --out-dir"
            )


def prepare_out_dir(out_dir: str, signature: Dict[str, Any], settings: PseudoMaskSettings) -> None:
    """Creates the output folders and checks a resumed folder's settings.

    Every rank reads ``settings.json`` before rank 0 rewrites it, so all
    ranks raise together on a mismatch. Rank 0 removes the temp files a
    killed run left (only this package's, of processes that ended).

    Raises:
        NotADirectoryError: ``out_dir`` (or a subfolder) is a file.
        ValueError: the folder holds outputs made with other settings, or is
            not stage 2's (see :func:`check_own_folder`).
    """
    folders = [out_dir] + [osp.join(out_dir, sub) for sub in ("masks", "cams", "vis")]
    for path in folders:
        if osp.exists(path) and not osp.isdir(path):
            raise NotADirectoryError(f"output folder {path} exists and is a file, not a folder")
    check_own_folder(out_dir)
    settings_path = osp.join(out_dir, SETTINGS_FILE)
    signature = json.loads(json.dumps(signature))  # tuples -> lists, as read back
    if not settings.overwrite and osp.isfile(settings_path):
        previous = read_settings_file(settings_path)
        differ = sorted(
            k for k in set(previous) | set(signature) if previous.get(k) != signature.get(k)
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
        for path in output_folders(out_dir, settings):
            os.makedirs(path, exist_ok=True)
        removed = sum(remove_stale_temp_files(path) for path in folders)
        if removed:
            MMLogger.get_current_instance().info(
                f"removed {removed} temp files left by an interrupted run in {out_dir}"
            )
        atomic_write_json(settings_path, signature)
    dist.barrier()


def _missing(
    out_dir: Optional[str], sub: str, name: str, wanted: bool, overwrite: bool
) -> Optional[str]:
    """The path of an output still to write (``None``: not wanted or already there)."""
    if out_dir is None or not wanted:
        return None
    path = osp.join(out_dir, sub, name)
    return None if osp.exists(path) and not overwrite else path


def plan_images(
    dataset: Any,
    indices: Sequence[int],
    out_dir: Optional[str],
    settings: PseudoMaskSettings,
    evaluate: bool,
) -> Tuple[List[ImagePlan], int]:
    """This rank's image plans and how many of its images need nothing.

    Rank r takes the batches ``b % world_size == r`` of the run cut into
    ``batch_size`` images, so every image is read in the same batch as in a
    one-process run: the outputs are byte-identical whatever the world size.
    """
    rank, world_size = dist.get_rank(), dist.get_world_size()
    plans, skipped = [], 0
    overwrite = settings.overwrite
    crf = settings.readout is not None and settings.readout.crf is not None
    positions = [p for p in range(len(indices)) if (p // settings.batch_size) % world_size == rank]
    for position in positions:
        info = dataset.get_data_info(indices[position])
        img_id = info["img_id"]
        mask_out = _missing(out_dir, "masks", img_id + ".png", settings.save_masks, overwrite)
        cams_out = _missing(out_dir, "cams", img_id + ".npz", settings.save_cams, overwrite)
        vis_out = _missing(out_dir, "vis", img_id + ".jpg", position < settings.num_vis, overwrite)
        score = evaluate and info.get("seg_map_path") is not None
        if mask_out is None and cams_out is None and vis_out is None and not score:
            skipped += 1
            continue
        cams_path = None
        if settings.cams_dir is not None:
            cams_path = osp.join(settings.cams_dir, img_id + ".npz")
        elif out_dir is not None and not overwrite:
            existing = osp.join(out_dir, "cams", img_id + ".npz")
            cams_path = existing if osp.isfile(existing) else None
        plans.append(
            ImagePlan(position, info, cams_path, mask_out, cams_out, vis_out, score, crf=crf)
        )
    return plans, skipped
