"""Progress that suits both a terminal and a log file.

On a terminal: mmengine's progress bar. Otherwise (a log file, a pipe): a few
logger lines (start, every 10 %, end), never one bar line per item.
"""

from __future__ import annotations

import io
import sys
from typing import Callable, List, Sequence, TypeVar

from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar, track_parallel_progress, track_progress

Item = TypeVar("Item")
Result = TypeVar("Result")
LOG_STEPS = 10


def on_terminal() -> bool:
    """Whether standard output is a terminal."""
    return sys.stdout.isatty()


class Progress:
    """Counts finished items: a bar on a terminal, else a log line every 10 %.

    Args:
        total: items expected.
        what: what is counted, for the log lines.
    """

    def __init__(self, total: int, what: str = "items") -> None:
        self.total = total
        self.what = what
        self.done = 0
        self._logged = 0
        self._bar = ProgressBar(total) if on_terminal() and total else None

    def update(self, count: int = 1) -> None:
        """Adds ``count`` finished items."""
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
            return
        step = self.done * LOG_STEPS // max(self.total, 1)
        if step > self._logged:
            self._logged = step
            MMLogger.get_current_instance().info(f"{self.what}: {self.done}/{self.total}")

    def finish(self) -> None:
        """Ends the bar's line (a terminal)."""
        if self._bar is not None:
            self._bar.file.write("\n")


def map_with_progress(
    func: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int = 1,
    chunksize: int = 16,
) -> List[Result]:
    """``[func(item) for item in items]`` in worker processes, with mmengine's progress.

    Args:
        func: a module-level function (pickled by name) when ``workers > 1``.
        items: the inputs.
        workers: processes to use; 1 runs in this process.
        chunksize: items handed to a worker at a time.

    Returns:
        The results, in order.
    """
    if not items:
        return []
    logger = MMLogger.get_current_instance()
    file = sys.stdout if on_terminal() else io.StringIO()  # the bar only on a terminal
    if file is not sys.stdout:
        logger.info(f"processing {len(items)} items with {max(workers, 1)} process(es)")
    if workers <= 1:
        results = track_progress(func, list(items), file=file)
    else:
        results = track_parallel_progress(
            func, list(items), nproc=workers, chunksize=chunksize, file=file
        )
    if file is not sys.stdout:
        logger.info(f"processed {len(items)} items")
    return results
