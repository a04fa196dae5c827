"""StageRunner: runs the project's tools as subprocesses, as a user would."""

import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from typing import Dict, Iterable, List, Optional, Sequence

from ..engine.checkpointing import latest_checkpoint
from ..io import atomic_write_json
from ..utils.package_files import package_file, resolve_config

# Starts the line of pipeline.log that records each stage's command.
COMMAND_MARK = "===== "
# The one line a tool's error handler prints (mmseg_l2g.utils.cli), or a traceback's last.
_ERROR_LINE = re.compile(r"^(\S+\.py: (internal )?error|[A-Za-z_.]*(Error|Exception))\b")
_TAIL_LINES = 200


def last_error_line(lines: Iterable[str]) -> str:
    """The stage's own error: the last line a tool's error handler or a traceback printed.

    Falls back to the last non-empty line (empty: none).
    """
    lines = [line.strip() for line in lines if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    return errors[-1] if errors else (lines[-1] if lines else "")


def _cfg_options(options: Dict[str, object]) -> List[str]:
    """``{'a.b': 1}`` -> ``['--cfg-options', 'a.b=1']`` (empty when no options)."""
    if not options:
        return []
    return ["--cfg-options"] + [f"{k}={v}" for k, v in options.items()]


class StageRunner:
    """Runs ``tools/train.py``, ``tools/gen_pseudo.py`` and ``tools/test.py``.

    Each stage is its own process (a fresh MMEngine Runner, logger and memory),
    its output streamed to the console and appended to ``<work_dir>/pipeline.log``.
    A stage whose result already exists is skipped, so a rerun resumes, under the
    rule gen_pseudo has: a training's folder records its config and options
    (``stage.json``) and is resumed or reused only with the same ones; with other
    ones it is refused, or with ``overwrite`` trained again from scratch (and
    gen_pseudo is given ``--overwrite``). The tools
    and configs are the installed package's (``mmseg_l2g/.mim``) or the checkout's
    (:func:`~mmseg_l2g.utils.package_files.package_file`), given by absolute path;
    the tools run in the caller's working directory, so relative paths mean the same
    to them as to the caller.

    Args:
        work_dir: the pipeline's output folder.
        python: the interpreter to run the tools with.
        quiet: keep the tools' output in the log file only.
        overwrite: redo the stages whose folder was made with other settings.
    """

    def __init__(
        self,
        work_dir: str,
        python: str = sys.executable,
        quiet: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.work_dir = osp.abspath(work_dir)
        self.python = python
        self.quiet = quiet
        self.overwrite = overwrite
        os.makedirs(self.work_dir, exist_ok=True)
        self.log_path = osp.join(self.work_dir, "pipeline.log")
        self.timings: Dict[str, float] = {}

    def run(self, name: str, args: Sequence[str]) -> None:
        """Runs one tool; raises ``RuntimeError`` naming the stage, its own error and the log."""
        cmd = [self.python, *args]
        print(f"[pipeline] {name}: {' '.join(cmd)}", flush=True)
        start = time.time()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "a", encoding="utf-8", buffering=1) as log:
            log.write(f"\n{COMMAND_MARK}{name}: {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            assert proc.stdout is not None
            tail: deque = deque(maxlen=_TAIL_LINES)
            for line in proc.stdout:
                tail.append(line)
                log.write(line)
                if not self.quiet:
                    sys.stdout.write(line)
            code = proc.wait()
        self.timings[name] = self.timings.get(name, 0.0) + time.time() - start
        if code != 0:
            cause = last_error_line(tail) or "failed"
            raise RuntimeError(f"stage '{name}': {cause} (exit {code}; log: {self.log_path})")

    def train(
        self,
        name: str,
        config: str,
        options: Optional[Dict[str, object]] = None,
        out_dir: Optional[str] = None,
    ) -> str:
        """Trains ``config`` (resuming; skipped when done before); returns the last checkpoint.

        Args:
            name: the stage's name; its folder is ``<work_dir>/<name>`` unless ``out_dir``.
            config: the config file.
            options: ``--cfg-options``.
            out_dir: the run's folder (e.g. a cache shared by several pipelines).
        """
        work_dir = osp.abspath(out_dir) if out_dir else osp.join(self.work_dir, name)
        self._check_record(name, work_dir, dict(config=config, options=_cfg_options(options or {})))
        done = osp.join(work_dir, "DONE")
        if osp.isfile(done):
            print(f"[pipeline] {name}: done before, reusing {work_dir}", flush=True)
            return latest_checkpoint(work_dir)
        args = [package_file("tools", "train.py"), resolve_config(config), "--work-dir", work_dir]
        if osp.isfile(osp.join(work_dir, "last_checkpoint")):
            args.append("--resume")
        self.run(name, args + _cfg_options(options or {}))
        with open(done, "w", encoding="utf-8") as f:
            f.write("ok\n")
        return latest_checkpoint(work_dir)

    def _check_record(self, name: str, work_dir: str, record: dict) -> None:
        """Keeps ``work_dir`` only when it was made with ``record``; writes the record.

        Raises:
            ValueError: the folder records other settings and ``overwrite`` is off.
        """
        path = osp.join(work_dir, "stage.json")
        if osp.isfile(path):
            with open(path, encoding="utf-8") as f:
                previous = json.load(f)
            if previous != record:
                if not self.overwrite:
                    raise ValueError(
                        f"stage '{name}': {work_dir} was made with other settings "
                        f"(there: {previous}; now: {record}); pass --overwrite to redo it, "
                        "or use another --work-dir"
                    )
                print(f"[pipeline] {name}: other settings, training again", flush=True)
                shutil.rmtree(work_dir)
        elif osp.isfile(osp.join(work_dir, "DONE")):
            # A folder from before records existed: reused as it is, then recorded.
            print(f"[pipeline] {name}: no settings record (an older run)", flush=True)
        os.makedirs(work_dir, exist_ok=True)
        atomic_write_json(path, record)

    def gen_pseudo(
        self,
        name: str,
        config: str,
        checkpoint: Optional[str],
        extra: Sequence[str] = (),
        options: Optional[Dict[str, object]] = None,
    ) -> dict:
        """Runs stage 2 into ``<work_dir>/<name>``; returns its ``metrics.json`` (or {})."""
        out_dir = osp.join(self.work_dir, name)
        args = [package_file("tools", "gen_pseudo.py"), resolve_config(config)]
        if checkpoint is not None:
            args.append(checkpoint)
        extra = [*extra, "--overwrite"] if self.overwrite else list(extra)
        self.run(name, args + ["--out-dir", out_dir, *extra] + _cfg_options(options or {}))
        metrics = osp.join(out_dir, "metrics.json")
        if not osp.isfile(metrics):
            return {}
        with open(metrics, encoding="utf-8") as f:
            return json.load(f)

    def test(
        self, name: str, config: str, checkpoint: str, options: Optional[Dict[str, object]] = None
    ) -> dict:
        """Runs ``tools/test.py``; returns the metrics MMEngine wrote (``<ts>/<ts>.json``)."""
        work_dir = osp.join(self.work_dir, name)
        args = [
            package_file("tools", "test.py"),
            resolve_config(config),
            checkpoint,
            "--work-dir",
            work_dir,
        ]
        self.run(name, args + _cfg_options(options or {}))
        runs = sorted(
            d for d in os.listdir(work_dir) if osp.isfile(osp.join(work_dir, d, f"{d}.json"))
        )
        if not runs:
            raise RuntimeError(f"stage '{name}' wrote no metrics in {work_dir}")
        with open(osp.join(work_dir, runs[-1], f"{runs[-1]}.json"), encoding="utf-8") as f:
            return json.load(f)
