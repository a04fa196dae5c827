"""Shared pieces of the benchmark scripts: timing, peak memory, models, batches, output.

Timing: every measured callable runs ``warmup`` times untimed, then ``repeats``
times; the callables of one benchmark are interleaved (round robin), so a slow
moment of a shared machine hits all of them alike, and the median is reported.
On CUDA the device is synchronised before and after every timed call.

Peak memory of a training step (:func:`measure_step_peak_memory`), the memory
a step needs above what is resident before it (weights, optimiser state, the
input batch):

- CUDA: ``torch.cuda.max_memory_allocated()`` minus ``memory_allocated()``
  before the step, after one warm-up step (exact for tensors).
- CPU: ``tracemalloc`` does not see torch's allocations, so each configuration
  runs in a forked child process (imports inherited, no other benchmark's
  heap left over: ``malloc_trim`` runs before the measured step) with
  glibc's mmap threshold fixed at 64 KiB (freed tensors go back to the OS at
  once), single-threaded (OpenMP's thread pool does not survive ``fork``; the
  step's tensors are the same with any thread count): one warm-up step,
  ``malloc_trim``, then the peak resident set size of one step (``VmHWM``
  after resetting it through ``/proc/self/clear_refs``) minus the resident
  size before it. Where ``clear_refs`` cannot be written the child skips the
  warm-up and uses the ``ru_maxrss`` growth of its first step (which then
  includes creating the optimiser state). Resident memory
  counts everything (oneDNN scratch pads, allocator slack), page-granular.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import logging
import math
import multiprocessing as mp
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS_DIR = osp.join(REPO_ROOT, "benchmarks", "results")
MODEL_BASE_CONFIG = osp.join(REPO_ROOT, "configs", "_base_", "models", "l2g_plaincnn.py")
R50_BASE_CONFIG = osp.join(REPO_ROOT, "configs", "_base_", "models", "l2g_r50.py")
TRAIN_CONFIG = osp.join(REPO_ROOT, "configs", "l2g", "l2g_plaincnn_1xb8-600it_synthetic-128.py")
BACKBONES = ("synthetic", "plaincnn", "resnet50")
NUM_CLASSES = 4  # the synthetic data's foreground classes

# ----------------------------------------------------------------------------- setup


def init_registries() -> None:
    """Imports the plugin and sets mmseg as the default registry scope."""
    from mmseg.utils import register_all_modules

    import mmseg_l2g  # noqa: F401  (registers the plugin's modules)

    register_all_modules(init_default_scope=True)


# The options ``run_all.py`` takes too and passes on to every benchmark.
SHARED_ARGS = ("backbone", "global_size", "crop_size", "num_views", "device", "threads", "seed")


def add_shared_args(parser: argparse.ArgumentParser) -> None:
    """The options of :data:`SHARED_ARGS` (model, sizes, device, threads, seed)."""
    parser.add_argument("--backbone", choices=BACKBONES, default="synthetic")
    parser.add_argument("--global-size", type=int, default=128, help="global view side")
    parser.add_argument("--crop-size", type=int, default=90, help="local view side")
    parser.add_argument("--num-views", type=int, default=6, help="local views N per image")
    add_device_args(parser)


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--threads`` and ``--seed`` (applied by :func:`setup_device`)."""
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:K")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=0)


def shared_argv(args: argparse.Namespace) -> List[str]:
    """``--name=value`` of every :data:`SHARED_ARGS` option that is set."""
    values = {name: getattr(args, name) for name in SHARED_ARGS}
    return [f"--{k.replace('_', '-')}={v}" for k, v in values.items() if v is not None]


def add_common_args(parser: argparse.ArgumentParser, batch_size: int = 8) -> None:
    """Options every benchmark shares (the shared ones, batch, AMP, repeats, output)."""
    add_shared_args(parser)
    add_timing_args(parser, batch_size)
    parser.add_argument("--amp", action="store_true", help="float16 autocast (CUDA only)")


def add_timing_args(
    parser: argparse.ArgumentParser, batch_size: int, warmup: int = 2, repeats: int = 5
) -> None:
    """``--batch-size``, ``--warmup``, ``--repeats`` and ``--out`` of a timed benchmark."""
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed runs of each callable")
    parser.add_argument("--repeats", type=int, default=repeats, help="timed runs of each callable")
    parser.add_argument("--out", default=None, help="JSON output path")


def check_common_args(args: argparse.Namespace) -> torch.device:
    """Validates the shared options, applies ``--threads``; returns the device."""
    for name in ("global_size", "crop_size", "num_views", "batch_size", "repeats"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        raise SystemExit("--warmup must be >= 0")
    if args.crop_size > args.global_size:
        raise SystemExit(f"--crop-size {args.crop_size} exceeds --global-size {args.global_size}")
    device = setup_device(args)
    if args.amp and device.type != "cuda":
        raise SystemExit("--amp needs --device cuda")
    return device


def setup_device(args: argparse.Namespace) -> torch.device:
    """Checks ``--device``, applies ``--threads`` and seeds torch and numpy with ``--seed``."""
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise SystemExit(f"--device must be cpu or cuda[:K], got {args.device}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    return device


# ----------------------------------------------------------------------------- timing


def synchronize(device: torch.device) -> None:
    """Waits for the device's queued work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timing:
    """Seconds of the timed runs of one callable."""

    samples: List[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def minimum(self) -> float:
        return min(self.samples)

    def summary_ms(self) -> Dict[str, Any]:
        """Median, min and every run in milliseconds."""
        return dict(
            median=self.median * 1e3,
            min=self.minimum * 1e3,
            runs=[round(s * 1e3, 4) for s in self.samples],
        )


def timing_ratio(
    timings: Dict[str, Timing], fn: Callable[[Dict[str, float]], float]
) -> Dict[str, float]:
    """``value`` (``fn`` of the medians) and ``from_minima`` (of the minima) for a Ratio."""
    medians = {name: t.median for name, t in timings.items()}
    minima = {name: t.minimum for name, t in timings.items()}
    return dict(value=fn(medians), from_minima=fn(minima))


def time_once(fn: Callable[[], Any], device: torch.device) -> float:
    """Seconds of one call of ``fn``, the device synchronised around it."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def time_interleaved(
    fns: Dict[str, Callable[[], Any]],
    device: torch.device,
    warmup: int,
    repeats: int,
    setups: Optional[Dict[str, Callable[[], Any]]] = None,
) -> Dict[str, Timing]:
    """Times several callables round robin, in the order given.

    Args:
        fns: the timed callables by name.
        device: synchronised around every timed call.
        warmup: untimed rounds first.
        repeats: timed rounds.
        setups: untimed callables run just before the callable of the same name.
    """
    setups = setups or {}

    def run_round(timings: Optional[Dict[str, Timing]]) -> None:
        for name, fn in fns.items():
            if name in setups:
                setups[name]()
            if timings is None:
                fn()
            else:
                timings[name].samples.append(time_once(fn, device))

    for _ in range(warmup):
        run_round(None)
    synchronize(device)
    timings = {name: Timing() for name in fns}
    for _ in range(repeats):
        run_round(timings)
    return timings


# ----------------------------------------------------------------------------- memory

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 64 * 1024
CHILD_TIMEOUT_S = 900


def _libc() -> Optional[ctypes.CDLL]:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _proc_status_kib(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _cpu_peak_child(make_step: Callable[[], Callable[[], Any]], conn: Any) -> None:
    """Forked child: measures one step's resident-memory peak, sends (bytes, method)."""
    try:
        torch.set_num_threads(1)  # OpenMP's pool does not survive fork(); one thread is safe
        libc = _libc()
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
            libc.mallopt(_M_TRIM_THRESHOLD, _MMAP_THRESHOLD_BYTES)
        step = make_step()
        can_reset = _reset_peak_rss()
        if can_reset:
            step()
        gc.collect()
        if libc is not None:
            libc.malloc_trim(0)
        if can_reset and _reset_peak_rss():
            before = _proc_status_kib("VmRSS")
            step()
            peak = _proc_status_kib("VmHWM")
            method = "VmHWM over VmRSS after a warm-up step (forked child, 1 thread)"
        else:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            step()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            method = "ru_maxrss growth of the first step (forked child, 1 thread)"
        conn.send((max(peak - before, 0) * 1024, method))
    except BaseException:  # noqa: BLE001  (reported to the parent)
        conn.send((None, traceback.format_exc()))
    finally:
        conn.close()


def measure_step_peak_memory(
    make_step: Callable[[], Callable[[], Any]], device: torch.device
) -> Tuple[int, str]:
    """Bytes a step needs above the memory resident before it, and how it was measured.

    Args:
        make_step: builds the model, optimiser and batch, returns the step callable
            (on CPU it runs in a forked child, so it may build large objects freely).
        device: where the step runs.
    """
    if device.type == "cuda":
        step = make_step()
        step()
        synchronize(device)
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
        del step
        gc.collect()
        torch.cuda.empty_cache()
        return peak, "torch.cuda.max_memory_allocated over memory_allocated, after a warm-up step"
    ctx = mp.get_context("fork")
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_cpu_peak_child, args=(make_step, child_conn))
    proc.start()
    child_conn.close()
    try:
        if not parent_conn.poll(CHILD_TIMEOUT_S):
            proc.kill()
            raise RuntimeError(f"memory-measuring child gave no result in {CHILD_TIMEOUT_S} s")
        peak, method = parent_conn.recv()
    except EOFError as exc:
        raise RuntimeError("memory-measuring child process died without a result") from exc
    finally:
        proc.join()
    if peak is None:
        raise RuntimeError(f"memory-measuring child process failed:\n{method}")
    return peak, method


# ----------------------------------------------------------------------------- models


def backbone_and_channels(name: str) -> Tuple[dict, int]:
    """Backbone config and its output channels: ``synthetic`` (the synthetic configs'),
    ``plaincnn`` (PlainCNN at its default 32-128 widths) or ``resnet50``
    (``configs/_base_/models/l2g_r50.py``'s: mmpretrain, output stride 8,
    without its ImageNet ``init_cfg``: nothing is downloaded)."""
    from mmengine.config import Config

    if name in ("synthetic", "resnet50"):
        path = MODEL_BASE_CONFIG if name == "synthetic" else R50_BASE_CONFIG
        model = Config.fromfile(path).model.to_dict()
        model["backbone"].pop("init_cfg", None)
        return model["backbone"], model["head"]["in_channels"]
    if name == "plaincnn":
        return dict(type="PlainCNN"), 128
    raise ValueError(f"unknown backbone {name!r}; choose from {BACKBONES}")


def build_model(backbone: str, with_local: bool, device: torch.device) -> torch.nn.Module:
    """An ``L2GClassifier`` as the synthetic L2G config builds it, with ``backbone``.

    ``with_local=False`` is the plain-CAM baseline of ``cam_plaincnn_...`` (the
    global network alone with a classification loss).
    """
    from mmengine.config import Config
    from mmseg.registry import MODELS

    init_registries()
    cfg = Config.fromfile(MODEL_BASE_CONFIG).model.to_dict()
    cfg["backbone"], in_channels = backbone_and_channels(backbone)
    cfg["head"]["in_channels"] = in_channels
    if not with_local:
        cfg.update(with_local=False, global_cls_weight=1.0)
    model = MODELS.build(cfg)
    with quiet_logs():  # keeps the per-parameter init report off the console
        model.init_weights()
    return model.to(device).train()


def build_optim_wrapper(model: torch.nn.Module, amp: bool) -> Any:
    """The synthetic schedule's SGD (momentum 0.9, weight decay 1e-4), AMP on request."""
    from mmengine.optim import build_optim_wrapper as build

    optimizer = dict(type="SGD", lr=1e-3, momentum=0.9, weight_decay=1e-4)
    wrapper = dict(type="AmpOptimWrapper", dtype="float16") if amp else dict(type="OptimWrapper")
    return build(model, dict(wrapper, optimizer=optimizer))


def batch_nbytes(data: dict) -> int:
    """Bytes of every tensor in a collated batch (what is moved to the device)."""
    total = sum(t.numel() * t.element_size() for t in data["inputs"])
    for sample in data["data_samples"]:
        for key in sample.keys():
            value = sample.get(key)
            if isinstance(value, torch.Tensor):
                total += value.numel() * value.element_size()
    return total


@contextlib.contextmanager
def synthetic_data_root(
    data_root: Optional[str], num_images: int, size: int, seed: int
) -> Iterator[str]:
    """Yields ``data_root``, or a temporary synthetic dataset of ``num_images`` training
    images of ``size`` pixels (deleted afterwards) when it is ``None``."""
    if data_root is not None:
        if not osp.isdir(data_root):
            raise SystemExit(f"--data-root {data_root}: no such folder")
        yield data_root
        return
    from mmseg_l2g.datasets.synthetic import make_synthetic

    with tempfile.TemporaryDirectory(prefix="l2g_bench_") as tmp:
        make_synthetic(tmp, num_images, 0, seed, size=size, num_workers=1, progress=False)
        yield tmp


# ----------------------------------------------------------------------------- output


def machine_info(device: torch.device) -> Dict[str, Any]:
    """CPU model and cores, GPU name, thread count and library versions."""
    import mmengine
    import mmseg

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info: Dict[str, Any] = dict(
        cpu=cpu,
        cpu_cores=os.cpu_count(),
        cpu_cores_usable=usable,
        torch_threads=torch.get_num_threads(),
        load_average=[round(v, 2) for v in os.getloadavg()],
        gpu=torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        python=platform.python_version(),
        torch=torch.__version__,
        mmengine=mmengine.__version__,
        mmseg=mmseg.__version__,
        platform=platform.platform(),
        git_commit=_git_commit(),
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    )
    return info


def _git_commit() -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


@dataclass
class Ratio:
    """One reported ratio, with its goal when the issue sets one.

    Attributes:
        key: JSON key.
        label: what is divided by what, for the table.
        value: the ratio.
        goal: ``('<=', 1.10)``, ``('>=', 3.0)`` or ``None`` (informative).
        note: extra context for the table (e.g. the theoretical value).
        from_minima: the same ratio from the fastest runs instead of the medians
            (timing ratios only; on a busy machine the noise is mostly additive,
            so it is the steadier estimate).
    """

    key: str
    label: str
    value: float
    goal: Optional[Tuple[str, float]] = None
    note: str = ""
    from_minima: Optional[float] = None

    @property
    def met(self) -> Optional[bool]:
        if self.goal is None or not math.isfinite(self.value):
            return None
        op, target = self.goal
        return self.value <= target if op == "<=" else self.value >= target

    def goal_text(self) -> str:
        return "" if self.goal is None else f"{self.goal[0]} {self.goal[1]:g}"

    def to_json(self) -> Dict[str, Any]:
        out = asdict(self)
        out["met"] = self.met
        return out


def result_document(
    benchmark: str,
    settings: Dict[str, Any],
    ratios: Sequence[Ratio],
    measurements: Dict[str, Any],
    device: torch.device,
) -> Dict[str, Any]:
    """The JSON document a benchmark writes: ``ratios`` maps keys to values."""
    return dict(
        benchmark=benchmark,
        machine=machine_info(device),
        settings=settings,
        ratios={r.key: r.value for r in ratios},
        ratios_from_minima={r.key: r.from_minima for r in ratios if r.from_minima is not None},
        ratio_details=[r.to_json() for r in ratios],
        measurements=measurements,
    )


def write_json_atomic(path: str, obj: Any) -> None:
    """Writes ``obj`` as JSON (non-finite floats as ``null``) with the package's atomic writer."""
    from mmseg_l2g.io import atomic_write_json

    atomic_write_json(path, obj)


def write_text_atomic(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` with the package's atomic writer."""
    from mmseg_l2g.io import atomic_write_text

    atomic_write_text(path, text)


def format_value(value: float) -> str:
    """A ratio or measurement, 3 significant digits."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def ratio_rows(benchmark: str, ratios: Sequence[Ratio]) -> List[List[str]]:
    """Table rows ``benchmark, ratio, value, from minima, goal, met, note``."""
    rows = []
    for r in ratios:
        met = "" if r.met is None else ("yes" if r.met else "NO")
        mins = "" if r.from_minima is None else format_value(r.from_minima)
        rows.append([benchmark, r.label, format_value(r.value), mins, r.goal_text(), met, r.note])
    return rows


TABLE_HEADERS = ["benchmark", "ratio", "median", "from minima", "goal", "met", "note"]


def text_table(rows: Sequence[Sequence[str]], headers: Sequence[str] = TABLE_HEADERS) -> str:
    """A fixed-width plain-text table."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def markdown_table(rows: Sequence[Sequence[str]], headers: Sequence[str] = TABLE_HEADERS) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(x).replace("|", "/") for x in row) + " |" for row in rows]
    return "\n".join(lines)


def default_out(name: str, args: argparse.Namespace) -> str:
    """``benchmarks/results/<name>_<device>_<backbone>.json`` unless ``--out`` is given."""
    if args.out:
        return args.out
    device = torch.device(args.device).type + ("-amp" if args.amp else "")
    return osp.join(RESULTS_DIR, f"{name}_{device}_{args.backbone}.json")


def settings_of(args: argparse.Namespace) -> Dict[str, Any]:
    """A benchmark's options as its JSON document records them (all but ``--out``)."""
    return {k: v for k, v in vars(args).items() if k != "out"}


def bench_main(
    name: str,
    parse_args: Callable[[Optional[Sequence[str]]], argparse.Namespace],
    run: Callable[[argparse.Namespace], Tuple[Dict[str, Any], Sequence[Ratio]]],
    print_measurements: Callable[[Dict[str, Any]], None],
    argv: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """A benchmark's ``main``: parse, run, print, write the JSON; returns the document."""
    args = parse_args(argv)
    doc, ratios = run(args)
    print_measurements(doc)
    finish(doc, ratios, default_out(name, args))
    return doc


def finish(doc: Dict[str, Any], ratios: Sequence[Ratio], out: Optional[str]) -> None:
    """Prints the ratio table and writes the JSON document."""
    print(text_table(ratio_rows(doc["benchmark"], ratios)))
    if out:
        write_json_atomic(out, doc)
        print(f"wrote {out}")
    sys.stdout.flush()


# ----------------------------------------------------------------------------- profiling


def profile_top_ops(
    fn: Callable[[], Any], device: torch.device, steps: int = 3, top: int = 15
) -> Dict[str, Any]:
    """torch.profiler over ``steps`` calls of ``fn`` (after one untimed call).

    Returns:
        ``dict(sort_by, total_ms_per_call, ops=[dict(name, self_ms_per_call, calls_per_call,
        share)], table)``, ops sorted by self time (CUDA time on CUDA).
    """
    from torch.profiler import ProfilerActivity, profile

    fn()
    synchronize(device)
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for _ in range(steps):
            fn()
        synchronize(device)
    averages = prof.key_averages()
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    total = sum(getattr(e, key) for e in averages) or 1.0
    ranked = sorted(averages, key=lambda e: getattr(e, key), reverse=True)[:top]
    ops = [
        dict(
            name=e.key,
            self_ms_per_call=getattr(e, key) / 1e3 / steps,
            calls_per_call=e.count / steps,
            share=getattr(e, key) / total,
        )
        for e in ranked
    ]
    table = averages.table(sort_by=key, row_limit=top)
    return dict(sort_by=key, total_ms_per_call=total / 1e3 / steps, ops=ops, table=table)


def cprofile_top(fn: Callable[[], Any], top: int = 20, sort: str = "tottime") -> str:
    """cProfile of one call of ``fn``: the ``top`` functions by ``sort`` (Python-level view)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats(sort).print_stats(top)
    return stream.getvalue()


@contextlib.contextmanager
def quiet_logs(level: int = logging.WARNING) -> Iterator[None]:
    """Raises MMEngine's current logger to ``level`` for the duration (dataset reports)."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
