"""Maps a function over items in worker processes, with a progress bar."""

from __future__ import annotations

import multiprocessing
from typing import Callable, List, Sequence, TypeVar

from mmengine.utils import ProgressBar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_with_progress(
    func: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int = 1,
    chunksize: int = 16,
) -> List[Result]:
    """Applies ``func`` to every item, in order, showing a progress bar.

    Args:
        func: a module-level function (pickled by name) when ``workers > 1``;
            workers are forked where the platform allows.
        items: the inputs.
        workers: processes to use; 1 runs in this process.
        chunksize: items handed to a worker at a time.

    Returns:
        ``[func(item) for item in items]``.
    """
    if not items:
        return []
    bar = ProgressBar(len(items))
    results: List[Result] = []
    if workers <= 1:
        for item in items:
            results.append(func(item))
            bar.update()
    else:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with context.Pool(workers) as pool:
            for result in pool.imap(func, items, chunksize=chunksize):
                results.append(result)
                bar.update()
    print()  # end the progress bar's line
    return results
